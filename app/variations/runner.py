"""Runs an engine ``VariationBatch`` as a background task, the way the session worker runs a session.

The same pattern as :mod:`app.run.worker`: the loop does one batched step at a time
and checks abort / pause / the artist's requests between steps, so Pause, Drop, Pick
and Stop act within one step and the thread can always be joined. The batch is only
ever touched from the loop's thread (its ``submit`` is the one thread-safe method), so
Drop and Pick are *requests* the loop carries out between steps:

* ``updated`` is coalesced through a latest-only :class:`~app.background.Mailbox`:
  the GUI takes the newest :class:`BatchUpdate` (every member's snapshot, the last
  ranking) and is woken once until it has taken it.
* The ranking is measured with ``batch.scores()`` (a fixed-view CLIP pass, no
  gradient) every :data:`RANK_EVERY` steps, at the first step and at the last, not
  every step: it costs about one forward pass per member, and a step's own score is
  measured on random crops, so ranking by it would shuffle the grid at every step.
* ``picked`` carries the member detached as an ordinary ``Session`` (its Adam state
  kept); the loop then ends, and the window runs that session as its main run.
* ``errorOccurred`` carries any exception from creating, stepping or scoring the
  batch; a failed step pauses the batch instead of ending it, as the session worker does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal, Slot

from app.background import LoopHandle, Mailbox, SteppedLoop, error_message
from clipdraw_core.drawing.commands import Command
from clipdraw_core.optim.run_state import RunState
from clipdraw_core.optim.snapshot import Snapshot

if TYPE_CHECKING:
    from clipdraw_core.optim.session import Session

logger = logging.getLogger(__name__)

#: Steps between two rankings (a fixed-view CLIP pass per member).
RANK_EVERY = 10


class Batch(Protocol):
    """What the runner needs of the engine's ``VariationBatch``."""

    seeds: list[int]

    @property
    def alive(self) -> list[int]: ...
    @property
    def step_count(self) -> int: ...
    @property
    def done(self) -> bool: ...
    def step(self) -> dict[int, Snapshot]: ...
    def submit(self, command: Command) -> None: ...
    def drop(self, index: int) -> None: ...
    def take(self, index: int) -> Session: ...
    def scores(self) -> dict[int, float]: ...


@dataclass(frozen=True)
class BatchUpdate:
    """What the grid shows: every alive member's newest snapshot and the last ranking."""

    step: int
    seeds: tuple[int, ...]
    #: Alive members (index into ``seeds``) -> their newest snapshot.
    snapshots: Mapping[int, Snapshot]
    #: Fixed-view CLIP score of each alive member at ``scored_step``.
    scores: Mapping[int, float]
    #: Alive members, best score first.
    ranked: tuple[int, ...]
    scored_step: int
    done: bool


def rank(scores: Mapping[int, float]) -> tuple[int, ...]:
    """Indices best score first; equal scores keep the lower index first."""
    return tuple(sorted(scores, key=lambda i: (-scores[i], i)))


