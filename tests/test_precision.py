"""Which precision ``--precision`` resolves to, per device and capability, and why.

The hardware is mocked (a :class:`Capabilities` record, fake capability reports, fake
timings); where a test needs gradients they come from a real tower.
"""

from __future__ import annotations

import pytest
import torch

from clipdraw_core.clip import precision as prec
from clipdraw_core.clip.precision import Capabilities, resolve_precision
from clipdraw_core.errors import ConfigError

NO_ENV: dict[str, str] = {}


def fake_measure(speed: dict[str, float], noise: dict[str, float] | None = None, calls: list | None = None):
    """``measure`` with fixed seconds per precision and a fixed gradient (plus optional noise)."""
    base = torch.randn(1000, generator=torch.Generator().manual_seed(0))

    def measure(precision: str, batch: int) -> tuple[float, torch.Tensor]:
        if calls is not None:
            calls.append((precision, batch))
        grad = base.clone()
        if noise and precision in noise:
            grad += noise[precision] * torch.randn(1000, generator=torch.Generator().manual_seed(1))
        return speed[precision], grad

    return measure


# ------------------------------------------------------------------ capability
def test_cpu_bf16_from_torch_capabilities_or_flags():
    assert prec.cpu_bf16_support({"amx_bf16": True, "avx512_bf16": True}, set(), "x86_64") == "AMX"
    assert prec.cpu_bf16_support({"avx512_bf16": True}, set(), "x86_64") == "AVX512-BF16"
    assert prec.cpu_bf16_support({}, {"fpu", "avx512_bf16"}, "x86_64") == "AVX512-BF16"
    assert prec.cpu_bf16_support({}, {"amx_bf16", "amx_tile"}, "x86_64") == "AMX"
    assert prec.cpu_bf16_support({"avx2": True}, {"avx2", "fma"}, "x86_64") is None
    assert prec.cpu_bf16_support({}, {"asimd", "bf16"}, "aarch64") == "ARM BF16"
    assert prec.cpu_bf16_support({}, {"bf16"}, "x86_64") is None


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16\n\nprocessor\t: 1\n")
    assert prec._cpu_flags(info) == {"fpu", "sse", "avx512f", "avx512_bf16"}
    assert prec._cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        (Capabilities("cpu"), []),
        (Capabilities("cpu", cpu_bf16="AMX"), ["bf16"]),
        (Capabilities("cuda", cuda_bf16=True, cuda_name="H200"), ["bf16"]),
        (Capabilities("cuda", cuda_bf16=False, cuda_name="T4"), ["fp16"]),
        (Capabilities("mps", mps_bf16=True), ["fp16", "bf16"]),
        (Capabilities("mps", mps_bf16=False), ["fp16"]),
    ],
)
def test_candidates_per_device(caps, expected):
    found, why_none = prec.candidates(caps)
    assert [p for p, _ in found] == expected
    assert bool(why_none) == (not expected)


