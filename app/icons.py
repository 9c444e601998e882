"""Small tool icons drawn with QPainter paths (select arrow, lasso, brush, hand, lock).

Why drawn in code: the standard QStyle icons have no lasso or brush, and borrowing
unrelated ones (a check mark for "brush") misleads. These follow the palette's text
colour, so they read in light and dark themes, and scale crisply on high-DPI screens.
The project's icon set (resources/icons) can replace them later.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication


def _pixmap(draw: Callable[[QPainter, QColor], None], size: int, color: QColor) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.scale(size / 24.0, size / 24.0)
    pen = QPen(color, 1.8)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    draw(p, color)
    p.end()
    return pm


def _arrow(p: QPainter, color: QColor) -> None:
    poly = QPolygonF(
        [
            QPointF(6, 3),
            QPointF(6, 19),
            QPointF(10, 15),
            QPointF(13, 21),
            QPointF(15.5, 20),
            QPointF(12.5, 14),
            QPointF(18, 14),
        ]
    )
    p.setBrush(color)
    p.drawPolygon(poly)


def _lasso(p: QPainter, color: QColor) -> None:
    path = QPainterPath(QPointF(7, 17))
    path.cubicTo(QPointF(0, 12), QPointF(5, 3), QPointF(13, 4))
    path.cubicTo(QPointF(22, 5), QPointF(23, 14), QPointF(13, 15))
    path.cubicTo(QPointF(9, 15.5), QPointF(6, 16), QPointF(7, 17))
    path.cubicTo(QPointF(8, 19), QPointF(6, 21), QPointF(4, 22))
    pen = p.pen()
    pen.setStyle(Qt.PenStyle.DashLine)
    pen.setDashPattern([2.0, 1.5])
    p.setPen(pen)
    p.drawPath(path)


def _brush(p: QPainter, color: QColor) -> None:
    path = QPainterPath(QPointF(3, 19))
    path.cubicTo(QPointF(8, 8), QPointF(12, 22), QPointF(21, 5))
    pen = p.pen()
    pen.setWidthF(3.0)
    p.setPen(pen)
    p.drawPath(path)


def _hand(p: QPainter, color: QColor) -> None:
    for x, top in ((7, 7), (10.5, 4), (14, 4.5), (17.5, 7.5)):
        p.drawLine(QPointF(x, top), QPointF(x, 13))
    path = QPainterPath(QPointF(7, 12))
    path.cubicTo(QPointF(4, 11), QPointF(3, 14), QPointF(6, 17))
    path.lineTo(QPointF(9, 21))
    path.lineTo(QPointF(16, 21))
    path.cubicTo(QPointF(18, 19), QPointF(17.5, 16), QPointF(17.5, 12))
    p.drawPath(path)


def _lock(p: QPainter, color: QColor) -> None:
    p.setBrush(color)
    p.drawRoundedRect(QRectF(5, 11, 14, 10), 2, 2)
    p.setBrush(Qt.BrushStyle.NoBrush)
    path = QPainterPath(QPointF(8, 11))
    path.cubicTo(QPointF(8, 3), QPointF(16, 3), QPointF(16, 11))
    p.drawPath(path)


def _unlock(p: QPainter, color: QColor) -> None:
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(QRectF(5, 11, 14, 10), 2, 2)
    path = QPainterPath(QPointF(8, 11))
    path.cubicTo(QPointF(8, 3), QPointF(16, 3), QPointF(16, 7))
    p.drawPath(path)


_SHAPES = {"select": _arrow, "lasso": _lasso, "brush": _brush, "pan": _hand, "lock": _lock, "unlock": _unlock}


def tool_icon(name: str) -> QIcon:
    """An icon in the palette's text colour (normal) and disabled text colour (disabled)."""
    pal = QApplication.palette()
    icon = QIcon()
    for size in (16, 24, 32, 48):
        icon.addPixmap(_pixmap(_SHAPES[name], size, pal.color(QPalette.ColorRole.WindowText)))
        icon.addPixmap(
            _pixmap(
                _SHAPES[name], size, pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
            ),
            QIcon.Mode.Disabled,
        )
    return icon
