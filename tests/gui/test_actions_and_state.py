"""The declarative action table and the app state the views observe."""

from __future__ import annotations

from helpers import start_run, wait_for
from PySide6.QtWidgets import QInputDialog

from app.actions import ACTIONS, CANVAS_MENU, MENUS, SEPARATOR, TOOLBAR


def test_every_table_row_is_a_window_action_placed_in_a_menu(qtbot, window):
    acts = window.actions_
    in_menus = {name for _, names in MENUS for name in names} | set(TOOLBAR) | set(CANVAS_MENU)
    for spec in ACTIONS:
        action = getattr(acts, spec.name)
        assert action in window.actions() and action.text() == spec.text
        assert spec.name in in_menus, f"{spec.name} is in no menu"
    menu_texts = {m.text(): [a.text() for a in m.menu().actions() if not a.isSeparator()] for m in
                  window.menuBar().actions()}  # fmt: skip
    assert menu_texts["&Run"] == ["&Draw", "&Variations…", "&Pause / Resume", "&Stop", "&Reset",
                                  "Add &Random Strokes…", "Compute: This &Computer", "Compute: &Server…"]
    assert [a.text() for a in acts.canvas_menu.actions()] == [getattr(acts, n).text() for n in CANVAS_MENU]
    assert SEPARATOR not in acts.by_name


def test_ctrl_r_asks_how_many_and_adds_that_many(qtbot, window, monkeypatch):
    first = start_run(qtbot, window, "a tree", steps=1)
    before = len(first.drawing.strokes)
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (3, True))
    window.actions_.add_random.trigger()
    wait_for(qtbot, window, lambda s: len(s.drawing.strokes) == before + 3)
    assert window.undo_stack.undoText() == "Add 3 random strokes"


def test_title_and_actions_follow_the_app_state(qtbot, window, tmp_path):
    state = window.state
    assert window.windowTitle().startswith("Untitled — ")
    start_run(qtbot, window, "a boat", steps=1)
    qtbot.waitUntil(lambda: state.dirty, timeout=5000)
    assert window.windowTitle().startswith("Untitled • — ")
    path = window.files.save_project(tmp_path / "boat.cdproj")
    assert state.project_path == path and not state.dirty
    assert window.windowTitle().startswith("boat.cdproj — ")
    assert window.actions_.recent_menu.actions()[0].toolTip() == str(path.resolve())

    ids = window.controller.drawing().ids
    assert not window.actions_.freeze.isEnabled()
    with qtbot.waitSignal(state.selectionChanged) as blocker:
        window.canvas.set_selection(ids[:2])
    assert blocker.args == [ids[:2]] and state.selection == ids[:2] == window.canvas.selected_ids()
    assert window.actions_.freeze.isEnabled() and window.actions_.delete.isEnabled()
    window.new_drawing()
    assert state.selection == [] and state.project_path is None and not state.dirty
    assert window.windowTitle().startswith("Untitled — ")


def test_draw_shortcut_is_ctrl_return_and_keypad_ctrl_enter(qtbot, window):
    """The README's Ctrl+Enter: the main keyboard's Return and the keypad's Enter both start Draw."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    wanted = {"Ctrl+Return", "Ctrl+Enter"}
    assert {s.toString() for s in window.actions_.draw.shortcuts()} == wanted
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus, timeout=2000)
    ctrl = Qt.KeyboardModifier.ControlModifier
    keypad = Qt.KeyboardModifier.KeypadModifier
    QTest.keyClick(window.canvas, Qt.Key.Key_Enter, ctrl | keypad)
    wait_for(qtbot, window, lambda s: s.step >= 1)  # a real run started from the keypad key
    window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.is_active(), timeout=10000)
    runs = []
    window.start_drawing = lambda: runs.append("draw")  # the handler looks it up at trigger time
    QTest.keyClick(window.canvas, Qt.Key.Key_Return, ctrl)
    QTest.keyClick(window.canvas, Qt.Key.Key_Enter, ctrl | keypad)
    QTest.keyClick(window.canvas, Qt.Key.Key_Enter, Qt.KeyboardModifier.NoModifier)  # plain Enter: no run
    assert runs == ["draw", "draw"]
