"""The engine's :class:`~clipdraw_core.optim.plan.RunPlan` in the window's run loop.

The CLI runs ``run_with_plan``; the window's :class:`~app.run.worker.SessionWorker` has a
loop of its own (pause, edits while paused, errors that pause instead of ending), so it
calls these hooks around every step instead. What they add on top of the plan:

* **Engine edits in the undo history.** A stage that adds strokes, or a prune, is made
  of ordinary edit commands the plan submits to the session. The hooks watch those
  submissions (a thin wrapper around the session) and hand each group over as an
  :class:`EngineEdit` with its exact inverse, computed on the drawing the plan saw, so
  the window can show it in Edit > Undo like an edit by hand ("Stage 2 of 4",
  "Prune 5 strokes") and undo it in one step.
* **Recording into the shared history.** Frames go to :class:`~app.run.history.History`
  (not the plan's own recorder), which the timeline reads and a project saves, and
  which survives from one run to the next (Stop, then Draw again, continues it).
* **ETA** the status bar can read from the GUI thread at any time
  (:meth:`PlanHooks.seconds_left`); the clock is restarted after a pause.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from clipdraw_core.drawing.commands import AddStrokes, Command, DeleteStrokes, SetFrozen, apply_to_drawing
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.plan import PlanOptions, RunPlan
from clipdraw_core.optim.snapshot import Snapshot

if TYPE_CHECKING:
    from app.run.history import History
    from clipdraw_core.optim.session import Session

logger = logging.getLogger(__name__)


class SteppableSession(Protocol):
    """What the hooks need of a session (the worker's ``SteppableSession`` has it; not imported: no cycle)."""

    def submit(self, command: Command) -> None: ...
    def allocate_ids(self, n: int = 1) -> list[int]: ...
    def snapshot(self) -> Snapshot: ...
    def apply_pending(self) -> Snapshot: ...


@dataclass(frozen=True)
class EngineEdit:
    """Commands the engine already applied (one stage, one prune) and the commands that undo them."""

    text: str
    commands: tuple[Command, ...]
    undo: tuple[Command, ...]


def inverse_commands(drawing: Drawing, commands: Sequence[Command]) -> tuple[Command, ...]:
    """The commands that take ``drawing`` after ``commands`` back to ``drawing`` (in order to submit).

    Covers what a plan emits: added strokes are deleted, deleted strokes come back at
    their places (same ids and values), freeze flags are set back.
    """
    undo: list[Command] = []
    current = drawing
    for command in commands:
        if isinstance(command, AddStrokes):
            undo.append(DeleteStrokes(tuple(s.id for s in command.strokes)))
        elif isinstance(command, DeleteStrokes):
            wanted = set(command.ids)
            kept = [(pos, s) for pos, s in enumerate(current.strokes) if s.id in wanted]
            if kept:
                undo.append(AddStrokes(tuple(s for _, s in kept), tuple(p for p, _ in kept)))
        elif isinstance(command, SetFrozen):
            flags = {s.id: s.frozen for s in current.strokes}
            changed = tuple(i for i in command.ids if i in flags and flags[i] != command.frozen)
            if changed:
                undo.append(SetFrozen(changed, not command.frozen))
        else:
            raise ValueError(f"no inverse for {type(command).__name__}")
        current, _ = apply_to_drawing(current, command)
    return tuple(reversed(undo))


class _Watched:
    """A session as the plan sees it: submissions are collected, ``drawing()`` is read once.

    Prune measures coverage with our renderer on this computer, so a remote session
    (whose device names the server's GPU) is measured on the CPU here.
    """

    def __init__(self, session: SteppableSession) -> None:
        self._session: Any = session
        self.submitted: list[Command] = []
        self.before: Drawing | None = None
        from clipdraw_core.optim.session import Session

        self.device = session.device if isinstance(session, Session) else "cpu"

    @property
    def step_count(self) -> int:
        return int(self._session.step_count)

    @property
    def config(self) -> SessionConfig:
        return cast(SessionConfig, self._session.config)

    def drawing(self) -> Drawing:
        if self.before is None:
            self.before = cast(Drawing, self._session.drawing())
        return self.before

    def allocate_ids(self, n: int = 1) -> list[int]:
        return list(self._session.allocate_ids(n))

    def submit(self, command: Command) -> None:
        if self.before is None:
            self.drawing()
        self.submitted.append(command)
        self._session.submit(command)

    def snapshot(self) -> Snapshot:
        return cast(Snapshot, self._session.snapshot())

    def apply_pending(self) -> Snapshot:
        return cast(Snapshot, self._session.apply_pending())


def plan_for(config: SessionConfig, *, resumed: bool, start_step: int) -> RunPlan:
    """The plan the settings ask for; a continued drawing gets no stages (its strokes are all there)."""
    options = PlanOptions.from_config(config, record=False)
    if resumed and options.stages > 1:
        logger.info("continued drawing: its %d stages are not added again", options.stages)
        options = replace(options, stages=1)
    return RunPlan(options, config, start_step=start_step)


class PlanHooks:
    """Called by the worker on its thread; :meth:`seconds_left` may be read from any thread."""

    def __init__(self, plan: RunPlan, history: History | None, every: int) -> None:
        self.plan = plan
        self.history = history
        self.every = every
        self._seconds_left: float | None = None

    @property
    def auto_stopped(self) -> bool:
        return self.plan.stopped_early

    def session_config(self, config: SessionConfig) -> SessionConfig:
        return self.plan.session_config(config)

    # ------------------------------------------------------------ worker thread
    def start(self, session: SteppableSession) -> None:
        if self.history is not None:
            self.history.start_recording(self.every)
            snap = session.snapshot()
            self.history.offer(snap.drawing, snap.step, snap.score)
        self.plan.start(cast("Session", _Watched(session)))

    def resumed(self) -> None:
        """The run goes on after a pause: the pause must not count as step time."""
        self.plan.eta.reset()

    def before_step(self, session: SteppableSession) -> list[EngineEdit]:
        watched = _Watched(session)
        stage = self.plan.stages.current_stage if self.plan.stages is not None else 1
        prunes = len(self.plan.prunes)
        self.plan.before_step(cast("Session", watched))
        return self._edits(watched, stage, prunes)

    def after_step(self, session: SteppableSession, snap: Snapshot) -> bool:
        """Record and time the step; ``True`` when auto-stop ends the run."""
        if self.history is not None:
            self.history.offer_snapshot(snap)
        stop = self.plan.after_step(cast("Session", _Watched(session)), snap)
        self._seconds_left = None if stop else self.plan.seconds_left(snap.step, snap.total_steps)
        return stop

    def finish(self, session: SteppableSession) -> tuple[Snapshot, list[EngineEdit]]:
        """The final prune (no refill) and the closing frame; the final snapshot and its edit."""
        watched = _Watched(session)
        prunes = len(self.plan.prunes)
        snap = self.plan.finish(cast("Session", watched))
        if self.history is not None:
            self.history.finish(snap.drawing, snap.step, snap.score)
        self._seconds_left = None
        stage = self.plan.stages.current_stage if self.plan.stages is not None else 1
        return snap, self._edits(watched, stage, prunes)

    def _edits(self, watched: _Watched, stage: int, prunes: int) -> list[EngineEdit]:
        if not watched.submitted or watched.before is None:
            return []
        commands = tuple(watched.submitted)
        stages = self.plan.stages
        if stages is not None and stages.current_stage > stage:
            added = sum(len(c.strokes) for c in commands if isinstance(c, AddStrokes))
            text = f"Stage {stages.current_stage} of {stages.stages}: +{added} strokes"
        elif len(self.plan.prunes) > prunes:
            result = self.plan.prunes[-1]
            text = f"Prune {len(result.removed)} stroke(s)"
            text += f", +{len(result.added)} new" if result.added else ""
        else:
            text = "Engine edit"
        return [EngineEdit(text, commands, inverse_commands(watched.before, commands))]

    # ------------------------------------------------------------ any thread
    def seconds_left(self) -> float | None:
        """Time left at the current speed, as of the last step (``None``: not known or not running)."""
        return self._seconds_left
