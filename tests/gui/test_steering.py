"""End-to-end steering through the real window and engine (tiny random CLIP model)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import drag, snap, start_run, stroke_points, wait_for, wait_step, widget_point
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.canvas.canvas import TOOL_DRAW


def _moved(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape != b.shape or not np.array_equal(a, b)


def test_typed_prompt_runs_and_shows_steps(qtbot, window):
    first = start_run(qtbot, window, "a lighthouse at dawn", steps=3)
    assert window.controller.config().prompt == "a lighthouse at dawn"
    assert first.drawing.width == 96 and len(first.drawing.strokes) == 12
    qtbot.waitUntil(lambda: window.canvas.layer_is_current(), timeout=5000)
    assert window.canvas.drawing() is window.controller.snapshot().drawing or window.canvas.drawing().strokes
    assert window.status.step.text().startswith("Step ")
    qtbot.waitUntil(lambda: len(window.status.plot.points()) >= 2, timeout=10000)
    # Space pauses; the steps stop; Space resumes
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.controller.state() == "paused", timeout=10000)
    paused_at = snap(window).step
    qtbot.wait(300)
    assert snap(window).step == paused_at
    QTest.keyClick(window.canvas, Qt.Key.Key_Space)
    wait_step(qtbot, window, paused_at + 1)


def test_click_freeze_keeps_stroke_bit_identical_and_undo(qtbot, window):
    s0 = start_run(qtbot, window, steps=2)
    # click on the middle of the topmost stroke to select it
    target = s0.drawing.strokes[-1]
    mid = target.points[len(target.points) // 2]
    QTest.mouseClick(
        window.canvas,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        widget_point(window.canvas, float(mid[0]), float(mid[1])),
    )
    selected = window.canvas.selected_ids()
    assert len(selected) == 1
    sid = selected[0]
    window.actions_.freeze.trigger()
    frozen_snap = wait_for(qtbot, window, lambda s: s.drawing.stroke(sid).frozen)
    frozen_pts = stroke_points(frozen_snap, sid).copy()
    others = {s.id: s.points.copy() for s in frozen_snap.drawing.strokes if s.id != sid}
    later = wait_step(qtbot, window, frozen_snap.step + 3)
    assert np.array_equal(stroke_points(later, sid), frozen_pts), "a frozen stroke moved"
    assert any(_moved(others[s.id], s.points) for s in later.drawing.strokes if s.id in others)
    # undo unfreezes: the stroke moves again
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    thawed = wait_for(qtbot, window, lambda s: not s.drawing.stroke(sid).frozen)
    after = wait_step(qtbot, window, thawed.step + 3)
    assert _moved(stroke_points(after, sid), frozen_pts)


def test_rubber_band_selects_and_delete_key_removes_then_undo_restores(qtbot, window):
    s0 = start_run(qtbot, window, steps=2)
    window.controller.pause()
    qtbot.waitUntil(lambda: window.controller.state() == "paused", timeout=10000)
    s0 = snap(window)
    # rubber band over the whole canvas selects everything
    drag(window.canvas, [(-2, -2), (50, 50), (98, 98)])
    assert sorted(window.canvas.selected_ids()) == sorted(s0.drawing.ids)
    victim_index = 3
    victim = s0.drawing.strokes[victim_index].id
    window.canvas.set_selection([victim])
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Delete)
    # paused: the edit is applied at once, without a step
    gone = wait_for(qtbot, window, lambda s: victim not in s.drawing.ids)
    assert gone.step == s0.step
    assert window.canvas.selected_ids() == []
    window.undo_stack.undo()
    back = wait_for(qtbot, window, lambda s: victim in s.drawing.ids)
    assert back.drawing.ids.index(victim) == victim_index
    assert np.array_equal(stroke_points(back, victim), s0.drawing.strokes[victim_index].points)
    window.undo_stack.redo()
    wait_for(qtbot, window, lambda s: victim not in s.drawing.ids)


def test_freehand_stroke_joins_engine_and_undo_redo(qtbot, window):
    s0 = start_run(qtbot, window, steps=2)
    before = set(s0.drawing.ids)
    window.actions_.tool_actions[TOOL_DRAW].trigger()
    drag(window.canvas, [(10, 10), (20, 14), (30, 20), (40, 30), (50, 45), (60, 60)])
    assert window.undo_stack.count() == 1
    added = wait_for(qtbot, window, lambda s: len(set(s.drawing.ids) - before) == 1)
    (new_id,) = set(added.drawing.ids) - before
    stroke = added.drawing.stroke(new_id)
    assert added.drawing.ids[-1] == new_id  # on top
    assert (abs(stroke.points[0][0] - 10) < 2 and abs(stroke.points[-1][1] - 60) < 2) or stroke.points.shape[
        0
    ] >= 4
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: new_id not in s.drawing.ids)
    window.undo_stack.redo()
    wait_for(qtbot, window, lambda s: new_id in s.drawing.ids)


def test_shift_drawn_stroke_enters_frozen(qtbot, window):
    s0 = start_run(qtbot, window, steps=1)
    before = set(s0.drawing.ids)
    window.canvas.set_tool(TOOL_DRAW)
    drag(window.canvas, [(70, 10), (75, 30), (80, 50)], Qt.KeyboardModifier.ShiftModifier)
    added = wait_for(qtbot, window, lambda s: len(set(s.drawing.ids) - before) == 1)
    (new_id,) = set(added.drawing.ids) - before
    pts = stroke_points(added, new_id).copy()
    assert added.drawing.stroke(new_id).frozen
    later = wait_step(qtbot, window, added.step + 2)
    assert np.array_equal(stroke_points(later, new_id), pts)


def test_prompt_change_mid_run_is_undoable(qtbot, window):
    start_run(qtbot, window, "a cat", steps=1)
    window.controls.prompt.clear()
    qtbot.keyClicks(window.controls.prompt, "a dog")
    qtbot.mouseClick(window.controls.apply_prompt, Qt.MouseButton.LeftButton)
    wait_for(qtbot, window, lambda s: s.prompt == "a dog")
    assert window.controller.config().prompt == "a dog"
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.prompt == "a cat")
    assert window.controls.prompt.toPlainText() == "a cat"


def test_edits_between_two_steps_are_all_applied(qtbot, window):
    s0 = start_run(qtbot, window, steps=1)
    ids = s0.drawing.ids
    window.canvas.set_selection(ids[:2])
    window.freeze_selected(True)
    window.canvas.set_selection(ids[2:4])
    window.delete_selected()
    window.canvas.set_selection(ids[4:5])
    window.freeze_selected(True)
    s = wait_for(qtbot, window, lambda s: ids[2] not in s.drawing.ids)
    assert s.drawing.stroke(ids[0]).frozen and s.drawing.stroke(ids[1]).frozen
    assert s.drawing.stroke(ids[4]).frozen and ids[3] not in s.drawing.ids


def test_stop_keeps_drawing_and_draw_continues(qtbot, window):
    s0 = start_run(qtbot, window, steps=2)
    qtbot.mouseClick(window.controls.stop, Qt.MouseButton.LeftButton)
    assert window.controller.state() == "stopped"
    stopped = window.controller.drawing()
    step = window.controller.step()
    assert stopped is not None and len(stopped.strokes) == len(s0.drawing.strokes)
    # edits work with no session (applied locally)
    window.canvas.set_selection([stopped.ids[0]])
    window.delete_selected()
    assert stopped.ids[0] not in window.controller.drawing().ids
    qtbot.mouseClick(window.controls.draw, Qt.MouseButton.LeftButton)
    cont = wait_step(qtbot, window, step + 1)
    assert stopped.ids[0] not in cont.drawing.ids
    assert set(cont.drawing.ids) == set(stopped.ids[1:])


def test_tablet_pressure_stroke(qtbot, window):
    """A pen stroke with the Brush tool carries pressure; harder pressure gives a wider stroke."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    window.canvas.set_tool(TOOL_DRAW)
    device = QPointingDevice.primaryPointingDevice()
    pts = [(10, 10), (30, 30), (50, 40), (70, 70)]
    for i, (x, y) in enumerate(pts):
        kind = (
            QEvent.Type.TabletPress
            if i == 0
            else QEvent.Type.TabletRelease
            if i == len(pts) - 1
            else QEvent.Type.TabletMove
        )
        pos = QPointF(widget_point(window.canvas, x, y))
        ev = QTabletEvent(
            kind,
            device,
            pos,
            window.canvas.mapToGlobal(pos),
            1.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            Qt.KeyboardModifier.NoModifier,
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton,
        )
        QApplication.sendEvent(window.canvas, ev)
    stroke = window.controller.drawing().strokes[-1]
    assert stroke.half_width == pytest.approx(window.canvas.brush_half_width * 1.5)


