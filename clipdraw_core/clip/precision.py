"""Which precision CLIP's image pass runs in, and why (``--precision auto|fp32|bf16|fp16``).

Only the CLIP image pass changes precision; the renderer, augmentations, loss and Adam
always run in fp32. ``auto`` never trusts a rule of thumb alone, because low precision
is a loss on hardware without native support (open_clip's module in bf16 on a CPU is
several times *slower* than fp32, and fp16 on a CPU is emulated):

* CPU: bf16 is a candidate only where the CPU multiplies bf16 natively (AMX, AVX512-BF16,
  or the ARM BF16 extension), read from torch's CPU capability report or the kernel's
  CPU flags;
* CUDA: bf16, or fp16 where the GPU has no bf16;
* MPS: fp16 and bf16 are both candidates; the measurement decides.

A candidate is then **calibrated** once, on the user's real model at load: a few timed
forward+backward passes at the session's batch against fp32 (a budget of ~2 s; a
model too slow for that is timed at batch 1), and the gradient with respect to
the input image compared with fp32's. It is used only if it is at least
:data:`MIN_SPEEDUP` times faster *and* the gradient cosine is at least
:data:`MIN_GRAD_COSINE`; otherwise fp32 runs and the reason says why.
``CLIPDRAW_AUTO_PRECISION=fp32`` (or bf16/fp16) makes ``auto`` skip the calibration
and use that precision, for reproducible runs and tests.

Explicit choices are honoured wherever the fast image path runs; a tower the fast path
does not cover (ResNet, ConvNeXt, timm...) runs open_clip's module in fp32.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F  # noqa: N812

from clipdraw_core.errors import ConfigError

if TYPE_CHECKING:
    from clipdraw_core.clip.fast_vit import FastVisionTower

logger = logging.getLogger(__name__)

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
MIN_GRAD_COSINE = 0.999
MIN_SPEEDUP = 1.1
CALIBRATION_BUDGET_S = 2.0
ENV_AUTO = "CLIPDRAW_AUTO_PRECISION"


def check_precision(value: object) -> str:
    """The precision name, or a one-line :class:`ConfigError`."""
    if value not in PRECISIONS:
        raise ConfigError(f"unknown precision {value!r} (choose {', '.join(PRECISIONS)})")
    return str(value)


@dataclass(frozen=True)
class PrecisionChoice:
    """What runs and why, e.g. ``bf16: AVX512-BF16, 2.3x faster, gradient agreement 0.9999``."""

    precision: str
    reason: str
    requested: str = "auto"
    speedup: float | None = None
    grad_cosine: float | None = None

    def describe(self) -> str:
        return f"{self.precision}: {self.reason}"


@dataclass(frozen=True)
class Capabilities:
    """What the device offers for low precision (a plain record so tests can mock it)."""

    device_type: str
    #: Name of the CPU's native bf16 matmul ("AMX", "AVX512-BF16", "ARM BF16") or None.
    cpu_bf16: str | None = None
    cuda_bf16: bool = False
    cuda_name: str = ""
    mps_bf16: bool = False


def _cpu_flags(path: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_bf16_support(
    capabilities: dict[str, object] | None = None, flags: set[str] | None = None, machine: str | None = None
) -> str | None:
    """The CPU's native bf16 matmul, from torch's capability report or the CPU flags."""
    if capabilities is None:
        getter = getattr(torch.cpu, "get_capabilities", None)
        try:
            capabilities = dict(getter()) if callable(getter) else {}
        except Exception:  # an old or unusual build: fall back to the flags
            capabilities = {}
    if flags is None:
        flags = _cpu_flags()
    if capabilities.get("amx_bf16") or "amx_bf16" in flags:
        return "AMX"
    if capabilities.get("avx512_bf16") or "avx512_bf16" in flags:
        return "AVX512-BF16"
    machine = (machine or platform.machine()).lower()
    if machine in ("aarch64", "arm64") and "bf16" in flags:
        return "ARM BF16"
    return None


def detect_capabilities(device: torch.device) -> Capabilities:
    """Query the real device (the only function here that looks at hardware)."""
    if device.type == "cuda":
        return Capabilities(
            "cuda",
            cuda_bf16=bool(torch.cuda.is_bf16_supported()),
            cuda_name=torch.cuda.get_device_name(device),
        )
    if device.type == "mps":
        try:
            torch.ones(2, device=device, dtype=torch.bfloat16).sum()
            mps_bf16 = True
        except Exception:  # older macOS: no bf16 on MPS
            mps_bf16 = False
        return Capabilities("mps", mps_bf16=mps_bf16)
    return Capabilities("cpu", cpu_bf16=cpu_bf16_support())


def candidates(caps: Capabilities) -> tuple[list[tuple[str, str]], str]:
    """Low precisions worth calibrating on this device, each with its 'why'; or why none."""
    if caps.device_type == "cpu":
        if caps.cpu_bf16 is None:
            return [], "this CPU has no native bf16 matmul (AMX or AVX512-BF16)"
        return [("bf16", caps.cpu_bf16)], ""
    if caps.device_type == "cuda":
        name = caps.cuda_name or "CUDA"
        if caps.cuda_bf16:
            return [("bf16", name)], ""
        return [("fp16", f"{name}, no bf16")], ""
    if caps.device_type == "mps":
        found = [("fp16", "MPS")]
        if caps.mps_bf16:
            found.append(("bf16", "MPS"))
        return found, ""
    return [], f"no low precision is known to help on {caps.device_type}"


@dataclass(frozen=True)
class Calibration:
    precision: str
    speedup: float
    grad_cosine: float
    seconds: float

    def accepted(self) -> bool:
        return self.speedup >= MIN_SPEEDUP and self.grad_cosine >= MIN_GRAD_COSINE


#: ``measure(precision, batch) -> (seconds_per_pass, input_gradient)``.
Measure = Callable[[str, int], tuple[float, torch.Tensor]]


def grad_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    a64, b64 = a.detach().double().flatten(), b.detach().double().flatten()
    return float(F.cosine_similarity(a64, b64, dim=0))


def calibrate(
    measure: Measure, precision: str, batch: int, budget_s: float = CALIBRATION_BUDGET_S
) -> Calibration:
    """Time ``precision`` against fp32 (interleaved) and compare their input gradients.

    ``measure`` runs one pass on a fixed input and returns its seconds and the input
    gradient. A first pass of each at batch 1 warms up (kernels, caches) and gives the
    gradient agreement; then timed pairs at the session's ``batch`` (batch 1 if a pair
    would not fit in the budget) are taken while the budget lasts, at most three, and
    their medians compared. If the warm-ups alone used up the budget (a very slow or
    very busy machine), their times are compared instead.
    """
    warm32, g32 = measure("fp32", 1)
    warmlow, glow = measure(precision, 1)
    cosine = grad_cosine(glow, g32)
    spent = warm32 + warmlow  # the passes' own seconds: the budget is device time
    if (warm32 + warmlow) * batch > (budget_s - spent) / 2:
        batch = 1
    fp32_times: list[float] = [warm32] if spent >= budget_s else []
    low_times: list[float] = [warmlow] if spent >= budget_s else []
    pair = 0.0
    while not fp32_times or (len(fp32_times) < 3 and spent + pair < budget_s):
        t32, _ = measure("fp32", batch)
        tlow, _ = measure(precision, batch)
        fp32_times.append(t32)
        low_times.append(tlow)
        pair = t32 + tlow
        spent += pair
    fp32_times.sort()
    low_times.sort()
    mid = len(fp32_times) // 2
    speedup = fp32_times[mid] / max(low_times[mid], 1e-9)
    return Calibration(precision, speedup, cosine, spent)


def resolve_precision(
    requested: str,
    caps: Capabilities,
    fast_path: bool,
    measure: Measure | None,
    batch: int = 4,
    env: Mapping[str, str] | None = None,
) -> PrecisionChoice:
    """Decide what runs for ``requested`` (see the module docstring); ``measure`` may be None
    only when no calibration can be needed (no fast path or an explicit choice)."""
    requested = check_precision(requested)
    if not fast_path:
        why = "open_clip's own module (this image tower has no fast path)"
        if requested not in ("auto", "fp32"):
            why += f"; {requested} needs the fast ViT path"
        return PrecisionChoice("fp32", why, requested)
    if requested != "auto":
        note = "requested"
        if caps.device_type == "cpu" and requested == "fp16":
            note = "requested (CPUs have no fast fp16 matmul: expect it to be slow)"
        elif caps.device_type == "cpu" and requested == "bf16" and caps.cpu_bf16 is None:
            note = "requested (this CPU has no native bf16 matmul: expect it to be slow)"
        return PrecisionChoice(requested, note, requested)
    source: Mapping[str, str] = os.environ if env is None else env
    forced = source.get(ENV_AUTO, "").strip().lower()
    if forced:
        if forced not in PRECISIONS or forced == "auto":
            raise ConfigError(f"{ENV_AUTO}={forced!r} is not one of fp32, bf16, fp16")
        return PrecisionChoice(forced, f"{ENV_AUTO}={forced}", requested)
    found, why_none = candidates(caps)
    if not found:
        return PrecisionChoice("fp32", why_none, requested)
    if measure is None:
        raise ValueError("auto precision needs a measure function to calibrate")
    best: tuple[Calibration, str] | None = None
    refusals = []
    for precision, why in found:
        result = calibrate(measure, precision, batch)
        logger.info(
            "calibration %s vs fp32: %.2fx, gradient cosine %.5f (%.1f s)",
            precision,
            result.speedup,
            result.grad_cosine,
            result.seconds,
        )
        if result.accepted():
            if best is None or result.speedup > best[0].speedup:
                best = (result, why)
        elif result.grad_cosine < MIN_GRAD_COSINE:
            refusals.append(
                f"{precision} gradients disagree (cosine {result.grad_cosine:.4f} < {MIN_GRAD_COSINE})"
            )
        else:
            refusals.append(f"{precision} was not faster ({result.speedup:.2f}x)")
    if best is None:
        return PrecisionChoice("fp32", "; ".join(refusals), requested)
    result, why = best
    return PrecisionChoice(
        result.precision,
        f"{why}, {result.speedup:.1f}x faster, gradient agreement {result.grad_cosine:.4f}",
        requested,
        result.speedup,
        result.grad_cosine,
    )


def tower_measure(tower: FastVisionTower, seed: int = 0) -> Measure:
    """A :data:`Measure` on the real tower: a fixed smooth image, a fixed feature direction.

    The loss is the features' cosine with a random direction, like CLIPDraw's loss with a
    prompt; the image is low-frequency noise (closer to a drawing than white noise).
    """
    from clipdraw_core.clip.fast_vit import synchronize

    device = tower.device
    size = (tower.grid[0] * tower.patch[0], tower.grid[1] * tower.patch[1])
    gen = torch.Generator(device="cpu").manual_seed(seed)
    coarse = torch.rand(8, 3, 8, 8, generator=gen)
    base = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
    base = ((base - 0.5) / 0.27).to(device)
    dim = int(tower.visual.output_dim)
    direction = torch.randn(dim, generator=gen).to(device)

    def measure(precision: str, batch: int) -> tuple[float, torch.Tensor]:
        tower.prepare(precision, batch)
        images = base[:batch].clone().requires_grad_(True)
        synchronize(device)
        start = time.perf_counter()
        features = tower(images, precision)
        loss = (F.normalize(features, dim=-1) @ direction).sum()
        (grad,) = torch.autograd.grad(loss, images)
        synchronize(device)
        return time.perf_counter() - start, grad

    return measure


def choose_precision(
    tower: FastVisionTower | None, device: torch.device, requested: str, batch: int = 4
) -> PrecisionChoice:
    """Resolve ``requested`` for a loaded model (calibrating if needed) and get it ready."""
    caps = detect_capabilities(device)
    measure = tower_measure(tower) if tower is not None else None
    start = time.perf_counter()
    choice = resolve_precision(requested, caps, tower is not None, measure, batch=max(1, min(batch, 8)))
    if tower is not None:
        from clipdraw_core.clip.fast_vit import DTYPES

        for name, dtype in DTYPES.items():
            if name != choice.precision:
                tower.release(dtype)
        tower.prepare(choice.precision, batch)
    logger.info("CLIP precision %s (%.1f s to decide)", choice.describe(), time.perf_counter() - start)
    return choice
