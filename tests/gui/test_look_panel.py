"""The window's look: palette and swatches, ink, widths, paper, canvas shape, presets (issue 11).

Real window, real engine, the tiny random CLIP model; the widgets are clicked and typed into.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from helpers import start_run, wait_for, wait_step
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.canvas_shape import fits, matching_aspect
from app.main_window import MainWindow
from clipdraw_core.drawing.commands import AddStrokes
from clipdraw_core.drawing.palette import PRESET_PALETTES, hex_to_rgb
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.optim.presets import find_preset

PALETTE = ("#1d2b53", "#ff004d", "#ffec27", "#29adff")


def _choose(qtbot, combo, text: str) -> None:
    """Open the combo box's list and click the entry, as a user would."""
    target = combo.findText(text)
    assert target >= 0, text
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=5000)
    rect = view.visualRect(combo.model().index(target, 0))
    left, plain = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mouseClick(view.viewport(), left, plain, rect.center())
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=5000)
    assert combo.currentText() == text


def _type_palette(qtbot, window, text: str) -> None:
    box = window.look.palette.hex
    box.setFocus()
    box.selectAll()
    QTest.keyClick(box, Qt.Key.Key_Delete)
    qtbot.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Return)


def _swatch_colours(window) -> list[str]:
    return [b.toolTip().split()[0] for b in window.look.swatches.buttons]


def _rgb(stroke_colour) -> tuple[float, ...]:
    return tuple(round(float(c), 4) for c in stroke_colour[:3])


def _other_window(qtbot, gui_clip) -> MainWindow:
    win = MainWindow(clip=gui_clip, offer_recovery=False)
    win.confirm_close = False
    qtbot.addWidget(win)
    return win


# ---------------------------------------------------------------- palette and swatches
def test_pick_a_palette_and_see_its_swatches(qtbot, window):
    look = window.look
    assert look.swatches.buttons == [] and look.swatches._hint.isVisibleTo(look)
    _choose(qtbot, look.palette.source, "pico-8")
    assert look.values()["palette"] == PRESET_PALETTES["pico-8"]
    assert _swatch_colours(window) == list(PRESET_PALETTES["pico-8"])
    assert len(look.swatches.buttons) == 16
    # typed hex values replace it; the source box says "Custom"
    _type_palette(qtbot, window, "#1D2B53, #ff004d ,#ffec27 #29adff")
    assert look.values()["palette"] == PALETTE
    assert _swatch_colours(window) == list(PALETTE)
    assert look.palette.source.currentText() == "Custom"
    # a typo is a one-line message and changes nothing
    _type_palette(qtbot, window, "#1d2b53, #ff00")
    assert look.values()["palette"] == PALETTE
    assert window.banner.isVisible() and "#ff00" in window.banner.message()
    # the config for Draw carries it
    assert window._panel_config().palette == PALETTE
    # "Free colours" takes it off again
    _choose(qtbot, look.palette.source, "Free colours")
    assert look.values()["palette"] == () and look.swatches.buttons == []


def test_palette_from_an_image_and_from_the_sketch(qtbot, window, tmp_path):
    picture = np.zeros((40, 40, 3), np.uint8)
    picture[:, :20] = (200, 30, 40)
    picture[:, 20:] = (20, 60, 210)
    Image.fromarray(picture).save(tmp_path / "two.png")
    look = window.look
    look.palette_colors.setValue(2)
    task = look.pick_image_palette(str(tmp_path / "two.png"))
    assert task is not None
    qtbot.waitUntil(lambda: len(look.values()["palette"]) == 2, timeout=10000)
    assert set(look.values()["palette"]) == {"#c81e28", "#143cd2"}
    # the sketch's colours: two red strokes and a blue shape
    ids = window.controller.allocate_ids(3)
    pts = np.array([[10, 10], [20, 20], [30, 10], [40, 20]], float)
    strokes = (
        Stroke(ids[0], pts, 1.0, (1.0, 0.0, 0.0, 1.0)),
        Stroke(ids[1], pts + 5, 1.0, (1.0, 0.0, 0.0, 0.5)),
        Stroke(ids[2], np.array([[10, 10], [30, 10], [30, 30]], float), 1.0, (0.0, 0.0, 1.0, 1.0),
               fill=(0.0, 0.0, 1.0, 0.8), outlined=False),
    )
    window.controller.submit(AddStrokes(strokes))
    qtbot.mouseClick(look.from_sketch, Qt.MouseButton.LeftButton)
    assert set(look.values()["palette"]) == {"#ff0000", "#0000ff"}


