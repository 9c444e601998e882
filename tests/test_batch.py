"""clipdraw-cli batch: one drawing per (prompt, seed), a CSV, and the Ray path when Ray is here."""

from __future__ import annotations

import csv
import importlib.util

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
