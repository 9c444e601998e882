"""Canvas interaction without a session: lasso, rubber band, zoom/pan, frozen marks, layer thread."""

from __future__ import annotations

import numpy as np
from helpers import drag, widget_point
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from app.canvas.canvas import TOOL_LASSO, TOOL_PAN, points_in_polygon
from app.canvas.painting import image_to_rgb_array, render_layer
from clipdraw_core.drawing.commands import AddStrokes
from clipdraw_core.drawing.strokes import Drawing, Stroke


def _two_strokes(window):
    a = Stroke(0, [[10, 10], [20, 10], [30, 10], [40, 10]], 1.5, (1, 0, 0, 1))
    b = Stroke(1, [[10, 70], [30, 70], [50, 70], [80, 70]], 1.5, (0, 0, 1, 0.5), frozen=True)
    window.controller.set_blank(96, 96, (1, 1, 1))
    window.controller.submit(AddStrokes((a, b)))
    return a, b


def test_lasso_selects_only_enclosed_stroke(qtbot, window):
    _two_strokes(window)
    window.canvas.set_tool(TOOL_LASSO)
    drag(window.canvas, [(5, 2), (50, 2), (50, 20), (5, 20), (5, 3)])
    assert window.canvas.selected_ids() == [0]


def test_wheel_zoom_keeps_point_under_cursor_and_pan_moves(qtbot, window):
    _two_strokes(window)
    canvas = window.canvas
    anchor = widget_point(canvas, 40, 40)
    before = canvas.widget_to_canvas(QPointF(anchor))
    canvas.zoom_by(2.0, QPointF(anchor))
    after = canvas.widget_to_canvas(QPointF(anchor))
    assert abs(before.x() - after.x()) < 1e-6 and abs(before.y() - after.y()) < 1e-6
    canvas.set_tool(TOOL_PAN)
    start = canvas.canvas_to_widget(QPointF(0, 0))
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 100))
    QTest.mouseMove(canvas, QPoint(130, 120))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(130, 120))
    moved = canvas.canvas_to_widget(QPointF(0, 0))
    assert (round(moved.x() - start.x()), round(moved.y() - start.y())) == (30, 20)


def test_layer_thread_renders_current_drawing_and_marks_frozen(qtbot, window):
    a, _b = _two_strokes(window)
    qtbot.waitUntil(window.canvas.layer_is_current, timeout=5000)
    drawing = window.controller.drawing()
    plain = image_to_rgb_array(render_layer(drawing, 4.0, mark_frozen=False))
    marked = image_to_rgb_array(render_layer(drawing, 4.0, mark_frozen=True))
    r, g, b = plain[40, 60]  # the opaque red stroke (y=10, x=15 at 4x)
    assert r > 200 and g < 60 and b < 60
    assert not np.array_equal(plain, marked)  # the frozen stroke is visibly marked
    unfrozen = Drawing(96, 96, (1, 1, 1), (a,))
    assert np.array_equal(
        image_to_rgb_array(render_layer(unfrozen, 4.0, mark_frozen=True)),
        image_to_rgb_array(render_layer(unfrozen, 4.0, mark_frozen=False)),
    )


def test_points_in_polygon():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    pts = np.array([[5, 5], [15, 5], [-1, 2], [9.9, 9.9]])
    assert points_in_polygon(pts, square).tolist() == [True, False, False, True]


def test_big_selection_is_painted_off_thread(qtbot, window):
    """Selecting everything must not make every repaint slow: the layer thread paints it."""
    import time

    from app.canvas.canvas import OVERLAY_SELECTION_LIMIT
    from clipdraw_core.drawing.strokes import default_scene

    scene = default_scene(num_paths=256, size=96)
    window.controller.load_drawing(scene, 0, window.controls.config())
    window.canvas.select_all()
    assert len(window.canvas.selected_ids()) == 256 > OVERLAY_SELECTION_LIMIT
    qtbot.waitUntil(
        lambda: window.canvas.layer_is_current() and bool(window.canvas._layer_selected), timeout=5000
    )
    assert window.canvas._layer_selected == frozenset(scene.ids)
    t = time.perf_counter()
    for _ in range(5):
        window.canvas.repaint()
    assert (time.perf_counter() - t) / 5 < 0.03
    window.canvas.set_selection(scene.ids[:3])  # small again: overlay, clean layer
    qtbot.waitUntil(
        lambda: window.canvas.layer_is_current() and not window.canvas._layer_selected, timeout=5000
    )


