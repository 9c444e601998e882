"""The window's SessionWorker steers a session on a clipdraw-server exactly like a local one.

The worker thread is given a ``RemoteSessionProxy`` instead of a ``Session`` (same
methods); pause, edits while paused, resume and stop then go through the server on
127.0.0.1, and the last drawing stays readable after the worker stops.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.run.remote import RemoteCompute
from app.run.worker import SessionWorker, WorkerHandle
from clipdraw_core.drawing.commands import DeleteStrokes, SetFrozen
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.remote.proxy import RemoteSessionProxy
from clipdraw_core.remote.server import BackgroundServer, ServerOptions

TOKEN = "gui-token"


@pytest.fixture
def server(tiny_clip_files):
    config_path, checkpoint = tiny_clip_files
    options = ServerOptions(host="127.0.0.1", port=0, token=TOKEN, devices=("cpu",),
                            model=str(config_path), weights=str(checkpoint), style_weights="random")
    with BackgroundServer(options) as running:
        yield running


def test_worker_steers_a_remote_session_like_a_local_one(qtbot, server):
    config = SessionConfig(
        prompt="a red cat", num_paths=6, num_steps=100_000, num_augs=1, width=64, height=64
    )
    proxies: list[RemoteSessionProxy] = []

    def factory() -> RemoteSessionProxy:
        proxies.append(RemoteSessionProxy(server.address, TOKEN, config, lease_s=0.3))
        return proxies[0]

    worker = SessionWorker(factory)
    handle = WorkerHandle(worker)
    handle.start()
    try:
        qtbot.waitUntil(lambda: worker.take_latest()[0] is not None and worker.steps_done >= 2, timeout=30000)
        worker.pause()
        qtbot.waitUntil(lambda: worker.state() == "paused", timeout=10000)
        worker.submit(SetFrozen((0,)))
        worker.submit(DeleteStrokes((1,)))

        def edits_arrived() -> bool:
            return 1 not in worker.session().snapshot().drawing.ids

        qtbot.waitUntil(edits_arrived, timeout=10000)
        snap = worker.session().snapshot()
        assert snap.drawing.stroke(0).frozen and len(snap.drawing.strokes) == 5
        frozen_points = snap.drawing.stroke(0).points.copy()
        worker.resume()
        qtbot.waitUntil(lambda: worker.session().snapshot().step > snap.step + 1, timeout=30000)
        after = worker.session().snapshot()
        np.testing.assert_array_equal(after.drawing.stroke(0).points, frozen_points)
        assert worker.session().device == f"cpu @ {server.address}"
    finally:
        assert handle.stop(20000)
        for proxy in proxies:
            proxy.close()
    assert proxies[0].snapshot().step >= after.step  # the drawing so far is still here


def test_controller_draws_on_the_server_and_keeps_the_drawing_after_stop(qtbot, server):
    from app.run.controller import RunController
    from app.run.remote import RemoteCompute
    from clipdraw_core.optim.run_state import RunState

    controller = RunController()
    controller.compute = RemoteCompute(server.address, TOKEN)
    assert controller.compute.label == server.address
    config = SessionConfig(
        prompt="a red cat", num_paths=5, num_steps=100_000, num_augs=1, width=64, height=64
    )
    seen = []
    controller.snapshotApplied.connect(seen.append)
    controller.start(config)
    try:
        qtbot.waitUntil(lambda: bool(seen) and seen[-1].step >= 2, timeout=30000)
        assert seen[-1].device == f"cpu @ {server.address}"
        assert controller.loader.cached(config.model_name, config.weights, config.device) is None
        controller.submit(DeleteStrokes((2,)))
        qtbot.waitUntil(lambda: 2 not in seen[-1].drawing.ids, timeout=10000)
    finally:
        controller.stop()
    assert controller.state() == RunState.STOPPED
    assert controller.drawing() is not None and len(controller.drawing().strokes) == 4
    qtbot.waitUntil(lambda: not server.server.sessions, timeout=10000)  # the server's session ended
    # Draw again continues this drawing on the server (its strokes, no random ones on top).
    controller.start(config)
    try:
        qtbot.waitUntil(lambda: len(server.server.sessions) == 1, timeout=30000)
        hosted = next(iter(server.server.sessions.values()))
        assert len(hosted.session.drawing().strokes) == 4
    finally:
        controller.shutdown()


def test_wrong_token_is_an_error_signal_not_a_crash(qtbot, server):
    from app.run.controller import RunController
    from app.run.remote import RemoteCompute

    controller = RunController()
    controller.compute = RemoteCompute(server.address, "wrong")
    errors = []
    controller.errorOccurred.connect(lambda message, exc: errors.append(message))
    controller.start(SessionConfig(prompt="a cat", num_paths=3, num_steps=5, width=64, height=64))
    try:
        qtbot.waitUntil(lambda: bool(errors), timeout=20000)
        assert "refused the token" in errors[0]
    finally:
        controller.shutdown()


def test_compute_server_dialog_tests_the_connection_and_remembers_it(qtbot, server):
    from app import settings
    from app.dialogs.compute_server import ComputeServerDialog

    dialog = ComputeServerDialog()
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.address, server.address)
    qtbot.keyClicks(dialog.token, "wrong")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "refused the token" in dialog.result.text(), timeout=20000)
    dialog.token.clear()
    qtbot.keyClicks(dialog.token, TOKEN)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result.text().startswith("Connected: cpu"), timeout=20000)
    assert "round trip" in dialog.result.text() and "tiny" in dialog.result.text()
    dialog.accept()
    assert dialog.compute() == RemoteCompute(server.address, TOKEN)
    assert settings.read("compute_server") == server.address and settings.read("compute_token") == TOKEN
    again = ComputeServerDialog()
    qtbot.addWidget(again)
    assert again.address.text() == server.address and again.token.text() == TOKEN


def test_window_compute_menu_switches_between_this_computer_and_a_server(window, server, monkeypatch):
    from app.dialogs import compute_server

    assert window.actions_.by_name["compute_local"].isChecked()
    monkeypatch.setattr(compute_server.ComputeServerDialog, "exec", lambda self: 1)
    monkeypatch.setattr(compute_server.ComputeServerDialog, "compute",
                        lambda self: RemoteCompute(server.address, TOKEN))
    window.actions_.by_name["compute_server"].trigger()
    assert window.controller.compute == RemoteCompute(server.address, TOKEN)
    assert window.actions_.by_name["compute_server"].isChecked()
    assert server.address in window.statusBar().currentMessage()
    window.actions_.by_name["compute_local"].trigger()
    assert window.controller.compute is None
    assert "this computer" in window.statusBar().currentMessage()


def test_image_prompts_regions_and_style_steer_a_run_on_the_server(qtbot, server):
    """Guidance is no longer refused remotely: it goes up as data, with the start and mid-run."""
    import io

    from PIL import Image

    from app.run.controller import RunController
    from clipdraw_core.drawing.commands import SetStyle
    from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, Region, StyleImage

    def png(seed: int) -> bytes:
        pixels = np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        return buf.getvalue()

    controller = RunController()
    controller.compute = RemoteCompute(server.address, TOKEN)
    controller.guidance = Guidance(images=(ImagePrompt("cat.png", png(1)),),
                                   regions=(Region.rect(1, 4, 4, 30, 30, "a blue sky", name="sky"),))
    seen = []
    errors = []
    controller.snapshotApplied.connect(seen.append)
    controller.errorOccurred.connect(lambda message, exc: errors.append(message))
    config = SessionConfig(prompt="a red cat", num_paths=4, num_steps=100_000, num_augs=1,
                           width=64, height=64)
    controller.start(config)
    try:
        qtbot.waitUntil(lambda: bool(seen) and seen[-1].step >= 2, timeout=30000)
        assert "image: cat.png" in seen[-1].scores and "region sky: a blue sky" in seen[-1].scores
        controller.submit(SetStyle(StyleImage("style.png", png(2), strength=50)))
        qtbot.waitUntil(lambda: "style" in seen[-1].scores, timeout=30000)
        assert seen[-1].guidance.style is not None and seen[-1].guidance.style.name == "style.png"
        assert seen[-1].device == f"cpu @ {server.address}"
    finally:
        controller.shutdown()
    assert not errors


def test_ink_mode_a_move_and_a_raise_mid_run_on_the_server_keep_the_connection(qtbot, window, server):
    """Look changes, moves and z-order go up as commands the server accepts (they used to close it)."""
    from tests.gui.helpers import start_run, wait_for

    window.controller.compute = RemoteCompute(server.address, TOKEN)
    first = start_run(qtbot, window, "a sun", steps=2)
    assert first.device == f"cpu @ {server.address}"
    (sid,) = server.server.sessions
    # Ink mode: a click on the Look panel's Ink box (one SetLook) turns every stroke black.
    qtbot.mouseClick(window.look.ink.check, Qt.MouseButton.LeftButton)
    inked = wait_for(qtbot, window, lambda s: s.config.ink == "#000000")
    inked = wait_for(qtbot, window, lambda s: s.step > inked.step)
    assert {tuple(s.color) for s in inked.drawing.strokes} == {(0.0, 0.0, 0.0, 1.0)}
    # Shift+Right moves the selected stroke ten pixels (one TransformStrokes), Home raises it.
    stroke_id = inked.drawing.strokes[3].id
    window.canvas.set_selection([stroke_id])
    window.canvas.setFocus()
    before = inked.drawing.stroke(stroke_id).points.mean(axis=0)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Home)
    later = wait_for(qtbot, window, lambda s: s.drawing.ids[-1] == stroke_id and s.step >= inked.step + 3)
    shift = later.drawing.stroke(stroke_id).points.mean(axis=0) - before
    assert shift[0] >= 10 - (later.step - inked.step) - 0.01 and shift[0] >= 5  # lr 1 px a step
    # The connection stayed up: no banner, the same session, and it goes on stepping.
    assert window.controller.connection.state not in ("lost", "gone")
    assert not window.connection_banner.isVisible()
    assert list(server.server.sessions) == [sid]
    wait_for(qtbot, window, lambda s: s.step >= later.step + 2)
    assert list(server.server.sessions) == [sid] and not window.connection_banner.isVisible()
