"""clipdraw-cli: outputs, interface contract and one-line errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdraw_core import cli
from clipdraw_core.drawing.strokes import default_scene
from clipdraw_core.io.project import load_project
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session

SVG = "{http://www.w3.org/2000/svg}"


def tiny_args(tiny_clip_files) -> list[str]:
    config_path, checkpoint = tiny_clip_files
    return ["--model", str(config_path), "--weights", str(checkpoint), "--device", "cpu", "--quiet"]


def svg_paths(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return [p for p in root.iter(f"{SVG}path")]


def test_steps_zero_writes_the_initial_drawing(tmp_path, tiny_clip_files):
    out, png, proj = tmp_path / "a.svg", tmp_path / "a.png", tmp_path / "a.json"
    code = cli.main(
        ["a cat", "-o", str(out), "--png", str(png), "--project", str(proj), "--steps", "0"]
        + tiny_args(tiny_clip_files)
    )
    assert code == 0
    paths = svg_paths(out)
    scene = default_scene(0)
    assert len(paths) == 256
    first = paths[0]
    stroke = scene.strokes[0]
    rgb = "#" + "".join(f"{round(c * 255):02x}" for c in stroke.color[:3])
    assert first.get("stroke") == rgb
    assert float(first.get("stroke-opacity")) == pytest.approx(stroke.color[3], abs=1e-3)
    assert float(first.get("stroke-width")) == pytest.approx(2.0)
    d = first.get("d")
    numbers = [float(v) for v in d.replace("M", " ").replace("C", " ").split()]
    assert d.startswith("M") and " C " in d and len(numbers) == 2 * (3 * stroke.num_segments + 1)
    assert numbers[:2] == pytest.approx(stroke.points[0].tolist(), abs=1e-3)
    image = Image.open(png)
    assert image.size == (224, 224)
    pixels = np.asarray(image.convert("RGB"))
    assert (pixels < 250).any(axis=-1).mean() > 0.02  # strokes drawn on white
    project = load_project(proj)
    assert project.step == 0 and project.drawing.strokes == scene.strokes


def test_a_short_run_changes_the_drawing(tmp_path, tiny_clip_files):
    out, proj = tmp_path / "b.svg", tmp_path / "b.json"
    code = cli.main(
        [
            "a red cat",
            "-o",
            str(out),
            "--project",
            str(proj),
            "--steps",
            "3",
            "--paths",
            "16",
            "--size",
            "128",
            "--negative",
            "blurry",
            "ugly",
            "--seed",
            "2",
        ]
        + tiny_args(tiny_clip_files)
    )
    assert code == 0
    project = load_project(proj)
    assert project.step == 3 and len(project.drawing.strokes) == 16
    assert project.config.negative_prompts == ("blurry", "ugly") and project.config.width == 128
    root = ET.parse(out).getroot()
    assert root.get("viewBox") == "0 0 128 128" and root.get("width") == "128px"
    assert len(svg_paths(out)) == 16


def test_ctrl_c_writes_the_drawing_so_far(tmp_path, tiny_clip_files, monkeypatch, capsys):
    original = Session.step
    calls = {"n": 0}

    def interrupting_step(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Session, "step", interrupting_step)
    out, proj = tmp_path / "c.svg", tmp_path / "c.json"
    code = cli.main(
        ["a cat", "-o", str(out), "--project", str(proj), "--steps", "50", "--paths", "8"]
        + tiny_args(tiny_clip_files)
    )
    assert code == cli.EXIT_INTERRUPTED
    assert load_project(proj).step == 2 and len(svg_paths(out)) == 8
    assert "interrupted at step 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["", "--steps", "1"], "prompt is empty"),
        (["cat", "--paths", "0"], "nothing to draw"),
        (["cat", "--paths", "100000"], "between 0 and 5000"),
        (["cat", "--size", "5"], "between 16 and 4096"),
        (["cat", "--model", "ViT-Q-99"], "unknown CLIP model"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, fragment, tiny_clip_files):
    out = tmp_path / "x.svg"
    args = [argv[0], "-o", str(out), *argv[1:]]
    if "--model" not in argv:
        args += tiny_args(tiny_clip_files)
    else:
        args += ["--weights", "random", "--quiet"]
    code = cli.main(args)
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_ERROR
    assert len(err.splitlines()) == 1 and fragment in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unreadable_weights_and_unwritable_output(tmp_path, capsys, tiny_clip_files):
    config_path, _ = tiny_clip_files
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"\x00garbage")
    out = tmp_path / "x.svg"
    assert cli.main(["cat", "-o", str(out), "--model", str(config_path), "--weights", str(bad), "-q"]) == 1
    assert "cannot load weights" in capsys.readouterr().err and not out.exists()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions do not bind, use a missing folder
            target = tmp_path / "missing" / "x.svg"
        else:
            target = ro / "x.svg"
        assert cli.main(["cat", "-o", str(target), *tiny_args(tiny_clip_files)]) == 1
        assert "cannot write" in capsys.readouterr().err and not target.exists()
    finally:
        ro.chmod(0o700)


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    from clipdraw_core.errors import OutputError
    from clipdraw_core.io import fileio

    target = tmp_path / "keep.svg"
    target.write_text("old")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        fileio.atomic_write_text(target, "new content")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.svg"]


def test_subprocess_error_has_no_traceback(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "clipdraw_core.cli", "a cat", "-o", str(tmp_path / "o.svg"), "--steps", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "not in the local cache" in lines[0] and "--weights random" in lines[0]


def test_help_lists_the_contract_options():
    buffer = io.StringIO()
    with pytest.raises(SystemExit):
        sys.stdout, saved = buffer, sys.stdout
        try:
            cli.main(["--help"])
        finally:
            sys.stdout = saved
    text = buffer.getvalue()
    for option in [
        "-o",
        "--png",
        "--steps",
        "--paths",
        "--size",
        "--seed",
        "--negative",
        "--model",
        "--weights",
        "--device",
        "--precision",
        "--seed-svg",
        "--seed-image",
        "--seed-frozen",
    ]:
        assert option in text


SEED_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">
  <path d="M 10 10 L 90 10" stroke="#ff0000" stroke-width="4" fill="none"/>
  <circle cx="50" cy="50" r="20" stroke="#0000ff" fill="none" stroke-width="2"/>
</svg>"""


