"""Screenshot of the canvas and the timeline: a past frame shown, one branch kept (tiny random model).

Usage: PYTHONPATH=. python scripts/timeline_screenshot.py docs/screenshots/timeline.png
(offscreen by default; set QT_QPA_PLATFORM=xcb with DISPLAY=:99 under Xvfb for the real style)
"""

import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PIL import Image
from PySide6.QtCore import QBuffer, QSettings
from PySide6.QtWidgets import QApplication

tmp = Path(tempfile.mkdtemp())
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp))
os.environ["CLIPDRAW_SETTINGS"] = str(tmp / "settings.ini")
app = QApplication([])
sys.path.insert(0, "tests/gui")
from conftest import TINY_CONFIG  # noqa: E402 - after the QApplication and settings path

from clipdraw_core.clip.clip_model import load_clip, register_model_config  # noqa: E402 - after the QApplication

p = tmp / "tiny.json"
p.write_text(json.dumps(TINY_CONFIG))
clip = load_clip(register_model_config(p), "random", "cpu")
from app.main_window import MainWindow  # noqa: E402 - after the QApplication and settings path
from clipdraw_core.optim.run_state import RunState  # noqa: E402

w = MainWindow(clip=clip, offer_recovery=False, threaded_canvas=False)
w.confirm_close = False
w.resize(1560, 860)
w.show()
c = w.controls
c.num_paths.setValue(48)
c.num_steps.setValue(10000)
c.canvas_size.setValue(224)
c.timelapse_every.setValue(2)
c.model.setCurrentText(clip.name)
c.weights.setCurrentText("random")
c.prompt.setPlainText("A lighthouse at night.")
w.start_drawing()


def wait(pred, t=120):
    end = time.time() + t
    while time.time() < end and not pred():
        app.processEvents()
        time.sleep(0.02)


wait(lambda: len(w.controller.history.main()) >= 30)
w.controller.pause()
wait(lambda: w.controller.state() is RunState.PAUSED)
w.timeline.show_index(12)
w.continue_from_frame(0, 12)  # a branch: the recorded future after frame 12
w.controller.resume()
wait(lambda: len(w.controller.history.main()) >= 25)
w.controller.pause()
wait(lambda: w.controller.state() is RunState.PAUSED)
w.timeline.show_index(18)
for _ in range(30):
    app.processEvents()
    time.sleep(0.02)
shot = w.centralWidget().grab()
buffer = QBuffer()
buffer.open(QBuffer.OpenModeFlag.ReadWrite)
shot.save(buffer, "PNG")
image = Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB")
image.quantize(128, method=Image.Quantize.FASTOCTREE).save(sys.argv[1], optimize=True)
print(sys.argv[1], image.size, Path(sys.argv[1]).stat().st_size, "bytes")
w.controller.stop()
w.close()
w.shutdown()