def test_clicking_a_swatch_recolours_the_selection_as_one_undo_step(qtbot, window):
    ids = window.controller.allocate_ids(3)
    pts = np.array([[10, 10], [20, 30], [40, 10], [60, 30]], float)
    strokes = (
        Stroke(ids[0], pts, 2.0, (0.1, 0.9, 0.1, 0.7)),
        Stroke(ids[1], pts + 10, 2.0, (0.9, 0.9, 0.1, 1.0)),
        Stroke(ids[2], np.array([[10, 50], [50, 50], [30, 80]], float), 1.0, (0.2, 0.2, 0.2, 1.0),
               fill=(0.3, 0.6, 0.9, 0.5)),
    )
    window.controller.submit(AddStrokes(strokes))
    _type_palette(qtbot, window, ", ".join(PALETTE))
    # nothing selected: a hint, no edit
    count = window.undo_stack.count()
    qtbot.mouseClick(window.look.swatches.buttons[1], Qt.MouseButton.LeftButton)
    assert window.undo_stack.count() == count
    window.canvas.set_selection([ids[0], ids[2]])
    qtbot.mouseClick(window.look.swatches.buttons[1], Qt.MouseButton.LeftButton)
    assert window.undo_stack.count() == count + 1
    entry = tuple(round(c, 4) for c in hex_to_rgb(PALETTE[1]))
    d = window.controller.drawing()
    assert _rgb(d.stroke(ids[0]).color) == entry and d.stroke(ids[0]).color[3] == pytest.approx(0.7)
    assert _rgb(d.stroke(ids[2]).fill) == entry and d.stroke(ids[2]).fill[3] == pytest.approx(0.5)
    assert _rgb(d.stroke(ids[2]).color) == entry
    assert _rgb(d.stroke(ids[1]).color) == (0.9, 0.9, 0.1)  # not selected
    window.undo_stack.undo()
    d = window.controller.drawing()
    assert _rgb(d.stroke(ids[0]).color) == (0.1, 0.9, 0.1)
    assert _rgb(d.stroke(ids[2]).fill) == (0.3, 0.6, 0.9) and _rgb(d.stroke(ids[2]).color) == (0.2, 0.2, 0.2)


def test_swatch_mid_run_in_a_hard_palette_keeps_the_entry(qtbot, window):
    _type_palette(qtbot, window, ", ".join(PALETTE))
    s0 = start_run(qtbot, window, steps=1)
    assert all(tuple(np.round(np.array(s.color[:3]) * 255)) in
               {tuple(np.round(np.array(hex_to_rgb(h)) * 255)) for h in PALETTE} for s in s0.drawing.strokes)
    chosen = s0.drawing.ids[:3]
    window.canvas.set_selection(list(chosen))
    qtbot.mouseClick(window.look.swatches.buttons[2], Qt.MouseButton.LeftButton)
    entry = tuple(round(c, 4) for c in hex_to_rgb(PALETTE[2]))
    later = wait_for(qtbot, window, lambda s: all(_rgb(s.drawing.stroke(i).color) == entry for i in chosen))
    wait_step(qtbot, window, later.step + 1)


# ---------------------------------------------------------------- mid-run look changes
def test_ink_mode_mid_run_makes_one_colour_and_undo_brings_the_colours_back(qtbot, window):
    s0 = start_run(qtbot, window, steps=2)
    colours = {tuple(s.color) for s in s0.drawing.strokes}
    assert len(colours) > 1
    count = window.undo_stack.count()
    qtbot.mouseClick(window.look.ink.check, Qt.MouseButton.LeftButton)
    assert window.undo_stack.count() == count + 1
    inked = wait_for(qtbot, window, lambda s: s.config.ink == "#000000")
    inked = wait_step(qtbot, window, inked.step + 1)
    assert {tuple(s.color) for s in inked.drawing.strokes} == {(0.0, 0.0, 0.0, 1.0)}
    assert _swatch_colours(window) == ["#000000"]
    # undo (Ctrl+Z): the previous look, free colours again, and the panel shows it
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    back = wait_for(qtbot, window, lambda s: s.config.ink is None)
    back = wait_step(qtbot, window, back.step + 1)
    assert len({tuple(s.color) for s in back.drawing.strokes}) > 1
    assert not window.look.ink.check.isChecked() and window.look.values()["ink"] is None
    # redo: ink again
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(window, Qt.Key.Key_Z, ctrl_shift)
    wait_for(qtbot, window, lambda s: s.config.ink == "#000000")
    assert window.look.ink.check.isChecked()