class BatchRunner(SteppedLoop):
    """Owns one variation batch (created on the worker thread) and steps it."""

    updated = Signal()
    picked = Signal(int, object)  # index, the detached Session

    def __init__(
        self, batch_factory: Callable[[], Batch], *, rank_every: int = RANK_EVERY, start_paused: bool = False
    ) -> None:
        super().__init__(start_paused=start_paused)
        self._factory = batch_factory
        self._rank_every = max(1, int(rank_every))
        self._requests: list[tuple[str, int]] = []
        self._early_commands: list[Command] = []
        self._batch: Batch | None = None
        self._mailbox: Mailbox[BatchUpdate] = Mailbox()
        self._snapshots: dict[int, Snapshot] = {}
        self._scores: dict[int, float] = {}
        self._scored_step = -1
        self._ranking_stale = True

    # ------------------------------------------------------------ control (any thread)
    def submit(self, command: Command) -> None:
        """An edit for every alive member (a freeze on the main canvas), at their next step."""
        with self._lock:
            if self._batch is None:
                self._early_commands.append(command)
            else:
                self._batch.submit(command)
        self._wake.set()

    def drop(self, index: int) -> None:
        self._request("drop", index)

    def pick(self, index: int) -> None:
        """Detach member ``index`` after the current step; ``picked`` brings it, the loop ends."""
        self._request("pick", index)

    def _request(self, kind: str, index: int) -> None:
        with self._lock:
            self._requests.append((kind, int(index)))
        self._wake.set()

    def take_latest(self) -> BatchUpdate | None:
        """GUI thread: the newest update (None if none came since the last take)."""
        return self._mailbox.take()[0]

    # ------------------------------------------------------------ worker thread
    def _fail(self, what: str, exc: Exception) -> None:
        logger.warning("variations: %s failed: %s", what, exc, exc_info=True)
        self._paused = True
        self._set_state(RunState.PAUSED)
        self.errorOccurred.emit(error_message(exc), exc)

    @Slot()
    def run(self) -> None:
        """The loop: create the batch, then step until aborted or a member is picked."""
        batch = self._create()
        if batch is not None:
            while not self._abort:
                if self._serve_requests(batch):
                    break  # picked: the batch has ended
                if self._paused or batch.done or not batch.alive:
                    self._idle(batch)
                else:
                    self._step(batch)
        self._set_state(RunState.STOPPED)
        self.finished.emit()

    def _create(self) -> Batch | None:
        try:
            batch = self._factory()
        except Exception as exc:
            logger.warning("could not start the variations: %s", exc)
            self.errorOccurred.emit(error_message(exc), exc)
            return None
        with self._lock:
            self._batch = batch
            for command in self._early_commands:
                batch.submit(command)
            self._early_commands.clear()
        return batch

    def _serve_requests(self, batch: Batch) -> bool:
        """Carry out queued drops and picks; True once a member was picked (the batch ended)."""
        with self._lock:
            requests, self._requests = self._requests, []
        for kind, index in requests:
            if index not in batch.alive:
                continue
            try:
                if kind == "pick":
                    session = batch.take(index)
                    self.picked.emit(index, session)
                    return True
                batch.drop(index)
            except Exception as exc:
                self._fail(kind, exc)
                continue
            self._snapshots.pop(index, None)
            self._scores.pop(index, None)
            self._publish(batch)
        return False

    def _idle(self, batch: Batch) -> None:
        """Paused or finished: rank once if a ranking is due, else sleep until woken (or 0.25 s)."""
        self._set_state(RunState.DONE if batch.done and not self._paused else RunState.PAUSED)
        if self._ranking_stale and self._snapshots and batch.alive:
            self._rank(batch)
            self._publish(batch)
            return
        self._wake.wait(0.25)
        self._wake.clear()

    def _step(self, batch: Batch) -> None:
        self._set_state(RunState.RUNNING)
        try:
            snapshots = batch.step()
        except Exception as exc:
            self._fail("step", exc)
            return
        self._snapshots = dict(snapshots)
        step = batch.step_count
        if self._ranking_stale or step - self._scored_step >= self._rank_every or batch.done:
            self._rank(batch)
        self._publish(batch)
        time.sleep(0)  # let the GUI thread take the GIL between steps

    def _rank(self, batch: Batch) -> None:
        try:
            scores = batch.scores()
        except Exception as exc:
            self._fail("ranking", exc)
            return
        self._scores = {int(i): float(s) for i, s in scores.items()}
        self._scored_step = batch.step_count
        self._ranking_stale = False

    def _publish(self, batch: Batch) -> None:
        alive = list(batch.alive)
        snapshots = {i: s for i, s in self._snapshots.items() if i in alive}
        scores = {i: s for i, s in self._scores.items() if i in alive}
        if set(scores) != set(alive):
            self._ranking_stale = True
        # Members not ranked yet (first steps) come after the ranked ones, in index order.
        ranked = rank(scores) + tuple(i for i in alive if i not in scores)
        update = BatchUpdate(
            step=batch.step_count,
            seeds=tuple(batch.seeds),
            snapshots=snapshots,
            scores=scores,
            ranked=ranked,
            scored_step=self._scored_step,
            done=batch.done,
        )
        if self._mailbox.put(update):
            self.updated.emit()


class RunnerHandle(LoopHandle):
    """A BatchRunner and the background task that runs its loop (see :class:`LoopHandle`)."""

    def __init__(self, runner: BatchRunner, parent: QObject | None = None) -> None:
        super().__init__(runner, "clipdraw-variations", parent)
        self.runner = runner
