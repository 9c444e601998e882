"""Palette sources (presets, hex lists, GIMP/.txt files, images, seed colours) and the tensor helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from clipdraw_core.drawing.palette import (
    PRESET_PALETTES,
    check_palette,
    hex_to_rgb,
    load_palette,
    nearest_index,
    palette_distance,
    palette_from_colors,
    palette_tensor,
    parse_hex,
    snap,
)
from clipdraw_core.errors import ClipDrawError, ConfigError, FileFormatError


def test_hex_parsing_and_normalising() -> None:
    assert parse_hex("#A1b2C3") == "#a1b2c3" and parse_hex("a1b2c3") == "#a1b2c3"
    assert hex_to_rgb("#ff8000") == pytest.approx((1.0, 128 / 255, 0.0))
    for bad in ("#fff", "red", "#12345g", ""):
        with pytest.raises(ConfigError):
            parse_hex(bad)
    assert check_palette(["#000000", "#FFFFFF", "#000000"]) == ("#000000", "#ffffff")
    with pytest.raises(ConfigError, match="2 to 32"):
        check_palette(["#000000"])
    with pytest.raises(ConfigError, match="2 to 32"):
        check_palette([f"#{i:06x}" for i in range(33)])


def test_hex_list_preset_gpl_and_txt(tmp_path) -> None:
    assert load_palette("#ff0000,#00ff00, #0000ff") == ("#ff0000", "#00ff00", "#0000ff")
    assert load_palette("PICO-8") == PRESET_PALETTES["pico-8"]
    gpl = tmp_path / "p.gpl"
    gpl.write_text("GIMP Palette\nName: test\nColumns: 4\n# comment\n255   0   0  Red\n  0 128 255 Sky\n")
    assert load_palette(str(gpl)) == ("#ff0000", "#0080ff")
    txt = tmp_path / "p.txt"
    txt.write_text("; my colours\n#111111\n#222222 ; dark\n#333333\n")
    assert load_palette(str(txt)) == ("#111111", "#222222", "#333333")
    bad = tmp_path / "bad.gpl"
    bad.write_text("not a palette\n1 2 3\n")
    with pytest.raises(FileFormatError, match="GIMP"):
        load_palette(str(bad))
    with pytest.raises(ClipDrawError):
        load_palette(str(tmp_path / "missing.gpl"))
    with pytest.raises(ConfigError, match="preset"):
        load_palette("no such thing")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_colours_picked_from_an_image(tmp_path, suffix: str) -> None:
    """Median cut finds the blocks' colours; the largest block comes first."""
    blocks = [(200, 30, 30), (20, 160, 60), (30, 60, 200), (240, 220, 40)]
    arr = np.zeros((64, 100, 3), np.uint8)
    for k, c in enumerate(blocks):
        arr[:, [0, 40, 60, 80][k] : [40, 60, 80, 100][k]] = c
    path = tmp_path / f"img{suffix}"
    Image.fromarray(arr).save(path, quality=95)
    pal = load_palette(str(path), colors=4)
    assert len(pal) == 4
    got = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in pal])
    for c in blocks:  # every block colour has an entry within JPEG error
        assert np.abs(got - c).max(axis=1).min() <= 12
    assert np.abs(got[0] - blocks[0]).max() <= 12  # the widest block is the first entry
    with pytest.raises(ConfigError):
        load_palette(str(path), colors=1)


def test_palette_from_seed_colours() -> None:
    reds = [(0.9, 0.1, 0.1)] * 10 + [(0.85, 0.12, 0.1)] * 5
    blues = [(0.1, 0.1, 0.9)] * 8
    pal = palette_from_colors(reds + blues, colors=2)
    assert len(pal) == 2
    rgb = np.array([hex_to_rgb(h) for h in pal])
    assert {int(np.argmax(c)) for c in rgb} == {0, 2}
    assert palette_from_colors([(0, 0, 0), (1, 1, 1)], colors=8) == ("#000000", "#ffffff")


def test_snap_is_the_nearest_entry_with_a_straight_through_gradient() -> None:
    pal = palette_tensor(["#000000", "#ff0000", "#ffffff"])
    rgb = torch.tensor([[0.1, 0.0, 0.05], [0.8, 0.2, 0.1], [0.7, 0.8, 0.9]], requires_grad=True)
    assert nearest_index(rgb, pal).tolist() == [0, 1, 2]
    out = snap(rgb, pal)
    assert torch.equal(out.detach(), pal[[0, 1, 2]])
    out.sum().backward()
    assert torch.equal(rgb.grad, torch.ones_like(rgb))
    d = palette_distance(rgb.detach(), pal)
    assert d.item() == pytest.approx(
        ((0.1**2 + 0.05**2) + (0.2**2 + 0.2**2 + 0.1**2) + (0.3**2 + 0.2**2 + 0.1**2)) / 3
    )
