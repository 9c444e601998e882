"""Time-lapse memory and export speed.

Records the default 256-stroke scene (moving a little each step, as in a run) and
prints the memory the recorder holds per 1000 frames (and for the shapes scene, 64
filled shapes under 128 strokes, whose fills move too), then exports 100 frames as
MP4, WebM and GIF at 448 px and prints the frames per second of each export
(rendering included). Medians of ``--repeat`` runs; a shared machine makes the
speeds noisy, the memory is exact.

Usage: ``.venv/bin/python benchmarks/bench_timelapse.py [--repeat 3]``.
The last line is ``mb_per_1000_frames=M shapes_mb_per_1000_frames=S mp4_fps=A webm_fps=B gif_fps=C``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()

    from dataclasses import replace

    import torch

    from clipdraw_core.drawing.strokes import Stroke, default_scene, shapes_scene
    from clipdraw_core.io.video import VideoOptions, export_timelapse
    from clipdraw_core.optim.timelapse import TimelapseRecorder

    torch.set_num_threads(2)
    scene = default_scene(0, num_paths=256)
    rec = TimelapseRecorder(every=1, max_frames=1000)
    for step in range(1000):
        strokes = [Stroke(s.id, s.points + 0.05 * step, s.half_width, s.color) for s in scene.strokes]
        rec.offer(scene.with_strokes(strokes), step)
    mb = rec.nbytes() / 1e6 * 1000 / len(rec)
    segments = sum(s.num_segments for s in scene.strokes) / len(scene.strokes)
    print(f"{len(rec)} frames of 256 strokes ({segments:.2f} segments each): {rec.nbytes() / 1e6:.1f} MB")

    shapes = shapes_scene(0)
    shape_rec = TimelapseRecorder(every=1, max_frames=1000)
    for step in range(1000):
        moved = [replace(s, points=s.points + 0.05 * step) for s in shapes.strokes]
        shape_rec.offer(shapes.with_strokes(moved), step)
    shapes_mb = shape_rec.nbytes() / 1e6 * 1000 / len(shape_rec)
    print(f"{len(shape_rec)} frames of the shapes scene: {shape_rec.nbytes() / 1e6:.1f} MB")

    frames = rec.frames[: args.frames]
    speeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("mp4", "webm", "gif"):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                export_timelapse(Path(tmp) / f"clip.{fmt}", frames, VideoOptions(size=448, hold_last=0))
                times.append(time.perf_counter() - t)
            speeds[fmt] = len(frames) / statistics.median(times)
            print(f"{fmt}: {speeds[fmt]:.1f} frames/s at 448 px (median of {args.repeat})")
    fps = " ".join(f"{fmt}_fps={speed:.1f}" for fmt, speed in speeds.items())
    print(f"mb_per_1000_frames={mb:.2f} shapes_mb_per_1000_frames={shapes_mb:.2f} {fps}")


if __name__ == "__main__":
    main()
