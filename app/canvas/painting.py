"""Turning a :class:`~clipdraw_core.drawing.strokes.Drawing` into QPainter paths and images.

Why a separate module: the same code paints the canvas layer (off the GUI thread, see
:mod:`app.canvas.layer_renderer`), the benchmark and the PNG fallback. Everything here uses
only QImage/QPainter/QPainterPath, which Qt allows in any thread (never QPixmap or
fonts), so it is safe to call from the layer-rendering thread.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPainterPathStroker, QPen

from clipdraw_core.drawing.nodes import segment_controls
from clipdraw_core.drawing.strokes import Drawing, Stroke

logger = logging.getLogger(__name__)

#: Accent used to mark frozen strokes (dashed outline + lock badge).
FROZEN_ACCENT = QColor(0, 120, 215)
#: Largest layer image side, in device pixels; beyond it the canvas is upscaled.
MAX_LAYER_SIDE = 4096


def stroke_path(stroke: Stroke) -> QPainterPath:
    """The stroke's cubic Béziers as a QPainterPath in canvas pixel coordinates (closed for shapes).

    A compound shape is one path of several closed subpaths, filled by the shape's rule.
    """
    path = QPainterPath()
    for contour in stroke.contour_points():
        pts = contour.tolist()
        if stroke.closed:  # 3k points: the last segment returns to the first point
            pts = [*pts, pts[0]]
        path.moveTo(QPointF(*pts[0]))
        for i in range(1, len(pts) - 2, 3):
            path.cubicTo(QPointF(*pts[i]), QPointF(*pts[i + 1]), QPointF(*pts[i + 2]))
        if stroke.closed:
            path.closeSubpath()
    if stroke.closed:  # as the engine fills
        evenodd = stroke.fill_rule == "evenodd"
        path.setFillRule(Qt.FillRule.OddEvenFill if evenodd else Qt.FillRule.WindingFill)
    return path


def stroke_pen(stroke: Stroke) -> QPen:
    """Round-capped pen of the stroke's full width (2 x half-width) and RGBA colour."""
    r, g, b, a = stroke.color
    pen = QPen(QColor.fromRgbF(r, g, b, a))
    pen.setWidthF(max(2.0 * stroke.half_width, 0.01))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def background_color(drawing: Drawing) -> QColor:
    return QColor.fromRgbF(*drawing.background)


def paint_strokes(
    painter: QPainter,
    drawing: Drawing,
    *,
    mark_frozen: bool = True,
    view_scale: float = 1.0,
    yield_every: int = 0,
) -> None:
    """Paint all strokes in paint order; the painter maps canvas pixels already.

    Frozen strokes get a dashed accent outline and a small lock badge on top, drawn at
    a constant on-screen size (``view_scale`` = device pixels per canvas pixel) so they
    read at any zoom without hiding the stroke itself.

    ``yield_every`` > 0 (background threads): hand the GIL over every that many strokes.
    Qt's painting calls keep the GIL, so without this a 40 ms layer render would make the
    GUI thread wait for the interpreter's switch interval again and again.
    """
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    frozen: list[tuple[Stroke, QPainterPath]] = []
    for i, stroke in enumerate(drawing.strokes):
        if yield_every and i % yield_every == yield_every - 1:
            time.sleep(0)
        path = stroke_path(stroke)
        if stroke.fill is not None:
            painter.fillPath(path, QColor.fromRgbF(*stroke.fill))
        if stroke.outlined:
            painter.setPen(stroke_pen(stroke))
            painter.drawPath(path)
        if stroke.frozen and mark_frozen:
            frozen.append((stroke, path))
    if frozen:
        paint_frozen_marks(painter, frozen, view_scale)


def paint_frozen_marks(
    painter: QPainter, frozen: list[tuple[Stroke, QPainterPath]], view_scale: float
) -> None:
    """Dashed outline around each frozen stroke and a lock badge at its start."""
    px = 1.0 / max(view_scale, 1e-6)  # one device pixel in canvas units
    stroker = QPainterPathStroker()
    stroker.setCapStyle(Qt.PenCapStyle.RoundCap)
    stroker.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    accent = QColor(FROZEN_ACCENT)
    accent.setAlpha(190)
    outline_pen = QPen(accent, 1.0)
    outline_pen.setCosmetic(True)
    outline_pen.setStyle(Qt.PenStyle.DashLine)
    for stroke, path in frozen:
        stroker.setWidth(2.0 * stroke.half_width + 5.0 * px)
        painter.setPen(outline_pen)
        painter.drawPath(stroker.createStroke(path))
    for stroke, _path in frozen:
        x, y = (float(v) for v in stroke.points[0])
        paint_lock_badge(painter, QPointF(x, y), px)


