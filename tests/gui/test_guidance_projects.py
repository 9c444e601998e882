"""A project's guidance (image prompts, regions) survives the window: open, Draw, save, New."""

from __future__ import annotations

import io

import numpy as np
from helpers import start_run, wait_step
from PIL import Image
from PySide6.QtCore import Qt

from app.main_window import MainWindow
from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, Region, normalise_png
from clipdraw_core.io.project import load_project, save_project


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), (200, 30, 30), np.uint8)).save(buf, format="PNG")
    return normalise_png(buf.getvalue())


def test_guidance_is_used_and_kept_by_the_window(qtbot, window, tmp_path, gui_clip):
    start_run(qtbot, window, "a teapot", steps=2)
    window.controller.stop()
    path = window.files.save_project(tmp_path / "plain.cdproj")
    plain = load_project(path)
    guidance = Guidance(
        images=(ImagePrompt("red.png", _png(), 0.5),),
        regions=(Region.rect(1, 10, 10, 60, 60, "a lid", 1.0, "lid"),),
    )
    guided = save_project(tmp_path / "guided.cdproj", plain.config, plain.drawing, plain.step, guidance)

    other = MainWindow(clip=gui_clip, offer_recovery=False)
    other.confirm_close = False
    qtbot.addWidget(other)
    try:
        assert other.files.open_project(guided)
        qtbot.mouseClick(other.controls.draw, Qt.MouseButton.LeftButton)
        snap = wait_step(qtbot, other, plain.step + 1)
        assert {"image: red.png", "region lid: a lid"} <= set(snap.scores)
        other.controller.stop()
        again = other.files.save_project(tmp_path / "again.cdproj")
        assert load_project(again).guidance == guidance
        other.new_drawing()
        assert other.controller.guidance == Guidance()
    finally:
        other.close()
        other.shutdown()
