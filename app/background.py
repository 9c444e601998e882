"""One way to run work off the GUI thread: tasks, a latest-only mailbox, one clean-up on quit.

* :func:`start_task` runs ``fn(task)`` on a worker thread and calls ``on_result``,
  ``on_error``, ``on_progress`` and ``on_finished`` back **on the GUI thread**. The
  function may look at ``task.cancelled()`` / ``task.cancel_event`` and report with
  ``task.report_progress(value)``. Model loading, weights downloads, PNG export,
  layer painting and the optimisation session itself all run this way.
* :class:`Mailbox` is the one latest-only hand-over between threads: a writer puts
  the newest item (snapshot, layer request), the reader takes only the newest one and
  is woken once per batch, so a fast producer can never flood the event queue.
* Every running task is in one registry (:data:`TASKS`): at quit
  :meth:`TaskRegistry.shutdown` cancels and joins whatever is left (each window first
  waits for its own), and the GUI tests fail any test that leaves one running.

Why our own ~200 lines rather than superqt's ``create_worker`` (a well-kept library
for exactly this, and the first choice): its ``WorkerBase.run`` wraps every job in
``warnings.catch_warnings()``, which swaps the *process-wide* warning filters from the
worker thread. Our jobs overlap (a session runs for minutes while layer paints come
and go), so the filters would be restored out of order and later warnings routed to a
finished job's signal. It also always uses the global thread pool, sized to the core
count: on a 2-core laptop a running session plus the layer painter would leave a model
load or a PNG export waiting in the queue. Here tasks get a pool of their own that
grows as needed, and results reach the GUI through one long-lived relay object, so no
per-task QObject is ever created or deleted on the wrong thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, QThread, QThreadPool, Signal, Slot

from clipdraw_core.optim.run_state import RunState

logger = logging.getLogger(__name__)

T = TypeVar("T")


def error_message(exc: BaseException) -> str:
    """One line for the artist: ClipDrawError messages as is, others with their type."""
    from clipdraw_core.errors import ClipDrawError

    if isinstance(exc, ClipDrawError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "out of memory: try fewer strokes, a smaller canvas or the CPU device"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------------------- mailbox


class Mailbox(Generic[T]):
    """Latest-only, thread-safe hand-over of items from one thread to another.

    ``put`` replaces whatever is waiting and returns True exactly when the reader must
    be woken (nobody has claimed the mailbox since it was last emptied). The reader
    empties it with :meth:`take` (hands over and goes idle: the next ``put`` wakes it
    again) or, when it drains in a loop on a worker thread, with :meth:`take_or_idle`
    (goes idle only once nothing is left, so one reader at a time processes it).

    Optionally each ``put`` appends an entry to a log that ``take`` hands over in
    full (the score history: every point reaches the plot even though only the newest
    snapshot is shown); consecutive entries with the same ``log_key`` are kept once.
    """

    def __init__(self, log_key: Callable[[Any], Hashable] | None = None) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self._log: list[Any] = []
        self._claimed = False
        self._log_key = log_key

    def put(self, item: T, log: Iterable[Any] = ()) -> bool:
        with self._lock:
            self._item = item
            for entry in log:
                if self._log and self._log_key is not None and self._log_key(self._log[-1]) == self._log_key(
                    entry
                ):
                    continue
                self._log.append(entry)
            wake = not self._claimed
            self._claimed = True
        return wake

    def take(self) -> tuple[T | None, list[Any]]:
        """The newest item (or None) and the log since the last take; the reader goes idle."""
        with self._lock:
            item, log = self._item, self._log
            self._item, self._log, self._claimed = None, [], False
        return item, log

    def take_or_idle(self) -> T | None:
        """The newest item, keeping the claim; None (and idle) when nothing is waiting."""
        with self._lock:
            item, self._item = self._item, None
            if item is None:
                self._claimed = False
        return item

    def peek(self) -> T | None:
        with self._lock:
            return self._item


# ---------------------------------------------------------------------------- tasks


class Task:
    """One job on a worker thread; see :func:`start_task`. Plain Python: no Qt object."""

    def __init__(
        self,
        fn: Callable[[Task], Any],
        name: str,
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.fn, self.name = fn, name
        self.on_result, self.on_error, self.on_progress = on_result, on_error, on_progress
        self.on_finished, self._on_cancel = on_finished, on_cancel
        self.cancel_event = threading.Event()
        self._done = threading.Event()
        self._relay: _Relay | None = None

    # -- any thread
    def cancel(self) -> None:
        """Ask the job to stop (it checks ``cancelled()``; ``on_cancel`` may nudge it)."""
        self.cancel_event.set()
        if self._on_cancel is not None:
            self._on_cancel()

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def is_running(self) -> bool:
        return self._relay is not None and not self._done.is_set()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the job has returned; True if it has (or never started)."""
        if self._relay is None:
            return True
        return self._done.wait(None if timeout_ms < 0 else timeout_ms / 1000)

    def report_progress(self, value: Any) -> None:
        """Worker thread: ``on_progress(value)`` will run on the GUI thread."""
        if self._relay is not None and self.on_progress is not None:
            self._relay.relayed.emit(self, "progress", value)

    # -- worker thread
    def _run(self) -> None:
        relay = self._relay
        assert relay is not None
        QThread.currentThread().setObjectName(self.name)
        try:
            result = self.fn(self)
        except Exception as exc:
            if not self.cancelled():
                logger.warning("%s failed: %s", self.name, exc, exc_info=not _is_user_error(exc))
            relay.relayed.emit(self, "error", exc)
        else:
            relay.relayed.emit(self, "result", result)
        finally:
            # finished is queued after result/error, so callbacks see them in that order
            relay.relayed.emit(self, "finished", None)
            self._done.set()

    def __repr__(self) -> str:
        return f"Task({self.name!r}, running={self.is_running()})"


