"""Cost per step of regions and of the style loss, as ratios to a plain step, in one run.

Sessions on the default CLIPDraw scene (256 strokes, 224 px, 4 augmentations, CLIP
ViT-B/32 with random weights - the cost is the same as with trained weights) are
stepped in interleaved rounds (plain, 1 region, 3 regions, style every step, style
every 5 steps, soft lock on half the strokes, plain, ...) and each variant's median
step time is divided by the plain step's median, so a noisy neighbour slows all
alike. The style network is a random VGG-16 (same cost as the ImageNet one).

Usage: python benchmarks/bench_guidance.py [--repeats N] [--threads T] [--model NAME]
Last line: ``region1=R region3=R style=R style_every5=R softlock=R``
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
import torch


def style_png() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    img = (rng.random((224, 224, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.drawing.commands import SetRespect
    from clipdraw_core.drawing.guidance import Guidance, Region, StyleImage
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session
    from clipdraw_core.optim.style import load_style_network

    clip = load_clip(args.model, "random", device=args.device)
    network = load_style_network("random", clip.device)
    config = SessionConfig(prompt="Watercolor painting of an underwater submarine.", weights="random")
    style = StyleImage("noise.png", style_png(), 50.0)
    regions = (
        Region.rect(0, 20, 20, 100, 100, "a yellow sun"),
        Region.rect(1, 120, 40, 80, 60, "a red boat"),
        Region(2, "a green hill", ((0, 224), (112, 140), (224, 224))),
    )
    variants = {
        "plain": Guidance(),
        "region1": Guidance(regions=regions[:1]),
        "region3": Guidance(regions=regions),
        "style": Guidance(style=style),
        "style_every5": Guidance(style=StyleImage("noise.png", style.png, 50.0, every=5)),
        "softlock": Guidance(),
    }
    sessions = {
        name: Session(config, clip, guidance=g, style_network=lambda: network) for name, g in variants.items()
    }
    sessions["softlock"].submit(SetRespect(tuple(range(0, 256, 2)), 0.5))
    for session in sessions.values():  # warm-up (a style session also fills its VGG caches)
        session.step()
    samples: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(args.repeats):
        for name, session in sessions.items():
            # Five steps per sample so every-5 style is sampled fairly (one style step in five).
            start = time.perf_counter()
            for _ in range(5):
                session.step()
            samples[name].append((time.perf_counter() - start) / 5)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    views = {name: 4 + s.steering.region_budget for name, s in sessions.items()}
    print(f"torch threads: {torch.get_num_threads()}, device {clip.device}, model {args.model}")
    for name, value in medians.items():
        print(f"{name:13s} {value * 1000:8.1f} ms/step  ({views[name]} CLIP views)")
    ratios = {k: v / medians["plain"] for k, v in medians.items() if k != "plain"}
    print(" ".join(f"{k}={v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
