"""GUI responsiveness while optimising: event-loop stalls and canvas repaint time.

Runs the real window offscreen with a 256-stroke session (a tiny random CLIP model by
default, ``--model ViT-B-32`` for the real architecture with random weights), steers
it now and then (freeze / delete / unfreeze), and measures:

* event-loop latency: a 5 ms QTimer records when it actually fires; the longest gap
  minus 5 ms is the longest stall the artist could feel (goal <= 50 ms);
* canvas repaint: ``canvas.repaint()`` of the 256-stroke drawing shown at 448x448
  device pixels (goal <= 10 ms), plus, for comparison, the off-thread layer render and
  a direct vector paint of the same strokes (what a naive paintEvent would cost).

Usage: ``.venv/bin/python benchmarks/bench_gui.py [--seconds 20] [--model ViT-B-32]``.
The last line is ``max_stall_ms=S repaint_ms=R`` (plain numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


def load_model(name: str, tmp: Path):
    from clipdraw_core.clip.clip_model import load_clip, register_model_config

    if name == "tiny":
        cfg = tmp / "bench-tiny-clip.json"
        cfg.write_text(json.dumps(TINY))
        name = register_model_config(cfg)
    return load_clip(name, "random", "cpu")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to optimise while measuring")
    parser.add_argument(
        "--model", default="tiny", help="'tiny' (default) or an open_clip name, random weights"
    )
    parser.add_argument("--paths", type=int, default=256)
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QApplication

    tmp = Path(tempfile.mkdtemp(prefix="bench_gui_"))
    os.environ["CLIPDRAW_DATA_DIR"] = str(tmp / "data")
    app = QApplication.instance() or QApplication([])
    from app import settings
    from app.canvas.painting import paint_strokes, render_layer
    from app.main_window import MainWindow

    settings.use_settings_file(tmp / "settings.ini")
    t0 = time.perf_counter()
    clip = load_model(args.model, tmp)
    print(f"model {clip.name} loaded in {time.perf_counter() - t0:.1f} s")

    win = MainWindow(clip=clip, offer_recovery=False)
    win.confirm_close = False
    c = win.controls
    c.num_paths.setValue(args.paths)
    c.num_steps.setValue(100000)
    c.canvas_size.setValue(224)
    c.prompt.setPlainText("A watercolor painting of a lighthouse at sunset.")
    win.resize(1100, 760)
    win.show()
    app.processEvents()

    # ------------------------------------------------------------ event-loop latency
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)

    edits = [0]

    def steer() -> None:  # exercise the edit path while measuring
        d = win.controller.drawing()
        if d is None or len(d.strokes) < 10:
            return
        ids = d.ids
        k = edits[0] % 4
        win.canvas.set_selection(ids[:3])
        if k == 0:
            win.freeze_selected(True)
        elif k == 1:
            win.delete_selected()
        else:  # undo the delete, then the freeze: the stroke count stays the same
            win.undo_stack.undo()
        edits[0] += 1

    steerer = QTimer()
    steerer.setInterval(1000)
    steerer.timeout.connect(steer)

    win.start_drawing()
    deadline = time.perf_counter() + 120
    while win.controller.snapshot() is None or win.controller.snapshot().step < 1:
        app.processEvents()
        time.sleep(0.005)
        if time.perf_counter() > deadline:
            print("the session did not start")
            return 1
    first_step = win.controller.snapshot().step
    timer.start()
    steerer.start()
    last[0] = clock.nsecsElapsed()
    end = time.perf_counter() + args.seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    steerer.stop()
    snap = win.controller.snapshot()
    steps = snap.step - first_step
    stalls = sorted(g - 5.0 for g in gaps)
    max_stall = max(stalls) if stalls else float("nan")
    p99 = stalls[int(0.99 * (len(stalls) - 1))] if stalls else float("nan")
    print(
        f"optimised {steps} steps in {args.seconds:.0f} s ({steps / args.seconds:.2f} it/s), "
        f"{edits[0]} edits, {len(gaps)} timer ticks"
    )
    median = statistics.median(stalls)
    print(f"event loop: longest stall {max_stall:.1f} ms, p99 {p99:.1f} ms, median {median:.1f} ms")

    # ------------------------------------------------------------ repaint cost
    win.controller.pause()
    while win.controller.state() != "paused":
        app.processEvents()
        time.sleep(0.005)
    while win.undo_stack.canUndo():  # back to the full stroke count
        win.undo_stack.undo()
    app.processEvents()
    time.sleep(0.3)
    app.processEvents()
    drawing = win.controller.drawing()
    canvas = win.canvas
    dpr = canvas.devicePixelRatioF()
    # make the 224 px canvas show at 448x448 device pixels
    canvas.zoom_fit()
    canvas.zoom_by(448.0 / (drawing.width * canvas.scale() * dpr))
    while not canvas.layer_is_current():
        app.processEvents()
        time.sleep(0.002)
    times = []
    for _ in range(50):
        t = time.perf_counter()
        canvas.repaint()
        times.append((time.perf_counter() - t) * 1000)
    repaint = statistics.median(times)
    canvas.set_selection(drawing.ids[:8])
    sel_times = []
    for _ in range(20):
        t = time.perf_counter()
        canvas.repaint()
        sel_times.append((time.perf_counter() - t) * 1000)
    layer_times = []
    for _ in range(10):
        t = time.perf_counter()
        render_layer(drawing, 2.0)
        layer_times.append((time.perf_counter() - t) * 1000)
    from PySide6.QtGui import QImage

    img = QImage(448, 448, QImage.Format.Format_ARGB32_Premultiplied)
    direct = []
    for _ in range(10):
        t = time.perf_counter()
        p = QPainter(img)
        p.scale(2.0, 2.0)
        paint_strokes(p, drawing)
        p.end()
        direct.append((time.perf_counter() - t) * 1000)
    print(
        f"canvas repaint ({len(drawing.strokes)} strokes at 448x448): median {repaint:.2f} ms, "
        f"max {max(times):.2f} ms; with 8 selected: median {statistics.median(sel_times):.2f} ms"
    )
    print(
        f"off-thread layer render: median {statistics.median(layer_times):.1f} ms "
        f"(a direct vector paint in paintEvent would cost {statistics.median(direct):.1f} ms)"
    )
    win.close()
    win.shutdown()
    print(f"max_stall_ms={max_stall:.1f} repaint_ms={repaint:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