def test_palette_width_range_and_paper_mid_run_are_undo_steps(qtbot, window):
    s0 = start_run(qtbot, window, steps=1)
    count = window.undo_stack.count()
    _choose(qtbot, window.look.palette.source, "primaries")
    assert window.undo_stack.count() == count + 1
    entries = PRESET_PALETTES["primaries"]
    allowed = {tuple(round(c, 4) for c in hex_to_rgb(h)) for h in entries}
    on = wait_for(qtbot, window, lambda s: s.config.palette == entries)
    on = wait_step(qtbot, window, on.step + 1)
    assert {_rgb(s.color) for s in on.drawing.strokes} <= allowed
    # the width range: both ends, typed; the max below the old min pulls the min down
    window.look.max_width.setFocus()
    window.look.max_width.selectAll()
    qtbot.keyClicks(window.look.max_width, "1.5")
    QTest.keyClick(window.look.max_width, Qt.Key.Key_Return)
    narrow = wait_for(qtbot, window, lambda s: s.config.max_half_width == pytest.approx(0.75))
    assert narrow.config.min_half_width <= 0.75
    narrow = wait_step(qtbot, window, narrow.step + 1)
    assert max(s.half_width for s in narrow.drawing.strokes) <= 0.75 + 1e-5
    # paper
    window.look.paper.set_colour("#fff0d0", notify=True)
    paper = wait_for(qtbot, window, lambda s: s.drawing.background != s0.drawing.background)
    assert paper.drawing.background == pytest.approx(hex_to_rgb("#fff0d0"))
    # undo all three, newest first
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: tuple(s.drawing.background) == tuple(s0.drawing.background))
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.config.max_half_width == s0.config.max_half_width)
    assert window.look.max_width.value() == pytest.approx(2 * s0.config.max_half_width)
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.config.palette == ())
    assert window.look.palette.source.currentText() == "Free colours"


def test_the_canvas_shape_and_shape_count_are_fixed_while_running(qtbot, window):
    start_run(qtbot, window, steps=1)
    c = window.controls
    assert not c.canvas_size.isEnabled() and not c.canvas_height.isEnabled()
    assert not c.canvas_aspect.isEnabled() and not window.look.num_shapes.isEnabled()
    assert window.look.palette.isEnabled() and window.look.ink.isEnabled() and window.look.paper.isEnabled()
    qtbot.mouseClick(c.reset, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: c.canvas_size.isEnabled(), timeout=10000)
    assert c.canvas_height.isEnabled() and c.canvas_aspect.isEnabled() and window.look.num_shapes.isEnabled()


# ---------------------------------------------------------------- canvas shape
def test_aspect_lock_links_width_and_height(qtbot, window):
    c = window.controls
    assert c.canvas_aspect.currentText() == "1:1" and c.canvas_height.value() == 96
    _choose(qtbot, c.canvas_aspect, "16:9")
    assert (c.canvas_size.value(), c.canvas_height.value()) == (96, 54)
    c.canvas_size.setFocus()
    c.canvas_size.selectAll()
    qtbot.keyClicks(c.canvas_size, "320")
    assert c.canvas_height.value() == 180
    _choose(qtbot, c.canvas_aspect, "2:3")
    assert (c.canvas_size.value(), c.canvas_height.value()) == (213, 320)
    d = window.controller.drawing()
    assert (d.width, d.height) == (213, 320)  # the empty sheet follows
    assert fits("4:3", 224, 168) and not fits("4:3", 224, 224)
    assert matching_aspect(320, 200) == "free" and matching_aspect(200, 300, "free") == "free"
    assert matching_aspect(300, 200) == "3:2"