def test_seed_svg_frozen_with_no_random_strokes(tmp_path, tiny_clip_files):
    seed = tmp_path / "seed.svg"
    seed.write_text(SEED_SVG)
    out, proj = tmp_path / "s.svg", tmp_path / "s.json"
    args = ["cat", "-o", str(out), "--project", str(proj), "--seed-svg", str(seed), "--seed-frozen"]
    assert cli.main(args + ["--steps", "0", "--paths", "0", *tiny_args(tiny_clip_files)]) == 0
    strokes = load_project(proj).drawing.strokes
    assert len(strokes) == 2 and all(s.frozen for s in strokes)
    assert strokes[0].color == (1.0, 0.0, 0.0, 1.0)
    assert strokes[0].half_width == pytest.approx(4 * 2.24 / 2, rel=1e-3)  # 100 px -> 224 px canvas
    assert strokes[0].points[0] == pytest.approx([22.4, 22.4], abs=0.01)
    assert len(svg_paths(out)) == 2
    # with random strokes on top and a few steps the seeded (frozen) ones stay put
    assert cli.main(args + ["--steps", "2", "--paths", "5", *tiny_args(tiny_clip_files)]) == 0
    again = load_project(proj).drawing.strokes
    assert len(again) == 7 and again[0] == strokes[0] and again[1] == strokes[1]


def test_seed_image_traces_dark_lines(tmp_path, tiny_clip_files):
    from PIL import ImageDraw

    image = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(image).line([(20, 100), (180, 100)], fill="black", width=5)
    seed = tmp_path / "scan.png"
    image.save(seed)
    proj = tmp_path / "i.json"
    args = ["cat", "-o", str(tmp_path / "i.svg"), "--project", str(proj), "--seed-image", str(seed)]
    assert cli.main(args + ["--steps", "0", "--paths", "0", *tiny_args(tiny_clip_files)]) == 0
    strokes = load_project(proj).drawing.strokes
    assert 1 <= len(strokes) <= 3
    pts = np.concatenate([s.points for s in strokes])
    assert np.abs(pts[:, 1] - 112).max() < 4  # y = 100 of 200 -> 112 of 224
    assert max(s.color[0] for s in strokes) < 0.3


def test_seed_without_paths_fills_the_rest_of_the_budget(tmp_path, tiny_clip_files):
    seed = tmp_path / "seed.svg"
    seed.write_text(SEED_SVG)
    proj = tmp_path / "b.json"
    args = ["cat", "-o", str(tmp_path / "b.svg"), "--project", str(proj), "--seed-svg", str(seed)]
    assert cli.main(args + ["--steps", "0", *tiny_args(tiny_clip_files)]) == 0
    drawing = load_project(proj).drawing
    assert len(drawing.strokes) == SessionConfig().num_paths
    assert drawing.strokes[0].color == (1.0, 0.0, 0.0, 1.0)
