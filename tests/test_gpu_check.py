"""benchmarks/gpu_check.py's logic, run on the CPU with the tiny model (no GPU here)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_logic_on_cpu(tiny_clip_files, capsys):
    config_path, checkpoint = tiny_clip_files
    argv = ["--device", "cpu", "--model", str(config_path), "--weights", str(checkpoint)]
    assert _module().main([*argv, "--steps", "2", "--warmup", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" ", 1)[0] for line in lines[1:3]] == ["precision=fp32", "precision=auto"]
    last = re.fullmatch(
        r"fp32_it_s=([\d.]+) auto_it_s=([\d.]+) auto=(fp32|bf16|fp16) render_share=([\d.]+)", lines[-1]
    )
    assert last, lines[-1]
    assert float(last.group(1)) > 0 and float(last.group(2)) > 0 and float(last.group(4)) > 0


def test_gpu_check_without_cuda_says_so(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _module().main([]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_gpu_check_script_is_bounded_and_offline():
    script = (ROOT / "benchmarks" / "gpu_check.sh").read_text()
    assert "timeout 240" in script and "HF_HUB_OFFLINE=1" in script and "--device cuda" in script
    result = subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True)
    assert result.returncode == 0, result.stderr