def test_a_320x200_canvas_draws_and_exports_320x200(qtbot, window, tmp_path):
    c = window.controls
    _choose(qtbot, c.canvas_aspect, "free")
    for spin, value in ((c.canvas_size, "320"), (c.canvas_height, "200")):
        spin.setFocus()
        spin.selectAll()
        qtbot.keyClicks(spin, value)
    assert (window.controller.drawing().width, window.controller.drawing().height) == (320, 200)
    window.look.transparent.setChecked(True)
    s = start_run(qtbot, window, steps=2)
    assert (s.drawing.width, s.drawing.height) == (320, 200)
    assert (s.config.width, s.config.height) == (320, 200)
    xs = np.concatenate([st.points[:, 0] for st in s.drawing.strokes])
    assert xs.max() > 200  # random strokes use the whole width
    qtbot.waitUntil(window.canvas.layer_is_current, timeout=5000)
    window.controller.stop()
    svg = window.files.export_svg(tmp_path / "wide.svg")
    root = ET.parse(svg).getroot()
    assert root.get("viewBox") == "0 0 320 200" and root.get("width") == "320px"
    assert 'id="background"' not in svg.read_text()  # transparent paper: no background rect
    with qtbot.waitSignal(window.files.signals.pngExported, timeout=30000) as blocker:
        png = window.files.export_png(tmp_path / "wide.png", width=320)
    assert blocker.args == [png, None]
    with Image.open(png) as im:
        assert im.size == (320, 200) and im.mode == "RGBA"
        assert np.asarray(im)[..., 3].min() == 0  # paper left out
    # a project keeps the shape and the look; opening it restores the widgets
    saved = window.files.save_project(tmp_path / "wide.cdproj")
    window.new_drawing()
    _choose(qtbot, c.canvas_aspect, "1:1")
    window.look.transparent.setChecked(False)
    assert window.files.open_project(saved)
    qtbot.waitUntil(lambda: window.controller.drawing().width == 320, timeout=10000)
    assert (c.canvas_size.value(), c.canvas_height.value()) == (320, 200)
    assert c.canvas_aspect.currentText() == "free" and window.look.transparent.isChecked()


# ---------------------------------------------------------------- presets
def test_presets_fill_the_widgets_and_hide_none(qtbot, window):
    menu = window.look_actions.menu
    assert window.look.presets_button.menu() is menu
    menu.action_named("Ink sketch").trigger()
    look, c = window.look, window.controls
    assert look.ink.check.isChecked() and look.ink.colour.colour() == "#111111"
    assert (look.min_width.value(), look.max_width.value()) == (1.0, 4.0)
    assert look.paper.colour() == "#faf6ed" and c.num_paths.value() == 128
    assert look.palette_opaque.isChecked() and _swatch_colours(window) == ["#111111"]
    cfg = window._panel_config()
    assert cfg.ink == "#111111" and cfg.max_half_width == 2.0 and cfg.num_paths == 128
    paper = find_preset("Ink sketch").settings["background"]
    assert window.controller.drawing().background == pytest.approx(paper)
    menu.action_named("Poster (palette, shapes)").trigger()
    assert not look.ink.check.isChecked() and look.num_shapes.value() == 48 and c.num_paths.value() == 64
    assert _swatch_colours(window) == find_preset("poster").settings["palette"]
    assert look.palette.source.currentText() == "poster"
    menu.action_named("Flat shapes").trigger()
    assert c.num_paths.value() == 0 and look.num_shapes.value() == 128 and look.swatches.buttons == []
    # every look widget is still there to change after a preset
    for w in (look.num_shapes, look.palette, look.palette_mode, look.palette_strength, look.ink,
              look.min_width, look.max_width, look.paper, look.transparent, c.num_paths):
        assert w.isVisibleTo(window) and w.isEnabled()
    menu.action_named("CLIPDraw (paper)").trigger()
    assert c.num_paths.value() == 256 and look.num_shapes.value() == 0 and look.paper.colour() == "#ffffff"


