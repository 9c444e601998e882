"""clipdraw-cli look options (issue 11): --size WxH, --palette*, --ink, --width-range,
--shapes, --background, --preset; outputs checked in the written files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdraw_core import cli
from clipdraw_core.io.project import load_project

SVG = "{http://www.w3.org/2000/svg}"


def tiny_args(tiny_clip_files) -> list[str]:
    config_path, checkpoint = tiny_clip_files
    return [
        "--model",
        str(config_path),
        "--weights",
        str(checkpoint),
        "--device",
        "cpu",
        "--quiet",
        "--augs",
        "1",
    ]


def paths(svg: Path) -> list[ET.Element]:
    return list(ET.parse(svg).getroot().iter(f"{SVG}path"))


def run(tmp_path: Path, tiny_clip_files, *options: str, steps: int = 0) -> tuple[Path, Path, Path]:
    out, png, proj = tmp_path / "o.svg", tmp_path / "o.png", tmp_path / "o.json"
    argv = ["a lighthouse", "-o", str(out), "--png", str(png), "--project", str(proj), "--steps", str(steps)]
    assert cli.main(argv + list(options) + tiny_args(tiny_clip_files)) == 0
    return out, png, proj


def test_parse_size_and_width_range() -> None:
    assert cli.parse_size("224") == (224, 224) and cli.parse_size("320x200") == (320, 200)
    assert cli.parse_width_range("1:6") == (1.0, 6.0)
    for bad in ("", "x200", "320x", "20*30"):
        with pytest.raises(Exception, match="W or WxH"):
            cli.parse_size(bad)
    with pytest.raises(Exception, match="MIN:MAX"):
        cli.parse_width_range("6")
    with pytest.raises(Exception, match="MIN <= MAX"):
        cli.parse_width_range("6:1")


def test_size_320x200_outputs(tmp_path, tiny_clip_files) -> None:
    out, png, proj = run(tmp_path, tiny_clip_files, "--size", "320x200", "--paths", "16", steps=1)
    root = ET.parse(out).getroot()
    assert (
        root.get("viewBox") == "0 0 320 200"
        and root.get("width") == "320px"
        and root.get("height") == "200px"
    )
    assert Image.open(png).size == (320, 200)
    project = load_project(proj)
    assert (project.config.width, project.config.height) == (320, 200)
    assert (project.drawing.width, project.drawing.height) == (320, 200)


def test_hard_palette_exports_exact_entries(tmp_path, tiny_clip_files) -> None:
    palette = "#0b3954,#087e8b,#bfd7ea,#ff5a5f,#c81d25"
    out, _, proj = run(
        tmp_path, tiny_clip_files, "--palette", palette, "--paths", "20", "--shapes", "4", steps=30
    )
    entries = set(palette.split(","))
    used = []
    for p in paths(out):
        for attr in ("stroke", "fill"):
            value = p.get(attr)
            if value and value != "none":
                used.append(value)
    assert len(used) == 24 and set(used) <= entries
    assert ET.parse(out).getroot().get("{urn:clipdraw-studio:svg:1}palette") == palette.replace(",", " ")
    assert load_project(proj).config.palette == tuple(palette.split(","))


def test_palette_from_a_gimp_file_and_an_image(tmp_path, tiny_clip_files) -> None:
    gpl = tmp_path / "two.gpl"
    gpl.write_text("GIMP Palette\nName: two\n 10  20  30 a\n200 100  50 b\n")
    out, _, _ = run(tmp_path, tiny_clip_files, "--palette", str(gpl), "--paths", "8", steps=2)
    assert {p.get("stroke") for p in paths(out)} <= {"#0a141e", "#c86432"}
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, :10], img[:, 10:20], img[:, 20:] = (250, 0, 0), (0, 250, 0), (0, 0, 250)
    Image.fromarray(img).save(tmp_path / "rgb.png")
    _, _, proj = run(
        tmp_path, tiny_clip_files, "--palette", str(tmp_path / "rgb.png"), "--palette-colors", "3"
    )
    assert set(load_project(proj).config.palette) == {"#fa0000", "#00fa00", "#0000fa"}


def test_soft_palette_mode_is_saved(tmp_path, tiny_clip_files) -> None:
    _, _, proj = run(
        tmp_path, tiny_clip_files, "--palette", "pico-8", "--palette-mode", "soft", "--paths", "4"
    )
    cfg = load_project(proj).config
    assert cfg.palette_mode == "soft" and len(cfg.palette) == 16


def test_ink_mode_and_width_range(tmp_path, tiny_clip_files) -> None:
    out, _, _ = run(tmp_path, tiny_clip_files, "--ink", "--width-range", "1:3", "--paths", "12", steps=10)
    strokes = paths(out)
    assert {p.get("stroke") for p in strokes} == {"#000000"}
    assert {float(p.get("stroke-opacity")) for p in strokes} == {1.0}
    widths = [float(p.get("stroke-width")) for p in strokes]
    assert min(widths) >= 1.0 - 1e-6 and max(widths) <= 3.0 + 1e-6
    out, _, _ = run(tmp_path, tiny_clip_files, "--ink", "#203040", "--paths", "3")
    assert {p.get("stroke") for p in paths(out)} == {"#203040"}


def test_shapes_only(tmp_path, tiny_clip_files) -> None:
    out, _, _ = run(tmp_path, tiny_clip_files, "--paths", "0", "--shapes", "5", steps=2)
    shapes = paths(out)
    assert len(shapes) == 5
    for p in shapes:
        assert p.get("d").endswith(" Z") and re.fullmatch(r"#[0-9a-f]{6}", p.get("fill"))
        assert 0.0 <= float(p.get("fill-opacity")) <= 1.0 and p.get("stroke") == "none"
    out, _, _ = run(tmp_path, tiny_clip_files, "--paths", "3", "--shapes", "2")
    assert [p.get("fill") != "none" for p in paths(out)] == [True, True, False, False, False]


def test_background_colour_and_transparent(tmp_path, tiny_clip_files) -> None:
    out, png, _ = run(tmp_path, tiny_clip_files, "--background", "#102030", "--paths", "4")
    assert 'fill="#102030"' in out.read_text()
    assert tuple(np.asarray(Image.open(png).convert("RGB"))[0, 0]) == (16, 32, 48)
    out, png, _ = run(
        tmp_path, tiny_clip_files, "--background", "transparent", "--paths", "6", "--size", "64x48"
    )
    assert "<rect" not in out.read_text()
    image = Image.open(png)
    assert image.mode == "RGBA" and image.size == (64, 48)
    alpha = np.asarray(image)[..., 3]
    assert (alpha == 0).mean() > 0.3 and (alpha > 0).any()


def test_presets_from_the_command_line(tmp_path, tiny_clip_files) -> None:
    out, _, proj = run(tmp_path, tiny_clip_files, "--preset", "Ink sketch", "--paths", "5")
    cfg = load_project(proj).config
    assert cfg.ink is not None and cfg.num_paths == 5
    assert {p.get("stroke") for p in paths(out)} == {cfg.ink}
    _, _, proj = run(tmp_path, tiny_clip_files, "--preset", "Flat shapes", "--shapes", "3")
    cfg = load_project(proj).config
    assert cfg.num_paths == 0 and cfg.num_shapes == 3  # explicit options override the preset
    _, _, proj = run(tmp_path, tiny_clip_files, "--preset", "Flat shapes", "--shapes", "0", "--paths", "2")
    assert load_project(proj).config.num_shapes == 0  # even when the value given is the default
    _, _, proj = run(
        tmp_path, tiny_clip_files, "--preset", "Poster (palette, shapes)", "--paths", "2", "--shapes", "2"
    )
    assert len(load_project(proj).config.palette) == 8


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--palette", "#ff0000"], "2 to 32"),
        (["--palette", "#ff0000,#zz0000"], "not a colour"),
        (["--palette", "nosuch.gpl"], "cannot read"),
        (["--ink", "black"], "not a colour"),
        (["--background", "white"], "not a colour"),
        (["--preset", "Watercolour"], "unknown preset"),
        (["--paths", "0", "--shapes", "0"], "nothing to draw"),
        (["--palette", "seed"], "needs a seed sketch"),
        (["--size", "10x300"], "between 16 and 4096"),
    ],
)
def test_bad_look_options_are_one_line_errors(tmp_path, capsys, tiny_clip_files, argv, fragment) -> None:
    out = tmp_path / "x.svg"
    code = cli.main(["cat", "-o", str(out), *argv, *tiny_args(tiny_clip_files)])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_ERROR and fragment in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_resume_takes_look_changes_but_not_the_mix(tmp_path, tiny_clip_files, capsys) -> None:
    _, _, proj = run(tmp_path, tiny_clip_files, "--paths", "6", "--shapes", "2", steps=2)
    out = tmp_path / "r.svg"
    argv = ["-o", str(out), "--resume", str(proj), "--steps", "3", "--palette", "#000000,#ff0000"]
    argv += ["--background", "transparent", "--width-range", "2:4", *tiny_args(tiny_clip_files)]
    assert cli.main(argv) == 0
    used = {p.get(a) for p in paths(out) for a in ("stroke", "fill")} - {"none", None}
    assert used <= {"#000000", "#ff0000"} and "<rect" not in out.read_text()
    refused = ["-o", str(out), "--resume", str(proj), "--shapes", "9", *tiny_args(tiny_clip_files)]
    assert cli.main(refused) == 1
    assert "--shapes cannot change" in capsys.readouterr().err
