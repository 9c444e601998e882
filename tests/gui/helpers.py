"""Small helpers shared by the GUI tests."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

STEP_TIMEOUT = 30_000


def snap(window):
    return window.controller.snapshot()


def wait_step(qtbot, window, at_least: int, timeout: int = STEP_TIMEOUT):
    """Wait until the window shows a snapshot of at least this step."""
    qtbot.waitUntil(lambda: snap(window) is not None and snap(window).step >= at_least, timeout=timeout)
    return snap(window)


def wait_for(qtbot, window, predicate, timeout: int = STEP_TIMEOUT):
    """Wait until ``predicate(snapshot)`` holds for the shown snapshot; return it."""
    qtbot.waitUntil(lambda: snap(window) is not None and predicate(snap(window)), timeout=timeout)
    return snap(window)


def start_run(qtbot, window, prompt: str = "a red bicycle", steps: int = 2):
    """Type a prompt like a user, press Draw, wait for some steps."""
    window.controls.prompt.clear()
    qtbot.keyClicks(window.controls.prompt, prompt)
    qtbot.mouseClick(window.controls.draw, Qt.MouseButton.LeftButton)
    return wait_step(qtbot, window, steps)


def stroke_points(snapshot, stroke_id: int) -> np.ndarray:
    return snapshot.drawing.stroke(stroke_id).points


def widget_point(canvas, x: float, y: float) -> QPoint:
    p = canvas.canvas_to_widget(QPointF(x, y))
    return QPoint(round(p.x()), round(p.y()))


def drag(canvas, points, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at the first canvas point, move through the rest, release at the last."""
    pts = [widget_point(canvas, x, y) for x, y in points]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, modifier, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(canvas, p)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, modifier, pts[-1])
