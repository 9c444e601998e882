"""Editing strokes by hand in the window: drag, nudge, flip, style, z-order, clipboard, undo."""

from __future__ import annotations

import numpy as np
from helpers import drag, start_run, wait_for
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QGuiApplication

from app.editing import STROKES_MIME
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.io.svg_export import drawing_to_svg


def _line(i: int, x: float, color=(0.0, 0.0, 0.0, 1.0)) -> Stroke:
    pts = np.array([[x, 20], [x, 35], [x, 50], [x, 65]], dtype=np.float64)
    return Stroke(i, pts, 2.0, color)


def _load(window) -> Drawing:
    drawing = Drawing(96, 96, strokes=(_line(0, 20), _line(1, 50, (1.0, 0.0, 0.0, 1.0)), _line(2, 75)))
    window.controller.load_drawing(drawing, 0, window.current_config())
    window.canvas.resize(400, 400)
    window.canvas.zoom_fit()
    return drawing


def _points(window, sid: int) -> np.ndarray:
    return np.asarray(window.controller.drawing().stroke(sid).points, dtype=np.float64)


def test_drag_moves_the_selection_and_undo_redo(qtbot, window):
    d = _load(window)
    window.canvas.set_selection([1])
    drag(window.canvas, [(50, 40), (55, 45), (62, 48)])
    moved = _points(window, 1) - d.stroke(1).points
    np.testing.assert_allclose(moved, np.tile([12, 8], (4, 1)), atol=0.6)
    np.testing.assert_array_equal(_points(window, 0), d.stroke(0).points)  # only the selection
    np.testing.assert_array_equal(_points(window, 2), d.stroke(2).points)
    assert window.undo_stack.undoText() == "Move"
    window.undo_stack.undo()
    np.testing.assert_allclose(_points(window, 1), d.stroke(1).points, atol=1e-4)
    window.undo_stack.redo()
    np.testing.assert_allclose(_points(window, 1) - d.stroke(1).points, moved, atol=1e-4)


def test_arrow_keys_nudge_flip_and_z_order_shortcuts(qtbot, window):
    d = _load(window)
    window.canvas.set_selection([0])
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_allclose(_points(window, 0) - d.stroke(0).points, np.tile([1, 10], (4, 1)), atol=1e-4)
    assert window.undo_stack.count() == 2  # one undo step each
    window.canvas.set_selection([0, 1])  # x 21 and 50 -> bbox centre x 35.5
    qtbot.keyClick(window.canvas, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert _points(window, 0)[0, 0] == np.float32(50.0) and _points(window, 1)[0, 0] == np.float32(21.0)
    np.testing.assert_array_equal(_points(window, 2), d.stroke(2).points)
    qtbot.keyClick(window.canvas, Qt.Key.Key_End)  # to bottom: already there, then Home = top
    qtbot.keyClick(window.canvas, Qt.Key.Key_Home)
    assert window.controller.drawing().ids == [2, 0, 1]
    window.canvas.set_selection([2])
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageUp)
    assert window.controller.drawing().ids == [0, 2, 1]
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.controller.drawing().ids == [0, 1, 2]


