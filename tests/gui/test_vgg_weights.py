"""The style image's VGG-16 download dialogs driven for real (issue 12).

The download runs against the fake server of tests/test_weights.py on 127.0.0.1 with
the engine's own chunked download; modal dialogs are answered by the timer script of
tests/gui/test_first_run.py, which finds them by object name and clicks a button.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QTimer

from app.dialogs import vgg_weights
from clipdraw_core.optim import style as st
from tests.gui.test_first_run import Script, _find_visible, click
from tests.test_weights import FakeHub, closed_port_endpoint


@pytest.fixture
def checkpoint() -> bytes:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        features = st.vgg16_features()
    buf = io.BytesIO()
    torch.save({f"features.{k}": v.half() for k, v in features.state_dict().items()}, buf)
    return buf.getvalue()


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "torch-hub"))
    return tmp_path / "torch-hub"


def _name(data: bytes) -> str:
    return f"vgg16-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def test_progress_dialog_downloads_and_shows_bytes(qapp, checkpoint, hub_dir, monkeypatch) -> None:
    monkeypatch.setattr(st, "DOWNLOAD_CHUNK", 256 * 1024)
    statuses: list[str] = []

    def watch() -> None:
        dlg = _find_visible("clipdraw-download-dialog")
        if dlg is not None:
            statuses.append(dlg.status.text())

    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(watch)
    ticker.start()
    name = _name(checkpoint)
    try:
        with FakeHub({("models/x", name): checkpoint}, chunk=256 * 1024, delay=0.01) as server:
            source = st.VggSource.from_url(f"{server.endpoint}/models/x/{name}")
            assert vgg_weights.ensure_vgg(None, source) is True
    finally:
        ticker.stop()
    assert st.vgg_cache_path(source).read_bytes() == checkpoint
    assert any(" of " in s and "MB" in s for s in statuses), statuses[-5:]


def test_cancel_closes_the_dialog_and_keeps_nothing(qapp, checkpoint, hub_dir, monkeypatch) -> None:
    monkeypatch.setattr(st, "DOWNLOAD_CHUNK", 8 * 1024)
    name = _name(checkpoint)

    def cancel_once_started(dlg) -> bool:
        if " of " not in dlg.status.text():
            return False  # wait for the first bytes
        QTimer.singleShot(0, dlg.cancel_button.click)
        return True

    with FakeHub({("models/x", name): checkpoint}, chunk=8 * 1024, delay=0.02) as server:
        source = st.VggSource.from_url(f"{server.endpoint}/models/x/{name}")
        script = Script([("clipdraw-download-dialog", cancel_once_started)])
        t0 = time.monotonic()
        try:
            assert vgg_weights.ensure_vgg(None, source) is False
        finally:
            script.stop()
        assert time.monotonic() - t0 < 20, "cancel stops within a chunk, not after the whole file"
    assert script.done == ["clipdraw-download-dialog"]
    checkpoints = hub_dir / "checkpoints"
    assert not checkpoints.exists() or list(checkpoints.iterdir()) == []


def test_offline_offers_a_local_file(qapp, checkpoint, hub_dir, tmp_path, monkeypatch) -> None:
    local = tmp_path / "vgg16-local.pth"
    local.write_bytes(checkpoint)
    monkeypatch.setattr(vgg_weights, "pick_file", lambda parent: str(local))
    source = st.VggSource.from_url(f"{closed_port_endpoint()}/models/x/vgg16-12345678.pth")
    # Offline: Retry once (fails again), then "Load a file…".
    missing = "clipdraw-vgg-missing"
    script = Script([(missing, click("choice-retry")), (missing, click("choice-file"))])
    try:
        assert vgg_weights.ensure_vgg(None, source) is True
    finally:
        script.stop()
    assert script.done == ["clipdraw-vgg-missing", "clipdraw-vgg-missing"]
    assert st.vgg_cache_path(source).read_bytes() == checkpoint


def test_offline_cancel_gives_up(qapp, hub_dir) -> None:
    source = st.VggSource.from_url(f"{closed_port_endpoint()}/models/x/vgg16-12345678.pth")
    script = Script([("clipdraw-vgg-missing", click("choice-cancel"))])
    try:
        assert vgg_weights.ensure_vgg(None, source) is False
    finally:
        script.stop()
    assert script.done == ["clipdraw-vgg-missing"] and not st.vgg_cache_path(source).exists()
