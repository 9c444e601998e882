"""The prompt list, regions and soft lock from the window, mid-run: each change is one undo step."""

from __future__ import annotations

from helpers import start_run, wait_for
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from app.main_window import MainWindow
from clipdraw_core.io.project import load_project


def _overlay_drag(window, start, end) -> None:
    """Drag with the Region tool: the overlay (not the canvas) takes the mouse then."""
    overlay, canvas = window.region_overlay, window.canvas

    def at(x, y):
        p = canvas.canvas_to_widget(QPointF(x, y))
        return QPoint(round(p.x()), round(p.y()))

    a, b = at(*start), at(*end)
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(overlay, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    QTest.mouseMove(overlay, b)
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_boxes_are_the_first_entries(qtbot, window):
    c, panel = window.controls, window.prompts
    c.prompt.setPlainText("a cat")
    c.negatives.setPlainText("blurry\ntext")
    assert [(e.text, e.negative, e.from_box) for e in panel.entries()] == [
        ("a cat", False, True),
        ("blurry", True, True),
        ("text", True, True),
    ]
    panel.weight_editor(1).spin.setValue(0.7)
    qtbot.keyClicks(panel.new_text, "soft light")
    panel.new_weight.setValue(0.25)
    qtbot.mouseClick(panel.add_positive, Qt.MouseButton.LeftButton)
    cfg = window.current_config()
    assert cfg.extra_prompts == ("soft light",) and cfg.extra_weights == (0.25,)
    assert cfg.negative_prompts == ("blurry", "text")
    assert cfg.negative_weights == (0.7, c.negative_weight.value())
    cfg.validate()


def test_add_weighted_prompt_mid_run_then_undo(qtbot, window):
    start_run(qtbot, window, "a teapot", steps=2)
    panel = window.prompts
    qtbot.keyClicks(panel.new_text, "a wheel")
    panel.new_weight.setValue(0.5)
    qtbot.mouseClick(panel.add_positive, Qt.MouseButton.LeftButton)
    assert window.undo_stack.count() == 1
    snap = wait_for(qtbot, window, lambda s: s.config.extra_prompts == ("a wheel",) and "a wheel" in s.scores)
    assert snap.config.extra_weights == (0.5,)
    qtbot.waitUntil(lambda: panel.table.item(1, 3).text() != "", timeout=10_000)
    float(panel.table.item(1, 3).text())  # the score column shows a number

    # the main prompt's weight: its slider/number is one more undo step
    panel.weight_editor(0).spin.setValue(0.4)
    assert window.undo_stack.count() == 2
    wait_for(qtbot, window, lambda s: s.config.prompt_weight == 0.4)

    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.config.prompt_weight == 1.0)
    assert panel.weight_editor(0).value() == 1.0
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.config.extra_prompts == ())
    assert [e.text for e in panel.entries()] == ["a teapot"]
    window.controller.stop()


