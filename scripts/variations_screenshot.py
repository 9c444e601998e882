"""Screenshot of the window with the Variations grid running (tiny random model).

Usage (under Xvfb, or offscreen without DISPLAY):
    Xvfb :113 &
    DISPLAY=:113 PYTHONPATH=. python scripts/variations_screenshot.py docs/screenshots/variations.png
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

tmp = Path(tempfile.mkdtemp())
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp))
app = QApplication([])
sys.path.insert(0, "tests/gui")
from conftest import TINY_CONFIG  # noqa: E402 - after the QApplication and settings path

from clipdraw_core.clip.clip_model import load_clip, register_model_config  # noqa: E402
from clipdraw_core.drawing.commands import AddFreehand  # noqa: E402

p = tmp / "tiny.json"
p.write_text(json.dumps(TINY_CONFIG))
clip = load_clip(register_model_config(p), "random", "cpu")
from app.main_window import MainWindow  # noqa: E402 - after the QApplication and settings path

w = MainWindow(clip=clip, offer_recovery=False)
w.confirm_close = False
w.resize(1280, 860)
w.show()
c = w.controls
c.num_paths.setValue(32)
c.num_steps.setValue(10000)
c.canvas_size.setValue(224)
c.model.setCurrentText(clip.name)
c.weights.setCurrentText("random")
c.prompt.setPlainText("A lighthouse at night.")
# one frozen seed stroke, shared by every variation (a horizon line)
import numpy as np  # noqa: E402

line = np.array([[10.0, 150.0], [80.0, 140.0], [150.0, 155.0], [214.0, 145.0]])
w.controller.submit(AddFreehand(0, line, 3.0, (0.1, 0.2, 0.6, 1.0), True))


def wait(pred, t=120):
    end = time.time() + t
    while time.time() < end and not pred():
        app.processEvents()
        time.sleep(0.02)


w.start_variations(6)
wait(lambda: (u := w.variations.last_update()) is not None and u.step >= 25 and len(u.scores) == 6)
w.variations.grid.tile(w.variations.grid.order()[-1]).drop_button.click()
wait(lambda: len(w.variations.grid.tiles()) == 5)
w.variations.pause()
wait(lambda: all(t.is_painted() for t in w.variations.grid.tiles()))
wait(lambda: False, 1.0)
w.grab().save(sys.argv[1])
# 256 colours (the window's flat greys lose nothing visible) keep the picture under 150 KB
from PIL import Image  # noqa: E402

Image.open(sys.argv[1]).convert("RGB").quantize(256).save(sys.argv[1], optimize=True)
w.variations.stop()
w.close()
w.shutdown()
