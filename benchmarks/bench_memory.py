"""Resident memory of a long CPU run: its peak, and whether it grows after warm-up.

Runs ``--steps`` (default 2000) session steps of the default scene (256 strokes,
224 px, 4 augmentations) with CLIP ViT-B/32 (random weights) at ``--precision auto``
on the CPU, reading this process's resident set size (Linux ``/proc/self/status``:
``VmRSS`` now, ``VmHWM`` its high-water mark) at step 100 and every 100 steps after.
Every snapshot is read as a front end would (drawing, loss, scores), and only the
newest is kept, like the window.

A benchmark, not a test: it prints and asserts nothing. Growth after step 100 is
what a leak looks like (caches growing per step, snapshots or autograd graphs kept
alive); the allocator settling shows up as a small step early on.

Usage: python benchmarks/bench_memory.py [--steps N] [--model NAME] [--weights W]
       [--threads T] [--every K] [--precision P]
Last line: ``peak_rss_mb=X growth_after_100_mb=Y steps=N``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def rss_mb() -> tuple[float, float]:
    """``(current, peak)`` resident set size in MiB (peak from getrusage off Linux)."""
    values: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = float(rest.split()[0]) / 1024.0  # kB
    except OSError:
        pass
    peak_ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = values.get("VmHWM", peak_ru / (1024.0 if sys.platform != "darwin" else 1024.0**2))
    return values.get("VmRSS", peak), peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=100, help="sample every K steps (from step K)")
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    args = parser.parse_args(argv)
    os.environ.pop("CLIPDRAW_AUTO_PRECISION", None)  # the real auto, as a user gets

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session

    clip = load_clip(args.model, args.weights, device="cpu")
    config = SessionConfig(
        prompt="Watercolor painting of an underwater submarine.",
        num_steps=args.steps,
        model_name=args.model,
        precision=args.precision,
    )
    session = Session(config, clip)
    print(f"model={args.model} threads={torch.get_num_threads()} precision {session.precision.describe()}")
    start_rss, _ = rss_mb()
    print(f"step=0 rss_mb={start_rss:.1f}", flush=True)
    at_first: float | None = None
    highest_after = 0.0
    started = time.perf_counter()
    latest = None
    for snap in session.run():
        # what a front end reads of each snapshot; only the newest is kept
        _ = (snap.drawing, snap.loss, snap.score, dict(snap.scores), snap.messages)
        latest = snap
        if snap.step % args.every == 0:
            rss, peak = rss_mb()
            if at_first is None:
                at_first = rss
            highest_after = max(highest_after, rss)
            rate = snap.step / (time.perf_counter() - started)
            print(f"step={snap.step} rss_mb={rss:.1f} peak_mb={peak:.1f} it_s={rate:.2f}", flush=True)
    del latest
    rss, peak = rss_mb()
    if at_first is None:  # fewer steps than one sampling period
        at_first = highest_after = rss
    growth = highest_after - at_first
    print(f"peak_rss_mb={peak:.1f} growth_after_100_mb={growth:.1f} steps={session.step_count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