def test_region_mid_run_undo_save_reopen(qtbot, window, tmp_path, gui_clip):
    start_run(qtbot, window, "a house", steps=2)
    window.actions_.tool_region.trigger()
    assert window.region_overlay.is_active()
    qtbot.keyClicks(window.regions.new_prompt, "a red door")
    _overlay_drag(window, (20, 30), (60, 80))
    assert window.undo_stack.count() == 1
    (region,) = window.controller.guidance.regions
    assert region.prompt == "a red door"
    xs = [p[0] for p in region.polygon]
    assert abs(min(xs) - 20) < 2 and abs(max(xs) - 60) < 2
    snap = wait_for(qtbot, window, lambda s: len(s.guidance.regions) == 1 and region.label in s.scores)
    assert window.regions.table.rowCount() == 1

    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: not s.guidance.regions and region.label not in s.scores)
    assert window.regions.table.rowCount() == 0
    window.undo_stack.redo()
    wait_for(qtbot, window, lambda s: len(s.guidance.regions) == 1)

    # mute it from the table: one more undo step, the session sees it
    window.regions.table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert window.undo_stack.count() == 2
    wait_for(qtbot, window, lambda s: s.guidance.regions and s.guidance.regions[0].muted)
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.guidance.regions and not s.guidance.regions[0].muted)

    # move it (drag from inside), then resize it (drag its bottom-right handle)
    count = window.undo_stack.index()
    _overlay_drag(window, (40, 55), (50, 60))
    (moved,) = window.controller.guidance.regions
    xs, ys = [p[0] for p in moved.polygon], [p[1] for p in moved.polygon]
    assert abs(min(xs) - (min(p[0] for p in region.polygon) + 10)) < 2
    assert abs(min(ys) - (min(p[1] for p in region.polygon) + 5)) < 2
    _overlay_drag(window, (max(xs), max(ys)), (max(xs) + 10, max(ys) + 6))
    (resized,) = window.controller.guidance.regions
    assert abs(max(p[0] for p in resized.polygon) - (max(xs) + 10)) < 2
    assert abs(min(p[0] for p in resized.polygon) - min(xs)) < 1e-6  # top-left stays
    assert window.undo_stack.index() == count + 2
    wait_for(qtbot, window, lambda s: s.guidance.regions and s.guidance.regions[0] == resized)
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.controller.guidance.regions == (region,)
    wait_for(qtbot, window, lambda s: s.guidance.regions == (region,))

    window.actions_.tool_select.trigger()
    assert not window.region_overlay.is_active()
    window.controller.stop()
    path = window.files.save_project(tmp_path / "regions.cdproj")
    assert load_project(path).guidance.regions == (region,)
    del snap

    other = MainWindow(clip=gui_clip, offer_recovery=False)
    other.confirm_close = False
    qtbot.addWidget(other)
    try:
        assert other.files.open_project(path)
        assert other.controller.guidance.regions == (region,)
        assert other.regions.table.rowCount() == 1
        assert other.regions.table.item(0, 2).text() == "a red door"
        assert other.region_overlay.regions() == (region,)
    finally:
        other.close()
        other.shutdown()


def test_respect_slider_soft_locks_selected_strokes(qtbot, window):
    snap = start_run(qtbot, window, "a tree", steps=2)
    ids = [s.id for s in snap.drawing.strokes[:3]]
    window.canvas.set_selection(ids)
    slider = window.regions.respect
    slider.setValue(60)
    slider.sliderReleased.emit()
    assert window.undo_stack.count() == 1
    wait_for(qtbot, window, lambda s: all(s.drawing.stroke(i).respect == 0.6 for i in ids))
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: all(s.drawing.stroke(i).respect == 0.0 for i in ids))
    window.controller.stop()


def _write_png(path, colour) -> str:
    import numpy as np
    from PIL import Image

    Image.fromarray(np.full((24, 24, 3), colour, np.uint8)).save(path)
    return str(path)


def test_image_prompt_and_style_mid_run_then_undo(qtbot, window, tmp_path):
    start_run(qtbot, window, "a boat", steps=2)
    panel = window.images
    panel.add_image_file(_write_png(tmp_path / "sea.png", (20, 60, 200)), weight=0.5)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=10_000)
    snap = wait_for(qtbot, window, lambda s: "image: sea.png" in s.scores)
    assert snap.guidance.images[0].weight == 0.5
    assert panel.table.rowCount() == 1
    panel.table.item(0, 1).setText("-0.25")  # "not like this"
    wait_for(qtbot, window, lambda s: s.guidance.images and s.guidance.images[0].weight == -0.25)

    panel.strength.setValue(30)
    panel.set_style_file(_write_png(tmp_path / "style.png", (200, 120, 20)))
    qtbot.waitUntil(lambda: window.undo_stack.count() == 3, timeout=10_000)
    snap = wait_for(qtbot, window, lambda s: s.guidance.style is not None and "style" in s.scores, 60_000)
    assert snap.guidance.style.strength == 30.0
    assert panel.style_name.text().startswith("Style: style.png")

    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.guidance.style is None)
    window.undo_stack.undo()
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: not s.guidance.images)
    assert panel.table.rowCount() == 0
    window.controller.stop()


