"""Cost per step of N batched variations against N single steps, measured in one run.

Builds a :class:`~clipdraw_core.optim.variation_batch.VariationBatch` of N variations
and, beside it, the N single sessions of the same seeds (CLIP ViT-B/32, random
weights; the default CLIPDraw scene: 256 strokes, 224 px, 4 augmentations). Each
repeat times one batched step of all N, then one step of each single session in turn;
the two are interleaved so that a noisy neighbour slows both alike, and the medians
are compared after a warm-up.

Usage: python benchmarks/bench_variations.py [--n N] [--repeats R] [--threads T] [--device cpu|cuda]
       [--precision auto|fp32|bf16|fp16]
Last line: ``batched_over_singles=R n=N`` (R = batched step time / (N x single step time);
below 1 means the batch is cheaper).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="variations (2-9, default 4)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--paths", type=int, default=256)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--augs", type=int, default=4)
    parser.add_argument("--precision", default="auto", help="CLIP image pass precision (default auto)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session
    from clipdraw_core.optim.variation_batch import VariationBatch

    clip = load_clip(args.model, args.weights, device=args.device)
    config = SessionConfig(
        prompt="Watercolor painting of an underwater submarine.",
        num_paths=args.paths,
        width=args.size,
        height=args.size,
        num_augs=args.augs,
        num_steps=100_000,
        device=args.device,
        weights=args.weights,
        precision=args.precision,
    )
    batch = VariationBatch(clip, config, args.n)
    singles = [Session(config.replace(seed=seed), clip) for seed in batch.seeds]
    device = clip.device

    def batched() -> None:
        batch.step()
        _sync(device)

    def one_by_one() -> None:
        for session in singles:
            session.step()
        _sync(device)

    for _ in range(args.warmup):
        batched()
        one_by_one()
    samples: dict[str, list[float]] = {"batched": [], "singles": []}
    for _ in range(args.repeats):
        for name, fn in (("batched", batched), ("singles", one_by_one)):
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(
        f"device={device} threads={torch.get_num_threads()} repeats={args.repeats} n={args.n} "
        f"model={args.model} scene: {args.paths} strokes, {args.size} px, {args.augs} augs; "
        f"precision {singles[0].precision.describe()}"
    )
    print(f"batched_step_ms={med['batched'] * 1e3:.1f} (all {args.n} variations)")
    print(f"single_step_ms={med['singles'] / args.n * 1e3:.1f} (x{args.n} = {med['singles'] * 1e3:.1f})")
    batch_phases = ", ".join(f"{k}={v * 1e3:.1f}" for k, v in batch.timings.items())
    print(f"last batched step (ms): {batch_phases}")
    phases = singles[0].snapshot().timings
    print("last single step (ms): " + ", ".join(f"{k}={v * 1e3:.1f}" for k, v in phases.items()))
    print(f"batched_over_singles={med['batched'] / med['singles']:.3f} n={args.n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