def test_detect_capabilities_cuda_and_mps_logic(monkeypatch):
    """The CUDA/MPS branches, run on a CPU with torch's queries mocked."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla T4")
    caps = prec.detect_capabilities(torch.device("cuda", 0))
    assert caps == Capabilities("cuda", cuda_bf16=False, cuda_name="Tesla T4")
    choice = resolve_precision("auto", caps, True, fake_measure({"fp32": 1.0, "fp16": 0.3}), env=NO_ENV)
    assert choice.precision == "fp16" and "Tesla T4, no bf16" in choice.reason
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    caps = prec.detect_capabilities(torch.device("cuda", 0))
    choice = resolve_precision("auto", caps, True, fake_measure({"fp32": 1.0, "bf16": 0.25}), env=NO_ENV)
    assert choice.precision == "bf16" and choice.reason.startswith("Tesla T4, 4.0x faster")
    cpu = prec.detect_capabilities(torch.device("cpu"))
    assert cpu.device_type == "cpu"


# ------------------------------------------------------------------ resolution
def test_cpu_without_native_bf16_runs_fp32_without_calibrating():
    calls: list = []
    choice = resolve_precision("auto", Capabilities("cpu"), True, fake_measure({}, calls=calls), env=NO_ENV)
    assert choice.precision == "fp32" and "no native bf16" in choice.reason and calls == []


def test_cpu_with_bf16_uses_it_when_faster_and_agreeing():
    caps = Capabilities("cpu", cpu_bf16="AVX512-BF16")
    measure = fake_measure({"fp32": 0.4, "bf16": 0.1}, noise={"bf16": 0.01})
    choice = resolve_precision("auto", caps, True, measure, env=NO_ENV)
    assert choice.precision == "bf16"
    assert choice.describe().startswith("bf16: AVX512-BF16, 4.0x faster, gradient agreement 0.99")
    assert choice.speedup == pytest.approx(4.0) and choice.grad_cosine > 0.999


def test_calibration_refuses_disagreeing_gradients():
    caps = Capabilities("cpu", cpu_bf16="AMX")
    measure = fake_measure({"fp32": 0.4, "bf16": 0.1}, noise={"bf16": 0.2})
    choice = resolve_precision("auto", caps, True, measure, env=NO_ENV)
    assert choice.precision == "fp32" and "gradients disagree" in choice.reason


def test_calibration_refuses_a_slower_low_precision():
    caps = Capabilities("cpu", cpu_bf16="AMX")
    choice = resolve_precision("auto", caps, True, fake_measure({"fp32": 0.4, "bf16": 0.39}), env=NO_ENV)
    assert choice.precision == "fp32" and "not faster" in choice.reason


def test_mps_takes_the_fastest_agreeing_candidate():
    caps = Capabilities("mps", mps_bf16=True)
    measure = fake_measure({"fp32": 1.0, "fp16": 0.5, "bf16": 0.4}, noise={"bf16": 0.3})
    assert resolve_precision("auto", caps, True, measure, env=NO_ENV).precision == "fp16"
    measure = fake_measure({"fp32": 1.0, "fp16": 0.5, "bf16": 0.4})
    assert resolve_precision("auto", caps, True, measure, env=NO_ENV).precision == "bf16"


def test_explicit_choices_and_towers_without_fast_path():
    cpu = Capabilities("cpu")
    assert resolve_precision("bf16", cpu, True, None, env=NO_ENV).precision == "bf16"
    assert "expect it to be slow" in resolve_precision("fp16", cpu, True, None, env=NO_ENV).reason
    assert resolve_precision("fp32", Capabilities("cuda", cuda_bf16=True), True, None).precision == "fp32"
    choice = resolve_precision("bf16", Capabilities("cuda", cuda_bf16=True), False, None, env=NO_ENV)
    assert choice.precision == "fp32" and "no fast path" in choice.reason
    with pytest.raises(ConfigError, match="unknown precision"):
        resolve_precision("fp8", cpu, True, None)


def test_environment_forces_auto():
    caps = Capabilities("cpu", cpu_bf16="AMX")
    choice = resolve_precision("auto", caps, True, None, env={prec.ENV_AUTO: "fp32"})
    assert choice.precision == "fp32" and prec.ENV_AUTO in choice.reason
    with pytest.raises(ConfigError, match=prec.ENV_AUTO):
        resolve_precision("auto", caps, True, None, env={prec.ENV_AUTO: "fast"})


def test_calibration_stays_in_its_budget():
    calls: list = []
    prec.calibrate(fake_measure({"fp32": 0.001, "bf16": 0.0005}, calls=calls), "bf16", batch=4)
    assert calls[:2] == [("fp32", 1), ("bf16", 1)] and len(calls) == 2 + 2 * 3
    assert all(batch == 4 for _, batch in calls[2:])
    calls.clear()  # too slow for the budget: the warm-ups are all it times
    result = prec.calibrate(fake_measure({"fp32": 5.0, "bf16": 2.0}, calls=calls), "bf16", batch=4)
    assert len(calls) == 2 and result.speedup == pytest.approx(2.5)


# ------------------------------------------------------------- real towers
def test_real_calibration_refuses_corrupted_low_precision(tiny_clip, monkeypatch):
    """Mocked capability, real math: bf16 weights that disagree must be refused."""
    from clipdraw_core.clip.fast_vit import FastVisionTower

    tower = FastVisionTower.from_visual(tiny_clip.model.visual)
    weights = tower.weights(torch.bfloat16)
    gen = torch.Generator().manual_seed(0)
    for block in weights.blocks:
        block.fc_w.add_(torch.randn(block.fc_w.shape, generator=gen).to(torch.bfloat16))
    monkeypatch.setattr(prec, "detect_capabilities", lambda device: Capabilities("cpu", cpu_bf16="AMX"))
    monkeypatch.delenv(prec.ENV_AUTO, raising=False)
    choice = prec.choose_precision(tower, torch.device("cpu"), "auto", batch=2)
    assert choice.precision == "fp32" and "gradients disagree" in choice.reason
    assert torch.bfloat16 not in tower._weights  # the refused copy is released


def test_clip_model_caches_the_choice(tiny_clip, monkeypatch):
    calls: list = []
    real = prec.resolve_precision

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(prec, "resolve_precision", counting)
    tiny_clip._choices.clear()
    assert tiny_clip.set_precision("fp32").precision == "fp32"
    assert tiny_clip.set_precision("fp32").precision == "fp32"
    assert tiny_clip.set_precision("auto").precision == "fp32"  # the tests' CLIPDRAW_AUTO_PRECISION
    assert calls == ["fp32", "auto"]


# ------------------------------------------------------------ settings, CLI
def test_config_validates_and_projects_keep_the_precision(tmp_path):
    from clipdraw_core.drawing.strokes import default_scene
    from clipdraw_core.io.project import load_project, save_project
    from clipdraw_core.optim.config import SessionConfig

    assert SessionConfig().precision == "auto"
    with pytest.raises(ConfigError, match=r"unknown precision.*'fp8'"):
        SessionConfig(precision="fp8").validate()
    path = tmp_path / "p.json"
    save_project(path, SessionConfig(precision="bf16"), default_scene(0), 3)
    assert load_project(path).config.precision == "bf16"
    older = SessionConfig.from_dict({k: v for k, v in SessionConfig().to_dict().items() if k != "precision"})
    assert older.precision == "auto"  # projects from before the option reload as auto


def test_cli_precision_runs_logs_and_is_saved(tmp_path, tiny_clip_files, capsys):
    from clipdraw_core import cli
    from clipdraw_core.io.project import load_project

    config_path, checkpoint = tiny_clip_files
    out, proj = tmp_path / "a.svg", tmp_path / "a.json"
    argv = ["a cat", "-o", str(out), "--project", str(proj), "--steps", "1", "--paths", "4"]
    argv += ["--model", str(config_path), "--weights", str(checkpoint), "--device", "cpu"]
    assert cli.main([*argv, "--precision", "bf16"]) == 0
    err = capsys.readouterr().err
    assert "CLIP image pass in bf16: requested" in err
    assert load_project(proj).config.precision == "bf16"
    with pytest.raises(SystemExit):
        cli.main([*argv, "--precision", "fp9"])
    assert "invalid choice: 'fp9'" in capsys.readouterr().err


def test_session_applies_the_configs_precision(tiny_clip):
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session

    session = Session(SessionConfig(precision="bf16", num_paths=3, num_steps=2), tiny_clip)
    snap = session.step()
    assert tiny_clip.precision.precision == "bf16" and snap.precision == "bf16: requested"
    assert snap.score is not None
    session = Session(SessionConfig(precision="fp32", num_paths=3, num_steps=2), tiny_clip)
    assert session.snapshot().precision == "fp32: requested"
