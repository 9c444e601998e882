"""Moving the selection with the mouse: the drag's state and its preview.

Kept out of :mod:`app.canvas.canvas` so the canvas only forwards press/move/release.
The drag changes nothing while it lasts: the selection's outline is drawn offset by
the drag, and on release the canvas emits one move (``selectionMoved``) that the window
turns into one undoable :class:`~clipdraw_core.drawing.commands.TransformStrokes`. While
a run is active the strokes keep being optimised during the drag and the move is
applied at the next step after the release. While a run is active the window holds the
dragged strokes still from the first movement to the release (``selectionDragStarted``:
a temporary freeze of those not frozen already), so they land exactly where they are
dropped and then join the optimisation again; frozen strokes stay frozen.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF

#: A drag shorter than this (canvas px) is a click, not a move.
MIN_MOVE = 0.5


class MoveDrag:
    """The selection being dragged: where the press was and how far it has gone."""

    def __init__(self, start: QPointF, hit: int) -> None:
        self.start = QPointF(start)
        #: The stroke pressed on (a click without a move selects just it).
        self.hit = hit
        self.offset = QPointF(0.0, 0.0)
        #: True once the mouse has moved far enough for this to be a drag, not a click.
        self.started = False

    def update(self, pos: QPointF) -> bool:
        """Follow the mouse; True the first time the press becomes a drag."""
        self.offset = pos - self.start
        if not self.started and self.moved() is not None:
            self.started = True
            return True
        return False

    def moved(self) -> tuple[float, float] | None:
        """The move in canvas pixels, or ``None`` for a click."""
        dx, dy = self.offset.x(), self.offset.y()
        if abs(dx) < MIN_MOVE and abs(dy) < MIN_MOVE:
            return None
        return dx, dy
