"""A transparent layer over the canvas: regions, soft-lock strength, and the Region tool.

Why a child widget rather than more code in :class:`~app.canvas.canvas.Canvas`: the
canvas's own tools (select, lasso, brush, pan) stay as they are, and this layer is
painted whenever the canvas is (Qt paints children with their parent), using the
canvas's own coordinate mapping. It lets mouse events through to the canvas unless
the Region tool is on; then a drag draws a rectangle (hold Alt for a lasso) and
``regionDrawn`` gives its polygon in canvas pixels; a drag that starts inside a
region moves it, one that starts on its bottom-right corner handle resizes it
(``regionReshaped``: id and new polygon). It never edits anything.

Soft-locked strokes ("respect") get an outline whose opacity is their strength, so
0.2 is a faint hint and 1 a solid line.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from app.canvas.canvas import Canvas, points_in_polygon
from app.canvas.painting import stroke_path
from clipdraw_core.drawing.guidance import Region

logger = logging.getLogger(__name__)

REGION_COLOUR = QColor(230, 120, 0)
RESPECT_COLOUR = QColor(0, 150, 110)
#: A drag shorter than this (canvas px) in either direction is a click, not a region.
MIN_REGION_PX = 4.0
#: Half the side of a region's resize handle, in screen pixels.
HANDLE_PX = 6.0


class RegionOverlay(QWidget):
    """Draws regions and soft-lock strength over ``canvas``; the Region tool lives here."""

    #: A finished Region-tool drag: polygon as a list of (x, y) canvas pixels.
    regionDrawn = Signal(list)
    #: A region moved or resized with the Region tool: its id and new polygon (canvas px).
    regionReshaped = Signal(int, list)

    def __init__(self, canvas: Canvas) -> None:
        super().__init__(canvas)
        self.setObjectName("regionOverlay")
        self.canvas = canvas
        self._regions: tuple[Region, ...] = ()
        self._active = False
        self.show_regions = True
        self._press: QPointF | None = None
        self._current: QPointF | None = None
        self._lasso: list[QPointF] | None = None
        self._grab: tuple[str, Region] | None = None  # ("move" | "resize", region) while dragging one
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.show()

    # ------------------------------------------------------------ state
    def set_regions(self, regions: tuple[Region, ...]) -> None:
        self._regions = tuple(regions)
        self.update()

    def regions(self) -> tuple[Region, ...]:
        return self._regions

    def set_regions_visible(self, visible: bool) -> None:
        self.show_regions = bool(visible)
        self.update()

    def is_active(self) -> bool:
        return self._active

    def set_active(self, active: bool) -> None:
        """Turn the Region tool on (drags draw regions) or off (events go to the canvas)."""
        self._active = bool(active)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, not self._active)
        self.setCursor(Qt.CursorShape.CrossCursor if self._active else Qt.CursorShape.ArrowCursor)
        self._press = self._current = None
        self._lasso = None
        self._grab = None
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._paint_respect(painter)
        if self.show_regions:
            for region in self._regions:
                if self._grab is not None and self._grab[1].id == region.id and self._current is not None:
                    region = self._reshaped(self._grab, self._current) or region
                self._paint_region(painter, region)
        self._paint_drag(painter)
        painter.end()

    def _paint_respect(self, painter: QPainter) -> None:
        drawing = self.canvas.drawing()
        if drawing is None:
            return
        held = [s for s in drawing.strokes if 0 < s.respect and not s.frozen]
        if not held:
            return
        scale = self.canvas.scale()
        origin = self.canvas.canvas_to_widget(QPointF(0, 0))
        painter.save()
        painter.translate(origin)
        painter.scale(scale, scale)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for stroke in held:
            colour = QColor(RESPECT_COLOUR)
            colour.setAlphaF(max(0.1, min(1.0, float(stroke.respect))))
            pen = QPen(colour, 2 * stroke.half_width + 4.0 / scale)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawPath(stroke_path(stroke))
        painter.restore()

    def _paint_region(self, painter: QPainter, region: Region) -> None:
        poly = QPolygonF([self.canvas.canvas_to_widget(QPointF(x, y)) for x, y in region.polygon])
        colour = QColor(140, 140, 140) if region.muted else QColor(REGION_COLOUR)
        fill = QColor(colour)
        fill.setAlpha(25 if region.muted else 40)
        pen = QPen(colour, 1.5, Qt.PenStyle.DotLine if region.muted else Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawPolygon(poly)
        box = poly.boundingRect()
        label = f"{region.name or region.id}: {region.prompt}"
        if self._active:  # the resize handle
            corner = box.bottomRight()
            painter.setPen(QPen(colour, 1))
            painter.setBrush(QColor(255, 255, 255))
            painter.drawRect(
                QRectF(corner.x() - HANDLE_PX, corner.y() - HANDLE_PX, 2 * HANDLE_PX, 2 * HANDLE_PX)
            )
        painter.setPen(colour.darker(130))
        painter.drawText(
            QRectF(box.left() + 4, box.top() + 2, max(box.width() - 8, 40), 18),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            painter.fontMetrics().elidedText(
                label, Qt.TextElideMode.ElideRight, int(max(box.width() - 8, 40))
            ),
        )

    def _paint_drag(self, painter: QPainter) -> None:
        pen = QPen(REGION_COLOUR, 1.5, Qt.PenStyle.DashLine)
        fill = QColor(REGION_COLOUR)
        fill.setAlpha(50)
        painter.setPen(pen)
        painter.setBrush(fill)
        if self._lasso is not None and len(self._lasso) > 1:
            painter.drawPolygon(QPolygonF([self.canvas.canvas_to_widget(p) for p in self._lasso]))
        elif self._press is not None and self._current is not None:
            painter.drawRect(
                QRectF(
                    self.canvas.canvas_to_widget(self._press), self.canvas.canvas_to_widget(self._current)
                ).normalized()
            )

    # ------------------------------------------------------------ the Region tool
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self._active or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = self.canvas.widget_to_canvas(event.position())
        self._press = self._current = pos
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        self._lasso = [pos] if alt else None
        self._grab = None if alt or not self.show_regions else self._region_at(pos)
        self.update()

    def _region_at(self, pos: QPointF) -> tuple[str, Region] | None:
        """The region whose corner handle ("resize") or inside ("move") is at ``pos``, topmost first."""
        tolerance = HANDLE_PX / max(self.canvas.scale(), 1e-6)
        for region in reversed(self._regions):
            xs = [p[0] for p in region.polygon]
            ys = [p[1] for p in region.polygon]
            if abs(pos.x() - max(xs)) <= tolerance and abs(pos.y() - max(ys)) <= tolerance:
                return "resize", region
        point = np.array([[pos.x(), pos.y()]])
        for region in reversed(self._regions):
            if points_in_polygon(point, np.asarray(region.polygon)).any():
                return "move", region
        return None

    def _reshaped(self, grab: tuple[str, Region], end: QPointF) -> Region | None:
        """The grabbed region moved (or its box stretched) to where the mouse is now."""
        if self._press is None:
            return None
        mode, region = grab
        pts = np.asarray(region.polygon, dtype=np.float64)
        if mode == "move":
            new = pts + [end.x() - self._press.x(), end.y() - self._press.y()]
        else:
            x0, y0 = pts.min(0)
            w, h = np.ptp(pts, axis=0)
            nw, nh = max(end.x() - x0, MIN_REGION_PX), max(end.y() - y0, MIN_REGION_PX)
            new = np.column_stack([x0 + (pts[:, 0] - x0) * nw / w, y0 + (pts[:, 1] - y0) * nh / h])
        try:
            return Region(
                region.id, region.prompt, tuple(map(tuple, new)), region.weight, region.name, region.muted
            )
        except Exception:  # a degenerate shape mid-drag: show the old one
            return None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            return
        pos = self.canvas.widget_to_canvas(event.position())
        self._current = pos
        if self._lasso is not None:
            self._lasso.append(pos)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            return
        end = self.canvas.widget_to_canvas(event.position())
        start, lasso, grab = self._press, self._lasso, self._grab
        reshaped = self._reshaped(grab, end) if grab is not None else None
        self._press = self._current = None
        self._lasso = None
        self._grab = None
        self.update()
        if grab is not None:
            moved = (end.x() - start.x()) ** 2 + (end.y() - start.y()) ** 2 >= 1.0
            if reshaped is not None and moved:
                self.regionReshaped.emit(reshaped.id, [tuple(p) for p in reshaped.polygon])
            return
        drawing = self.canvas.drawing()
        width, height = (drawing.width, drawing.height) if drawing is not None else (1 << 16, 1 << 16)

        def clip(p: QPointF) -> tuple[float, float]:
            return (min(max(p.x(), 0.0), float(width)), min(max(p.y(), 0.0), float(height)))

        if lasso is not None and len(lasso) >= 3:
            points = [clip(p) for p in lasso]
        else:
            (x0, y0), (x1, y1) = clip(start), clip(end)
            x0, x1 = sorted((x0, x1))
            y0, y1 = sorted((y0, y1))
            points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        if max(xs) - min(xs) < MIN_REGION_PX or max(ys) - min(ys) < MIN_REGION_PX:
            return
        self.regionDrawn.emit(points)
