"""First-run dialogs driven for real: download with progress, cancel, and the offline choices.

The download runs against the fake hub of tests/test_weights.py (127.0.0.1 only), so
the progress dialog, its worker thread, Cancel and the "weights missing" dialog all do
what they do for a user. Modal dialogs are answered by a timer that finds the dialog by
object name and clicks a button, exactly as a person would.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from app.dialogs import first_run
from clipdraw_core.clip import weights as cdw

_spec = importlib.util.spec_from_file_location(
    "_weights_fakehub", Path(__file__).parents[1] / "test_weights.py"
)
fakehub = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakehub)

MODEL, TAG, REPO = fakehub.TINY_MODEL, fakehub.TINY_TAG, fakehub.TINY_REPO


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return fakehub.tiny_checkpoint(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, checkpoint: bytes):
    fakehub.register_tiny_tag(monkeypatch)
    fakehub.allow_local_hub(monkeypatch)
    with fakehub.FakeHub({(REPO, cdw.HF_WEIGHTS_NAME): checkpoint}) as h:
        yield h


def _find_visible(object_name: str) -> QWidget | None:
    for w in QApplication.topLevelWidgets():
        if w.objectName() == object_name and w.isVisible():
            return w
    return None


class Script:
    """Answer modal dialogs in order: each step waits for a visible dialog, then acts on it."""

    def __init__(self, steps: list[tuple[str, Callable[[QWidget], bool]]], timeout: float = 30) -> None:
        self.steps = list(steps)
        self.done: list[str] = []
        self.deadline = time.monotonic() + timeout
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        if not self.steps or time.monotonic() > self.deadline:
            self.timer.stop()
            return
        name, action = self.steps[0]
        widget = _find_visible(name)
        if widget is not None and action(widget):
            self.done.append(name)
            self.steps.pop(0)

    def stop(self) -> None:
        self.timer.stop()


def click(button_name: str) -> Callable[[QWidget], bool]:
    def act(widget: QWidget) -> bool:
        button = widget.findChild(QAbstractButton, button_name)
        assert button is not None, f"no button {button_name} in {widget.objectName()}"
        QTimer.singleShot(0, button.click)
        return True

    return act


def _no_partial_files(cache: Path) -> bool:
    return not [
        p for p in cache.rglob("*") if p.is_file() and (".incomplete" in p.name or "blobs" in p.parts)
    ]


# ------------------------------------------------------------------------------ ensure_weights


def test_nothing_to_download_returns_at_once(
    hub, qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dialog(*a, **k):
        raise AssertionError("no dialog expected")

    monkeypatch.setattr(first_run, "DownloadDialog", no_dialog)
    ckpt = tmp_path / "my.pt"
    ckpt.write_bytes(b"x")
    assert first_run.ensure_weights(None, MODEL, "random") == "random"
    assert first_run.ensure_weights(None, MODEL, str(ckpt)) == str(ckpt)
    cdw.download_weights(MODEL, TAG, cache_dir=tmp_path / "c", endpoint=hub.endpoint)
    requests = len(hub.requests)
    assert first_run.ensure_weights(None, MODEL, TAG, cache_dir=tmp_path / "c", endpoint=hub.endpoint) == TAG
    assert len(hub.requests) == requests


def test_download_dialog_shows_progress_and_the_gui_keeps_running(hub, qapp, tmp_path: Path) -> None:
    hub.chunk, hub.delay = 64 * 1024, 0.01  # ~2 s download
    statuses: list[str] = []
    bars: list[int] = []
    gaps: list[float] = []
    last = [time.monotonic()]

    def watch() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now
        dlg = _find_visible("clipdraw-download-dialog")
        if dlg is not None:
            statuses.append(dlg.status.text())
            bars.append(dlg.bar.value())

    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(watch)
    ticker.start()
    try:
        t0 = time.monotonic()
        result = first_run.ensure_weights(None, MODEL, TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
        elapsed = time.monotonic() - t0
    finally:
        ticker.stop()
    assert result == TAG
    assert cdw.cached_weights_path(MODEL, TAG, cache_dir=tmp_path) is not None
    assert any(" of " in s and "MB" in s for s in statuses), statuses[-5:]
    assert any("/s" in s for s in statuses), "download speed shown"
    assert len(set(bars)) > 3, "progress bar moved"
    assert elapsed > 1.0
    # The event loop kept turning during the download: no long stall on the GUI thread.
    assert max(gaps[1:]) < 0.5, f"GUI stalled {max(gaps[1:]):.2f} s"


def test_cancel_returns_none_and_leaves_no_partial_file(hub, qapp, tmp_path: Path) -> None:
    hub.chunk, hub.delay = 32 * 1024, 0.01  # ~4 s download

    def cancel_once_started(dlg: QWidget) -> bool:
        if dlg.last_progress[0] <= 0:
            return False
        dlg.cancel_button.click()
        return True

    script = Script([("clipdraw-download-dialog", cancel_once_started)])
    t0 = time.monotonic()
    try:
        result = first_run.ensure_weights(None, MODEL, TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    finally:
        script.stop()
    assert script.done == ["clipdraw-download-dialog"]
    assert result is None
    assert time.monotonic() - t0 < 10
    assert cdw.cached_weights_path(MODEL, TAG, cache_dir=tmp_path) is None
    assert _no_partial_files(tmp_path)


def _offline(tmp_path: Path, steps, **kwargs):
    script = Script(steps)
    try:
        return first_run.ensure_weights(
            None, MODEL, TAG, cache_dir=tmp_path, endpoint=fakehub.closed_port_endpoint(), timeout=5, **kwargs
        ), script
    finally:
        script.stop()


def test_offline_dialog_explains_and_offers_random(hub, qapp, tmp_path: Path) -> None:
    texts: list[str] = []

    def read_then_random(box: QWidget) -> bool:
        texts.append(box.text() + "\n" + box.informativeText())
        return click("choice-random")(box)

    result, script = _offline(tmp_path, [("clipdraw-weights-missing", read_then_random)])
    assert result == "random"
    assert script.done == ["clipdraw-weights-missing"]
    assert MODEL in texts[0] and "unreachable" in texts[0] and "weights file" in texts[0]


def test_offline_load_weights_file(hub, qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ckpt = tmp_path / "ViT-B-32-openai.safetensors"
    ckpt.write_bytes(b"weights")
    monkeypatch.setattr(first_run.QFileDialog, "getOpenFileName", lambda *a, **k: (str(ckpt), ""))
    result, _ = _offline(tmp_path / "cache", [("clipdraw-weights-missing", click("choice-file"))])
    assert result == str(ckpt)


def test_offline_file_dialog_cancelled_asks_again(hub, qapp, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(first_run.QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    result, script = _offline(
        tmp_path,
        [
            ("clipdraw-weights-missing", click("choice-file")),
            ("clipdraw-weights-missing", click("choice-cancel")),
        ],
    )
    assert result is None
    assert len(script.done) == 2


def test_retry_after_failure_then_success(hub, qapp, tmp_path: Path) -> None:
    hub.mode = "404"
    seen: list[str] = []

    def fix_hub_and_retry(box: QWidget) -> bool:
        seen.append(box.informativeText())
        hub.mode = "ok"
        return click("choice-retry")(box)

    script = Script([("clipdraw-weights-missing", fix_hub_and_retry)])
    try:
        result = first_run.ensure_weights(None, MODEL, TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    finally:
        script.stop()
    assert result == TAG
    assert "not found" in seen[0]
    assert cdw.cached_weights_path(MODEL, TAG, cache_dir=tmp_path) is not None


def test_retry_then_cancel(hub, qapp, tmp_path: Path) -> None:
    result, script = _offline(
        tmp_path,
        [
            ("clipdraw-weights-missing", click("choice-retry")),
            ("clipdraw-weights-missing", click("choice-cancel")),
        ],
    )
    assert result is None
    assert len(script.done) == 2


# ------------------------------------------------------------------------------ model picker


def test_model_picker_lists_hints_and_remembers_the_choice(qapp, qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dlg = first_run.ModelPickerDialog(None, settings, "picker/", cache_dir=tmp_path)
    qtbot.addWidget(dlg)
    assert dlg.selected_entry().model_name == "ViT-B-32"
    assert dlg.tag.currentText() == "openai"
    assert dlg.table.item(0, 0).text() == "ViT-B-32 (default)"
    assert "MB download" in dlg.table.item(0, 1).text()
    assert "will be downloaded" in dlg.details.text()

    dlg.filter.setText("vit-l-14")
    visible = [
        dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount()) if not dlg.table.isRowHidden(r)
    ]
    assert visible and all("ViT-L-14" in v for v in visible)
    dlg.filter.setText("")

    dlg.select("ViT-B-16", "laion2b_s34b_b88k")
    assert dlg.tag.currentText() == "laion2b_s34b_b88k"
    assert "slow" in dlg.details.text() or "medium" in dlg.details.text()
    dlg.accept()
    assert (dlg.model_name, dlg.pretrained) == ("ViT-B-16", "laion2b_s34b_b88k")

    reopened = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert first_run.load_model_choice(reopened, "picker/") == ("ViT-B-16", "laion2b_s34b_b88k")
    again = first_run.ModelPickerDialog(None, reopened, "picker/")
    qtbot.addWidget(again)
    assert again.selected_entry().model_name == "ViT-B-16"
    assert again.tag.currentText() == "laion2b_s34b_b88k"


def test_model_picker_shows_cached_weights(hub, qapp, qtbot, tmp_path: Path) -> None:
    cdw.download_weights(MODEL, TAG, cache_dir=tmp_path, endpoint=hub.endpoint)
    dlg = first_run.ModelPickerDialog(None, None, cache_dir=tmp_path)
    qtbot.addWidget(dlg)
    dlg.select(MODEL, TAG)
    assert dlg.selected_entry().model_name == MODEL
    assert "already downloaded" in dlg.details.text()


def test_format_helpers() -> None:
    assert first_run.format_bytes(512) == "512 B"
    assert first_run.format_bytes(12_345_678) == "12.3 MB"
    assert first_run.format_bytes(3_200_000_000) == "3.20 GB"
    assert first_run.format_eta(42) == "42 s" and first_run.format_eta(600) == "10 min"
