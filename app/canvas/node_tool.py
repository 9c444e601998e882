"""The node tool (N): a stroke's anchors and handles shown, dragged, added and removed.

Kept out of :mod:`app.canvas.canvas`, which only forwards mouse events here while the
tool is active. The tool edits a local copy of one stroke's control points while the
mouse is down and, on release, reports the edited stroke (``Canvas.nodesEdited``); the
window turns its points and contour counts into one undoable ``UpdateStrokes`` of the
same stroke id. The geometry of adding and removing a node is the engine's
(:mod:`clipdraw_core.drawing.nodes`), which knows filled closed shapes: a closed
contour's start/end node is one node whose handles are its second point and the
contour's last, and adding or removing a node updates that contour's count. Anchors are
``points[0::3]``; the two points next to an anchor along its contour are its handles.
An edit the engine refuses (a contour's last two nodes) raises its ``ClipDrawError``
for the canvas to show.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from clipdraw_core.drawing.nodes import add_node, anchor_handles, delete_node, segment_controls
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import ClipDrawError

#: How close (on-screen px) a press must be to a point to pick it.
PICK_PX = 6.0


class NodeTool:
    """One stroke's points being edited; ``points`` is the working copy (canvas px)."""

    def __init__(self) -> None:
        self.stroke_id: int | None = None
        #: The stroke as last shown (its kind, contours and style); ``points`` may be ahead of it mid-drag.
        self.stroke: Stroke | None = None
        self.points: np.ndarray | None = None
        #: Index into ``points`` of the picked point (an anchor, or a handle).
        self.selected: int | None = None
        self._dragging = False

    def show(self, stroke: Stroke | None) -> None:
        """Edit this stroke (or none); a new stroke forgets the picked point."""
        if stroke is None:
            self.stroke_id, self.stroke, self.points, self.selected = None, None, None, None
            return
        if stroke.id != self.stroke_id:
            self.selected = None
        if not self._dragging:
            self.stroke_id, self.stroke = stroke.id, stroke
            self.points = np.array(stroke.points, dtype=np.float64)
            if self.selected is not None and self.selected >= len(self.points):
                self.selected = None

    def pick(self, pos: QPointF, scale: float) -> int | None:
        if self.points is None:
            return None
        d = np.hypot(self.points[:, 0] - pos.x(), self.points[:, 1] - pos.y())
        i = int(np.argmin(d))
        return i if d[i] * scale <= PICK_PX else None

    def press(self, pos: QPointF, scale: float) -> bool:
        """Pick a point under the mouse; True if one was picked (a drag may follow)."""
        self.selected = self.pick(pos, scale)
        self._dragging = self.selected is not None
        return self._dragging

    def drag(self, pos: QPointF) -> None:
        """Move the picked point; dragging an anchor carries its handles along (Inkscape).

        On a closed contour the start node carries the closing segment's handle too, so
        the closure point moves and the contour stays closed.
        """
        if not self._dragging or self.points is None or self.selected is None or self.stroke is None:
            return
        i = self.selected
        delta = np.array([pos.x(), pos.y()]) - self.points[i]
        moved = [i, *anchor_handles(self.stroke, i)] if i % 3 == 0 else [i]
        self.points[moved] += delta

    def release(self) -> Stroke | None:
        """End a drag: the stroke with the edited points, or ``None`` if nothing was picked."""
        was, self._dragging = self._dragging, False
        if not was or self.points is None or self.stroke is None:
            return None
        return replace(self.stroke, points=self.points.copy())

    def add_node_at(self, pos: QPointF) -> Stroke | None:
        """The stroke with a node added on the segment nearest ``pos`` (the curve is unchanged).

        Any segment of any contour of a shape, its closing segment included.
        """
        if self.stroke is None:
            return None
        u = np.linspace(0.02, 0.98, 49)
        best: tuple[float, int, float] | None = None
        for k, (p0, p1, p2, p3) in enumerate(segment_controls(self.stroke)):
            v = (1 - u)[:, None]
            w = u[:, None]
            curve = v**3 * p0 + 3 * v * v * w * p1 + 3 * v * w * w * p2 + w**3 * p3
            d = np.hypot(curve[:, 0] - pos.x(), curve[:, 1] - pos.y())
            j = int(np.argmin(d))
            if best is None or d[j] < best[0]:
                best = (float(d[j]), k, float(u[j]))
        if best is None:
            return None
        try:
            return add_node(self.stroke, best[1], best[2])
        except ClipDrawError:  # a stroke at its segment limit
            return None

    def remove_selected(self) -> Stroke | None:
        """The stroke without the picked anchor; ``None``: no anchor picked, or an open stroke's must stay.

        Raises the engine's ``ClipDrawError`` when a closed contour would drop below its
        minimum: the canvas shows why instead of deleting the whole shape.
        """
        if self.stroke is None or self.selected is None or self.selected % 3:
            return None
        try:
            edited = delete_node(self.stroke, self.selected // 3)
        except ClipDrawError:
            if self.stroke.closed:
                raise
            return None  # an open stroke's last segment: Delete then removes the stroke
        self.selected = None
        return edited

    def paint(self, painter: QPainter, px: float, highlight: QColor) -> None:
        """Handle lines, square anchors and round handles; ``px`` is one screen pixel."""
        if self.points is None or self.stroke is None:
            return
        p = self.points
        painter.setPen(QPen(QColor(90, 90, 90), px))
        for i in range(0, len(p), 3):
            for h in anchor_handles(self.stroke, i):
                painter.drawLine(QPointF(*p[i]), QPointF(*p[h]))
        size = 4 * px
        for i, (x, y) in enumerate(p):
            picked = i == self.selected
            painter.setBrush(highlight if picked else QColor(Qt.GlobalColor.white))
            painter.setPen(QPen(QColor(40, 40, 40), px))
            box = QRectF(x - size, y - size, 2 * size, 2 * size)
            if i % 3 == 0:
                painter.drawRect(box)
            else:
                painter.drawEllipse(box.adjusted(px, px, -px, -px))
