"""The run settings' Precision choice reaches the engine, the status bar and the settings."""

from __future__ import annotations

from helpers import start_run
from PySide6.QtCore import Qt

from app import settings


def test_precision_choice_runs_shows_and_is_remembered(qtbot, window):
    combo = window.controls.precision
    assert combo.currentText() == "auto"
    for _ in range(2):  # keyboard selection in the closed combo box: auto -> fp32 -> bf16
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == "bf16"
    first = start_run(qtbot, window, "a paper boat", steps=2)
    assert window.controller.config().precision == "bf16"
    assert first.precision == "bf16: requested"
    qtbot.waitUntil(lambda: "CLIP bf16: requested" in window.status.device.text(), timeout=10000)
    assert not combo.isEnabled()  # fixed while the session runs
    window.controls.save_settings()
    assert settings.read("precision") == "bf16"
    combo.setCurrentText("fp32")
    window.controls.load_settings()
    assert combo.currentText() == "bf16"
