"""Undoable edits: each QUndoCommand sends engine commands (and their inverses).

Why through the engine's command objects: the same edit then works while the
optimisation runs (queued, lands within one step), while it is paused (applied at
once) and with no session at all (applied locally, see :mod:`app.run.local_edits`); the
:class:`EditTarget` hides which. Strokes are addressed by stable id, so undo finds
them again even after other strokes were added or removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from PySide6.QtGui import QUndoCommand

from clipdraw_core.drawing.commands import (
    AddFreehand,
    AddStrokes,
    DeleteStrokes,
    Reorder,
    SetFrozen,
    SetLook,
    SetPrompt,
    SetRespect,
    SetStrokeStyle,
    TransformStrokes,
    UpdateStrokes,
    respect_commands,
)
from clipdraw_core.drawing.strokes import Drawing, Stroke

logger = logging.getLogger(__name__)


class EditTarget(Protocol):
    """What the undo commands need: submit an engine command, see the current drawing."""

    def submit(self, cmd: object) -> None: ...

    def drawing(self) -> Drawing | None: ...


class FreezeCommand(QUndoCommand):
    """Freeze or unfreeze strokes; undo restores each stroke's previous flag."""

    def __init__(self, target: EditTarget, ids: Sequence[int], frozen: bool) -> None:
        super().__init__(f"{'Freeze' if frozen else 'Unfreeze'} {len(ids)} stroke(s)")
        self.target = target
        self.ids = tuple(int(i) for i in ids)
        self.frozen = frozen
        drawing = target.drawing()
        flags = {s.id: s.frozen for s in drawing.strokes} if drawing is not None else {}
        self.changed = tuple(i for i in self.ids if flags.get(i, not frozen) != frozen)

    def redo(self) -> None:
        if self.changed:
            self.target.submit(SetFrozen(self.changed, self.frozen))

    def undo(self) -> None:
        if self.changed:
            self.target.submit(SetFrozen(self.changed, not self.frozen))


class DeleteCommand(QUndoCommand):
    """Delete strokes; undo puts the same strokes (same ids) back at their old places."""

    def __init__(self, target: EditTarget, ids: Sequence[int]) -> None:
        super().__init__(f"Delete {len(ids)} stroke(s)")
        self.target = target
        wanted = {int(i) for i in ids}
        drawing = target.drawing()
        kept: list[tuple[int, Stroke]] = []
        if drawing is not None:
            kept = [(pos, s) for pos, s in enumerate(drawing.strokes) if s.id in wanted]
        self.positions = tuple(p for p, _ in kept)
        self.strokes = tuple(s for _, s in kept)
        self.ids = tuple(s.id for s in self.strokes)

    def redo(self) -> None:
        if self.ids:
            self.target.submit(DeleteStrokes(self.ids))

    def undo(self) -> None:
        if self.ids:  # ascending positions: each insert lands where the stroke was
            self.target.submit(AddStrokes(self.strokes, self.positions))


class DrawStrokeCommand(QUndoCommand):
    """A freehand stroke; the engine fits it. Undo deletes it by id, redo re-adds it."""

    def __init__(
        self,
        target: EditTarget,
        stroke_id: int,
        polyline: np.ndarray,
        half_width: float,
        color: tuple[float, float, float, float],
        frozen: bool,
        pressure: np.ndarray | None = None,
    ) -> None:
        super().__init__("Draw frozen stroke" if frozen else "Draw stroke")
        self.target = target
        self.stroke_id = int(stroke_id)
        self.freehand = AddFreehand(
            self.stroke_id,
            np.asarray(polyline, dtype=np.float64),
            half_width,
            color,
            frozen,
            pressure=None if pressure is None else np.asarray(pressure, dtype=np.float64),
        )
        self.fitted: Stroke | None = None

    def redo(self) -> None:
        if self.fitted is not None:  # exactly the stroke that was undone, as it was then
            self.target.submit(AddStrokes((self.fitted,)))
        else:
            self.target.submit(self.freehand)

    def undo(self) -> None:
        drawing = self.target.drawing()
        if drawing is not None:
            try:
                self.fitted = drawing.stroke(self.stroke_id)
            except KeyError:
                pass  # not yet in a snapshot: redo will fit it again
        self.target.submit(DeleteStrokes((self.stroke_id,)))


class AddStrokesCommand(QUndoCommand):
    """Add ready-made strokes (an imported SVG/sketch seed); undo deletes them."""

    def __init__(self, target: EditTarget, strokes: Sequence[Stroke], text: str = "Add strokes") -> None:
        super().__init__(text)
        self.target = target
        self.strokes = tuple(strokes)

    def redo(self) -> None:
        self.target.submit(AddStrokes(self.strokes))

    def undo(self) -> None:
        self.target.submit(DeleteStrokes(tuple(s.id for s in self.strokes)))


class PromptCommand(QUndoCommand):
    """Change the prompts mid-run; undo restores the old ones (engine and prompt box)."""

    def __init__(
        self,
        target: EditTarget,
        old: SetPrompt,
        new: SetPrompt,
        show: Callable[[SetPrompt], None] | None = None,
    ) -> None:
        super().__init__("Change prompt")
        self.target, self.old, self.new, self.show = target, old, new, show

    def _apply(self, cmd: SetPrompt) -> None:
        self.target.submit(cmd)
        if self.show is not None:
            self.show(cmd)

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class GuidanceCommand(QUndoCommand):
    """Replace regions, image prompts or the style (one engine command); undo sends the old value."""

    def __init__(self, target: EditTarget, old: object, new: object, text: str) -> None:
        super().__init__(text)
        self.target, self.old, self.new = target, old, new

    def redo(self) -> None:
        self.target.submit(self.new)

    def undo(self) -> None:
        self.target.submit(self.old)


