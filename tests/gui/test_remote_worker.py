"""The window's SessionWorker steers a session on a clipdraw-server exactly like a local one.

The worker thread is given a ``RemoteSessionProxy`` instead of a ``Session`` (same
methods); pause, edits while paused, resume and stop then go through the server on
127.0.0.1, and the last drawing stays readable after the worker stops.
"""

from __future__ import annotations

import numpy as np
import pytest

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
                            model=str(config_path), weights=str(checkpoint))
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
        assert "on ws://" in worker.session().device
    finally:
        assert handle.stop(20000)
        for proxy in proxies:
            proxy.close()
    assert proxies[0].snapshot().step >= after.step  # the drawing so far is still here
