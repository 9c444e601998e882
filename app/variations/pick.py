"""Picking a variation as one undo step on the main canvas.

The first redo hands the picked member's ``Session`` (its Adam state and step count
kept) to the run controller, which runs it as the main run. Undo stops that run and
brings back the canvas as it was before the variations started (drawing, step and
whether Draw continues it); the drawing the picked run had reached is kept, so redo
shows it again and Draw continues it (with a fresh optimiser: the stopped session is
not kept alive in the undo history).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from app.run.controller import Checkpoint
    from clipdraw_core.optim.session import Session

logger = logging.getLogger(__name__)


class PickTarget(Protocol):
    """What a pick needs of the run controller."""

    def checkpoint(self) -> Checkpoint: ...
    def restore(self, checkpoint: Checkpoint) -> None: ...
    def continue_session(self, session: Session) -> None: ...
    def stop(self) -> None: ...


class PickVariationCommand(QUndoCommand):
    """Continue a picked variation in the canvas; undo restores the canvas before the variations."""

    def __init__(self, target: PickTarget, session: Session, before: Checkpoint, seed: int) -> None:
        super().__init__(f"Pick variation (seed {seed})")
        self.target = target
        self.before = before
        self.seed = seed
        self._session: Session | None = session
        self._after: Checkpoint | None = None

    def redo(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            self.target.continue_session(session)
        elif self._after is not None:
            self.target.restore(self._after)

    def undo(self) -> None:
        self.target.stop()  # the picked run ends after its current step; its drawing stays shown
        self._after = self.target.checkpoint()
        self.target.restore(self.before)
