"""Faults of a run on a clipdraw-server, in the window: a network drop, a server that dies.

A real server on 127.0.0.1 (in this process, the tiny random model). A drop cuts every
socket server-side, as a network failure would, and keeps the server from answering
for a few seconds, so the banner can be seen; the window must say so, keep the
drawing, keep an edit made meanwhile and resume the same session. When the server
dies, the drawing stays and "Continue on this computer" or "Choose another server…"
goes on from it.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.run.remote import RemoteCompute
from clipdraw_core.remote.server import BackgroundServer, ServerOptions
from tests.gui.helpers import start_run, wait_step

TOKEN = "fault-token"


def make_server(tiny_clip_files, **kw) -> BackgroundServer:
    config_path, checkpoint = tiny_clip_files
    options = ServerOptions(host="127.0.0.1", port=0, token=TOKEN, devices=("cpu",),
                            model=str(config_path), weights=str(checkpoint), grace_s=30.0, **kw)
    return BackgroundServer(options)


@pytest.fixture
def server(tiny_clip_files):
    with make_server(tiny_clip_files) as running:
        yield running


def same_strokes(a, b) -> bool:
    if [s.id for s in a.strokes] != [s.id for s in b.strokes]:
        return False
    pairs = zip(a.strokes, b.strokes, strict=True)
    return all(np.array_equal(x.points, y.points) and x.color == y.color for x, y in pairs)


def message_boxes() -> list:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def test_a_network_drop_shows_a_banner_keeps_edits_and_resumes_the_same_session(qtbot, window, server):
    banner = window.connection_banner
    window.controller.compute = RemoteCompute(server.address, TOKEN)
    before = start_run(qtbot, window, steps=2)
    assert before.device == f"cpu @ {server.address}" and not banner.isVisible()
    (sid,) = server.server.sessions
    server.drop_connections(then_stall_s=4.0)
    qtbot.waitUntil(banner.isVisible, timeout=5000)
    text = banner.message()
    assert f"Connection to {server.address} lost" in text and "reconnecting" in text
    assert banner.continue_button.isVisible() and banner.server_button.isVisible()
    assert window.canvas.drawing() is not None and len(window.canvas.drawing().strokes) == 12
    # An edit while the connection is down: shown at once, sent when it is back.
    window.state.set_selection([3])
    window.actions_.delete.trigger()
    qtbot.waitUntil(lambda: 3 not in window.canvas.drawing().ids, timeout=5000)
    assert banner.isVisible()
    down_at = window.controller.step()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=20000)
    assert "same session" in window.statusBar().currentMessage()
    seen_after = []
    window.snapshotShown.connect(seen_after.append)
    after = wait_step(qtbot, window, down_at + 2)  # the step count goes on
    assert list(server.server.sessions) == [sid]  # the same session, not a new one
    assert 3 not in after.drawing.ids and len(after.drawing.strokes) == 11
    assert all(3 not in s.drawing.ids for s in seen_after)  # never shown again meanwhile
    assert 3 not in server.server.sessions[sid].session.drawing().ids
    assert not message_boxes() and not window.banner.isVisible()
    window.undo_stack.undo()  # and undo goes up as a command as usual
    qtbot.waitUntil(lambda: 3 in window.controller.drawing().ids, timeout=10000)


def test_when_the_server_dies_the_drawing_stays_and_continues_on_this_computer(
    qtbot, window, tiny_clip_files
):
    banner = window.connection_banner
    errors: list[str] = []
    window.controller.errorOccurred.connect(lambda message, exc: errors.append(message))
    shown = []
    window.snapshotShown.connect(shown.append)
    server = make_server(tiny_clip_files).__enter__()
    window.controller.compute = RemoteCompute(server.address, TOKEN, reconnect_s=1.0)
    start_run(qtbot, window, steps=3)
    server.__exit__(None, None, None)  # the server process is gone
    qtbot.waitUntil(lambda: banner.state == "gone", timeout=30000)
    qtbot.wait(1500)  # no storm: the worker paused after the one failure
    assert f"The server {server.address} is gone" in banner.message()
    assert "drawing so far is kept" in banner.message()
    assert not message_boxes() and not window.banner.isVisible()
    assert len(errors) <= 1
    last_remote = max((s for s in shown if "@" in s.device), key=lambda s: s.step)
    kept = window.canvas.drawing()
    assert same_strokes(kept, last_remote.drawing) and len(kept.strokes) == 12
    qtbot.mouseClick(banner.continue_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible() and window.controller.compute is None
    assert window.actions_.by_name["compute_local"].isChecked()
    local = wait_step(qtbot, window, last_remote.step + 2)
    assert "@" not in local.device
    assert [s.id for s in local.drawing.strokes] == [s.id for s in last_remote.drawing.strokes]
    first_local = min((s for s in shown if "@" not in s.device), key=lambda s: s.step)
    assert first_local.step >= last_remote.step  # it continued, it did not start over


def test_when_the_server_dies_another_server_takes_over_the_drawing(
    qtbot, window, server, tiny_clip_files, monkeypatch
):
    from app.dialogs import compute_server

    banner = window.connection_banner
    dying = make_server(tiny_clip_files).__enter__()
    window.controller.compute = RemoteCompute(dying.address, TOKEN, reconnect_s=1.0)
    start_run(qtbot, window, steps=2)
    dying.__exit__(None, None, None)
    qtbot.waitUntil(lambda: banner.state == "gone", timeout=30000)
    kept = window.canvas.drawing()
    step = window.controller.step()
    monkeypatch.setattr(compute_server.ComputeServerDialog, "exec", lambda self: 1)
    monkeypatch.setattr(compute_server.ComputeServerDialog, "compute",
                        lambda self: RemoteCompute(server.address, TOKEN))
    qtbot.mouseClick(banner.server_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    later = wait_step(qtbot, window, step + 2)
    assert later.device == f"cpu @ {server.address}"
    (hosted,) = server.server.sessions.values()
    assert [s.id for s in later.drawing.strokes] == [s.id for s in kept.strokes]
    assert hosted.session.num_strokes == len(kept.strokes)
