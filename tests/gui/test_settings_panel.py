"""The control panel is built from the settings' metadata: same ranges as the CLI, checked input."""

from __future__ import annotations

import pytest

from app import settings
from app.controls import GUI_VIEWS, SESSION_VIEWS
from app.main_window import MainWindow
from app.settings import GuiSettings
from clipdraw_core import cli
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import MAX_SEED, SessionConfig
from clipdraw_core.optim.setting import setting_named


def test_a_project_with_a_seed_beyond_32_bit_signed_opens(qtbot, window, tmp_path, tiny_clip_files):
    """Issue 15, defect 1: the CLI wrote such a project and opening it aborted the app."""
    config_path, checkpoint = tiny_clip_files
    proj = tmp_path / "p.json"
    code = cli.main(
        ["cat", "-o", str(tmp_path / "x.svg"), "--project", str(proj), "--seed", "3000000000"]
        + ["--steps", "1", "--paths", "4", "--size", "96", "--model", str(config_path)]
        + ["--weights", str(checkpoint), "--device", "cpu", "-q"]
    )
    assert code == 0
    assert window.files.open_project(proj)
    assert window.controls.seed.value() == 3_000_000_000
    assert window.controls.config().seed == 3_000_000_000
    assert len(window.controller.drawing().strokes) == 4
    window.controls.seed.setValue(MAX_SEED + 10.0)  # the widget holds exactly the settings' range
    assert window.controls.config().seed == MAX_SEED


def test_set_config_checks_before_touching_a_widget(qtbot, window):
    c = window.controls
    c.prompt.setPlainText("a lighthouse")
    c.seed.setValue(7)
    for bad in (SessionConfig(seed=2**40), SessionConfig(num_paths=10**6), SessionConfig(negative_weight=-1)):
        with pytest.raises(ConfigError):
            c.set_config(bad.replace(prompt="a ship"))
        assert c.prompt.toPlainText() == "a lighthouse" and c.seed.value() == 7


def test_stored_values_out_of_range_fall_back_to_defaults(qtbot, gui_clip):
    settings.write("seed", 2**40)
    settings.write("num_paths", 99999)
    settings.write("brush_width", "wide")
    settings.write("negative_weight", 0.75)
    settings.write("negative_prompts", ("blurry", "ugly"))
    win = MainWindow(clip=gui_clip, offer_recovery=False)
    win.confirm_close = False
    qtbot.addWidget(win)
    try:
        c = win.controls
        assert c.seed.value() == 0 and c.num_paths.value() == 256 and c.brush_width.value() == 2.0
        assert c.negative_weight.value() == 0.75
        assert c.config().negative_prompts == ("blurry", "ugly")
    finally:
        win.close()


def test_widget_ranges_and_defaults_are_the_settings(qtbot, window):
    for views, cls in ((SESSION_VIEWS, SessionConfig), (GUI_VIEWS, GuiSettings)):
        for view in views:
            s = setting_named(cls, view.name)
            widget = getattr(window.controls, view.attr, None)
            if view.kind in ("int", "float"):
                assert (widget.minimum(), widget.maximum()) == (s.minimum, s.maximum), view.name
            assert s.help[1:] in widget.toolTip(), view.name
    # a fresh panel shows every default (the window fixture changed some)
    assert settings.read("canvas_size") == SessionConfig().width
    assert window.controls.__class__().config() == SessionConfig()


def test_renderer_is_chosen_in_the_panel_and_remembered(qtbot, window):
    """Issue 17: the renderer is an option of the Run box, stored like the others."""
    c = window.controls
    assert [c.renderer.itemText(i) for i in range(c.renderer.count())] == ["auto", "torch", "diffvg"]
    assert c.renderer.currentText() == "auto"
    c.renderer.setCurrentText("diffvg")
    assert c.config().renderer == "diffvg"
    c.save_settings()
    assert settings.read("renderer") == "diffvg"
    c.set_config(SessionConfig(renderer="torch"))
    assert c.renderer.currentText() == "torch"