def _is_user_error(exc: BaseException) -> bool:
    from clipdraw_core.errors import ClipDrawError

    return isinstance(exc, ClipDrawError)


class _Relay(QObject):
    """Lives on the GUI thread for the program's life; turns worker events into callbacks."""

    relayed = Signal(object, str, object)  # task, kind, payload (not "event": QObject.event is a virtual)

    def __init__(self, registry: TaskRegistry) -> None:
        super().__init__()
        self._registry = registry
        self.relayed.connect(self._deliver)

    @Slot(object, str, object)
    def _deliver(self, task: Task, kind: str, payload: object) -> None:
        try:
            if kind == "progress" and task.on_progress is not None:
                task.on_progress(payload)
            elif kind == "result" and task.on_result is not None:
                task.on_result(payload)
            elif kind == "error" and task.on_error is not None:
                assert isinstance(payload, BaseException)
                task.on_error(error_message(payload), payload)
            elif kind == "finished":
                self._registry._forget(task)
                if task.on_finished is not None:
                    task.on_finished()
        except Exception:  # a callback bug must not stop the other tasks' deliveries
            logger.exception("callback of %s (%s) failed", task.name, kind)


class TaskRegistry:
    """Every task that runs or has results on their way; one ``shutdown`` joins them all."""

    def __init__(self) -> None:
        self._tasks: list[Task] = []
        self._lock = threading.Lock()
        self._pool: QThreadPool | None = None
        self._relay: _Relay | None = None

    def _ensure_started(self) -> tuple[QThreadPool, _Relay]:
        if self._pool is None or self._relay is None:
            app = QCoreApplication.instance()
            if app is not None and QThread.currentThread() is not app.thread():
                raise RuntimeError("background tasks are started from the GUI thread")
            self._pool = QThreadPool()
            # A session occupies a thread for minutes: never let it queue the short jobs.
            self._pool.setMaxThreadCount(64)
            self._pool.setExpiryTimeout(30_000)
            self._relay = _Relay(self)
        return self._pool, self._relay

    def start(self, task: Task) -> Task:
        pool, relay = self._ensure_started()
        task._relay = relay
        with self._lock:
            self._tasks.append(task)
        pool.start(task._run)
        return task

    def _forget(self, task: Task) -> None:
        with self._lock:
            if task in self._tasks:
                self._tasks.remove(task)

    def running(self) -> list[Task]:
        """Tasks whose function has not returned yet."""
        with self._lock:
            return [t for t in self._tasks if not t._done.is_set()]

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel every task and wait for all to return (window close, app quit).

        Returns False if one was still running after ``timeout_ms`` (negative: wait
        as long as it takes; a model load cannot be interrupted, only waited for).
        """
        tasks = self.running()
        for task in tasks:
            task.cancel()
        ok = all(task.wait(timeout_ms) for task in tasks)
        if not ok:
            logger.warning("background tasks still running at shutdown: %s", self.running())
        return ok


#: The application's one registry of background tasks.
TASKS = TaskRegistry()


def start_task(
    fn: Callable[[Task], Any],
    name: str,
    *,
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[str, BaseException], None] | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    on_cancel: Callable[[], None] | None = None,
) -> Task:
    """Run ``fn(task)`` on a worker thread; the callbacks run on the GUI thread.

    ``on_error`` gets a one-line message (:func:`error_message`) and the exception;
    ``on_finished`` always comes last. Call from the GUI thread.
    """
    task = Task(
        fn,
        name,
        on_result=on_result,
        on_error=on_error,
        on_progress=on_progress,
        on_finished=on_finished,
        on_cancel=on_cancel,
    )
    return TASKS.start(task)


class Loop(Protocol):
    """A long-running loop (a session worker, a variations runner) that stops when asked."""

    def run(self) -> None: ...

    def abort(self) -> None: ...


class LoopHandle(QObject):
    """A loop and the background task that runs it, started and stopped together.

    The session worker and the variations runner both run this way; one handle keeps
    their start, stop-and-join and liveness rules the same.
    """

    def __init__(self, loop: Loop, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loop = loop
        self._name = name
        self._task: Task | None = None

    def start(self) -> None:
        loop = self._loop
        self._task = start_task(lambda _task: loop.run(), self._name, on_cancel=loop.abort)

    def stop(self, wait_ms: int = -1) -> bool:
        """Ask the loop to end after the current step and join it."""
        self._loop.abort()
        return True if self._task is None else self._task.wait(wait_ms)

    def is_running(self) -> bool:
        return self._task is not None and self._task.is_running()


class SteppedLoop(QObject):
    """The control surface a stepping loop shares: pause, resume, abort and its run state.

    The session worker and the variations runner are both driven from the GUI thread
    while they step on a worker thread: the flags are plain attributes set from any
    thread, ``_wake`` rouses an idle loop, ``_lock`` guards what the subclass hands
    between threads, and ``stateChanged`` reports the state once per change.
    """

    stateChanged = Signal(object)  # RunState
    errorOccurred = Signal(str, object)  # message, exception
    finished = Signal()

    def __init__(self, *, start_paused: bool = False) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._abort = False
        self._paused = start_paused
        self._state = RunState.STARTING

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

    def state(self) -> RunState:
        return self._state

    def _set_state(self, state: RunState) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)