def test_a_preset_mid_run_changes_the_look_in_one_undo_step(qtbot, window):
    start_run(qtbot, window, steps=1)
    count = window.undo_stack.count()
    window.look_actions.menu.action_named("Ink sketch").trigger()
    assert window.undo_stack.count() == count + 1
    inked = wait_for(qtbot, window, lambda s: s.config.ink == "#111111")
    assert inked.config.max_half_width == 2.0 and inked.config.num_paths == 12  # counts wait for Reset
    assert window.controls.num_paths.value() == 12
    window.undo_stack.undo()
    wait_for(qtbot, window, lambda s: s.config.ink is None and s.config.max_half_width == 50.0)
    assert not window.look.ink.check.isChecked()


def test_save_an_own_preset_reload_it_in_a_new_window_and_delete_it(qtbot, window, gui_clip, monkeypatch):
    _type_palette(qtbot, window, ", ".join(PALETTE))
    window.look.palette_mode.setCurrentText("soft")
    window.look.palette_strength.setValue(3.0)
    window.look.max_width.setValue(9.0)
    window.look.paper.set_colour("#eeeeff", notify=True)
    window.controls.num_paths.setValue(40)
    # bad names are refused in one line and save nothing
    for bad in ("", "   ", "Ink Sketch", "x" * 41, "bad\x00name"):
        monkeypatch.setattr("app.look_actions.QInputDialog.getText", lambda *a, n=bad, **k: (n, True))
        assert window.look_actions.save_preset() is None
        assert window.banner.isVisible()
    assert "My poster" not in [a.text() for a in window.look_actions.menu.actions()]
    monkeypatch.setattr("app.look_actions.QInputDialog.getText", lambda *a, **k: ("My poster", True))
    save = next(a for a in window.look_actions.menu.actions() if a.objectName() == "savePreset")
    save.trigger()
    assert "My poster" in [a.text() for a in window.look_actions.menu.actions()]
    # a new window (as after a restart: the same settings store) lists and applies it
    other = _other_window(qtbot, gui_clip)
    other.look_actions.menu.action_named("My poster").trigger()
    values = other.look.values()
    assert values["palette"] == PALETTE and values["palette_mode"] == "soft"
    assert values["palette_strength"] == 3.0 and values["max_half_width"] == 4.5
    assert other.look.paper.colour() == "#eeeeff" and other.controls.num_paths.value() == 40
    delete_menu = next(a.menu() for a in other.look_actions.menu.actions() if a.menu() is not None)
    delete_menu.actions()[0].trigger()
    assert "My poster" not in [a.text() for a in other.look_actions.menu.actions()]
    window.look_actions.menu.rebuild()
    assert "My poster" not in [a.text() for a in window.look_actions.menu.actions()]
    other.close()
    other.shutdown()


def test_look_settings_are_remembered(qtbot, window, gui_clip):
    _choose(qtbot, window.look.palette.source, "pastel")
    qtbot.mouseClick(window.look.ink.check, Qt.MouseButton.LeftButton)
    window.look.num_shapes.setValue(7)
    _choose(qtbot, window.controls.canvas_aspect, "4:3")
    window.controls.save_settings()
    window.look.save_settings()
    other = _other_window(qtbot, gui_clip)
    values = other.look.values()
    assert values["palette"] == PRESET_PALETTES["pastel"] and values["ink"] == "#000000"
    assert values["num_shapes"] == 7
    assert other.controls.canvas_aspect.currentText() == "4:3"
    assert (other.controls.canvas_size.value(), other.controls.canvas_height.value()) == (96, 72)
    assert re.fullmatch(r"#[0-9a-f]{6}", other.look.ink.colour.colour())
    other.close()
    other.shutdown()


def test_a_broken_preset_store_reads_as_empty_and_the_menu_still_works(qtbot, window):
    from app import settings
    from app.presets_menu import own_presets, save_own_preset

    settings.write("look_presets", '{"format": "clipdraw-studio-presets", "presets": [{"name": "x", '
                   '"settings": {"max_half_width": -3}}]}')
    assert own_presets() == []
    window.look_actions.menu.rebuild()
    names = [a.text() for a in window.look_actions.menu.actions()]
    assert names[:4] == ["CLIPDraw (paper)", "Ink sketch", "Poster (palette, shapes)", "Flat shapes"]
    settings.write("look_presets", "not json")
    assert own_presets() == []
    save_own_preset("Mine", window._panel_config())  # a new save replaces the broken store
    assert [p.name for p in own_presets()] == ["Mine"]
