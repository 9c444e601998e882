"""benchmarks/bench_memory.py in a few steps with the tiny model (the real run: ViT-B/32, 2000 steps)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("bench_memory", ROOT / "benchmarks" / "bench_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_memory_samples_and_prints_its_last_line(tiny_clip_files, capsys):
    config_path, checkpoint = tiny_clip_files
    module = _module()
    argv = ["--model", str(config_path), "--weights", str(checkpoint), "--steps", "4", "--every", "2"]
    assert module.main([*argv, "--threads", "1", "--precision", "fp32"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" ", 1)[0] for line in lines[1:4]] == ["step=0", "step=2", "step=4"]
    last = re.fullmatch(r"peak_rss_mb=([\d.]+) growth_after_100_mb=(-?[\d.]+) steps=(\d+)", lines[-1])
    assert last, lines[-1]
    peak, steps = float(last.group(1)), int(last.group(3))
    assert steps == 4 and peak > 50  # a real process with torch loaded
    current, high = module.rss_mb()
    assert 0 < current <= high
