"""The node tool (N): a stroke's anchors and handles shown, dragged, added and removed.

Kept out of :mod:`app.canvas.canvas`, which only forwards mouse events here while the
tool is active. The tool edits a local copy of one stroke's control points while the
mouse is down and, on release, reports the new points (``Canvas.nodesEdited``); the
window turns that into one undoable ``UpdateStrokes`` of the same stroke id. The
geometry of adding and removing a node is the engine's
(:mod:`clipdraw_core.drawing.nodes`). Anchors are ``points[0::3]``; the two points
next to an anchor are its handles.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from clipdraw_core.drawing.nodes import remove_node, split_segment
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import ClipDrawError

#: How close (on-screen px) a press must be to a point to pick it.
PICK_PX = 6.0


class NodeTool:
    """One stroke's points being edited; ``points`` is the working copy (canvas px)."""

    def __init__(self) -> None:
        self.stroke_id: int | None = None
        self.points: np.ndarray | None = None
        #: Index into ``points`` of the picked point (an anchor, or a handle).
        self.selected: int | None = None
        self._dragging = False

    def show(self, stroke: Stroke | None) -> None:
        """Edit this stroke (or none); a new stroke forgets the picked point."""
        if stroke is None:
            self.stroke_id, self.points, self.selected = None, None, None
            return
        if stroke.id != self.stroke_id:
            self.selected = None
        if not self._dragging:
            self.stroke_id, self.points = stroke.id, np.array(stroke.points, dtype=np.float64)

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
        """Move the picked point; dragging an anchor carries its handles along (Inkscape)."""
        if not self._dragging or self.points is None or self.selected is None:
            return
        i = self.selected
        delta = np.array([pos.x(), pos.y()]) - self.points[i]
        if i % 3 == 0:
            lo, hi = max(0, i - 1), min(len(self.points) - 1, i + 1)
            self.points[lo : hi + 1] += delta
        else:
            self.points[i] += delta

    def release(self) -> np.ndarray | None:
        """End a drag: the edited points, or ``None`` if nothing moved."""
        was, self._dragging = self._dragging, False
        return None if not was or self.points is None else self.points.copy()

    def add_node_at(self, pos: QPointF) -> np.ndarray | None:
        """Points with a node added on the segment nearest ``pos`` (the curve is unchanged)."""
        if self.points is None:
            return None
        u = np.linspace(0.02, 0.98, 49)
        best: tuple[float, int, float] | None = None
        for k in range((len(self.points) - 1) // 3):
            p0, p1, p2, p3 = self.points[3 * k : 3 * k + 4]
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
            return split_segment(self.points, best[1], best[2])
        except ClipDrawError:
            return None

    def remove_selected(self) -> np.ndarray | None:
        """Points without the picked anchor, or ``None`` (no anchor picked, or it must stay)."""
        if self.points is None or self.selected is None or self.selected % 3:
            return None
        try:
            points = remove_node(self.points, self.selected // 3)
        except ClipDrawError:
            return None
        self.selected = None
        return points

    def paint(self, painter: QPainter, px: float, highlight: QColor) -> None:
        """Handle lines, square anchors and round handles; ``px`` is one screen pixel."""
        if self.points is None:
            return
        p = self.points
        painter.setPen(QPen(QColor(90, 90, 90), px))
        for i in range(0, len(p) - 1, 3):
            painter.drawLine(QPointF(*p[i]), QPointF(*p[i + 1]))
            painter.drawLine(QPointF(*p[i + 3]), QPointF(*p[i + 2]))
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