def test_standard_shortcuts_undo_redo_and_typing_space(qtbot, window):
    from app.canvas.canvas import TOOL_DRAW

    window.controller.set_blank(96, 96, (1, 1, 1))
    window.canvas.set_tool(TOOL_DRAW)
    drag(window.canvas, [(10, 10), (40, 40), (80, 20)])
    assert len(window.controller.drawing().strokes) == 1
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.controller.drawing().strokes) == 0
    QTest.keyClick(
        window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert len(window.controller.drawing().strokes) == 1
    # Space in the prompt box is a space, not pause; Delete there edits text, not strokes
    window.controls.prompt.setPlainText("ab")
    window.controls.prompt.setFocus()
    qtbot.keyClick(window.controls.prompt, Qt.Key.Key_Space)
    assert " " in window.controls.prompt.toPlainText()
    window.canvas.set_selection(window.controller.drawing().ids)
    window.controls.prompt.setFocus()
    qtbot.keyClick(window.controls.prompt, Qt.Key.Key_Delete)
    assert len(window.controller.drawing().strokes) == 1


def test_closing_a_second_window_leaves_the_first_one_running(qtbot, window, gui_clip):
    from helpers import start_run, wait_step

    from app.main_window import MainWindow

    first = start_run(qtbot, window, "a fish", steps=1)
    other = MainWindow(clip=gui_clip, offer_recovery=False)
    other.confirm_close = False
    qtbot.addWidget(other)
    other.show()
    other.close()
    other.shutdown()
    assert window.controller.is_active()
    wait_step(qtbot, window, first.step + 3)  # the session still steps, the canvas still paints
    qtbot.waitUntil(window.canvas.layer_is_current, timeout=10000)


def test_layer_paints_filled_shapes_like_the_engine():
    """Closed shapes are filled (nonzero) under their optional outline on the canvas too."""
    import math

    from clipdraw_core.drawing.strokes import shapes_scene
    from clipdraw_core.render import render_drawing

    drawing = shapes_scene(0)
    layer = image_to_rgb_array(render_layer(drawing, 1.0, mark_frozen=False))
    ours = render_drawing(drawing).astype(float)
    assert layer.shape == ours.shape
    psnr = 10 * math.log10(255**2 / float(np.mean((layer.astype(float) - ours) ** 2)))
    assert psnr > 30.0


def test_canvas_paints_holes_and_fill_rules_as_the_engine_renders_them(qtbot):
    """A donut (two contours) and an evenodd star: the layer painter leaves the holes as paper."""
    from clipdraw_core.render import render_drawing
    from tests.test_fill_rules import donut, star

    drawing = Drawing(64, 64, (1, 1, 1), (
        donut(20, 20, 16, 7, rule="evenodd", same_way=True),
        Stroke(1, star(44, 44, 18), fill=(0.0, 0.0, 0.0, 1.0), outlined=False, fill_rule="evenodd"),
    ))  # fmt: skip
    layer = image_to_rgb_array(render_layer(drawing, 1.0, mark_frozen=False)).astype(int)
    engine = render_drawing(drawing).astype(int)
    for y, x in ((20, 20), (45, 44)):  # the donut's hole, the star's centre
        assert (layer[y, x] == 255).all() and (engine[y, x] == 255).all()
    for y, x in ((20, 8), (31, 44)):  # the ring, a point of the star
        assert (layer[y, x] < 40).all() and (engine[y, x] < 40).all()
    assert np.abs(layer - engine).mean() < 4.0
