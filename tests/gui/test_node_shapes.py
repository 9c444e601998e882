"""The Nodes tool (N) on filled closed shapes: drag the start/end node, add nodes, refusals, undo.

A disc (one contour) and a donut (two contours) on a 96 px canvas. After every edit the
shape must still be closed with contour counts that add up, and its fill closed (ink at
the disc's centre, on the donut's ring, paper in the hole); undo puts it back.
"""

from __future__ import annotations

import numpy as np
from helpers import drag, widget_point
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.render import render_drawing
from tests.test_fill_rules import BLACK, donut, ink
from tests.test_shapes import circle


def _load(window) -> Drawing:
    disc = Stroke(0, circle(30, 30, 18), 1.0, (0.0, 0.0, 1.0, 1.0), fill=BLACK, outlined=False)
    ring = donut(66, 66, 22, 10, sid=1)
    drawing = Drawing(96, 96, strokes=(disc, ring))
    window.controller.load_drawing(drawing, 0, window.current_config())
    window.canvas.resize(400, 400)
    window.canvas.zoom_fit()
    return drawing


def _stroke(window, sid: int) -> Stroke:
    return window.controller.drawing().stroke(sid)


def _ink(window) -> np.ndarray:
    drawing = window.controller.drawing()
    for s in drawing.strokes:
        assert s.closed and sum(s.contours) == s.num_segments == len(s.points) // 3
    return ink(render_drawing(drawing))


def _click(canvas, x: float, y: float, double: bool = False) -> None:
    click = QTest.mouseDClick if double else QTest.mouseClick
    click(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget_point(canvas, x, y))


def _node_tool(qtbot, window, sid: int):
    canvas = window.canvas
    canvas.set_selection([sid])
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_N)
    assert canvas.tool() == "node" and canvas.nodes.stroke_id == sid
    return canvas


def test_dragging_a_shapes_start_node_moves_the_closure_point_and_undo(qtbot, window):
    d = _load(window)
    canvas = _node_tool(qtbot, window, 0)
    before = window.undo_stack.count()
    drag(canvas, [(48, 30), (52, 32), (56, 34)])  # the start/end node, out to the right
    s, old = _stroke(window, 0), d.stroke(0)
    assert window.undo_stack.count() == before + 1 and window.undo_stack.undoText() == "Edit nodes"
    assert s.closed and len(s.points) == 12
    moved = np.asarray(s.points, dtype=np.float64) - old.points
    for i in (0, 1, 11):  # the node, its handle and the closing segment's handle come along
        np.testing.assert_allclose(moved[i], [8, 4], atol=0.6)
    np.testing.assert_array_equal(moved[2:11], 0)
    img = _ink(window)
    assert img[30, 30] > 0.95 and img[32, 53] > 0.95  # centre filled, and out to the new tip
    assert img[5, 5] < 0.05
    window.undo_stack.undo()
    assert _stroke(window, 0) == old


def test_double_click_adds_a_node_on_a_donuts_inner_contour_and_undo(qtbot, window):
    d = _load(window)
    canvas = _node_tool(qtbot, window, 1)
    before = window.undo_stack.count()
    # the inner circle's closing segment (from 270 degrees back to its start at 0 degrees)
    x, y = 66 + 10 * np.cos(-np.pi / 4), 66 + 10 * np.sin(-np.pi / 4)
    _click(canvas, x, y, double=True)
    s = _stroke(window, 1)
    assert window.undo_stack.count() == before + 1
    assert s.subpaths == (4, 5) and len(s.points) == 27
    added = np.asarray(s.points[12:], dtype=np.float64)[3::3]  # the inner contour's new anchors
    assert np.hypot(*(added - [x, y]).T).min() < 1.5  # one where clicked
    img = _ink(window)
    assert img[66, 66] < 0.05 and img[66, 50] > 0.95 and img[50, 66] > 0.95  # hole and ring
    window.undo_stack.undo()
    assert _stroke(window, 1) == d.stroke(1)
    # a double-click on the outer contour's closing segment too
    x, y = 66 + 22 * np.cos(-np.pi / 4), 66 + 22 * np.sin(-np.pi / 4)
    _click(canvas, x, y, double=True)
    assert _stroke(window, 1).subpaths == (5, 4)
    assert _ink(window)[66, 66] < 0.05


def test_deleting_down_to_two_nodes_then_refused_with_a_message(qtbot, window):
    _load(window)
    canvas = _node_tool(qtbot, window, 0)
    for _ in range(2):
        x, y = _stroke(window, 0).points[0]
        _click(canvas, x, y)
        assert canvas.nodes.selected == 0
        qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    s = _stroke(window, 0)
    assert s.closed and s.num_segments == 2 and _ink(window)[30, 30] > 0.95
    x, y = s.points[3]
    _click(canvas, x, y)
    count = window.undo_stack.count()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert window.undo_stack.count() == count and _stroke(window, 0) == s  # nothing deleted
    assert "at least 2 nodes" in window.statusBar().currentMessage()


def test_split_opens_a_disc_refuses_a_donut_and_join_refuses_shapes(qtbot, window):
    d = _load(window)
    canvas = _node_tool(qtbot, window, 1)
    canvas.nodes.selected = 3
    qtbot.keyClick(canvas, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    assert _stroke(window, 1) == d.stroke(1) and "compound" in window.statusBar().currentMessage()
    canvas = _node_tool(qtbot, window, 0)
    canvas.nodes.selected = 3
    qtbot.keyClick(canvas, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    opened = _stroke(window, 0)
    assert not opened.closed and len(opened.points) == 13 and opened.color == d.stroke(0).color
    assert window.undo_stack.undoText() == "Open shape" and len(window.controller.drawing().strokes) == 2
    window.undo_stack.undo()
    assert _stroke(window, 0) == d.stroke(0)
    qtbot.keyClick(canvas, Qt.Key.Key_V)
    canvas.set_selection([0, 1])
    count = window.undo_stack.count()
    qtbot.keyClick(canvas, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
    assert window.undo_stack.count() == count and window.controller.drawing() == d
    assert "cannot be joined" in window.statusBar().currentMessage()
