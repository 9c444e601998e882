"""clipdraw-cli's time options: --timelapse, --replay, --variations, --stages, --prune, --auto-stop."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import av
import pytest
from PIL import Image, ImageSequence

from clipdraw_core import cli
from clipdraw_core.io.project import load_project
from tests.stubs import stub_constant_score

SVG = "{http://www.w3.org/2000/svg}"


def tiny_args(tiny_clip_files) -> list[str]:
    config_path, checkpoint = tiny_clip_files
    return ["--model", str(config_path), "--weights", str(checkpoint), "--device", "cpu", "--quiet"]


def run_cli(tiny_clip_files, *argv) -> int:
    return cli.main([*map(str, argv), "--size", "64", "--augs", "1", *tiny_args(tiny_clip_files)])


def video_frames(path) -> list:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_timelapse_gif_and_mp4_decode_to_the_recorded_frames(tmp_path, tiny_clip_files):
    gif, mp4 = tmp_path / "t.gif", tmp_path / "t.mp4"
    code = run_cli(
        tiny_clip_files, "a cat", "-o", tmp_path / "a.svg", "--steps", 6, "--paths", 8,
        "--timelapse", gif, "--timelapse-every", 2, "--fps", 5,
    )  # fmt: skip
    assert code == 0
    with Image.open(gif) as im:
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(im)]
        assert len(durations) == 4 and im.size == (64, 64)  # steps 0, 2, 4, 6
        assert durations == [200, 200, 200, 1200]  # 5 fps, the result held one second
    code = run_cli(
        tiny_clip_files, "a cat", "-o", tmp_path / "b.svg", "--steps", 6, "--paths", 8,
        "--timelapse", mp4, "--timelapse-every", 3, "--fps", 4, "--video-size", 128,
    )  # fmt: skip
    assert code == 0
    decoded = video_frames(mp4)
    assert len(decoded) == 3 + 4  # steps 0, 3, 6, then the last frame held one second
    assert decoded[0].shape == (128, 128, 3)


def test_replay_shows_the_strokes_one_by_one(tmp_path, tiny_clip_files):
    out = tmp_path / "r.webm"
    assert run_cli(tiny_clip_files, "a cat", "-o", tmp_path / "a.svg", "--steps", 1, "--paths", 5,
                   "--replay", out, "--fps", 10) == 0  # fmt: skip
    decoded = video_frames(out)
    assert len(decoded) == 6 + 10  # the empty canvas, 5 strokes, 1 s on the result
    assert decoded[0].min() > 240  # nothing drawn yet


def svg_description(path) -> str:
    root = ET.parse(path).getroot()
    return " ".join(el.text or "" for el in root.iter(f"{SVG}desc"))


def test_variations_are_written_ranked_best_first(tmp_path, tiny_clip_files):
    out = tmp_path / "v.svg"
    code = run_cli(tiny_clip_files, "a cat", "-o", out, "--png", tmp_path / "v.png", "--steps", 2,
                   "--paths", 6, "--variations", 3, "--seed", 10)  # fmt: skip
    assert code == 0
    scores, seeds = [], []
    for i in (1, 2, 3):
        text = svg_description(tmp_path / f"v-{i}.svg")
        scores.append(float(re.search(r"score ([-0-9.]+)", text).group(1)))
        seeds.append(int(re.search(r"seed (\d+)", text).group(1)))
        assert Image.open(tmp_path / f"v-{i}.png").size == (64, 64)
    assert scores == sorted(scores, reverse=True) and sorted(seeds) == [10, 11, 12]
    assert out.read_bytes() == (tmp_path / "v-1.svg").read_bytes()
    assert (tmp_path / "v.png").read_bytes() == (tmp_path / "v-1.png").read_bytes()
    bodies = {(tmp_path / f"v-{i}.svg").read_text().split("<path", 1)[1] for i in (1, 2, 3)}
    assert len(bodies) == 3  # three different drawings


def test_variations_run_as_one_batch_with_a_plan_each(tmp_path, tiny_clip_files, monkeypatch):
    from clipdraw_core.optim import variation_batch

    steps = []
    real = variation_batch.VariationBatch.step

    def step(self):
        snaps = real(self)
        steps.append(sorted(snaps))
        return snaps

    monkeypatch.setattr(variation_batch.VariationBatch, "step", step)
    out = tmp_path / "v.svg"
    code = run_cli(tiny_clip_files, "a cat", "-o", out, "--steps", 4, "--paths", 6, "--variations", 2,
                   "--stages", 2, "--stage-freeze", "--seed", 3)  # fmt: skip
    assert code == 0 and steps == [[0, 1]] * 4  # 4 batched steps of both, not 8 single ones
    for i in (1, 2):
        paths = (tmp_path / f"v-{i}.svg").read_text().count("<path")
        assert paths == 6  # each variation's stages added the second half of its strokes


def test_auto_stop_ends_every_variation(tmp_path, tiny_clip_files, monkeypatch):
    stub_constant_score(monkeypatch, 0.5)
    out = tmp_path / "v.svg"
    assert run_cli(tiny_clip_files, "a cat", "-o", out, "--steps", 40, "--paths", 4, "--variations", 2,
                   "--auto-stop", "--patience", 4) == 0  # fmt: skip
    for i in (1, 2):
        assert "; 5 steps;" in svg_description(tmp_path / f"v-{i}.svg")


def test_stages_with_freeze(tmp_path, tiny_clip_files):
    proj = tmp_path / "s.json"
    assert run_cli(tiny_clip_files, "a cat", "-o", tmp_path / "s.svg", "--project", proj, "--steps", 4,
                   "--paths", 9, "--stages", 3, "--stage-freeze") == 0  # fmt: skip
    strokes = load_project(proj).drawing.strokes
    assert len(strokes) == 9 and [s.frozen for s in strokes] == [True] * 6 + [False] * 3


def test_prune_drops_faded_strokes_from_the_output(tmp_path, tiny_clip_files):
    proj = tmp_path / "p.json"
    assert run_cli(tiny_clip_files, "a cat", "-o", tmp_path / "p.svg", "--project", proj, "--steps", 1,
                   "--paths", 20, "--prune", 0.4) == 0  # fmt: skip
    strokes = load_project(proj).drawing.strokes
    assert 0 < len(strokes) < 20 and all(s.color[3] >= 0.4 for s in strokes)


def test_auto_stop_ends_the_run_on_a_plateau(tmp_path, tiny_clip_files, monkeypatch):
    calls = stub_constant_score(monkeypatch, 0.5)
    proj = tmp_path / "a.json"
    assert run_cli(tiny_clip_files, "a cat", "-o", tmp_path / "a.svg", "--project", proj, "--steps", 40,
                   "--paths", 4, "--auto-stop", "--patience", 4) == 0  # fmt: skip
    assert load_project(proj).step == 5 and next(calls) == 5


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--timelapse", "{tmp}/t.avi"], ".mp4, .webm or .gif"),
        (["--replay", "{tmp}/nofolder/r.gif"], "does not exist"),
        (["--variations", "12"], "between 1 and 9"),
        (["--fps", "0"], "frame rate"),
        (["--prune", "1.5"], "between 0 and 1"),
        (["--stages", "300"], "stages"),
        (["--variations", "2", "--resume", "{tmp}/p.json"], "cannot continue"),
        (["--variations", "2", "--png", "{tmp}/x-1.svg"], "same file"),
        (["--timelapse", "{tmp}/x.svg.gif", "--replay", "{tmp}/x.svg.gif"], "same file"),
    ],
)
def test_bad_time_options_are_one_line_errors(tmp_path, capsys, tiny_clip_files, extra, fragment):
    out = tmp_path / "x.svg"
    argv = ["a cat", "-o", str(out), "--steps", "2", *[e.format(tmp=tmp_path) for e in extra]]
    assert cli.main(argv + tiny_args(tiny_clip_files)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert not out.exists()


def test_help_lists_the_time_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--timelapse", "--timelapse-every", "--fps", "--replay", "--variations", "--stages",
                   "--stage-freeze", "--prune", "--auto-stop", "--patience"):  # fmt: skip
        assert option in text


def test_variation_file_names():
    from clipdraw_core.cli_time import variation_path

    assert variation_path("out/drawing.svg", 2) == "out/drawing-2.svg"
    assert variation_path("a.b.png", 9) == "a.b-9.png"


def test_timelapse_and_replay_of_a_run_with_shapes_show_the_fills(tmp_path, tiny_clip_files):
    """--shapes frames keep their fills: the GIFs match the drawing rendered with its shapes."""
    import numpy as np

    from clipdraw_core.render import render_drawing

    gif, replay, proj = tmp_path / "out.gif", tmp_path / "r.gif", tmp_path / "p.cdproj"
    code = run_cli(
        tiny_clip_files, "a cat", "-o", tmp_path / "a.svg", "--project", proj, "--steps", 3,
        "--paths", 4, "--shapes", 3, "--timelapse", gif, "--replay", replay, "--fps", 5,
    )  # fmt: skip
    assert code == 0
    drawing = load_project(proj).drawing
    shapes = [s for s in drawing.strokes if s.closed]
    assert len(shapes) == 3
    with_fills = render_drawing(drawing).astype(int)
    without = render_drawing(drawing.with_strokes(s for s in drawing.strokes if not s.closed)).astype(int)
    filled = np.abs(with_fills - without).max(axis=2) > 40  # where the shapes' fills show
    assert filled.sum() > 20
    for path in (gif, replay):
        with Image.open(path) as im:
            last = np.asarray([f.convert("RGB") for f in ImageSequence.Iterator(im)][-1]).astype(int)
        # the final frame shows the filled regions as the PNG export paints them
        assert np.abs(last - with_fills).max(axis=2)[filled].mean() < 12
        assert np.abs(last - without).max(axis=2)[filled].mean() > 40
