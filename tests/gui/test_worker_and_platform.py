"""The worker driven synchronously with a fake session, Qt/Python platform checks, entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import clipdraw_core
from app.run.worker import SessionWorker, WorkerHandle
from clipdraw_core.optim.run_state import RunState


class FakeSnapshot:
    def __init__(self, step: int) -> None:
        self.step, self.total_steps = step, 100
        self.loss, self.score = (None, None) if step == 0 else (-float(step), float(step))


class FakeSession:
    def __init__(self, worker_ref: list, fail_at: int | None = None, stop_at: int = 5) -> None:
        self.n, self.fail_at, self.stop_at, self.ref = 0, fail_at, stop_at, worker_ref
        self.submitted: list = []
        self.applied = 0
        self.done = False

    def snapshot(self):
        return FakeSnapshot(self.n)

    def submit(self, cmd):
        self.submitted.append(cmd)

    def apply_pending(self):
        self.applied += 1
        self.ref[0].abort()
        return FakeSnapshot(self.n)

    def step(self):
        self.n += 1
        if self.n == self.fail_at:
            raise FloatingPointError("loss is NaN")
        if self.n >= self.stop_at:
            self.ref[0].abort()
        return FakeSnapshot(self.n)


def test_worker_synchronous_steps_coalesces_snapshots(qtbot):
    ref: list = []
    worker = SessionWorker(lambda: FakeSession(ref, stop_at=5))
    ref.append(worker)
    emitted = []
    worker.snapshotReady.connect(lambda: emitted.append(1))
    worker.run()  # synchronously, in this thread
    assert worker.steps_done == 5
    assert len(emitted) == 1  # coalesced: nobody took the snapshot yet
    snap, history = worker.take_latest()
    assert snap.step == 5 and [h[0] for h in history] == [1, 2, 3, 4, 5]


def test_worker_error_is_a_signal_and_worker_pauses(qtbot):
    ref: list = []
    session = FakeSession(ref, fail_at=2)
    worker = SessionWorker(lambda: session)
    ref.append(worker)
    errors = []
    # an edit arriving while paused after the error is applied at once (apply_pending aborts here)
    worker.errorOccurred.connect(lambda msg, exc: (errors.append(msg), worker.submit("edit")))
    worker.run()
    assert errors == ["FloatingPointError: loss is NaN"]
    assert worker.is_paused() and session.applied == 1 and session.submitted == ["edit"]


def test_worker_session_factory_failure_is_reported(qtbot):
    from clipdraw_core.errors import WeightsError

    def factory():
        raise WeightsError("no weights: run clipdraw with --weights random")

    worker = SessionWorker(factory)
    handle = WorkerHandle(worker)
    with qtbot.waitSignal(worker.errorOccurred, timeout=5000) as blocker:
        handle.start()
    assert blocker.args[0] == "no weights: run clipdraw with --weights random"
    qtbot.waitUntil(lambda: not handle.is_running(), timeout=5000)


def test_worker_thread_pause_and_stop(qtbot):
    ref: list = []
    worker = SessionWorker(lambda: FakeSession(ref, stop_at=10**9), min_step_interval=0.005)
    ref.append(worker)
    handle = WorkerHandle(worker)
    handle.start()
    qtbot.waitUntil(lambda: worker.steps_done >= 3, timeout=5000)
    worker.pause()
    qtbot.waitUntil(lambda: worker.state() is RunState.PAUSED, timeout=5000)
    n = worker.steps_done
    qtbot.wait(100)
    assert worker.steps_done == n
    assert handle.stop(5000)


def test_pyside_void_calls_do_not_leak_none_refcount(qapp):
    """PySide6 6.12.0 on Python 3.11 decremented None's refcount on every void call
    until the interpreter aborted; this must not regress (README, "Troubleshooting"; the pin
    in pyproject.toml)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    p, c = QPointF(), QColor()
    before = sys.getrefcount(None)
    for i in range(20_000):
        p.setX(float(i))
        c.setRed(i % 256)
    after = sys.getrefcount(None)
    if sys.version_info < (3, 12):
        assert after >= before - 100, f"None refcount fell from {before} to {after}"


def test_version_entry_point_smoke():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-m", "app", "--version"], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert clipdraw_core.__version__ in out.stdout


def test_no_display_is_a_clear_one_line_error():
    from app.main import display_problem

    assert display_problem({}, "linux") is not None and "clipdraw-cli" in display_problem({}, "linux")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "darwin") is None
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run(
        [sys.executable, "-m", "app", "--weights", "random"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if sys.platform.startswith("linux"):
        assert out.returncode == 1
        assert out.stderr.strip().count("\n") == 0 and "no display" in out.stderr


def test_ctrl_c_in_the_terminal_quits_a_drawing_window_and_keeps_the_work(tmp_path):
    """SIGINT after Draw: the window closes without a dialog, exit 130, autosave kept."""
    import json
    import signal
    import threading
    import time

    from conftest import TINY_CONFIG

    model = tmp_path / "tiny-clip-sigint.json"
    model.write_text(json.dumps(TINY_CONFIG))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CLIPDRAW_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--model", str(model), "--weights", "random", "--device", "cpu",
         "--prompt", "a cat", "--draw", "--no-recover", "--log-level", "INFO",
         "--settings", str(tmp_path / "settings.ini")],
        cwd=root, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    running = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if "run state: running" in line:
                running.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert running.wait(120), "".join(lines[-20:])
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130, "".join(lines[-20:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    assert any("interrupted" in line and "autosave" in line for line in lines), "".join(lines[-20:])
    assert (tmp_path / "data" / "autosave.cdproj").is_file()
