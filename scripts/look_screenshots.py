"""Window screenshots of each look preset for the README (docs/screenshots/window-preset-*.png).

Usage: PYTHONPATH=. python scripts/look_screenshots.py [STEPS [PRESET ...]]

For each built-in preset the script opens the window offscreen (its own temporary
settings), picks the preset from the Look menu, types a prompt, presses Draw with
ViT-B-32 and *random* weights (no download, so the strokes only wander: the pictures
show the window's look controls and the preset's look, not a meaningful drawing),
waits STEPS steps (default 12), selects a few strokes and grabs the window. The PNGs
are reduced to 256 colours to stay small.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_tmp = Path(tempfile.mkdtemp(prefix="clipdraw-shots-"))
os.environ["CLIPDRAW_SETTINGS"] = str(_tmp / "settings.ini")
os.environ["CLIPDRAW_DATA_DIR"] = str(_tmp / "data")

from PIL import Image  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from clipdraw_core.optim.presets import builtin_presets  # noqa: E402

PROMPTS = {
    "CLIPDraw (paper)": "Watercolor painting of an underwater submarine.",
    "Ink sketch": "A heron standing in reeds.",
    "Poster (palette, shapes)": "A lighthouse at night.",
    "Flat shapes": "A bowl of fruit.",
}


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    app = QApplication([])
    from app.main_window import MainWindow

    out = ROOT / "docs" / "screenshots"
    wanted = set(sys.argv[2:])
    for preset in builtin_presets():
        if wanted and preset.name not in wanted:
            continue
        win = MainWindow(offer_recovery=False, threaded_canvas=False)
        win.confirm_close = False
        win.resize(1100, 820)
        win.show()
        c = win.controls
        c.model.setCurrentText("ViT-B-32")
        c.weights.setCurrentText("random")
        c.device.setCurrentText("cpu")
        c.num_steps.setValue(10_000)
        wide = preset.name == "Poster (palette, shapes)"
        c.canvas_aspect.setCurrentText("3:2" if wide else "1:1")
        c.canvas_size.setValue(300 if wide else 224)
        win.look_actions.menu.action_named(preset.name).trigger()
        c.prompt.setPlainText(PROMPTS.get(preset.name, preset.name))
        win.start_drawing()
        end = time.time() + 600
        while time.time() < end:
            app.processEvents()
            snap = win.controller.snapshot()
            if snap is not None and snap.step >= steps:
                break
            time.sleep(0.02)
        win.controller.pause()
        snap = win.controller.snapshot()
        if snap is not None and snap.drawing.strokes:
            win.canvas.set_selection(list(snap.drawing.ids[-3:]))
        for _ in range(50):
            app.processEvents()
            time.sleep(0.02)
        path = out / f"window-preset-{slug(preset.name)}.png"
        image = win.grab().toImage()
        image.save(str(path))
        with Image.open(path) as im:
            small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
        print(f"{path.relative_to(ROOT)}: step {snap.step if snap else 0}, {path.stat().st_size // 1024} KB")
        win.close()
        win.shutdown()


if __name__ == "__main__":
    main()
