"""clipdraw-cli batch: one drawing per (prompt, seed), a CSV, and the Ray path when Ray is here."""

from __future__ import annotations

import csv
import importlib.util
import re

import pytest

from clipdraw_core import cli
from clipdraw_core.batch import make_jobs, run_batch
from clipdraw_core.optim.config import SessionConfig


def tiny(tiny_clip_files) -> list[str]:
    config_path, checkpoint = tiny_clip_files
    return ["--model", str(config_path), "--weights", str(checkpoint), "--device", "cpu",
            "--paths", "4", "--steps", "2", "--augs", "1", "--size", "64", "--quiet"]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_local_batch_writes_one_svg_per_prompt_and_seed_and_a_csv(tmp_path, tiny_clip_files):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# my prompts\na red cat\n\nA blue, wet dog!\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["batch", str(prompts), "-o", str(out), "--seeds", "2", "--seed", "7",
                     *tiny(tiny_clip_files)]) == 0
    rows = read_csv(out / "results.csv")
    assert [(r["prompt"], r["seed"]) for r in rows] == [
        ("a red cat", "7"), ("a red cat", "8"), ("A blue, wet dog!", "7"), ("A blue, wet dog!", "8")
    ]
    for row in rows:
        assert -1 <= float(row["score"]) <= 1
        assert (out / row["file"]).read_text().count("<path") == 4
    files = [(out / r["file"]).read_text() for r in rows]
    assert len(set(files)) == 4  # seeds and prompts give different drawings
    # The same job again gives the same drawing (seeded).
    again = tmp_path / "again"
    assert cli.main(["batch", str(prompts), "-o", str(again), "--seed", "7", *tiny(tiny_clip_files)]) == 0
    first = read_csv(again / "results.csv")[0]
    assert (again / first["file"]).read_text() == files[0]
    assert first["score"] == rows[0]["score"]


def test_batch_errors_are_one_line(tmp_path, capsys, tiny_clip_files):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    assert cli.main(["batch", str(empty), "-o", str(tmp_path / "o"), *tiny(tiny_clip_files)]) == 1
    assert "has no prompts" in capsys.readouterr().err
    assert cli.main(["batch", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o")]) == 1
    assert "cannot read the prompts file" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray (the [cluster] extra) is not here")
def test_ray_batch_matches_the_local_batch(tmp_path, tiny_clip_files):
    import ray

    config_path, checkpoint = tiny_clip_files
    base = SessionConfig(prompt="x", num_paths=4, num_steps=1, num_augs=1, width=64, height=64,
                         model_name=str(config_path), weights=str(checkpoint), device="cpu")
    jobs = make_jobs(["a red cat", "a tree"], base, 1)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        run_batch(jobs, tmp_path / "ray", ray_address="local")
    finally:
        ray.shutdown()
    run_batch(jobs, tmp_path / "local")
    ray_rows = read_csv(tmp_path / "ray" / "results.csv")
    local_rows = read_csv(tmp_path / "local" / "results.csv")
    # Ray's workers may use more torch threads, so scores agree to rounding, not bit for bit.
    assert [(r["prompt"], r["seed"], r["file"]) for r in ray_rows] == [
        (r["prompt"], r["seed"], r["file"]) for r in local_rows
    ]
    for a, b in zip(ray_rows, local_rows, strict=True):
        assert float(a["score"]) == pytest.approx(float(b["score"]), abs=1e-4)
        assert (tmp_path / "ray" / a["file"]).read_text().count("<path") == 4


def test_batch_takes_every_setting_option_of_the_main_cli(tmp_path, tiny_clip_files):
    """The look options (--preset, --width-range, --background, --size WxH, --palette) reach each drawing."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red cat\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["batch", str(prompts), "-o", str(out), *tiny(tiny_clip_files), "--size", "96x64",
            "--preset", "Poster (palette, shapes)", "--shapes", "2", "--width-range", "2:8",
            "--background", "transparent", "--palette", "#ff0000,#00ff00,#0000ff"]
    assert cli.main(argv) == 0
    svg = (out / read_csv(out / "results.csv")[0]["file"]).read_text()
    assert 'viewBox="0 0 96 64"' in svg and "<rect" not in svg  # WxH, no paper: transparent
    assert svg.count(' Z"') == 2  # the preset's shapes, but --shapes (typed) wins over its 48
    colours = {c.lower() for c in re.findall(r'(?:stroke|fill)="(#[0-9a-fA-F]{6})"', svg)}
    assert colours and colours <= {"#ff0000", "#00ff00", "#0000ff"}  # the typed palette, hard mode
    widths = [float(w) for w in re.findall(r'stroke-width="([0-9.]+)"', svg)]
    assert widths and all(2.0 - 1e-3 <= w <= 8.0 + 1e-3 for w in widths)


def test_batch_options_come_from_the_settings_like_the_main_cli():
    """Every option of the main command that sets the config is a batch option too (no hand-kept list)."""
    def config_options(parser):
        return {opt for action in parser._actions for opt in action.option_strings}

    shared = {s.cli for s in SessionConfig.settings() if s.cli}
    shared |= {"--preset", "--width-range", "--background", "--default-negatives"}
    batch, main = config_options(cli.build_batch_parser()), config_options(cli.build_parser())
    assert shared <= batch and shared <= main
    main_only = main - batch
    assert not main_only & shared
    help_text = cli.build_batch_parser().format_help()
    assert "--width-range" in help_text and "--preset" in help_text and "W[xH]" in help_text
