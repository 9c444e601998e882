"""Moving, scaling and rotating the selection with the mouse: the drags' state.

Kept out of :mod:`app.canvas.canvas` so the canvas only forwards press/move/release.
The drag changes nothing while it lasts: the selection's outline is drawn offset by
the drag, and on release the canvas emits one move (``selectionMoved``) that the window
turns into one undoable :class:`~clipdraw_core.drawing.commands.TransformStrokes`. While
a run is active the strokes keep being optimised during the drag and the move is
applied at the next step after the release. While a run is active the window holds the
dragged strokes still from the first movement to the release (``selectionDragStarted``:
a temporary freeze of those not frozen already), so they land exactly where they are
dropped and then join the optimisation again; frozen strokes stay frozen.

With the Select tool the selection also shows handles: one at each corner of its
bounding box (drag to scale about the opposite corner; Shift keeps the aspect) and a
rotate handle above the top edge (drag to turn about the box's centre; Shift snaps to
15 degrees). A handle drag works like the move: a preview while it lasts, the strokes
held still mid-run, and one TransformStrokes on release (``selectionTransformed``).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QTransform

from clipdraw_core.drawing.commands import rotation_about, scaling_about

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


#: Handles are hit within this many widget px; the rotate handle sits this far above the box.
HANDLE_HIT_PX = 6.0
ROTATE_OFFSET_PX = 22.0
#: Corner handles sit this far (widget px) outside the box's corners, as in Inkscape, so a
#: press on a stroke's end at a corner still moves the selection.
CORNER_OFFSET_PX = 10.0
#: A scale handle never squashes the selection below this factor (the undo needs an inverse).
MIN_SCALE = 0.01
#: Shift while rotating snaps to this many degrees (Inkscape's default).
ROTATE_SNAP_DEGREES = 15.0

Matrix = tuple[float, float, float, float, float, float]


def selection_box(points: list[np.ndarray]) -> QRectF | None:
    """The selection's bounding box of control points (what the flip/rotate verbs use too)."""
    if not points:
        return None
    allp = np.concatenate(points, axis=0)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    return QRectF(QPointF(float(lo[0]), float(lo[1])), QPointF(float(hi[0]), float(hi[1])))


def handle_positions(box: QRectF, scale: float) -> dict[str, QPointF]:
    """Canvas positions of the four corner (scale) handles and the rotate handle above."""
    o = CORNER_OFFSET_PX / scale
    return {
        "tl": box.topLeft() + QPointF(-o, -o),
        "tr": box.topRight() + QPointF(o, -o),
        "bl": box.bottomLeft() + QPointF(-o, o),
        "br": box.bottomRight() + QPointF(o, o),
        "rotate": QPointF(box.center().x(), box.top() - ROTATE_OFFSET_PX / scale),
    }


def handle_at(box: QRectF, pos: QPointF, scale: float) -> str | None:
    """The handle under ``pos`` (canvas coordinates), or ``None``."""
    for name, p in handle_positions(box, scale).items():
        if abs(p.x() - pos.x()) * scale <= HANDLE_HIT_PX and abs(p.y() - pos.y()) * scale <= HANDLE_HIT_PX:
            return name
    return None


def qtransform(m: Matrix) -> QTransform:
    """Our ``(a, b, c, d, e, f)`` (x' = a x + b y + c) as a QTransform, for the preview."""
    a, b, c, d, e, f = m
    return QTransform(a, d, b, e, c, f)


class HandleDrag:
    """A corner handle (scale about the opposite corner) or the rotate handle being dragged.

    Like :class:`MoveDrag` nothing changes while it lasts: :meth:`matrix` is the map the
    preview draws with and, on release, the one TransformStrokes the window pushes.
    """

    OPPOSITE: ClassVar[dict[str, str]] = {"tl": "br", "tr": "bl", "bl": "tr", "br": "tl"}

    def __init__(self, handle: str, box: QRectF, start: QPointF, scale: float) -> None:
        self.handle, self.box, self.start = handle, QRectF(box), QPointF(start)
        self.pos = QPointF(start)
        self.keep_aspect = False
        self.started = False

    def update(self, pos: QPointF, keep_aspect: bool) -> bool:
        """Follow the mouse; True the first time the press becomes a drag."""
        self.pos, self.keep_aspect = QPointF(pos), keep_aspect
        d = pos - self.start
        if not self.started and (abs(d.x()) >= MIN_MOVE or abs(d.y()) >= MIN_MOVE):
            self.started = True
            return True
        return False

    @property
    def text(self) -> str:
        return "Rotate" if self.handle == "rotate" else "Scale"

    def matrix(self) -> Matrix:
        if self.handle == "rotate":
            c = self.box.center()
            a0 = math.atan2(self.start.y() - c.y(), self.start.x() - c.x())
            a1 = math.atan2(self.pos.y() - c.y(), self.pos.x() - c.x())
            angle = a1 - a0
            if self.keep_aspect:  # Shift snaps the angle
                step = math.radians(ROTATE_SNAP_DEGREES)
                angle = round(angle / step) * step
            return rotation_about(angle, c.x(), c.y())
        corners = {"tl": self.box.topLeft(), "tr": self.box.topRight()}
        corners |= {"bl": self.box.bottomLeft(), "br": self.box.bottomRight()}
        anchor, corner = corners[self.OPPOSITE[self.handle]], corners[self.handle]
        moved = corner + (self.pos - self.start)  # the box's corner follows the mouse
        factors = []
        for p, a, k in ((moved.x(), anchor.x(), corner.x()), (moved.y(), anchor.y(), corner.y())):
            span = k - a
            factors.append((p - a) / span if abs(span) > 1e-9 else 1.0)
        sx, sy = factors
        if self.keep_aspect:  # Shift: the larger change on both axes
            sx = sy = sx if abs(sx - 1) >= abs(sy - 1) else sy
        sx = math.copysign(max(abs(sx), MIN_SCALE), sx)
        sy = math.copysign(max(abs(sy), MIN_SCALE), sy)
        return scaling_about(sx, sy, anchor.x(), anchor.y())