def test_bad_image_is_one_line_error(qtbot, window, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    window.images.add_image_file(bad)
    qtbot.waitUntil(lambda: not window.images.is_loading(), timeout=10_000)
    assert "not an image" in window.banner.message()  # one line, nothing added
    assert window.undo_stack.count() == 0 and window.controller.guidance.images == ()


def test_lasso_region_before_a_run_then_undo(qtbot, window):
    window.controls.prompt.setPlainText("a garden")
    window.actions_.tool_region.trigger()
    overlay, canvas = window.region_overlay, window.canvas

    def at(x, y):
        p = canvas.canvas_to_widget(QPointF(x, y))
        return QPoint(round(p.x()), round(p.y()))

    loop = [(10, 10), (60, 12), (70, 50), (40, 70), (12, 45)]
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, at(*loop[0]))
    for p in loop[1:]:
        QTest.mouseMove(overlay, at(*p))
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, at(*loop[-1]))
    (region,) = window.controller.guidance.regions
    assert region.prompt == "a garden"  # the main prompt when the region box is empty
    assert len(region.polygon) >= 5
    window.undo_stack.undo()
    assert window.controller.guidance.regions == ()
    assert window.regions.table.rowCount() == 0


def test_style_with_pretrained_weights_fetches_vgg_first(qtbot, window, tmp_path, monkeypatch):
    """Offline: the dialog says why and, cancelled, nothing changes; with the file the style is set."""
    from app.dialogs import first_run, vgg_weights
    from clipdraw_core.errors import WeightsError
    from clipdraw_core.optim import style as style_module

    window.controls.weights.setCurrentText("openai")
    cached = tmp_path / "hub" / "vgg16.pth"
    monkeypatch.setattr(style_module, "vgg_cache_path", lambda source=None: cached)

    def offline(source=None, **_kw):
        raise WeightsError("The VGG-16 weights for the style loss cannot be reached (offline?).")

    asked: list[str] = []

    def ask(parent, message):
        asked.append(message)
        return first_run.CHOICE_CANCEL

    monkeypatch.setattr(style_module, "download_vgg", offline)
    monkeypatch.setattr(vgg_weights, "ask_what_to_do", ask)
    window.images.set_style_file(_write_png(tmp_path / "style.png", (10, 200, 10)))
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert "offline" in asked[0]
    qtbot.waitUntil(lambda: "vgg" not in window._busy, timeout=10_000)
    assert window.controller.guidance.style is None and window.undo_stack.count() == 0

    def download(source=None, **_kw):
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(b"weights")
        return cached

    monkeypatch.setattr(style_module, "download_vgg", download)
    window.images.set_style_file(tmp_path / "style.png")
    qtbot.waitUntil(lambda: window.controller.guidance.style is not None, timeout=10_000)
    qtbot.waitUntil(lambda: "vgg" not in window._busy, timeout=10_000)
    assert window.undo_stack.count() == 1 and cached.is_file()
    window.undo_stack.undo()
    assert window.controller.guidance.style is None


def test_prompt_list_is_saved_and_reopened(qtbot, window, tmp_path):
    c, panel = window.controls, window.prompts
    c.prompt.setPlainText("a cat")
    c.negatives.setPlainText("blurry")
    panel.weight_editor(0).spin.setValue(-0.5)  # a main prompt may push away too
    panel.add_entry("a dog", 2.5)
    panel.add_entry("text", 0.8, negative=True)
    start_run(qtbot, window, "a cat", steps=1)
    window.controller.stop()
    path = window.files.save_project(tmp_path / "prompts.cdproj")
    saved = load_project(path).config
    assert (saved.prompt_weight, saved.extra_prompts, saved.extra_weights) == (-0.5, ("a dog",), (2.5,))
    assert saved.negative_prompts == ("blurry", "text")
    window.new_drawing()
    c.prompt.setPlainText("something else")
    assert window.files.open_project(path)
    assert panel.fields() == {
        "prompt": "a cat",
        "prompt_weight": -0.5,
        "extra_prompts": ("a dog",),
        "extra_weights": (2.5,),
        "negative_prompts": ("blurry", "text"),
        "negative_weights": saved.negative_weights,
    }
    assert panel.weight_editor(0).value() == -0.5
