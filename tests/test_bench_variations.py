"""benchmarks/bench_variations.py runs end to end with the tiny model on a small scene."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    path = ROOT / "benchmarks" / "bench_variations.py"
    spec = importlib.util.spec_from_file_location("bench_variations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_variations_prints_the_ratio(tiny_clip_files, capsys):
    config_path, checkpoint = tiny_clip_files
    argv = ["--model", str(config_path), "--weights", str(checkpoint), "--paths", "8", "--size", "64"]
    assert _module().main([*argv, "--augs", "1", "--n", "3", "--repeats", "1", "--warmup", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("device=cpu") and " n=3 " in lines[0]
    last = re.fullmatch(r"batched_over_singles=([\d.]+) n=3", lines[-1])
    assert last, lines[-1]
    assert float(last.group(1)) > 0
