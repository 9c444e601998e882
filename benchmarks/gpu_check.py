"""GPU check: it/s of the default scene at fp32 and at ``--precision auto``, and the renderer's share.

Run by ``benchmarks/gpu_check.sh`` on a CUDA machine (no downloads: ViT-B/32 with
random weights). For each precision it builds a default session (256 strokes, 224 px,
4 augmentations), warms up, then times ``--steps`` steps between two device
synchronisations (the steps themselves add none), and times the renderer's
forward+backward alone the same way to give its share of a step.

``--device cpu`` (and a small ``--model``) runs the same logic on a CPU, for tests.
Last line: ``fp32_it_s=A auto_it_s=B auto=PREC render_share=C``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import torch


def _timed(fn, device: torch.device, count: int) -> float:
    """Seconds per call of ``fn`` over ``count`` calls, synchronising only at the ends."""
    from clipdraw_core.clip.fast_vit import synchronize

    synchronize(device)
    start = time.perf_counter()
    for _ in range(count):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; run it on a machine with an NVIDIA GPU", file=sys.stderr)
        return 2

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session
    from clipdraw_core.render import pack_drawing, render

    device = torch.device(args.device)
    clip = load_clip(args.model, args.weights, device=device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    print(f"device={name} model={args.model} weights={args.weights} steps={args.steps}")
    rates: dict[str, float] = {}
    chosen = "fp32"
    share = 0.0
    for precision in ("fp32", "auto"):
        config = SessionConfig(precision=precision, num_steps=args.warmup + args.steps + 1)
        session = Session(config, clip)
        for _ in range(args.warmup):
            session.step()
        step_s = _timed(session.step, device, args.steps)
        rates[precision] = 1.0 / step_s
        points, widths, colors, layout = pack_drawing(session.drawing(), device)
        for t in (points, widths, colors):
            t.requires_grad_(True)

        def render_pass(p=points, w=widths, c=colors, lay=layout, size=(config.width, config.height)) -> None:
            render(p, w, c, lay, *size).mean().backward()

        render_pass()
        share = _timed(render_pass, device, max(3, args.steps // 4)) / step_s
        if precision == "auto":
            chosen = session.precision.precision
        print(
            f"precision={precision} ({session.precision.describe()}) it_per_s={rates[precision]:.1f} "
            f"step_ms={step_s * 1e3:.2f} render_share={share:.2f}"
        )
    print(
        f"fp32_it_s={rates['fp32']:.1f} auto_it_s={rates['auto']:.1f} auto={chosen} render_share={share:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
