"""Runs an engine session in a background QThread, generator style.

Modelled on superqt's ``GeneratorWorker``: the loop does one ``session.step()`` at a
time and checks abort / pause between steps, so Stop and Pause act within one step
and the thread can always be joined. Everything the GUI needs crosses as signals,
delivered on the GUI thread:

* ``snapshotReady`` is *coalesced*: the worker keeps only the newest snapshot and
  emits once until the GUI calls :meth:`SessionWorker.take_latest`, so a fast loop
  cannot flood the event queue; score history is accumulated meanwhile so the plot
  loses no points.
* ``errorOccurred`` carries any exception from creating or stepping the session
  (missing weights, NaN, out of memory...). The worker then pauses instead of dying:
  the artist can change something and resume, save, or reset.

While paused (or finished) the worker still applies submitted edits at once with
``session.apply_pending()``, so a freeze or delete shows without resuming.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

logger = logging.getLogger(__name__)

STATE_STARTING = "starting"
STATE_RUNNING = "running"
STATE_PAUSED = "paused"
STATE_DONE = "done"
STATE_STOPPED = "stopped"


def error_message(exc: BaseException) -> str:
    """One line for the artist: ClipDrawError messages as is, others with their type."""
    from clipdraw_core.errors import ClipDrawError

    if isinstance(exc, ClipDrawError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "out of memory: try fewer strokes, a smaller canvas or the CPU device"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SessionWorker(QObject):
    """Owns one engine ``Session`` (created in the worker thread) and steps it."""

    snapshotReady = Signal()
    stateChanged = Signal(str)
    errorOccurred = Signal(str, object)  # message, exception
    finished = Signal()

    def __init__(
        self,
        session_factory: Callable[[], Any],
        *,
        start_paused: bool = False,
        min_step_interval: float = 0.0,
    ) -> None:
        super().__init__()
        self._factory = session_factory
        self._session: Any = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._abort = False
        self._paused = start_paused
        self._edits_pending = False
        self._early_commands: list[object] = []
        self._latest: Any = None
        self._notified = False
        self._history: list[tuple[int, float | None, float | None]] = []
        self._state = STATE_STARTING
        self._min_interval = min_step_interval
        self.steps_done = 0

    # ------------------------------------------------------------ control (any thread)
    def submit(self, cmd: object) -> None:
        """Queue an edit for the next step (or apply it at once while paused)."""
        with self._lock:
            if self._session is None:
                self._early_commands.append(cmd)
            else:
                self._session.submit(cmd)
            self._edits_pending = True
        self._wake.set()

    def allocate_ids(self, n: int = 1) -> list[int] | None:
        """Fresh stroke ids from the session; ``None`` while it is still being created."""
        with self._lock:
            session = self._session
        return None if session is None else list(session.allocate_ids(n))

    def pause(self) -> None:
        self._paused = True
        self._wake.set()

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def abort(self) -> None:
        self._abort = True
        self._wake.set()

    def is_paused(self) -> bool:
        return self._paused

    def state(self) -> str:
        return self._state

    def session(self) -> Any:
        return self._session

    def take_latest(self) -> tuple[Any, list[tuple[int, float | None, float | None]]]:
        """GUI thread: the newest snapshot and the (step, loss, score) points since last call."""
        with self._lock:
            snap, history = self._latest, self._history
            self._history = []
            self._notified = False
        return snap, history

    # ------------------------------------------------------------ worker thread
    def _publish(self, snap: Any) -> None:
        with self._lock:
            self._latest = snap
            has_numbers = snap.loss is not None or snap.score is not None
            if has_numbers and (not self._history or self._history[-1][0] != snap.step):
                self._history.append((snap.step, snap.loss, snap.score))
            notify = not self._notified
            self._notified = True
        if notify:
            self.snapshotReady.emit()

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    @Slot()
    def run(self) -> None:
        """The loop; connected to ``QThread.started``. Returns when aborted."""
        try:
            session = self._factory()
        except Exception as exc:
            logger.warning("could not start the session: %s", exc)
            self.errorOccurred.emit(error_message(exc), exc)
            self._set_state(STATE_STOPPED)
            self.finished.emit()
            return
        with self._lock:
            self._session = session
            for cmd in self._early_commands:
                session.submit(cmd)
            self._early_commands.clear()
        try:
            self._publish(session.apply_pending() if self._edits_pending else session.snapshot())
            self._edits_pending = False
        except Exception as exc:
            self.errorOccurred.emit(error_message(exc), exc)
        while not self._abort:
            if self._paused or session.done:
                self._set_state(STATE_DONE if session.done and not self._paused else STATE_PAUSED)
                if self._edits_pending:
                    self._edits_pending = False
                    try:
                        self._publish(session.apply_pending())
                    except Exception as exc:
                        logger.warning("applying edits failed: %s", exc)
                        self.errorOccurred.emit(error_message(exc), exc)
                    continue
                self._wake.wait(0.25)
                self._wake.clear()
                continue
            self._set_state(STATE_RUNNING)
            t0 = time.perf_counter()
            self._edits_pending = False  # step() drains the queue first
            try:
                snap = session.step()
            except Exception as exc:
                logger.warning("optimisation step failed: %s", exc, exc_info=True)
                self._paused = True
                self._set_state(STATE_PAUSED)
                self.errorOccurred.emit(error_message(exc), exc)
                continue
            self.steps_done += 1
            self._publish(snap)
            # let the GUI thread take the GIL between steps; optional pacing for demos
            wait = self._min_interval - (time.perf_counter() - t0)
            time.sleep(max(0, wait))
        self._set_state(STATE_STOPPED)
        self.finished.emit()


class WorkerHandle(QObject):
    """A worker plus its QThread, started together and stopped/joined together."""

    def __init__(self, worker: SessionWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("clipdraw-session")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: quit from the worker thread itself. A queued quit would need the GUI
        # thread, which may be blocked in stop() waiting for this very thread.
        worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def stop(self, wait_ms: int = -1) -> bool:
        """Ask the loop to end after the current step and join the thread."""
        self.worker.abort()
        self.thread.quit()  # remembered even if the thread's event loop has not started yet
        if self.thread.isRunning():
            return self.thread.wait() if wait_ms < 0 else self.thread.wait(wait_ms)
        return True

    def is_running(self) -> bool:
        return self.thread.isRunning()
