"""Offscreen screenshot of the window with the Prompts & regions dock mid-run (tiny random model).

Usage: PYTHONPATH=. python scripts/guidance_screenshot.py docs/screenshots/guidance.png
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

tmp = Path(tempfile.mkdtemp())
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp))
app = QApplication([])
sys.path.insert(0, "tests/gui")
from conftest import TINY_CONFIG  # noqa: E402 - after the QApplication and settings path

from clipdraw_core.clip.clip_model import load_clip, register_model_config  # noqa: E402 - after the QApplication and settings path

p = tmp / "tiny.json"
p.write_text(json.dumps(TINY_CONFIG))
clip = load_clip(register_model_config(p), "random", "cpu")
from app.main_window import MainWindow  # noqa: E402 - after the QApplication and settings path

w = MainWindow(clip=clip, offer_recovery=False, threaded_canvas=False)
w.confirm_close = False
w.resize(1400, 860)
w.show()
c = w.controls
c.num_paths.setValue(24)
c.num_steps.setValue(10000)
c.canvas_size.setValue(224)
c.model.setCurrentText(clip.name)
c.weights.setCurrentText("random")
c.prompt.setPlainText("A lighthouse at night.")
c.negatives.setPlainText("daylight")
w.start_drawing()


def wait(pred, t=60):
    end = time.time() + t
    while time.time() < end and not pred():
        app.processEvents()
        time.sleep(0.02)


wait(lambda: w.controller.snapshot() is not None and w.controller.snapshot().step >= 3)
w.prompts.add_entry("stormy sea", 0.5)
w.prompts.add_entry("blurry", 0.4, negative=True)
w.regions.new_prompt.setText("a starry sky")
w.add_region([(0, 0), (224, 0), (224, 80), (0, 80)])
w.add_region([(120, 120), (200, 120), (200, 200), (120, 200)])
w.regions.table.item(1, 1).setText("rocks")
snap = w.controller.snapshot()
w.canvas.set_selection([s.id for s in snap.drawing.strokes[:6]])
w.respect_selected(0.6)
wait(
    lambda: (
        len(w.controller.snapshot().guidance.regions) == 2
        and "region rocks: a starry sky" in w.controller.snapshot().scores
    )
)
wait(lambda: False, 1.5)
w.canvas.set_selection([])
for _ in range(20):
    app.processEvents()
    time.sleep(0.02)
w.grab().save(sys.argv[1])
w.controller.stop()
w.close()
w.shutdown()
