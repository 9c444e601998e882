"""CLIP's image pass: open_clip's module against the fast path, and a whole step, in one run.

ViT-B/32 with random weights (frozen), batch 4, forward + backward to the input image
only (what CLIPDraw needs). Timed, interleaved so a noisy neighbour slows all alike,
medians over ``--repeats`` rounds:

* ``openclip``: open_clip's own module in fp32 (the baseline of every ratio);
* ``fast_fp32``: :class:`~clipdraw_core.clip.fast_vit.FastVisionTower` in fp32;
* ``best``: the fast path at the precision ``--precision auto`` picks on this machine
  (the real calibration runs first, exactly as at load);
* ``step``: a whole default session step (render, 4 augmentations, CLIP at ``auto``,
  loss, backward, Adam).

It also measures this machine's matmul peak (a 200x768 @ 768x3072 GEMM, the shape of
ViT-B/32's MLP at batch 4) in fp32 and in the chosen precision, and prints the
fraction of that peak the best pass achieves (FLOPs counted by torch's FlopCounterMode).

Usage: python benchmarks/bench_clip.py [--repeats N] [--threads T]
Last line: ``fast_fp32_over_openclip=A best_over_openclip=B best=PREC grad_cos=C step_best_over_openclip=D``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F  # noqa: N812


def matmul_gflops(dtype: torch.dtype, repeats: int = 10) -> float:
    a = torch.randn(200, 768).to(dtype)
    b = torch.randn(768, 3072).to(dtype)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * 200 * 768 * 3072 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.pop("CLIPDRAW_AUTO_PRECISION", None)  # measure the real auto

    from torch.utils.flop_counter import FlopCounterMode

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.clip.fast_vit import DTYPES
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session

    clip = load_clip("ViT-B-32", "random", device="cpu")
    tower = clip.fast_tower
    assert tower is not None, "ViT-B-32 must take the fast path"
    start = time.perf_counter()
    choice = clip.set_precision("auto", batch=4)
    calibration_s = time.perf_counter() - start
    best = choice.precision
    session = Session(SessionConfig(precision="auto"), clip)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, 224, 224, generator=gen)
    direction = torch.randn(512, generator=gen)

    def openclip() -> torch.Tensor:
        x = images.clone().requires_grad_(True)
        feats = F.normalize(clip.model.encode_image(clip.normalize(x)).float(), dim=-1)
        (feats @ direction).sum().backward()
        return x.grad

    def fast(precision: str) -> torch.Tensor:
        x = images.clone().requires_grad_(True)
        feats = F.normalize(tower(clip.normalize(x), precision), dim=-1)
        (feats @ direction).sum().backward()
        return x.grad

    timed = {
        "openclip": openclip,
        "fast_fp32": lambda: fast("fp32"),
        "best": lambda: fast(best),
        "step": session.step,
    }
    grads = {name: fn() for name, fn in timed.items() if name != "step"}  # warm-up + gradients
    session.step()
    samples: dict[str, list[float]] = {k: [] for k in timed}
    for _ in range(args.repeats):
        for name, fn in timed.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in samples.items()}

    def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(F.cosine_similarity(a.double().flatten(), b.double().flatten(), dim=0))

    grad_cos = cosine(grads["best"], grads["openclip"])
    fast_cos = cosine(grads["fast_fp32"], grads["openclip"])
    with FlopCounterMode(display=False) as counter:
        fast(best)
    pass_gflop = counter.get_total_flops() / 1e9
    peak32 = matmul_gflops(torch.float32)
    peak_best = peak32 if best == "fp32" else matmul_gflops(DTYPES[best])
    achieved = pass_gflop / med["best"]
    print(
        f"device=cpu threads={torch.get_num_threads()} repeats={args.repeats} (medians; "
        "ViT-B-32 random, batch 4, input gradients)"
    )
    print(f"precision {choice.describe()} (decided in {calibration_s:.1f} s)")
    for name in timed:
        print(f"{name}_ms={med[name] * 1e3:.1f}")
    phases = session.snapshot().timings
    print("last step phases (ms): " + ", ".join(f"{k}={v * 1e3:.1f}" for k, v in phases.items()))
    print(f"fast_fp32 gradient cosine vs open_clip: {fast_cos:.7f}")
    fraction = achieved / peak_best
    print(
        f"matmul peak: fp32 {peak32:.0f} GFLOPS, {best} {peak_best:.0f} GFLOPS; "
        f"best pass {pass_gflop:.1f} GFLOP at {achieved:.0f} GFLOPS = peak_fraction={fraction:.2f}"
    )
    base = med["openclip"]
    print(
        f"fast_fp32_over_openclip={med['fast_fp32'] / base:.3f} best_over_openclip={med['best'] / base:.3f} "
        f"best={best} grad_cos={grad_cos:.5f} step_best_over_openclip={med['step'] / base:.3f}"
    )


if __name__ == "__main__":
    main()
