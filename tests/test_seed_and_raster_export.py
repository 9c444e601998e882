"""The engine's seed loader (SVG or raster by type), PNG export and Drawing.scaled."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ConfigError, FileFormatError, OutputError
from clipdraw_core.io.raster_export import png_bytes, render_png, save_png
from clipdraw_core.io.seed import SEED_IMAGE, SEED_SVG, load_seed, seed_kind
from clipdraw_core.io.svg_export import save_svg


def _stroke(i: int, y: float, color=(0.0, 0.0, 0.0, 1.0), frozen: bool = False) -> Stroke:
    pts = np.array([[10, y], [30, y], [50, y], [70, y]], dtype=np.float32)
    return Stroke(i, pts, 2.0, color, frozen)


def _sketch_png(path: Path) -> Path:
    im = Image.new("RGB", (200, 200), (250, 250, 250))
    draw = ImageDraw.Draw(im)
    draw.line([(20, 100), (180, 100)], fill=(20, 20, 20), width=5)
    draw.line([(100, 20), (100, 60)], fill=(20, 20, 20), width=5)
    im.save(path)
    return path


def test_drawing_scaled_scales_points_and_widths_keeps_the_rest() -> None:
    d = Drawing(100, 50, (0.5, 0.5, 0.5), (_stroke(3, 10.0, (1, 0, 0, 0.5), frozen=True), _stroke(7, 20.0)))
    big = d.scaled(300, 100)
    assert (big.width, big.height, big.background) == (300, 100, d.background)
    assert big.ids == [3, 7]
    np.testing.assert_allclose(big.strokes[0].points, d.strokes[0].points * [3.0, 2.0], rtol=1e-6)
    assert big.strokes[0].half_width == pytest.approx(2.0 * 2.5)
    assert big.strokes[0].frozen and big.strokes[0].color == d.strokes[0].color
    assert d.scaled(100, 50) == d


def test_load_seed_picks_the_importer_by_suffix(tmp_path: Path) -> None:
    drawing = Drawing(64, 64, (1, 1, 1), (_stroke(0, 20.0), _stroke(1, 40.0)))
    svg = save_svg(tmp_path / "seed.svg", drawing)
    png = _sketch_png(tmp_path / "seed.png")
    assert seed_kind(svg) == SEED_SVG and seed_kind(png) == SEED_IMAGE and seed_kind("x.JPEG") == SEED_IMAGE
    from_svg = load_seed(svg, 128, 128, first_id=5)
    assert [s.id for s in from_svg] == [5, 6]
    # the SVG's 64 px canvas is mapped onto 128 px
    assert from_svg[0].points[0] == pytest.approx([20.0, 40.0], abs=0.5)
    from_png = load_seed(png, 128, 128, first_id=10, frozen=True, max_strokes=1)
    assert len(from_png) == 1 and from_png[0].id == 10 and from_png[0].frozen
    # the longest line (the horizontal one) wins; it lies at y = 64 on the 128 px canvas
    assert np.abs(from_png[0].points[:, 1] - 64.0).max() < 4.0
    assert len(load_seed(png, 128, 128)) == 2


def test_load_seed_kind_overrides_the_suffix_and_errors_are_clear(tmp_path: Path) -> None:
    png = _sketch_png(tmp_path / "seed.png")
    with pytest.raises(FileFormatError):
        load_seed(png, 64, 64, kind=SEED_SVG)  # what --seed-svg does with a PNG
    with pytest.raises(ConfigError):
        load_seed(png, 64, 64, kind="video")
    with pytest.raises(FileFormatError):
        load_seed(tmp_path / "missing.svg", 64, 64)


def test_png_export_size_pixels_and_atomic_write(tmp_path: Path) -> None:
    drawing = Drawing(64, 32, (1.0, 1.0, 1.0), (_stroke(0, 16.0, (1.0, 0.0, 0.0, 1.0)),))
    pixels = render_png(drawing, 128)
    assert pixels.shape == (64, 128, 3) and pixels.dtype == np.uint8
    assert tuple(pixels[2, 2]) == (255, 255, 255)  # background corner
    assert tuple(pixels[32, 80]) == (255, 0, 0)  # on the red line (y 16 -> 32, x 40 -> 80)
    assert render_png(drawing).shape == (32, 64, 3)
    data = png_bytes(drawing, 128)
    assert Image.open(io.BytesIO(data)).size == (128, 64)
    out = save_png(tmp_path / "out.png", drawing, 128)
    assert out.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["out.png"]  # no temporary file left


def test_png_export_failure_keeps_the_old_file_and_says_why(tmp_path: Path, monkeypatch) -> None:
    drawing = Drawing(32, 32, (1.0, 1.0, 1.0), (_stroke(0, 16.0),))
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError, match="No space left on device"):
        save_png(target, drawing)
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["out.png"]
    with pytest.raises(OutputError, match="does not exist"):
        save_png(tmp_path / "no" / "x.png", drawing)