def test_style_and_match_style(qtbot, window):
    _load(window)
    window.canvas.set_selection([0, 2])
    window.editor.recolour((0.0, 0.5, 1.0))
    window.editor.set_opacity(0.25)
    window.editor.set_width(6.0)
    s = window.controller.drawing().stroke(2)
    assert s.color == (0.0, 0.5, 1.0, 0.25) and s.half_width == 3.0
    window.canvas.set_selection([1, 0])  # first selected is the source
    qtbot.keyClick(
        window.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert window.controller.drawing().stroke(0).color == (1.0, 0.0, 0.0, 1.0)
    for _ in range(4):
        window.undo_stack.undo()
    assert window.controller.drawing().stroke(2).color == (0.0, 0.0, 0.0, 1.0)
    assert window.controller.drawing().stroke(2).half_width == 2.0


def test_copy_paste_between_two_windows_keeps_geometry_and_style(qtbot, window, gui_clip):
    from app.main_window import MainWindow

    d = _load(window)
    window.canvas.set_selection([1])
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(STROKES_MIME) and "<svg" in mime.text()
    other = MainWindow(clip=gui_clip, offer_recovery=False)
    other.confirm_close = False
    qtbot.addWidget(other)
    other.controller.load_drawing(Drawing(96, 96, strokes=(_line(1, 10),)), 0, window.current_config())
    other.editor.paste()
    pasted = other.controller.drawing().strokes[-1]
    assert pasted.id != 1 and len(other.controller.drawing().strokes) == 2  # a fresh id
    np.testing.assert_allclose(pasted.points, d.stroke(1).points + 10, atol=1e-4)
    assert pasted.color == d.stroke(1).color and pasted.half_width == d.stroke(1).half_width
    other.undo_stack.undo()
    assert len(other.controller.drawing().strokes) == 1
    # duplicate (Ctrl+D) and cut (Ctrl+X) in the first window
    qtbot.keyClick(window.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(window.controller.drawing().strokes) == 4
    dup = window.controller.drawing().strokes[-1]
    np.testing.assert_array_equal(dup.points, d.stroke(1).points)
    assert window.canvas.selected_ids() == [dup.id]
    qtbot.keyClick(window.canvas, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.drawing().ids == [0, 1, 2]
    other.close()


def test_pasting_svg_text_imports_its_strokes(qtbot, window):
    _load(window)
    svg = drawing_to_svg(Drawing(96, 96, strokes=(_line(7, 40, (0.0, 1.0, 0.0, 1.0)), _line(8, 60))))
    mime = QMimeData()
    mime.setText(svg)
    QGuiApplication.clipboard().setMimeData(mime)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    strokes = window.controller.drawing().strokes
    assert len(strokes) == 5 and len({s.id for s in strokes}) == 5
    assert strokes[3].color[:3] == (0.0, 1.0, 0.0)
    np.testing.assert_allclose(strokes[3].points[:, 0], 40, atol=0.01)


def test_a_move_mid_run_lands_and_is_not_undone_by_the_next_steps(qtbot, window):
    first = start_run(qtbot, window, "a sun", steps=2)
    sid = first.drawing.strokes[3].id
    window.canvas.set_selection([sid])
    window.canvas.setFocus()
    before = first.drawing.stroke(sid).points.mean(axis=0)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    later = wait_for(qtbot, window, lambda s: s.step >= first.step + 3)
    shift = later.drawing.stroke(sid).points.mean(axis=0) - before
    # ten pixels right; each later step moves a point by at most lr (1 px)
    assert 10 - (later.step - first.step) - 0.01 <= shift[0] and shift[0] >= 5
    assert later.drawing.stroke(sid).id == sid
    window.undo_stack.undo()
    x_moved = later.drawing.stroke(sid).points.mean(axis=0)[0]
    wait_for(qtbot, window, lambda s: s.drawing.stroke(sid).points.mean(axis=0)[0] < x_moved - 5)


def test_rotate_and_scale_shortcuts(qtbot, window):
    d = _load(window)
    window.canvas.set_selection([0])  # a vertical line x=20, y 20..65: centre (20, 42.5)
    window.canvas.setFocus()
    qtbot.keyClicks(window.canvas, "]")
    p = d.stroke(0).points.astype(np.float64) - [20, 42.5]
    a = np.radians(15)
    turned = np.stack(
        [np.cos(a) * p[:, 0] - np.sin(a) * p[:, 1], np.sin(a) * p[:, 0] + np.cos(a) * p[:, 1]], 1
    )
    np.testing.assert_allclose(_points(window, 0), turned + [20, 42.5], atol=1e-3)
    window.undo_stack.undo()
    np.testing.assert_allclose(_points(window, 0), d.stroke(0).points, atol=1e-3)
    qtbot.keyClicks(window.canvas, ">")
    np.testing.assert_allclose(_points(window, 0), p * 1.1 + [20, 42.5], atol=1e-3)
    assert window.controller.drawing().stroke(0).half_width == np.float32(2.2)
    np.testing.assert_array_equal(_points(window, 1), d.stroke(1).points)


def test_dragging_mid_run_holds_the_strokes_still_then_releases_them(qtbot, window):
    from helpers import widget_point
    from PySide6.QtTest import QTest

    first = start_run(qtbot, window, "a moon", steps=2)
    stroke = first.drawing.strokes[4]
    sid = stroke.id
    window.canvas.set_selection([sid])
    x, y = (float(v) for v in stroke.points[0])
    canvas = window.canvas
    QTest.mousePress(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, x, y)
    )
    QTest.mouseMove(canvas, widget_point(canvas, x + 4, y + 2))
    QTest.mouseMove(canvas, widget_point(canvas, x + 8, y + 4))
    held = wait_for(qtbot, window, lambda s: s.drawing.stroke(sid).frozen)
    still = wait_for(qtbot, window, lambda s: s.step >= held.step + 2)
    np.testing.assert_array_equal(still.drawing.stroke(sid).points, held.drawing.stroke(sid).points)
    QTest.mouseRelease(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, x + 8, y + 4)
    )
    free = wait_for(qtbot, window, lambda s: not s.drawing.stroke(sid).frozen)
    shift = free.drawing.stroke(sid).points.mean(axis=0) - held.drawing.stroke(sid).points.mean(axis=0)
    np.testing.assert_allclose(shift, [8, 4], atol=1.5)  # the drop, plus at most one step
    assert window.undo_stack.undoText() == "Move" and window.undo_stack.count() == 1


def test_editing_keys_still_reach_text_and_number_fields(qtbot, window):
    d = _load(window)
    window.canvas.set_selection([0])
    box = window.controls.num_paths
    box.setFocus()
    value = box.value()
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.value() == value + 1
    prompt = window.controls.prompt
    prompt.setFocus()
    qtbot.keyClick(prompt, Qt.Key.Key_Home)
    qtbot.keyClick(prompt, Qt.Key.Key_Left)
    qtbot.keyClick(prompt, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)  # types "H", no flip
    qtbot.keyClicks(prompt, "]>")
    assert prompt.toPlainText().lower().startswith("h]>")  # the text field got the keys
    np.testing.assert_array_equal(_points(window, 0), d.stroke(0).points)
    assert window.controller.drawing().ids == [0, 1, 2] and window.undo_stack.count() == 0


def test_hand_edits_are_saved_in_the_project(qtbot, window, tmp_path):
    from clipdraw_core.io.project import load_project

    d = _load(window)
    window.canvas.set_selection([2])
    window.editor.move(5, 0)
    window.editor.recolour((0.0, 0.0, 1.0))
    window.editor.reorder("bottom")
    path = window.files.save_project(tmp_path / "edited.cdproj")
    saved = load_project(path).drawing
    assert saved.ids == [2, 0, 1]
    np.testing.assert_allclose(saved.stroke(2).points, d.stroke(2).points + [5, 0], atol=1e-4)
    assert saved.stroke(2).color == (0.0, 0.0, 1.0, 1.0)


def test_node_tool_drags_adds_and_removes_nodes(qtbot, window):
    from helpers import widget_point
    from PySide6.QtTest import QTest

    d = _load(window)
    canvas = window.canvas
    canvas.set_selection([1])  # the vertical line x=50, anchors at y 20 and 65
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_N)
    assert canvas.tool() == "node" and canvas.nodes.stroke_id == 1
    drag(canvas, [(50, 20), (53, 20), (56, 22)])  # the first anchor, with its handle
    moved = _points(window, 1)
    np.testing.assert_allclose(moved[:2], d.stroke(1).points[:2] + [6, 2], atol=0.6)
    np.testing.assert_array_equal(moved[2:], d.stroke(1).points[2:])
    window.undo_stack.undo()
    np.testing.assert_array_equal(_points(window, 1), d.stroke(1).points)
    QTest.mouseDClick(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, 50, 42)
    )
    added = _points(window, 1)
    assert len(added) == 7 and abs(added[3, 1] - 42) < 1.5  # a new anchor where clicked
    np.testing.assert_allclose(added[:, 0], 50, atol=1e-4)  # still the same straight line
    x, y = added[3]
    QTest.mouseClick(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, x, y)
    )
    assert canvas.nodes.selected == 3
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    back = _points(window, 1)
    assert len(back) == 4 and 1 in window.controller.drawing().ids  # the node, not the stroke
    np.testing.assert_allclose(back[[0, 3]], d.stroke(1).points[[0, 3]], atol=1e-4)
    window.undo_stack.undo()
    assert len(_points(window, 1)) == 7