def test_ctrl_enter_in_the_prompt_box_draws_then_steers(qtbot, window):
    window.controls.prompt.clear()
    qtbot.keyClicks(window.controls.prompt, "a sailing boat")
    window.controls.prompt.setFocus()
    QTest.keyClick(window.controls.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_step(qtbot, window, 1)
    assert window.controller.config().prompt == "a sailing boat"
    window.controls.prompt.clear()
    qtbot.keyClicks(window.controls.prompt, "a steam train")
    QTest.keyClick(window.controls.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_for(qtbot, window, lambda s: s.prompt == "a steam train")
    assert window.undo_stack.count() >= 1


def test_add_random_strokes_mid_run_and_undo(qtbot, window):
    first = start_run(qtbot, window, "a tree", steps=1)
    before = len(first.drawing.strokes)
    window.add_random_strokes(5)
    grown = wait_for(qtbot, window, lambda s: len(s.drawing.strokes) == before + 5)
    new_ids = grown.drawing.ids[-5:]
    assert len(set(grown.drawing.ids)) == before + 5
    width = grown.drawing.width
    assert all(-20 <= s.points[0, 0] <= width + 20 for s in grown.drawing.strokes[-5:])  # on the canvas
    window.undo_stack.undo()
    back = wait_for(qtbot, window, lambda s: len(s.drawing.strokes) == before)
    assert not set(new_ids) & set(back.drawing.ids)


def test_window_never_reads_the_live_session_config(qtbot, window, monkeypatch):
    """Only submit/allocate_ids of a session are thread-safe: the GUI keeps its own config."""
    from clipdraw_core.optim.session import Session

    start_run(qtbot, window, "a cat", steps=1)

    def forbidden(self):
        raise AssertionError("the GUI thread read Session.config")

    monkeypatch.setattr(Session, "config", property(forbidden))
    assert window.controller.config().prompt == "a cat"
    window.controls.prompt.clear()
    qtbot.keyClicks(window.controls.prompt, "a dog")
    qtbot.mouseClick(window.controls.apply_prompt, Qt.MouseButton.LeftButton)
    assert window.controller.config().prompt == "a dog"
    assert window.current_config().prompt == "a dog"
    monkeypatch.undo()  # the worker thread reads it again from here on
    shown = wait_for(qtbot, window, lambda s: s.prompt == "a dog")
    assert window.controller.config() is shown.config  # once shown, the snapshot's config is used
