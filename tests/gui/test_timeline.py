"""Issue 13 in the window: timeline, continue from here, branches, history in projects,
time-lapse export, stages / prune / auto-stop through the run's plan, and the ETA."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import start_run, wait_for, wait_step
from PySide6.QtCore import QPoint, Qt

from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.optim.run_state import RunState
from clipdraw_core.optim.timelapse import Frame


def _same(a: Drawing, b: Drawing) -> bool:
    """Same strokes exactly: ids, order, points, widths, colours, frozen flags."""
    if a.ids != b.ids:
        return False
    return all(
        np.array_equal(s.points, t.points) and s.half_width == t.half_width and s.color == t.color
        and s.frozen == t.frozen
        for s, t in zip(a.strokes, b.strokes, strict=True)
    )


def _record_every_step(window) -> None:
    window.controls.timelapse_every.setValue(1)


def _pause(qtbot, window) -> None:
    qtbot.mouseClick(window.controls.pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.state() is RunState.PAUSED, timeout=10_000)


def _frames(window):
    return window.controller.history.main()


def _scrub_to(qtbot, window, index: int) -> None:
    """Click the slider and walk to frame ``index`` with the keyboard, as an artist would."""
    slider = window.timeline.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    for _ in range(index):
        qtbot.keyClick(slider, Qt.Key.Key_Right)


def test_scrubbing_while_running_shows_the_past_and_the_run_goes_on(qtbot, window):
    _record_every_step(window)
    start_run(qtbot, window, steps=6)
    qtbot.waitUntil(lambda: len(_frames(window)) >= 6, timeout=30_000)
    _scrub_to(qtbot, window, 2)
    frame = window.timeline.shown_frame()
    assert frame is not None and frame is _frames(window)[2]
    assert _same(window.canvas.drawing(), frame.to_drawing())
    assert "step" in window.timeline.label.text()
    # the run is not stopped: steps go on, the canvas keeps showing frame 2
    step = window.controller.step()
    wait_step(qtbot, window, step + 3)
    assert window.controller.state() is RunState.RUNNING
    assert _same(window.canvas.drawing(), frame.to_drawing())
    # Esc goes back to the live drawing
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.timeline.is_live()
    qtbot.waitUntil(lambda: _same(window.canvas.drawing(), window.controller.drawing()), timeout=10_000)
    window.controller.stop()


def test_reset_while_looking_at_the_past_returns_to_the_live_canvas(qtbot, window):
    _record_every_step(window)
    start_run(qtbot, window, steps=3)
    _scrub_to(qtbot, window, 0)
    assert not window.timeline.is_live()
    qtbot.mouseClick(window.controls.reset, Qt.MouseButton.LeftButton)
    assert window.timeline.is_live() and window.controller.history.main() == ()
    assert window.canvas.drawing().strokes == ()
    assert window.timeline.label.text() == "No history yet"


def test_continue_from_a_past_frame_undo_and_the_branch(qtbot, window):
    _record_every_step(window)
    start_run(qtbot, window, steps=6)
    _pause(qtbot, window)
    frames = _frames(window)
    assert len(frames) >= 6
    before = window.controller.drawing()
    _scrub_to(qtbot, window, 1)
    target = window.timeline.shown_frame()
    assert target is frames[1]
    qtbot.mouseClick(window.timeline.continue_button, Qt.MouseButton.LeftButton)
    # the paused session now holds exactly frame 1's drawing
    qtbot.waitUntil(lambda: _same(window.controller.drawing(), target.to_drawing()), timeout=10_000)
    assert window.timeline.is_live() and _same(window.canvas.drawing(), target.to_drawing())
    assert window.undo_stack.undoText() == f"Continue from step {target.step}"
    tracks = window.controller.history.tracks()
    assert len(tracks) == 2 and tracks[0][-1] is target
    assert [f.step for f in tracks[1]] == [f.step for f in frames]  # the recorded future, kept
    assert window.timeline.track_box.isVisible() and window.timeline.track_box.count() == 2
    # undo brings the previous drawing back
    window.actions_.undo.trigger()
    qtbot.waitUntil(lambda: _same(window.controller.drawing(), before), timeout=10_000)
    # the branch can be looked at, then discarded
    window.timeline.track_box.setCurrentIndex(1)
    assert window.timeline.shown_frame() is tracks[1][-1]
    assert _same(window.canvas.drawing(), tracks[1][-1].to_drawing())
    qtbot.mouseClick(window.timeline.discard, Qt.MouseButton.LeftButton)
    assert len(window.controller.history.tracks()) == 1
    assert window.timeline.is_live() and not window.timeline.track_box.isVisible()
    window.controller.stop()


def test_continue_after_the_run_then_draw_goes_on_from_that_step(qtbot, window):
    _record_every_step(window)
    window.controls.num_steps.setValue(5)
    start_run(qtbot, window, steps=5)
    qtbot.waitUntil(lambda: window.controller.state() is RunState.DONE, timeout=30_000)
    _scrub_to(qtbot, window, 2)
    target = window.timeline.shown_frame()
    window.actions_.continue_here.trigger()  # Ctrl+Shift+B
    assert window.controller.step() == target.step and not window.controller.is_active()
    assert _same(window.controller.drawing(), target.to_drawing())
    qtbot.mouseClick(window.controls.draw, Qt.MouseButton.LeftButton)
    snap = wait_step(qtbot, window, target.step + 1)
    assert snap.step > target.step
    qtbot.waitUntil(lambda: window.controller.state() is RunState.DONE, timeout=30_000)
    steps = [f.step for f in _frames(window)]
    assert steps == sorted(set(steps)) and steps[-1] == 5


def test_project_with_history_round_trips(qtbot, window, tmp_path):
    _record_every_step(window)
    start_run(qtbot, window, steps=4)
    window.controller.stop()
    frames = _frames(window)
    assert len(frames) >= 4
    qtbot.mouseClick(window.timeline.save_history, Qt.MouseButton.LeftButton)
    assert window.timeline.save_history.isChecked()
    path = window.files.save_project(tmp_path / "with-history.cdproj")
    window.new_drawing()
    assert window.controller.history.main() == ()
    assert window.files.open_project(path)
    qtbot.waitUntil(lambda: len(_frames(window)) == len(frames), timeout=10_000)
    reopened = _frames(window)
    assert [f.step for f in reopened] == [f.step for f in frames]
    _scrub_to(qtbot, window, 1)
    assert _same(window.canvas.drawing(), frames[1].to_drawing())
    # without the checkbox, no history goes into the file (and it still opens)
    qtbot.mouseClick(window.timeline.save_history, Qt.MouseButton.LeftButton)
    small = window.files.save_project(tmp_path / "without.cdproj")
    assert small.stat().st_size < path.stat().st_size
    assert '"history"' not in small.read_text()


def _frames_of(n: int, size: int = 64) -> list[Frame]:
    rng = np.random.default_rng(0)
    frames, previous = [], None
    for step in range(n):
        strokes = tuple(
            Stroke(i, rng.uniform(4, size - 4, (4, 2)), 2.0, (0.1 * i % 1, 0.2, 0.5, 1.0)) for i in range(8)
        )
        previous = Frame.from_drawing(Drawing(size, size, strokes=strokes), step, None, previous)
        frames.append(previous)
    return frames


def _dialog(qtbot, window, frames, drawing=None):
    from app.dialogs.timelapse_export import TimelapseExportDialog

    dialog = TimelapseExportDialog(window, frames, drawing or frames[-1].to_drawing(), caption="a cat")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_export_a_gif_from_the_dialog_and_decode_it(qtbot, window, tmp_path):
    from PIL import Image

    _record_every_step(window)
    start_run(qtbot, window, steps=5)
    window.controller.stop()
    frames = _frames(window)
    window.actions_.export_timelapse.trigger()  # File > Export Time-lapse…
    dialog = window.timelapse_dialog
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("gif"))
    dialog.size.setValue(80)
    dialog.path.clear()
    qtbot.keyClicks(dialog.path, str(tmp_path / "run"))
    dialog.caption.setChecked(False)
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as blocker:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    out = blocker.args[0]
    assert out.name == "run.gif" and out.is_file()
    with Image.open(out) as gif:
        assert gif.size == (80, 80)
        assert gif.n_frames == len(frames)
    assert dialog.progress.value() == dialog.progress.maximum() == len(frames)
    qtbot.waitUntil(lambda: not dialog.is_exporting())


def test_stroke_by_stroke_replay_from_the_dialog(qtbot, window, tmp_path):
    from PIL import Image

    frames = _frames_of(3)
    dialog = _dialog(qtbot, window, frames)
    dialog.replay_choice.click()
    dialog.format.setCurrentIndex(dialog.format.findData("gif"))
    dialog.size.setValue(64)
    dialog.path.setText(str(tmp_path / "replay.gif"))
    with qtbot.waitSignal(dialog.exported, timeout=60_000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    with Image.open(tmp_path / "replay.gif") as gif:
        assert gif.n_frames == 1 + 8  # the empty canvas, then one stroke per frame
    qtbot.waitUntil(lambda: not dialog.is_exporting())


def test_cancel_leaves_no_file(qtbot, window, tmp_path):
    frames = _frames_of(400, size=64)
    dialog = _dialog(qtbot, window, frames)
    dialog.format.setCurrentIndex(dialog.format.findData("mp4"))
    dialog.size.setValue(1024)
    dialog.path.setText(str(tmp_path / "long.mp4"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=60_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_exporting(), timeout=60_000)
    qtbot.waitUntil(lambda: "nothing was written" in dialog.message.text(), timeout=10_000)
    assert list(tmp_path.iterdir()) == []  # no clip, no temporary file


def test_export_error_is_shown_in_the_window(qtbot, window, tmp_path):
    window.actions_.export_timelapse.trigger()
    dialog = window.timelapse_dialog
    qtbot.addWidget(dialog)
    assert not dialog.export_button.isEnabled()  # nothing recorded, nothing drawn
    dialog.close()
    frames = _frames_of(2)
    from app.dialogs.timelapse_export import TimelapseExportDialog

    dialog = TimelapseExportDialog(window, frames, None, on_error=window.banner.show_message)
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "missing-folder" / "x.gif"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "does not exist" in window.banner.message(), timeout=10_000)
    qtbot.waitUntil(lambda: not dialog.is_exporting())


def test_auto_stop_in_the_window_stops_the_run(qtbot, window):
    c = window.controls
    window.dock.widget().ensureWidgetVisible(c.auto_stop)  # the panel scrolls
    box = c.auto_stop  # click its tick box (the row is wider than the text)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert c.auto_stop.isChecked()
    c.patience.setValue(3)
    start_run(qtbot, window, steps=1)
    qtbot.waitUntil(lambda: window.controller.state() is RunState.DONE, timeout=60_000)
    step = window.controller.step()
    assert step < 10_000
    assert "Auto-stop at step" in window.statusBar().currentMessage()
    qtbot.wait(300)
    assert window.controller.step() == step  # no further steps
    window.controller.stop()


def test_eta_text_appears_while_running(qtbot, window):
    start_run(qtbot, window, steps=3)
    qtbot.waitUntil(lambda: re.fullmatch(r"~.+ left", window.status.eta.text()) is not None, timeout=30_000)
    _pause(qtbot, window)
    assert window.status.eta.text() == ""
    window.controller.stop()


def test_stages_add_strokes_as_an_undoable_engine_edit(qtbot, window):
    c = window.controls
    c.num_steps.setValue(10)
    c.stages.setValue(2)
    start_run(qtbot, window, steps=1)
    assert len(window.controller.drawing().strokes) == 6  # the first stage's half of 12
    snap = wait_for(qtbot, window, lambda s: len(s.drawing.strokes) == 12)
    assert snap.step >= 5
    qtbot.waitUntil(lambda: window.controller.state() is RunState.DONE, timeout=30_000)
    assert window.undo_stack.undoText() == "Stage 2 of 2: +6 strokes"
    window.actions_.undo.trigger()
    qtbot.waitUntil(lambda: len(window.controller.drawing().strokes) == 6, timeout=10_000)
    window.actions_.redo.trigger()
    qtbot.waitUntil(lambda: len(window.controller.drawing().strokes) == 12, timeout=10_000)
    window.controller.stop()


@pytest.mark.parametrize("threshold", [0.6])
def test_final_prune_in_the_window_is_one_undo_step(qtbot, window, threshold):
    c = window.controls
    c.num_steps.setValue(3)
    c.prune_alpha.setValue(threshold)
    start_run(qtbot, window, steps=1)
    qtbot.waitUntil(lambda: window.controller.state() is RunState.DONE, timeout=30_000)
    qtbot.waitUntil(lambda: window.undo_stack.undoText().startswith("Prune"), timeout=10_000)
    kept = window.controller.drawing()
    assert all(s.color[3] >= threshold for s in kept.strokes if not s.frozen)
    window.actions_.undo.trigger()
    qtbot.waitUntil(lambda: len(window.controller.drawing().strokes) > len(kept.strokes), timeout=10_000)
    assert set(kept.ids) < set(window.controller.drawing().ids)
    window.controller.stop()


def test_timeline_of_a_run_with_shapes_shows_frame_k_exactly(qtbot, window, tmp_path):
    """Filled shapes survive the frames: scrubbing, continuing from a frame, exporting the clip."""
    from PIL import Image, ImageSequence

    from clipdraw_core.render import render_drawing

    _record_every_step(window)
    window.look.num_shapes.setValue(3)
    start_run(qtbot, window, steps=5)
    _pause(qtbot, window)
    frames = _frames(window)
    assert len(frames) >= 5
    _scrub_to(qtbot, window, 3)
    frame = window.timeline.shown_frame()
    assert frame is frames[3]
    shown = frame.to_drawing()
    assert sum(s.closed for s in shown.strokes) == 3
    assert window.canvas.drawing() == shown  # fills, outline flags, rules: all of frame 3
    assert shown != frames[0].to_drawing()  # the run moved them
    qtbot.mouseClick(window.timeline.continue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.drawing() == shown, timeout=10_000)
    window.controller.stop()

    window.actions_.export_timelapse.trigger()
    dialog = window.timelapse_dialog
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("gif"))
    dialog.size.setValue(shown.width)
    dialog.path.clear()
    qtbot.keyClicks(dialog.path, str(tmp_path / "shapes"))
    dialog.caption.setChecked(False)
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as blocker:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    with Image.open(blocker.args[0]) as gif:
        assert gif.n_frames == len(_frames(window))
        pixels = np.asarray([f.convert("RGB") for f in ImageSequence.Iterator(gif)][-1]).astype(int)
    last = _frames(window)[-1].to_drawing()
    with_fills = render_drawing(last).astype(int)
    without = render_drawing(last.with_strokes(s for s in last.strokes if not s.closed)).astype(int)
    filled = np.abs(with_fills - without).max(axis=2) > 40
    assert filled.sum() > 20 and pixels.shape == with_fills.shape
    assert np.abs(pixels - with_fills).max(axis=2)[filled].mean() < 12  # the fills are in the clip