def paint_lock_badge(painter: QPainter, at: QPointF, px: float) -> None:
    """A 9x11 device-pixel padlock (body + shackle) drawn with paths, no fonts."""
    w, h = 8.0 * px, 6.0 * px
    body = QRectF(at.x() - w / 2, at.y() - h / 2, w, h)
    painter.save()
    painter.setPen(QPen(QColor(255, 255, 255), 1.0 * px))
    painter.setBrush(FROZEN_ACCENT)
    painter.drawRoundedRect(body, 1.2 * px, 1.2 * px)
    shackle = QPainterPath()
    shackle.moveTo(body.left() + 1.8 * px, body.top())
    shackle.cubicTo(
        body.left() + 1.8 * px,
        body.top() - 4.5 * px,
        body.right() - 1.8 * px,
        body.top() - 4.5 * px,
        body.right() - 1.8 * px,
        body.top(),
    )
    pen = QPen(FROZEN_ACCENT, 1.6 * px)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(shackle)
    painter.restore()


def paint_selection(painter: QPainter, strokes: list[Stroke], highlight: QColor, px: float) -> None:
    """Selected strokes on top: an outer highlight ring, an inner white gap, the stroke.

    ``px`` is one on-screen pixel in canvas units, so the rings keep their size at any zoom.
    """
    paths = [(s, stroke_path(s)) for s in strokes]
    for colour, extra in ((highlight, 8.0), (QColor(255, 255, 255), 4.0)):
        for stroke, path in paths:
            pen = QPen(colour)
            pen.setWidthF(2 * stroke.half_width + extra * px)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawPath(path)
    for stroke, path in paths:
        painter.setPen(stroke_pen(stroke))
        painter.drawPath(path)


def layer_scale(drawing: Drawing, scale: float) -> float:
    """The device-pixel scale a layer image is rendered at (capped at MAX_LAYER_SIDE)."""
    side = max(drawing.width, drawing.height)
    return max(min(scale, MAX_LAYER_SIDE / side), 1e-3)


def render_layer(
    drawing: Drawing,
    scale: float,
    *,
    mark_frozen: bool = True,
    yield_every: int = 0,
    selected: frozenset[int] = frozenset(),
    highlight: QColor | None = None,
) -> QImage:
    """Render background + strokes at ``scale`` device pixels per canvas pixel.

    The result is an opaque RGB32 image (cheapest to blit). Safe in any thread.
    """
    s = layer_scale(drawing, scale)
    w = max(1, math.ceil(drawing.width * s))
    h = max(1, math.ceil(drawing.height * s))
    image = QImage(w, h, QImage.Format.Format_RGB32)
    image.fill(background_color(drawing))
    painter = QPainter(image)
    try:
        painter.scale(s, s)
        paint_strokes(painter, drawing, mark_frozen=mark_frozen, view_scale=s, yield_every=yield_every)
        if selected:  # large selections are painted here, off the GUI thread (see Canvas)
            chosen = [st for st in drawing.strokes if st.id in selected]
            paint_selection(painter, chosen, highlight or QColor(0, 120, 215), 1.0 / s)
    finally:
        painter.end()
    return image


def image_to_rgb_array(image: QImage) -> np.ndarray:
    """Copy a QImage into an ``H x W x 3`` uint8 array (tests and PNG export)."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def sample_strokes(drawing: Drawing, samples_per_segment: int = 12) -> list[np.ndarray]:
    """Points along each stroke (canvas pixels), for hit tests and lasso selection."""
    t = np.linspace(0.0, 1.0, samples_per_segment, dtype=np.float64)[:, None]
    basis = np.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], axis=0)
    out = []
    for stroke in drawing.strokes:
        seg = np.stack(segment_controls(stroke))  # (k, 4, 2): a shape's closing segments too
        pts = np.einsum("jt,kjd->ktd", basis[..., 0], seg)
        out.append(pts.reshape(-1, 2))
    return out