def test_split_at_a_node_and_join_end_to_end(qtbot, window):
    d = _load(window)
    canvas = window.canvas
    canvas.set_selection([1])
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_N)
    canvas.nodes.selected = 0
    window.editor.set_nodes(1, canvas.nodes.add_node_at(QPointF(50, 42)))  # a node at y ~42
    canvas.nodes.selected = 3
    qtbot.keyClick(canvas, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    drawing = window.controller.drawing()
    assert len(drawing.strokes) == 4
    head, tail = drawing.stroke(1), drawing.strokes[-1]
    np.testing.assert_array_equal(head.points[-1], tail.points[0])  # cut at the shared node
    assert len(head.points) == len(tail.points) == 4 and tail.color == head.color
    window.undo_stack.undo()  # the split is one undo step
    assert len(window.controller.drawing().strokes) == 3 and len(_points(window, 1)) == 7
    window.undo_stack.redo()
    qtbot.keyClick(canvas, Qt.Key.Key_V)  # back to Select
    canvas.set_selection([1, window.controller.drawing().strokes[-1].id])
    qtbot.keyClick(canvas, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
    joined = window.controller.drawing()
    assert joined.ids == [0, 1, 2] and len(joined.stroke(1).points) == 7
    np.testing.assert_allclose(joined.stroke(1).points[[0, 6]], d.stroke(1).points[[0, 3]], atol=1e-4)
    window.undo_stack.undo()
    assert len(window.controller.drawing().strokes) == 4


def test_corner_handle_scales_about_the_opposite_corner_in_one_undo_step(qtbot, window):
    d = _load(window)
    window.canvas.set_selection([0, 1])  # box x 20..50, y 20..65
    before = window.undo_stack.count()
    o = 10 / window.canvas.scale()  # the handle sits just outside the box's corner
    drag(window.canvas, [(50 + o, 65 + o), (58 + o, 72 + o), (65 + o, 80 + o)])  # anchor: top-left
    assert window.undo_stack.count() == before + 1 and window.undo_stack.undoText() == "Scale"
    sx, sy = 45 / 30, 60 / 45
    for sid in (0, 1):
        p0 = d.stroke(sid).points
        want = np.stack([20 + sx * (p0[:, 0] - 20), 20 + sy * (p0[:, 1] - 20)], axis=1)
        np.testing.assert_allclose(_points(window, sid), want, atol=0.5)
    np.testing.assert_array_equal(_points(window, 2), d.stroke(2).points)
    window.undo_stack.undo()
    np.testing.assert_allclose(_points(window, 1), d.stroke(1).points, atol=1e-3)
    # Shift keeps the aspect: the same factor on both axes
    path = [(50 + o, 65 + o), (60 + o, 70 + o), (80 + o, 70 + o)]
    drag(window.canvas, path, Qt.KeyboardModifier.ShiftModifier)
    p = _points(window, 1)
    s = (p[-1, 1] - 20) / (65 - 20)
    np.testing.assert_allclose(p[0, 0] - 20, 30 * s, atol=1e-3)
    assert s > 1.9


def test_rotate_handle_turns_about_the_centre_shift_snaps(qtbot, window):
    d = _load(window)
    window.canvas.set_selection([0, 1])  # centre (35, 42.5)
    top = 20 - 22 / window.canvas.scale()  # the rotate handle, above the box
    r = 42.5 - top
    drag(window.canvas, [(35, top), (35 + r / 2, top + 3), (35 + r, 44)], Qt.KeyboardModifier.ShiftModifier)
    assert window.undo_stack.undoText() == "Rotate"
    for sid in (0, 1):  # a quarter turn clockwise on screen: (x, y) -> (cx - (y - cy), cy + (x - cx))
        p0 = d.stroke(sid).points
        want = np.stack([35 - (p0[:, 1] - 42.5), 42.5 + (p0[:, 0] - 35)], axis=1)
        np.testing.assert_allclose(_points(window, sid), want, atol=1e-3)
    window.undo_stack.undo()
    np.testing.assert_allclose(_points(window, 0), d.stroke(0).points, atol=1e-3)


def test_eyedropper_key_picks_a_canvas_colour_for_the_selection(qtbot, window):
    from helpers import widget_point
    from PySide6.QtTest import QTest

    _load(window)
    window.canvas.set_selection([0, 2])  # black strokes
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_I)
    assert window.canvas.picking
    QTest.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=widget_point(window.canvas, 50, 42))
    assert not window.canvas.picking
    for sid in (0, 2):  # the red of stroke 1, opacity kept
        np.testing.assert_allclose(window.controller.drawing().stroke(sid).color, (1, 0, 0, 1), atol=0.02)
    assert window.canvas.selected_ids() == [0, 2]  # the pick did not change the selection
    assert window.undo_stack.undoText() == "Recolour"
    window.undo_stack.undo()
    assert window.controller.drawing().stroke(0).color == (0.0, 0.0, 0.0, 1.0)
    # the paper's colour (white) can be picked too; a later click selects as usual
    qtbot.keyClick(window.canvas, Qt.Key.Key_I)
    QTest.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=widget_point(window.canvas, 35, 80))
    np.testing.assert_allclose(window.controller.drawing().stroke(2).color[:3], (1, 1, 1), atol=0.02)
    qtbot.keyClick(window.canvas, Qt.Key.Key_I)
    qtbot.keyClick(window.canvas, Qt.Key.Key_V)  # the Select tool: no pick
    assert not window.canvas.picking


