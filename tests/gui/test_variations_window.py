"""Variations… in the window (issue 13): a live ranked grid of seeds; drop, pause, pick, undo."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import drag, snap, wait_step
from PySide6.QtCore import Qt

from app.actions import MENUS
from app.dialogs.variations import VariationsDialog
from clipdraw_core.optim.run_state import RunState

TIMEOUT = 60_000


def panel(window):
    return window.variations


def update(window):
    return window.variations.last_update()


def wait_update(qtbot, window, predicate, timeout=TIMEOUT):
    qtbot.waitUntil(lambda: update(window) is not None and predicate(update(window)), timeout=timeout)
    return update(window)


def draw_frozen_seed(qtbot, window):
    """Sketch one frozen seed stroke with the Brush (Shift held) before any run."""
    window.actions_.tool_draw.trigger()
    drag(window.canvas, [(10, 10), (30, 40), (60, 30), (80, 70)], Qt.KeyboardModifier.ShiftModifier)
    drawing = window.controller.drawing()
    assert len(drawing.strokes) == 1 and drawing.strokes[0].frozen
    window.actions_.tool_select.trigger()
    return drawing


def start_variations(qtbot, window, count):
    window.controls.prompt.setPlainText("a red bicycle")
    window.variation_launcher.rank_every = 1  # rank at every step: the test sees rankings quickly
    window.start_variations(count)
    assert window.variations_dock.isVisible()
    return wait_update(qtbot, window, lambda u: u.step >= 2 and len(u.scores) == len(u.ranked) == count)


def strokes_by_id(drawing):
    return {s.id: s for s in drawing.strokes}


def test_variations_action_sits_in_the_run_menu_with_a_count_dialog(qtbot, window):
    action = window.actions_.variations
    assert action.shortcut().toString() == "Ctrl+Shift+D"
    assert "variations" in dict(MENUS)["&Run"]
    dialog = VariationsDialog(seed=7, parent=window)
    qtbot.addWidget(dialog)
    assert (dialog.spin.minimum(), dialog.spin.maximum()) == (2, 9)
    dialog.spin.setValue(3)
    assert dialog.seeds.text() == "7, 8, 9"
    dialog.accept()
    assert VariationsDialog(seed=0, parent=window).count() == 3  # remembered


def test_the_action_asks_how_many_then_runs_them(qtbot, window, monkeypatch):
    from app.dialogs import variations as dialog_module

    asked = []
    monkeypatch.setattr(dialog_module, "ask_variation_count", lambda parent, seed: asked.append(seed) or 2)
    window.controls.seed.setValue(5)
    window.actions_.variations.trigger()
    assert asked == [5]
    u = wait_update(qtbot, window, lambda u: len(u.snapshots) == 2)
    assert u.seeds == (5, 6)
    assert [s.config.seed for _, s in sorted(u.snapshots.items())] == [5, 6]
    panel(window).stop()


def test_three_variations_rank_drop_pause_pick_and_undo(qtbot, window):
    seed_drawing = draw_frozen_seed(qtbot, window)
    seed_stroke = seed_drawing.strokes[0]
    u = start_variations(qtbot, window, 3)
    grid = panel(window).grid
    qtbot.waitUntil(
        lambda: len(grid.tiles()) == 3 and all(t.is_painted() for t in grid.tiles()), timeout=TIMEOUT
    )
    assert window.controller.drawing() is seed_drawing  # the canvas keeps its drawing meanwhile
    assert len(set(u.seeds)) == 3

    # three different drawings, each with the shared frozen seed stroke exactly as drawn
    drawings = [grid.tile(i).drawing for i in range(3)]
    for d in drawings:
        shared = strokes_by_id(d)[seed_stroke.id]
        assert shared.frozen
        np.testing.assert_array_equal(shared.points, seed_stroke.points)
    for a in range(3):
        for b in range(a + 1, 3):
            pa = np.concatenate([s.points for s in drawings[a].strokes])
            pb = np.concatenate([s.points for s in drawings[b].strokes])
            assert pa.shape != pb.shape or not np.allclose(pa, pb)

    # the grid shows them best first, and the captions say so
    u = update(window)
    assert grid.order() == list(u.ranked)
    assert list(u.ranked) == sorted(u.scores, key=lambda i: -u.scores[i])
    best = grid.tiles()[0]
    assert best.caption.text().startswith("#1") and f"{u.scores[best.index]:.4f}" in best.caption.text()

    # drop the worst: two remain, and they keep going
    worst = grid.order()[-1]
    qtbot.mouseClick(grid.tile(worst).drop_button, Qt.MouseButton.LeftButton)
    u = wait_update(qtbot, window, lambda u: worst not in u.ranked)
    qtbot.waitUntil(lambda: len(grid.tiles()) == 2, timeout=TIMEOUT)
    assert sorted(u.ranked) == sorted(i for i in range(3) if i != worst)
    assert all(t.drop_button.isEnabled() for t in grid.tiles())
    wait_update(qtbot, window, lambda v: v.step >= u.step + 2)

    # pause: the steps stop advancing
    qtbot.mouseClick(panel(window).pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel(window).state() is RunState.PAUSED, timeout=TIMEOUT)
    assert panel(window).pause_button.text() == "Resume"
    qtbot.wait(300)
    paused_at = update(window).step
    qtbot.wait(600)
    assert update(window).step == paused_at

    # pick the best (double-click): the canvas continues that member's drawing from its step
    chosen = grid.order()[0]
    chosen_seed = u.seeds[chosen]
    chosen_drawing = grid.tile(chosen).drawing
    qtbot.mouseDClick(grid.tile(chosen).image, Qt.MouseButton.LeftButton)
    first = wait_step(qtbot, window, paused_at, timeout=TIMEOUT)
    assert not window.variations_dock.isVisible() and not panel(window).is_active()
    assert first.config.seed == chosen_seed
    if first.step == paused_at:  # the session's own first snapshot: exactly the member's drawing
        np.testing.assert_array_equal(
            np.concatenate([s.points for s in first.drawing.strokes]),
            np.concatenate([s.points for s in chosen_drawing.strokes]),
        )
    assert [s.id for s in first.drawing.strokes] == [s.id for s in chosen_drawing.strokes]
    later = wait_step(qtbot, window, paused_at + 3, timeout=TIMEOUT)
    assert later.config.seed == chosen_seed
    assert window.controller.state() is RunState.RUNNING
    assert window.undo_stack.undoText() == f"Pick variation (seed {chosen_seed})"
    # the timeline records the picked run from the step it was picked at
    frames = window.controller.history.main()
    assert frames and frames[0].step == paused_at

    # undo: the run stops and the drawing from before the variations is back
    window.actions_.undo.trigger()
    assert not window.controller.is_active()
    assert window.controller.drawing() is seed_drawing
    assert window.canvas.drawing() is seed_drawing
    # redo: the picked drawing as the run left it, which Draw continues
    window.actions_.redo.trigger()
    redone = window.controller.drawing()
    assert len(redone.strokes) == len(chosen_drawing.strokes)
    assert window.controller.step() >= later.step


def test_freezes_on_the_canvas_apply_to_every_variation(qtbot, window):
    seed_drawing = draw_frozen_seed(qtbot, window)
    seed_id = seed_drawing.strokes[0].id
    start_variations(qtbot, window, 2)
    window.canvas.set_selection([seed_id])
    window.freeze_selected(False)  # unfreeze on the main canvas (one undo step)
    assert not strokes_by_id(window.controller.drawing())[seed_id].frozen

    def unfrozen_in_all(u):
        return len(u.snapshots) == 2 and all(
            not strokes_by_id(s.drawing)[seed_id].frozen for s in u.snapshots.values()
        )

    wait_update(qtbot, window, unfrozen_in_all)
    grid = panel(window).grid
    qtbot.mouseClick(grid.tiles()[1].drop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(grid.tiles()) == 1, timeout=TIMEOUT)
    assert not grid.tiles()[0].drop_button.isEnabled()  # the last one: pick it or stop
    assert grid.tiles()[0].pick_button.isEnabled()
    panel(window).stop_button.click()
    assert not window.variations_dock.isVisible() and not panel(window).is_active()
    assert window.controller.drawing().strokes[0].id == seed_id  # Stop leaves the canvas alone


def test_draw_stops_the_variations(qtbot, window):
    start_variations(qtbot, window, 2)
    qtbot.mouseClick(window.controls.draw, Qt.MouseButton.LeftButton)
    assert not panel(window).is_active() and not window.variations_dock.isVisible()
    wait_step(qtbot, window, 2)


def test_a_failing_step_shows_an_error_and_the_window_survives(qtbot, window, monkeypatch):
    from clipdraw_core.optim import variation_batch

    def broken(self):
        raise RuntimeError("the batch broke")

    monkeypatch.setattr(variation_batch.VariationBatch, "step", broken)
    window.controls.prompt.setPlainText("a red bicycle")
    window.start_variations(2)
    qtbot.waitUntil(lambda: "the batch broke" in window.banner.message(), timeout=TIMEOUT)
    assert panel(window).is_active() and panel(window).state() is RunState.PAUSED
    panel(window).stop_button.click()
    assert not window.variations_dock.isVisible()
    monkeypatch.undo()
    window.banner.dismiss()
    qtbot.mouseClick(window.controls.draw, Qt.MouseButton.LeftButton)
    assert wait_step(qtbot, window, 2).step >= 2


@pytest.mark.parametrize("count", [1, 10])
def test_a_count_out_of_range_is_a_one_line_error(qtbot, window, count):
    window.start_variations(count)
    assert "between 2 and 9" in window.banner.message()
    assert not panel(window).is_active() and snap(window) is None


def test_closing_the_window_mid_batch_joins_it(qtbot, window):
    from app.background import TASKS

    start_variations(qtbot, window, 2)
    window.close()
    assert not panel(window).is_active()
    assert not [t for t in TASKS.running() if t.name == "clipdraw-variations"]


def test_the_model_is_loaded_first_when_none_is_at_hand(qtbot, window):
    window.controller._preloaded = None  # as in the app: the model comes from the loader
    window.controls.prompt.setPlainText("a red bicycle")
    window.start_variations(2)
    assert window.variation_launcher.is_pending() and window.controller.loader.is_busy()
    wait_update(qtbot, window, lambda u: u.step >= 1 and len(u.snapshots) == 2)
    assert not window.variation_launcher.is_pending()
    panel(window).stop()


def test_cancelling_the_model_load_starts_nothing(qtbot, window):
    window.controller._preloaded = None
    window.start_variations(2)
    assert window.variation_launcher.is_pending()
    window.status.cancel.click()
    qtbot.waitUntil(lambda: not window.variation_launcher.is_pending(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.controller.loader._tasks, timeout=TIMEOUT)  # the load has returned
    qtbot.wait(100)
    assert not panel(window).is_active() and update(window) is None


def test_variations_with_a_compute_server_chosen_say_they_run_here(qtbot, window, monkeypatch):
    monkeypatch.setattr(window.controller, "compute", object())  # any server: refused before connecting
    window.start_variations(2)
    assert "variations run on this computer" in window.banner.message()
    assert not panel(window).is_active()
