"""Export, projects, autosave/recovery, drops, error banner, settings."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from helpers import snap, start_run, wait_for, wait_step
from PySide6.QtCore import Qt

from app import settings
from app.main_window import MainWindow
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import NumericalError

SVG = "{http://www.w3.org/2000/svg}"


def _paths(svg_file):
    root = ET.parse(svg_file).getroot()
    return root, [p for p in root.iter(f"{SVG}path")]


def test_export_svg_matches_drawing(qtbot, window, tmp_path):
    start_run(qtbot, window, steps=2)
    window.controller.pause()
    qtbot.waitUntil(lambda: window.controller.state() == "paused", timeout=10000)
    drawing = window.controller.drawing()
    out = window.files.export_svg(tmp_path / "out.svg")
    assert out is not None and out.is_file()
    root, paths = _paths(out)
    assert root.get("viewBox") == "0 0 96 96"
    assert len(paths) == len(drawing.strokes)
    for p, s in zip(paths, drawing.strokes, strict=True):
        assert p.get("d").startswith("M")
        r, g, b, _a = s.color
        assert p.get("stroke") == "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (r, g, b)))
        assert float(p.get("stroke-width")) == pytest.approx(2 * s.half_width, rel=1e-3)


def test_export_png_at_chosen_width(qtbot, window, tmp_path):
    start_run(qtbot, window, steps=1)
    with qtbot.waitSignal(window.files.signals.pngExported, timeout=30000) as blocker:
        out = window.files.export_png(tmp_path / "out.png", width=300)
    assert blocker.args == [out, None]
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert (img.width(), img.height()) == (300, 300)


def test_save_and_reopen_project(qtbot, window, tmp_path, gui_clip):
    start_run(qtbot, window, "a teapot", steps=2)
    ids = snap(window).drawing.ids
    window.canvas.set_selection(ids[:1])
    window.freeze_selected(True)
    wait_for(qtbot, window, lambda s: s.drawing.stroke(ids[0]).frozen)
    window.controller.stop()
    saved_drawing = window.controller.drawing()
    saved_step = window.controller.step()
    path = window.files.save_project(tmp_path / "work.cdproj")
    assert path is not None and path.is_file()
    assert settings.recent_files()[0] == str(path.resolve())

    other = MainWindow(clip=gui_clip, offer_recovery=False)
    other.confirm_close = False
    qtbot.addWidget(other)
    try:
        assert other.files.open_project(path)
        loaded = other.controller.drawing()
        assert loaded.ids == saved_drawing.ids
        for a, b in zip(loaded.strokes, saved_drawing.strokes, strict=True):
            assert np.array_equal(a.points, b.points) and a.frozen == b.frozen and a.color == b.color
        assert other.controls.prompt.toPlainText() == "a teapot"
        assert other.controller.step() == saved_step
        # Draw continues the reopened drawing
        qtbot.mouseClick(other.controls.draw, Qt.MouseButton.LeftButton)
        cont = wait_step(qtbot, other, saved_step + 1)
        assert set(cont.drawing.ids) == set(saved_drawing.ids)
        assert np.array_equal(cont.drawing.stroke(ids[0]).points, saved_drawing.stroke(ids[0]).points)
    finally:
        other.close()
        other.shutdown()


def test_autosave_and_crash_recovery(qtbot, window, gui_clip):
    start_run(qtbot, window, steps=1)
    saved = window.files.autosave()
    assert saved is not None and saved.is_file()
    window.controller.stop()
    expected = window.controller.drawing().ids
    # a new window (as after a crash) offers recovery in the banner
    other = MainWindow(clip=gui_clip, offer_recovery=True)
    other.confirm_close = False
    qtbot.addWidget(other)
    other.show()
    try:
        qtbot.waitUntil(lambda: "Recover" in other.banner.action_labels(), timeout=5000)
        other.banner.trigger_action("Recover")
        assert other.controller.drawing().ids == expected
    finally:
        other.close()
        other.shutdown()
    # a clean close removes the autosave
    assert not saved.exists()


def test_worker_error_shows_in_banner_and_app_stays_usable(qtbot, window, monkeypatch):
    from clipdraw_core.optim.session import Session

    start_run(qtbot, window, steps=1)
    real_step = Session.step
    calls = {"n": 0}

    def failing_step(self):
        calls["n"] += 1
        raise NumericalError("the optimisation produced NaN: try a lower learning rate")

    monkeypatch.setattr(Session, "step", failing_step)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10000)
    assert "NaN" in window.banner.message()
    qtbot.waitUntil(lambda: window.controller.state() == "paused", timeout=5000)
    assert window.controller.is_active()
    # still usable: edits apply while paused, and resuming works once the cause is gone
    s = snap(window)
    victim = s.drawing.ids[0]
    window.canvas.set_selection([victim])
    window.delete_selected()
    wait_for(qtbot, window, lambda s: victim not in s.drawing.ids)
    monkeypatch.setattr(Session, "step", real_step)
    window.controller.resume()
    wait_step(qtbot, window, s.step + 1)


def test_missing_weights_offers_random_test_mode(qtbot, gui_clip, tmp_path):
    win = MainWindow(offer_recovery=False)  # no preloaded model: the real loader runs
    win.confirm_close = False
    qtbot.addWidget(win)
    c = win.controls
    c.num_paths.setValue(6)
    c.canvas_size.setValue(64)
    c.model.setCurrentText(gui_clip.name)
    c.weights.setCurrentText(str(tmp_path / "missing.pt"))
    c.device.setCurrentText("cpu")
    win.show()
    try:
        qtbot.mouseClick(c.draw, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: win.banner.isVisible(), timeout=20000)
        assert "does not exist" in win.banner.message()
        assert "Random weights (test mode)" in win.banner.action_labels()
        assert win.controller.state() == "idle"
        win.banner.trigger_action("Random weights (test mode)")
        wait_step(qtbot, win, 1, timeout=60000)
        assert c.weights.currentText() == "random"
    finally:
        win.close()
        win.shutdown()


def test_empty_prompt_is_reported_not_raised(qtbot, window):
    window.controls.prompt.clear()
    qtbot.mouseClick(window.controls.draw, Qt.MouseButton.LeftButton)
    assert window.banner.isVisible() and "prompt is empty" in window.banner.message()
    assert not window.controller.is_active()


def test_local_edits_before_draw_become_seeds(qtbot, window):
    """Sketching on the empty sheet before Draw: strokes are kept and optimised with the random ones."""
    from helpers import drag

    from app.canvas.canvas import TOOL_DRAW

    window.canvas.set_tool(TOOL_DRAW)
    drag(window.canvas, [(10, 80), (40, 60), (80, 80)], Qt.KeyboardModifier.ShiftModifier)
    seed = window.controller.drawing()
    assert len(seed.strokes) == 1 and seed.strokes[0].frozen
    window.undo_stack.undo()
    assert len(window.controller.drawing().strokes) == 0
    window.undo_stack.redo()
    seed_id = window.controller.drawing().strokes[0].id
    s = start_run(qtbot, window, steps=1)
    assert len(s.drawing.strokes) == 13 and s.drawing.stroke(seed_id).frozen


def test_import_svg_seed_by_drop(qtbot, window, tmp_path):
    from clipdraw_core.io.svg_export import save_svg

    d = Drawing(96, 96, (1, 1, 1), (Stroke(0, [[5, 5], [20, 5], [40, 20], [60, 60]], 2.0, (1, 0, 0, 1)),))
    save_svg(tmp_path / "seed.svg", d)
    window.files.import_files([str(tmp_path / "seed.svg")])
    drawing = window.controller.drawing()
    assert len(drawing.strokes) == 1
    assert window.undo_stack.count() == 1
    window.undo_stack.undo()
    assert len(window.controller.drawing().strokes) == 0


def test_settings_persist_between_windows(qtbot, gui_clip):
    win = MainWindow(clip=gui_clip, offer_recovery=False)
    win.confirm_close = False
    qtbot.addWidget(win)
    win.controls.prompt.setPlainText("a blue whale")
    win.controls.num_paths.setValue(77)
    win.controls.draw_frozen.setChecked(True)
    win.resize(700, 520)
    win.show()
    size = win.size()
    win.close()
    assert settings.read("prompt") == "a blue whale"
    again = MainWindow(clip=gui_clip, offer_recovery=False)
    again.confirm_close = False
    qtbot.addWidget(again)
    try:
        assert again.controls.prompt.toPlainText() == "a blue whale"
        assert again.controls.num_paths.value() == 77
        assert again.controls.draw_frozen.isChecked() and again.canvas.draw_frozen
        assert again.size() == size
    finally:
        again.close()


def test_model_loading_shows_progress_and_can_be_cancelled(qtbot, gui_clip):
    win = MainWindow(offer_recovery=False)  # the real background loader
    win.confirm_close = False
    qtbot.addWidget(win)
    c = win.controls
    c.model.setCurrentText(gui_clip.name)
    c.weights.setCurrentText("random")
    c.device.setCurrentText("cpu")
    win.show()
    try:
        qtbot.mouseClick(c.draw, Qt.MouseButton.LeftButton)
        assert win.controller.state() == "loading"
        assert win.status.busy.isVisible() and win.status.cancel.isVisible()
        qtbot.mouseClick(win.status.cancel, Qt.MouseButton.LeftButton)
        assert win.controller.state() == "idle" and not win.status.busy.isVisible()
        assert c.draw.isEnabled()
        qtbot.wait(1500)  # the load finishes in the background and is ignored
        assert not win.controller.is_active() and win.controller.snapshot() is None
    finally:
        win.close()
        win.shutdown()


def test_model_picker_sets_model_and_weights(qtbot, window, monkeypatch):
    from app.dialogs import first_run

    class FakePicker:
        def __init__(self, parent, settings_store):
            assert settings_store.fileName() == settings.settings_file()
            self.model_name, self.pretrained = "ViT-B-16", "openai"

        def exec(self):
            return 1

    monkeypatch.setattr(first_run, "ModelPickerDialog", FakePicker)
    assert window.controls.pick_model.isVisibleTo(window)
    qtbot.mouseClick(window.controls.pick_model, Qt.MouseButton.LeftButton)
    assert window.controls.model.currentText() == "ViT-B-16"
    assert window.controls.weights.currentText() == "openai"


def test_cpu_run_with_heavy_settings_suggests_lighter_ones(qtbot, window, monkeypatch):
    import torch

    from clipdraw_core.clip import model_catalog

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(model_catalog, "_mps_available", lambda: False)
    config = window.controls.config(window.controller.config())
    heavy = config.replace(num_paths=256, num_augs=4, device="auto")
    window._warn_if_cpu(heavy)
    message = window.statusBar().currentMessage()
    assert "Running on the CPU is slow" in message and "fewer strokes" in message
    assert "CPU" in window.status.device.toolTip()
    window.statusBar().clearMessage()
    window._warn_if_cpu(heavy.replace(num_paths=32, num_augs=1))
    assert window.statusBar().currentMessage() == ""


def test_png_export_on_a_full_disk_leaves_nothing_and_says_why(qtbot, window, tmp_path, monkeypatch):
    import os

    start_run(qtbot, window, steps=1)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(os, "fsync", disk_full)
    with qtbot.waitSignal(window.files.signals.pngExported, timeout=30000) as blocker:
        out = window.files.export_png(tmp_path / "out" / "x.png", width=200)
    assert blocker.args[0] == out and "No space left on device" in blocker.args[1]
    assert os.listdir(tmp_path / "out") == []  # no x.png, no hidden temporary file
    assert "No space left on device" in window.banner.message()


def test_big_imports_and_projects_load_off_the_gui_thread_with_cancel(qtbot, window, tmp_path, monkeypatch):
    import threading

    from app import file_jobs
    from clipdraw_core.io import seed
    from clipdraw_core.io.svg_export import save_svg

    monkeypatch.setattr(file_jobs, "BACKGROUND_LOAD_BYTES", 0)  # every file counts as big
    d = Drawing(96, 96, (1, 1, 1), (Stroke(0, [[5, 5], [20, 5], [40, 20], [60, 60]], 2.0, (1, 0, 0, 1)),))
    svg = save_svg(tmp_path / "seed.svg", d)

    # a read that takes as long as we like: the window stays usable and Cancel drops it
    release = threading.Event()
    real_load_seed = seed.load_seed

    def slow_load_seed(*args, **kwargs):
        release.wait(10)
        return real_load_seed(*args, **kwargs)

    monkeypatch.setattr(seed, "load_seed", slow_load_seed)
    window.files.import_files([str(svg)])
    assert window.status.busy.isVisible() and "seed.svg" in window.status.busy.format()
    assert len(window.controller.drawing().strokes) == 0  # not yet: it is being read
    qtbot.mouseClick(window.status.cancel, Qt.MouseButton.LeftButton)
    assert not window.status.busy.isVisible()
    release.set()
    qtbot.waitUntil(lambda: not window.files.jobs.is_busy(), timeout=5000)
    qtbot.wait(200)
    assert len(window.controller.drawing().strokes) == 0 and window.undo_stack.count() == 0

    # the same import, not cancelled, arrives as one undoable edit
    window.files.import_files([str(svg)])
    qtbot.waitUntil(lambda: len(window.controller.drawing().strokes) == 1, timeout=10000)
    assert window.undo_stack.count() == 1 and not window.status.busy.isVisible()

    # projects too: the window shows it once read, and a bad one is reported, not raised
    path = window.files.save_project(tmp_path / "p.cdproj")
    window.new_drawing()
    with qtbot.waitSignal(window.files.signals.projectShown, timeout=10000):
        assert window.files.open_project(path)
    assert len(window.controller.drawing().strokes) == 1 and window.state.project_path == path
    bad = tmp_path / "bad.cdproj"
    bad.write_text("{not json")
    assert window.files.open_project(bad)  # accepted for reading in the background
    qtbot.waitUntil(lambda: "Cannot open project" in window.banner.message(), timeout=10000)
    assert window.state.project_path == path