def test_scaling_with_a_handle_mid_run_holds_the_strokes_still(qtbot, window):
    from helpers import widget_point
    from PySide6.QtTest import QTest

    from clipdraw_core.drawing.commands import TransformStrokes, apply_to_drawing

    first = start_run(qtbot, window, "a moon", steps=2)
    sid = first.drawing.strokes[4].id
    window.canvas.set_selection([sid])
    canvas, none = window.canvas, Qt.KeyboardModifier.NoModifier
    x1, y1 = canvas.drawing().stroke(sid).points.max(axis=0)
    o = 10 / canvas.scale()
    hx, hy = float(x1) + o, float(y1) + o  # the bottom-right handle
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, none, widget_point(canvas, hx, hy))
    QTest.mouseMove(canvas, widget_point(canvas, hx + 3, hy + 3))
    QTest.mouseMove(canvas, widget_point(canvas, hx + 6, hy + 6))
    held = wait_for(qtbot, window, lambda s: s.drawing.stroke(sid).frozen)
    still = wait_for(qtbot, window, lambda s: s.step >= held.step + 2)
    np.testing.assert_array_equal(still.drawing.stroke(sid).points, held.drawing.stroke(sid).points)
    matrix = canvas.handle_drag.matrix()  # what the preview shows
    assert matrix[0] > 1 and matrix[4] > 1
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, none, widget_point(canvas, hx + 6, hy + 6))
    free = wait_for(qtbot, window, lambda s: not s.drawing.stroke(sid).frozen)
    assert window.undo_stack.undoText() == "Scale" and window.undo_stack.count() == 1
    want = apply_to_drawing(held.drawing, TransformStrokes((sid,), matrix))[0].stroke(sid).points
    np.testing.assert_allclose(free.drawing.stroke(sid).points, want, atol=1.5)  # plus at most one step
