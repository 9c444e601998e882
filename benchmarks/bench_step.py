"""Whole-step cost against the bare CLIP cost, measured in one run.

Prints open_clip's own CLIP ViT-B/32 module (random weights, frozen, fp32: the fixed
baseline, so figures compare across versions even though sessions now run the fast
image path at ``--precision auto``) batch-4 forward+backward time, the
renderer's forward+backward on the default CLIPDraw scene, a full session step
(drain commands, render, 4 augmentations, CLIP, loss, backward, Adam, clamps), and
their ratios. Measurements are interleaved (clip, render, step, clip, ...) and the
median taken, so a noisy neighbour slows all three alike.

Usage: python benchmarks/bench_step.py [--repeats N] [--threads T]
Last line: ``render_over_clip=R1 step_over_clip=R2``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F  # noqa: N812


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.drawing.strokes import default_scene
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session
    from clipdraw_core.render import pack_drawing, render

    clip = load_clip("ViT-B-32", "random", device="cpu")
    session = Session(SessionConfig(prompt="Watercolor painting of an underwater submarine."), clip)
    points, widths, colors, layout = pack_drawing(default_scene(0))
    for t in (points, widths, colors):
        t.requires_grad_(True)

    def clip_fwd_bwd() -> None:
        images = torch.rand(4, 3, 224, 224, requires_grad=True)
        F.normalize(clip.model.encode_image(clip.normalize(images)).float(), dim=-1).sum().backward()

    def render_fwd_bwd() -> None:
        image = render(points, widths, colors, layout, 224, 224)
        image.mean().backward()

    def full_step() -> None:
        session.step()

    timed = {"clip": clip_fwd_bwd, "render": render_fwd_bwd, "step": full_step}
    for fn in timed.values():  # warm-up
        fn()
        fn()
    samples: dict[str, list[float]] = {k: [] for k in timed}
    for _ in range(args.repeats):
        for name, fn in timed.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in samples.items()}
    threads = torch.get_num_threads()
    print(f"device=cpu threads={threads} repeats={args.repeats} scene=default (seed 0, 256 paths, 224 px)")
    print(f"clip_b4_fwd_bwd_ms={med['clip'] * 1e3:.1f}")
    print(f"render_fwd_bwd_ms={med['render'] * 1e3:.1f}")
    print(f"step_ms={med['step'] * 1e3:.1f}")
    phases = session.snapshot().timings
    print(f"session precision {session.precision.describe()}")
    print("last step phases (ms): " + ", ".join(f"{k}={v * 1e3:.1f}" for k, v in phases.items()))
    print(
        f"render_over_clip={med['render'] / med['clip']:.3f} step_over_clip={med['step'] / med['clip']:.3f}"
    )


if __name__ == "__main__":
    main()