class RespectCommand(QUndoCommand):
    """Soft-lock strokes with a strength; undo puts back each stroke's earlier strength and anchor."""

    def __init__(self, target: EditTarget, ids: Sequence[int], strength: float) -> None:
        super().__init__(f"Respect {strength:.2f} on {len(ids)} stroke(s)")
        self.target = target
        wanted = {int(i) for i in ids}
        drawing = target.drawing()
        self.before = [s for s in drawing.strokes if s.id in wanted] if drawing is not None else []
        self.ids = tuple(s.id for s in self.before)
        self.strength = float(strength)

    def redo(self) -> None:
        if self.ids:
            self.target.submit(SetRespect(self.ids, self.strength))

    def undo(self) -> None:
        for cmd in respect_commands(self.before):
            self.target.submit(cmd)


class TransformCommand(QUndoCommand):
    """Move/scale/rotate/flip strokes; undo applies the inverse map to the same strokes.

    Why the inverse and not the old points: mid-run the strokes go on changing after the
    edit, and undo should take back the artist's move, not the optimiser's work since.
    """

    def __init__(self, target: EditTarget, ids: Sequence[int], matrix: Sequence[float], text: str) -> None:
        super().__init__(text)
        self.target = target
        self.ids = tuple(int(i) for i in ids)
        self.matrix = tuple(float(v) for v in matrix)
        a, b, c, d, e, f = self.matrix
        forward = np.array([[a, b, c], [d, e, f], [0.0, 0.0, 1.0]])
        inverse = np.linalg.inv(forward)  # callers never pass a singular map (scale 0)
        self.inverse = tuple(float(v) for v in inverse[:2].reshape(-1))

    def redo(self) -> None:
        self.target.submit(TransformStrokes(self.ids, self.matrix))  # type: ignore[arg-type]

    def undo(self) -> None:
        self.target.submit(TransformStrokes(self.ids, self.inverse))  # type: ignore[arg-type]


class StyleCommand(QUndoCommand):
    """Set colour / opacity / width of strokes; undo puts each stroke's own style back."""

    def __init__(self, target: EditTarget, command: SetStrokeStyle, text: str) -> None:
        super().__init__(text)
        self.target = target
        self.command = command
        drawing = target.drawing()
        wanted = set(command.ids)
        self.old = tuple(
            SetStrokeStyle((s.id,), color=s.color, half_width=s.half_width, fill=s.fill)
            for s in (drawing.strokes if drawing is not None else ())
            if s.id in wanted
        )

    def redo(self) -> None:
        self.target.submit(self.command)

    def undo(self) -> None:
        for cmd in self.old:
            self.target.submit(cmd)


class ReorderCommand(QUndoCommand):
    """Raise / lower / to top / to bottom; undo restores the previous paint order."""

    def __init__(self, target: EditTarget, ids: Sequence[int], where: str, text: str) -> None:
        super().__init__(text)
        self.target = target
        self.command = Reorder(tuple(int(i) for i in ids), where)
        drawing = target.drawing()
        self.old_order = tuple(drawing.ids) if drawing is not None else ()

    def redo(self) -> None:
        self.target.submit(self.command)

    def undo(self) -> None:
        if self.old_order:
            self.target.submit(Reorder(self.old_order, "exact"))


class NodeEditCommand(QUndoCommand):
    """A node edit (drag, add, remove): the stroke's new points; undo puts the old stroke back.

    Undo restores the stroke as it was when edited (same id): a node edit changes the
    stroke's structure, so there is no "inverse" that would keep later optimisation.
    A soft lock is dropped with a node edit (its anchor no longer fits the points).
    """

    def __init__(self, target: EditTarget, old: Stroke, new: Stroke, text: str = "Edit nodes") -> None:
        super().__init__(text)
        self.target, self.old, self.new = target, old, new

    def redo(self) -> None:
        self.target.submit(UpdateStrokes((self.new,)))

    def undo(self) -> None:
        self.target.submit(UpdateStrokes((self.old,)))


class LookCommand(QUndoCommand):
    """Change the look mid-run (palette, ink, widths, paper); undo sends the old values back.

    ``show`` puts the values into the Look panel (undo and redo change what it shows).
    Consecutive changes of the same fields merge into one undo step, so stepping a
    width spin box up five times is undone at once.
    """

    ID = 0x4C4F  # "LO"

    def __init__(
        self,
        target: EditTarget,
        old: SetLook,
        new: SetLook,
        show: Callable[[dict[str, object]], None] | None = None,
        text: str = "Change look",
        mergeable: bool = True,
    ) -> None:
        super().__init__(text)
        self.target, self.old, self.new, self.show = target, old, new, show
        self.mergeable = mergeable

    def _apply(self, cmd: SetLook) -> None:
        self.target.submit(cmd)
        if self.show is not None:
            self.show(cmd.fields)

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)

    def id(self) -> int:
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, LookCommand) or not (self.mergeable and other.mergeable):
            return False
        if set(other.new.fields) != set(self.new.fields):
            return False
        self.new = other.new
        return True
