"""Runs an engine session as a background task (:mod:`app.background`), generator style.

Modelled on superqt's ``GeneratorWorker``: the loop does one ``session.step()`` at a
time and checks abort / pause between steps, so Stop and Pause act within one step
and the thread can always be joined. Everything the GUI needs crosses as signals,
delivered on the GUI thread:

* ``snapshotReady`` is *coalesced*: the worker puts each snapshot into a latest-only
  :class:`~app.background.Mailbox` and emits once until the GUI calls
  :meth:`SessionWorker.take_latest`, so a fast loop cannot flood the event queue; the
  score history is logged in the same mailbox meanwhile so the plot loses no points.
  The log holds the snapshots themselves, and their numbers are read on the GUI
  thread when it takes them: a snapshot's numbers may still be on the GPU
  (:class:`~clipdraw_core.optim.snapshot.Snapshot`), and reading them on the worker
  thread would make every step wait for the device.
* ``errorOccurred`` carries any exception from creating or stepping the session
  (missing weights, NaN, out of memory...). The worker then pauses instead of dying:
  the artist can change something and resume, save, or reset.

While paused (or finished) the worker still applies submitted edits at once with
``session.apply_pending()``, so a freeze or delete shows without resuming.

With :class:`~app.run.plan_hooks.PlanHooks` the loop also runs the engine's RunPlan
(time-lapse frames, stages, prunes, auto-stop, ETA): ``engineEdited`` carries each
edit the plan made (for the undo history), ``autoStopped`` the step where the score
stopped improving; the session then stays steerable, as after its last step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal, Slot

from app.background import LoopHandle, Mailbox, SteppedLoop, error_message
from clipdraw_core.drawing.commands import Command
from clipdraw_core.optim.run_state import RunState
from clipdraw_core.optim.snapshot import Snapshot

if TYPE_CHECKING:
    from app.run.plan_hooks import EngineEdit, PlanHooks

__all__ = ["SessionWorker", "WorkerHandle", "error_message"]

logger = logging.getLogger(__name__)



#: (step, loss, score) of one optimisation step, for the score plot.
HistoryPoint = tuple[int, float | None, float | None]


class SteppableSession(Protocol):
    """What the worker needs of a session (the engine's ``Session``; a remote one later)."""

    @property
    def done(self) -> bool: ...
    def submit(self, command: Command) -> None: ...
    def allocate_ids(self, n: int = 1) -> list[int]: ...
    def snapshot(self) -> Snapshot: ...
    def apply_pending(self) -> Snapshot: ...
    def step(self) -> Snapshot: ...


class SessionWorker(SteppedLoop):
    """Owns one engine ``Session`` (created in the worker thread) and steps it."""

    snapshotReady = Signal()
    engineEdited = Signal(object)  # EngineEdit (a stage or a prune the plan made)
    autoStopped = Signal(int)  # the step at which auto-stop ended the run

    def __init__(
        self,
        session_factory: Callable[[], SteppableSession],
        *,
        start_paused: bool = False,
        min_step_interval: float = 0.0,
        plan: PlanHooks | None = None,
    ) -> None:
        super().__init__(start_paused=start_paused)
        self._factory = session_factory
        #: The run's time extras (frames, stages, prunes, auto-stop, ETA), or None.
        self.plan = plan
        self._finished_plan = False
        self._session: SteppableSession | None = None
        self._edits_pending = False
        self._early_commands: list[Command] = []
        # newest snapshot, plus the snapshots since the GUI last looked (read there)
        self._mailbox: Mailbox[Snapshot] = Mailbox(log_key=lambda snap: snap.step)
        self._min_interval = min_step_interval
        self.steps_done = 0

    # ------------------------------------------------------------ control (any thread)
    def submit(self, cmd: Command) -> None:
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

    def session(self) -> SteppableSession | None:
        return self._session

    def take_latest(self) -> tuple[Snapshot | None, list[HistoryPoint]]:
        """GUI thread: the newest snapshot and the (step, loss, score) points since last call."""
        snap, log = self._mailbox.take()
        points = [(s.step, s.loss, s.score) for s in log]
        return snap, [p for p in points if p[1] is not None or p[2] is not None]

    # ------------------------------------------------------------ worker thread
    def _publish(self, snap: Snapshot) -> None:
        if self._mailbox.put(snap, [snap]):
            self.snapshotReady.emit()

    @Slot()
    def run(self) -> None:
        """The loop, on the worker thread: create the session, then step until aborted."""
        session = self._create_session()
        if session is not None:
            while not self._abort:
                if self._paused or session.done or self._finished_plan:
                    self._idle(session)
                else:
                    self._step(session)
        self._set_state(RunState.STOPPED)
        self.finished.emit()

    def _create_session(self) -> SteppableSession | None:
        """Build the session, hand it the edits made meanwhile, publish its first snapshot."""
        try:
            session = self._factory()
        except Exception as exc:
            logger.warning("could not start the session: %s", exc)
            self.errorOccurred.emit(error_message(exc), exc)
            return None
        with self._lock:
            self._session = session
            for cmd in self._early_commands:
                session.submit(cmd)
            self._early_commands.clear()
        try:
            self._publish(session.apply_pending() if self._edits_pending else session.snapshot())
            self._edits_pending = False
            if self.plan is not None:
                self.plan.start(session)
        except Exception as exc:
            self.errorOccurred.emit(error_message(exc), exc)
        return session

    def _idle(self, session: SteppableSession) -> None:
        """Paused or finished: apply edits at once, else sleep until woken (or 0.25 s)."""
        over = session.done or self._finished_plan
        self._set_state(RunState.DONE if over and not self._paused else RunState.PAUSED)
        if self._edits_pending:
            self._edits_pending = False
            try:
                self._publish(session.apply_pending())
            except Exception as exc:
                logger.warning("applying edits failed: %s", exc)
                self.errorOccurred.emit(error_message(exc), exc)
            return
        self._wake.wait(0.25)
        self._wake.clear()

    def _step(self, session: SteppableSession) -> None:
        """One optimisation step; an error pauses the run instead of ending it."""
        if self.plan is not None and self._state is not RunState.RUNNING:
            self.plan.resumed()
        self._set_state(RunState.RUNNING)
        t0 = time.perf_counter()
        self._edits_pending = False  # step() drains the queue first
        edits: list[EngineEdit] = []
        try:
            if self.plan is not None:
                edits = self.plan.before_step(session)
            snap = session.step()
            if self.plan is not None:
                snap, more = self._after_plan_step(session, snap)
                edits += more
        except Exception as exc:
            logger.warning("optimisation step failed: %s", exc, exc_info=True)
            self._paused = True
            self._set_state(RunState.PAUSED)
            self.errorOccurred.emit(error_message(exc), exc)
            return
        self.steps_done += 1
        self._publish(snap)
        for edit in edits:
            self.engineEdited.emit(edit)
        if self._finished_plan and self.plan is not None and self.plan.auto_stopped:
            self.autoStopped.emit(snap.step)
        # let the GUI thread take the GIL between steps; optional pacing for demos
        wait = self._min_interval - (time.perf_counter() - t0)
        time.sleep(max(0, wait))


    def _after_plan_step(
        self, session: SteppableSession, snap: Snapshot
    ) -> tuple[Snapshot, list[EngineEdit]]:
        """Record, auto-stop, and at the end the plan's final prune and closing frame."""
        assert self.plan is not None
        stop = self.plan.after_step(session, snap)
        if not (stop or session.done):
            return snap, []
        self._finished_plan = True
        return self.plan.finish(session)


class WorkerHandle(LoopHandle):
    """A SessionWorker and the background task that runs its loop (see :class:`LoopHandle`)."""

    def __init__(self, worker: SessionWorker, parent: QObject | None = None) -> None:
        super().__init__(worker, "clipdraw-session", parent)
        self.worker = worker
