"""Renderer benchmark: our forward / forward+backward against CLIP ViT-B/32 in the same run.

Run: ``.venv/bin/python benchmarks/bench_renderer.py [--threads 2] [--repeats 7] [--quick]``

Why ratios: this machine is shared and noisy, so absolute milliseconds drift between
runs; the targets (issue 3) are ratios to CLIP's batch-4 forward+backward measured in
the same process, with renderer and CLIP rounds interleaved so that a burst of
background load hits both.  Targets:

* default scene (``default_scene(0)``: 256 paths, 224^2) fwd+bwd <= 0.12 x CLIP;
* 1024 paths at 224^2 and 256 paths at 512^2 each <= 4 x the default scene;
* peak extra RSS of a default fwd+bwd <= 300 MB (measured in a fresh subprocess, with
  the kernel's high-water mark reset after setup, so imports do not count).

When pydiffvg imports, the same scenes follow rendered by the diffvg backend, each with
its time relative to CLIP and to our renderer and its PSNR against our renderer's image
(plus one line comparing both at 8x8 samples, where they should agree closely).

Filled shapes (issue 11, no target: a fill costs the pixels it covers, its interior
included) are measured on ``shapes_scene(0)`` (64 overlapping semi-transparent shapes
under 128 strokes) and on the 64 shapes alone, as ratios to the default scene; the
line before the last reads ``shapes_scene_over_default=A shapes_only_over_default=B``.

The last line is machine-readable:
``render_over_clip=R scale_1024_paths=S1 scale_512_px=S2 peak_extra_mb=M``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from clipdraw_core.drawing.strokes import default_scene, shapes_scene  # noqa: E402
from clipdraw_core.render import available_backends, pack_drawing, render  # noqa: E402
from clipdraw_core.render.torch_renderer import estimate_pairs  # noqa: E402


def _scene(
    num_paths: int,
    size: int,
    backend: str = "torch",
    width_scale: float = 1.0,
    count: bool = True,
    samples: int = 1,
):
    points, half_widths, colors, layout = pack_drawing(default_scene(0, num_paths, size))
    half_widths = half_widths * width_scale
    for t in (points, half_widths, colors):
        t.requires_grad_(True)

    def fwd() -> torch.Tensor:
        return render(points, half_widths, colors, layout, size, size, samples=samples, backend=backend)

    def fwd_bwd() -> None:
        img = fwd()
        (img * weights).sum().backward()
        for t in (points, half_widths, colors):
            t.grad = None

    weights = torch.rand(3, size, size, generator=torch.Generator().manual_seed(0))
    pairs = -1
    if count:
        pairs = estimate_pairs(
            points.detach() * samples,
            half_widths.detach() * samples,
            layout.seg_index,
            layout.seg_stroke,
            layout.num_strokes,
            size * samples,
            size * samples,
        )
    return fwd, fwd_bwd, pairs


def _shapes(num_shapes: int, num_paths: int, size: int = 224):
    """fwd / fwd+bwd of :func:`shapes_scene` (fills, their boundaries and the strokes)."""
    points, half_widths, colors, fills, layout = pack_drawing(
        shapes_scene(0, num_shapes, num_paths, size), with_fills=True
    )
    leaves = (points, half_widths, colors, fills)
    for t in leaves:
        t.requires_grad_(True)
    weights = torch.rand(3, size, size, generator=torch.Generator().manual_seed(0))

    def fwd() -> torch.Tensor:
        return render(points, half_widths, colors, layout, size, size, fills=fills)

    def fwd_bwd() -> None:
        (fwd() * weights).sum().backward()
        for t in leaves:
            t.grad = None

    return fwd, fwd_bwd, -1


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = ((a - b) ** 2).mean().item()
    return 10 * math.log10(1 / max(mse, 1e-12))


def _clip_fwd_bwd():
    import open_clip

    model = open_clip.create_model("ViT-B-32", pretrained=None)
    model.eval()
    model.requires_grad_(False)
    x = torch.rand(4, 3, 224, 224, generator=torch.Generator().manual_seed(0)).requires_grad_(True)

    def step() -> None:
        model.encode_image(x).sum().backward()
        x.grad = None

    return step


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _peak_child(threads: int) -> None:
    """Subprocess body: peak RSS growth of default fwd+bwd over the state after setup."""
    torch.set_num_threads(threads)
    _, fwd_bwd, _ = _scene(256, 224, count=False)  # nothing rendered before the baseline
    base = _rss_kb("VmRSS")
    try:  # reset the high-water mark so imports and setup do not count
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    for _ in range(3):
        fwd_bwd()
    peak = _rss_kb("VmHWM")
    print(f"{max(0, peak - base) / 1024:.1f}")


def _peak_extra_mb(threads: int) -> float:
    proc = subprocess.run(
        [sys.executable, __file__, "--peak-child", "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    parser.add_argument("--peak-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_child:
        _peak_child(args.threads)
        return
    torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else args.repeats
    print(
        f"torch {torch.__version__}, device cpu, threads {torch.get_num_threads()}, "
        f"backends {available_backends()}, pid {os.getpid()}"
    )

    configs = {  # name: (paths, size, width scale, samples per axis)
        "default 256 paths 224px": (256, 224, 1.0, 1),
        "1024 paths 224px": (1024, 224, 1.0, 1),
        "256 paths 512px": (256, 512, 1.0, 1),
        # not targets: widths grow during a run (cost follows the covered pixels), and
        # explicit 2x2 supersampling on top of the analytic coverage
        "256 paths 224px hw x4": (256, 224, 4.0, 1),
        "default, samples=2": (256, 224, 1.0, 2),
    }
    scenes = {name: _scene(n, s, width_scale=w, samples=k) for name, (n, s, w, k) in configs.items()}
    # the diffvg backend on the same scenes, timed in the same interleaved rounds
    dv_scenes = {}
    if "diffvg" in available_backends():
        dv_scenes = {
            name: _scene(n, s, backend="diffvg", width_scale=w, count=False, samples=k)
            for name, (n, s, w, k) in configs.items()
        }
    scenes["64 shapes + 128 paths"] = _shapes(64, 128)
    scenes["64 shapes only"] = _shapes(64, 0)
    clip_step = _clip_fwd_bwd()

    # warm-up
    for _fwd, fwd_bwd, _ in scenes.values():
        fwd_bwd()
        fwd_bwd()
    for _fwd, fwd_bwd, _ in dv_scenes.values():
        fwd_bwd()
    clip_step()

    fwd_t: dict[str, list[float]] = {k: [] for k in scenes}
    both_t: dict[str, list[float]] = {k: [] for k in scenes}
    clip_t: list[float] = []
    dv_fwd_t: dict[str, list[float]] = {k: [] for k in dv_scenes}
    dv_both_t: dict[str, list[float]] = {k: [] for k in dv_scenes}
    rounds = max(2, repeats)
    for _ in range(rounds):  # interleave so background load hits renderer and CLIP alike
        for name, (fwd, fwd_bwd, _) in scenes.items():
            with torch.no_grad():
                fwd_t[name] += _time(fwd, 2)
            both_t[name] += _time(fwd_bwd, 2)
        clip_t += _time(clip_step, 1)
        for name, (fwd, fwd_bwd, _) in dv_scenes.items():
            with torch.no_grad():
                dv_fwd_t[name] += _time(fwd, 1)
            dv_both_t[name] += _time(fwd_bwd, 1)

    clip_ms = statistics.median(clip_t) * 1e3
    print(f"CLIP ViT-B/32 batch 4 fwd+bwd (frozen weights): {clip_ms:8.1f} ms  (median of {len(clip_t)})")
    base = statistics.median(both_t["default 256 paths 224px"]) * 1e3
    for name in scenes:
        f = statistics.median(fwd_t[name]) * 1e3
        b = statistics.median(both_t[name]) * 1e3
        print(
            f"torch  {name:26s} pairs {scenes[name][2]:8d}  fwd(no grad) {f:7.1f} ms  fwd+bwd {b:8.1f} ms  "
            f"= {b / clip_ms:5.3f} x CLIP, {b / base:5.2f} x default"
        )

    if dv_scenes:
        # side by side with the torch rows above, and how close diffvg's image is to ours
        # (PSNR against the torch renderer at the same samples setting; diffvg point-samples
        # max(2, k) x max(2, k) per pixel, ours adds analytic coverage)
        for name, (fwd, _, _) in dv_scenes.items():
            with torch.no_grad():
                db = _psnr(fwd(), scenes[name][0]())
            f = statistics.median(dv_fwd_t[name]) * 1e3
            b = statistics.median(dv_both_t[name]) * 1e3
            ours = statistics.median(both_t[name]) * 1e3
            print(
                f"diffvg {name:26s} PSNR {db:5.1f} dB  fwd(no grad) {f:7.1f} ms  fwd+bwd {b:8.1f} ms  "
                f"= {b / clip_ms:5.3f} x CLIP, {b / ours:5.1f} x torch"
            )
        with torch.no_grad():  # agreement in the limit: both at 8x8 samples
            theirs, _, _ = _scene(256, 224, backend="diffvg", count=False, samples=8)
            ours8, _, _ = _scene(256, 224, count=False, samples=8)
            print(f"diffvg vs torch, default scene, both 8x8 samples: PSNR {_psnr(theirs(), ours8()):.1f} dB")
    else:
        print("diffvg: pydiffvg not importable, skipped")

    r_scene = statistics.median(both_t["64 shapes + 128 paths"]) * 1e3 / base
    r_only = statistics.median(both_t["64 shapes only"]) * 1e3 / base
    print(f"shapes_scene_over_default={r_scene:.3f} shapes_only_over_default={r_only:.3f}")
    peak = _peak_extra_mb(args.threads)
    print(f"peak extra RSS, default scene fwd+bwd: {peak:.1f} MB")
    s1 = statistics.median(both_t["1024 paths 224px"]) * 1e3 / base
    s2 = statistics.median(both_t["256 paths 512px"]) * 1e3 / base
    print(
        f"render_over_clip={base / clip_ms:.4f} scale_1024_paths={s1:.3f} scale_512_px={s2:.3f} "
        f"peak_extra_mb={peak:.1f}"
    )


if __name__ == "__main__":
    main()
