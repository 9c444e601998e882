"""Undo steps for edits made by the run itself and for "Continue from here".

Why these are undo steps at all: a stage that adds strokes, a prune, and going back to
a recorded frame each change the drawing as much as a hand edit does, so Edit > Undo
lists them and takes them back like any other edit (through the same
:class:`~app.commands_undo.EditTarget`: queued while the engine runs, applied at once
while paused or with no session).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from app.commands_undo import EditTarget
from app.run.plan_hooks import EngineEdit
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.optim.timelapse import restore_commands

logger = logging.getLogger(__name__)


class EngineEditCommand(QUndoCommand):
    """An edit the engine already applied (its first redo does nothing); undo sends its inverse."""

    def __init__(self, target: EditTarget, edit: EngineEdit) -> None:
        super().__init__(edit.text)
        self.target, self.edit = target, edit
        self._applied = True

    def redo(self) -> None:
        if self._applied:  # pushed after the engine made it
            self._applied = False
            return
        for command in self.edit.commands:
            self.target.submit(command)

    def undo(self) -> None:
        for command in self.edit.undo:
            self.target.submit(command)


class ContinueFromFrameCommand(QUndoCommand):
    """Make a recorded frame the drawing (exactly: ids, order, values, frozen flags); undo: the old one.

    ``set_step`` (when given) is called with the frame's step on redo and the old step on
    undo, so a drawing without a running session continues from the step it was recorded at.
    """

    def __init__(
        self,
        target: EditTarget,
        frame_drawing: Drawing,
        frame_step: int,
        old_step: int,
        set_step: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(f"Continue from step {frame_step}")
        self.target = target
        current = target.drawing()
        if current is None:
            current = Drawing(frame_drawing.width, frame_drawing.height, frame_drawing.background, ())
        self.before = current
        self.forward = restore_commands(current, frame_drawing)
        self.backward = restore_commands(frame_drawing, current)
        self.frame_step, self.old_step, self.set_step = int(frame_step), int(old_step), set_step

    def redo(self) -> None:
        for command in self.forward:
            self.target.submit(command)
        if self.set_step is not None:
            self.set_step(self.frame_step)

    def undo(self) -> None:
        for command in self.backward:
            self.target.submit(command)
        if self.set_step is not None:
            self.set_step(self.old_step)
