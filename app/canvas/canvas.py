"""The drawing canvas: vector strokes with zoom/pan, selection and a freehand tool.

Why a plain QWidget rather than QGraphicsScene: every optimisation step changes every
free stroke, so 256 graphics items would be re-indexed each step. Here the strokes
are painted into one layer image off the GUI thread (:mod:`app.canvas.layer_renderer`) and
``paintEvent`` only blits it and draws the cheap overlays (selection, rubber band,
lasso, the stroke being drawn). The canvas never talks to the engine: it emits
signals (selection, finished freehand polylines, dropped files) and the window turns
them into undoable commands.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QTabletEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.canvas.layer_renderer import LayerRenderer
from app.canvas.node_tool import NodeTool
from app.canvas.painting import layer_scale, paint_selection, render_layer, sample_strokes
from app.canvas.transform_tool import (
    HandleDrag,
    MoveDrag,
    handle_at,
    handle_positions,
    qtransform,
    selection_box,
)
from app.state import AppState
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.errors import ClipDrawError

logger = logging.getLogger(__name__)

TOOL_SELECT = "select"
TOOL_LASSO = "lasso"
TOOL_DRAW = "draw"
TOOL_PAN = "pan"
TOOL_NODE = "node"
DROP_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg", ".cdproj", ".json"}
MARGIN = 16.0
#: Up to this many selected strokes are outlined on the GUI thread at every repaint
#: (~0.3 ms each); bigger selections are painted into the layer image off-thread.
OVERLAY_SELECTION_LIMIT = 24


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd ray casting, vectorised over points (lasso selection)."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), dtype=bool)
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xint)
    return inside


class Canvas(QWidget):
    """Shows the latest drawing; emits user intentions, never edits anything itself."""

    selectionChanged = Signal(list)
    freehandFinished = Signal(object, bool, object)  # polyline (N x 2 canvas px), frozen, pressure | None
    filesDropped = Signal(list)
    zoomChanged = Signal(float)
    layerUpdated = Signal()
    nodesEdited = Signal(int, object)  # stroke id, the edited Stroke (points, contours): an edit ended
    nodeEditRefused = Signal(str)  # why a node edit was not made (a shape's contour keeps its minimum)
    selectionDragStarted = Signal()  # the selection is being dragged (the window holds it still)
    selectionMoved = Signal(float, float)  # dx, dy in canvas px: a started drag of the selection ended
    colourPicked = Signal(object)  # (r, g, b) in 0..1: the eyedropper's click
    selectionTransformed = Signal(object, str)  # matrix (a..f), undo text: a handle drag ended

    def __init__(
        self, parent: QWidget | None = None, *, threaded: bool = True, state: AppState | None = None
    ) -> None:
        super().__init__(parent)
        #: Holds the selection (shared with the window); the canvas shows it.
        self.state = state if state is not None else AppState(self)
        self.state.selectionChanged.connect(self._on_selection_changed)
        self._adjusting_selection = False
        self.setObjectName("canvas")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setAcceptDrops(True)
        self.setToolTip("")
        self._drawing: Drawing | None = None
        self._samples: list[np.ndarray] | None = None
        self._generation = 0
        self._layer: QImage | None = None
        self._layer_scale = 0.0
        self._layer_generation = -1
        self._layer_selected: frozenset[int] = frozenset()
        self._scale = 1.0
        self._offset = QPointF(MARGIN, MARGIN)
        self._fit = True
        self._tool = TOOL_SELECT
        self.draw_frozen = False
        self.brush_half_width = 1.0
        self.brush_color: tuple[float, float, float, float] = (0.1, 0.1, 0.1, 1.0)
        self._press: QPointF | None = None
        self._drag_mode: str | None = None
        self._rubber: QRectF | None = None
        self._lasso: list[QPointF] = []
        self._freehand: list[tuple[float, float]] = []
        self._pressure: list[float] | None = None  # per point, from a tablet
        self._freehand_frozen = False
        self._pan_last: QPointF | None = None
        self._move: MoveDrag | None = None
        self._handle: HandleDrag | None = None
        #: The eyedropper (I) is armed: the next left click picks a colour.
        self.picking = False
        #: The node tool's state (shown for the first selected stroke while N is active).
        self.nodes = NodeTool()
        self.last_paint_seconds = 0.0
        #: Shown on an empty sheet so a first-time user knows what to do.
        self.placeholder_text = (
            "Type a prompt and press Draw.\n\nOr sketch seed strokes first with the Brush (B);\n"
            "hold Shift to keep them frozen."
        )
        self._renderer: LayerRenderer | None = LayerRenderer(self) if threaded else None
        if self._renderer is not None:
            self._renderer.imageReady.connect(self._on_layer_ready)

    # ------------------------------------------------------------------ model
    def drawing(self) -> Drawing | None:
        return self._drawing

    def set_drawing(self, drawing: Drawing | None) -> None:
        """Show a new drawing (a snapshot's); the layer is re-rendered off-thread."""
        if drawing is self._drawing:
            return
        size_changed = (
            drawing is None
            or self._drawing is None
            or (drawing.width, drawing.height) != (self._drawing.width, self._drawing.height)
        )
        self._drawing = drawing
        self._samples = None
        if drawing is not None:
            ids = set(drawing.ids)
            self._adjusting_selection = True  # the layer is requested below anyway
            try:
                self.state.set_selection([i for i in self.state.selection if i in ids])
            finally:
                self._adjusting_selection = False
        if size_changed and self._fit:
            self._fit_to_widget()
        self._show_nodes()
        self._request_layer()
        self.update()

    def _device_scale(self) -> float:
        return self._scale * self.devicePixelRatioF()

    def _layer_selection(self) -> frozenset[int]:
        """Selections too big to paint per frame are painted into the layer, off-thread."""
        selection = self.state.selection
        return frozenset(selection) if len(selection) > OVERLAY_SELECTION_LIMIT else frozenset()

    def _request_layer(self) -> None:
        self._generation += 1
        if self._drawing is None:
            self._layer = None
            return
        selected = self._layer_selection()
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        if self._renderer is not None and self._renderer.is_running():
            self._renderer.request(self._generation, self._drawing, self._device_scale(), selected, highlight)
        else:
            image = render_layer(self._drawing, self._device_scale(), selected=selected, highlight=highlight)
            self._on_layer_ready(self._generation, image, self._device_scale(), selected)

    def _on_layer_ready(
        self, generation: int, image: QImage, device_scale: float, selected: frozenset[int] = frozenset()
    ) -> None:
        if generation < self._layer_generation:
            return
        self._layer, self._layer_scale, self._layer_generation = image, device_scale, generation
        self._layer_selected = selected
        self.update()
        self.layerUpdated.emit()

    def layer_is_current(self) -> bool:
        """True once the shown layer image matches the latest drawing (tests, benchmark)."""
        return self._drawing is None or self._layer_generation == self._generation

    def shutdown(self) -> None:
        """Stop the render thread; call before the widget is destroyed."""
        if self._renderer is not None:
            self._renderer.shutdown()

    # ------------------------------------------------------------------ selection
    def selected_ids(self) -> list[int]:
        return self.state.selection

    def set_selection(self, ids: list[int]) -> None:
        """Select strokes of the shown drawing (ids not in it are dropped)."""
        ids = [int(i) for i in ids]
        if self._drawing is not None:
            present = set(self._drawing.ids)
            ids = [i for i in ids if i in present]
        self.state.set_selection(ids)

    def _on_selection_changed(self, ids: list[int]) -> None:
        if not self._adjusting_selection and (self._layer_selected or len(ids) > OVERLAY_SELECTION_LIMIT):
            self._request_layer()
        self._show_nodes()
        self.selectionChanged.emit(list(ids))
        self.update()

    def select_all(self) -> None:
        if self._drawing is not None:
            self.set_selection(self._drawing.ids)

    def _sampled(self) -> list[np.ndarray]:
        if self._samples is None:
            self._samples = sample_strokes(self._drawing) if self._drawing is not None else []
        return self._samples

    def stroke_at(self, canvas_pos: QPointF, tolerance_px: float = 5.0) -> int | None:
        """Topmost stroke within ``tolerance_px`` screen pixels of a canvas point."""
        if self._drawing is None:
            return None
        p = np.array([canvas_pos.x(), canvas_pos.y()])
        tol = tolerance_px / self._scale
        best: int | None = None
        for stroke, pts in zip(self._drawing.strokes, self._sampled(), strict=True):
            d = np.sqrt(((pts - p) ** 2).sum(axis=1)).min()
            if d <= stroke.half_width + tol:
                best = stroke.id  # later strokes are on top
        return best

    def _ids_in_rect(self, rect: QRectF) -> list[int]:
        if self._drawing is None:
            return []
        out = []
        for stroke, pts in zip(self._drawing.strokes, self._sampled(), strict=True):
            inside = (
                (pts[:, 0] >= rect.left())
                & (pts[:, 0] <= rect.right())
                & (pts[:, 1] >= rect.top())
                & (pts[:, 1] <= rect.bottom())
            )
            if inside.any():
                out.append(stroke.id)
        return out

    def _ids_in_lasso(self, polygon: list[QPointF]) -> list[int]:
        if self._drawing is None or len(polygon) < 3:
            return []
        poly = np.array([[p.x(), p.y()] for p in polygon])
        return [
            s.id
            for s, pts in zip(self._drawing.strokes, self._sampled(), strict=True)
            if points_in_polygon(pts, poly).any()
        ]

    # ------------------------------------------------------------------ view
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        if tool not in (TOOL_SELECT, TOOL_LASSO, TOOL_DRAW, TOOL_PAN, TOOL_NODE):
            raise ValueError(tool)
        self._tool = tool
        self.picking = False  # choosing a tool puts the eyedropper away
        cursors = {
            TOOL_SELECT: Qt.CursorShape.ArrowCursor,
            TOOL_LASSO: Qt.CursorShape.CrossCursor,
            TOOL_DRAW: Qt.CursorShape.CrossCursor,
            TOOL_PAN: Qt.CursorShape.OpenHandCursor,
            TOOL_NODE: Qt.CursorShape.PointingHandCursor,
        }
        self.setCursor(cursors[tool])
        self._show_nodes()
        self.update()

    def _show_nodes(self) -> None:
        """The node tool follows the first selected stroke of the shown drawing."""
        stroke = None
        if self._tool == TOOL_NODE and self._drawing is not None and self.state.selection:
            try:
                stroke = self._drawing.stroke(self.state.selection[0])
            except KeyError:
                stroke = None
        self.nodes.show(stroke)

    def scale(self) -> float:
        return self._scale

    def canvas_to_widget(self, p: QPointF) -> QPointF:
        return QPointF(self._offset.x() + p.x() * self._scale, self._offset.y() + p.y() * self._scale)

    def widget_to_canvas(self, p: QPointF) -> QPointF:
        return QPointF((p.x() - self._offset.x()) / self._scale, (p.y() - self._offset.y()) / self._scale)

    def _canvas_size(self) -> tuple[int, int]:
        if self._drawing is None:
            return 224, 224
        return self._drawing.width, self._drawing.height

    def _fit_to_widget(self) -> None:
        w, h = self._canvas_size()
        avail_w = max(self.width() - 2 * MARGIN, 16.0)
        avail_h = max(self.height() - 2 * MARGIN, 16.0)
        self._scale = max(min(avail_w / w, avail_h / h), 0.05)
        self._offset = QPointF((self.width() - w * self._scale) / 2, (self.height() - h * self._scale) / 2)
        self.zoomChanged.emit(self._scale)

    def zoom_fit(self) -> None:
        self._fit = True
        self._fit_to_widget()
        self._request_layer()
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom around ``anchor`` (widget coordinates; the centre by default)."""
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        before = self.widget_to_canvas(anchor)
        self._scale = float(np.clip(self._scale * factor, 0.05, 64.0))
        self._fit = False
        self._offset = QPointF(anchor.x() - before.x() * self._scale, anchor.y() - before.y() * self._scale)
        self._request_layer()
        self.zoomChanged.emit(self._scale)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            old = self._scale
            self._fit_to_widget()
            if abs(old - self._scale) > 1e-9:
                self._request_layer()

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        t0 = time.perf_counter()
        painter = QPainter(self)
        pal = self.palette()
        painter.fillRect(
            self.rect(),
            pal.color(QPalette.ColorRole.Mid).darker(115)
            if pal.color(QPalette.ColorRole.Window).lightness() > 128
            else pal.color(QPalette.ColorRole.Window).darker(140),
        )
        w, h = self._canvas_size()
        target = QRectF(self._offset.x(), self._offset.y(), w * self._scale, h * self._scale)
        # soft shadow so the canvas reads as a sheet of paper
        painter.fillRect(target.translated(2, 3), QColor(0, 0, 0, 60))
        if self._layer is not None:
            if abs(self._layer_scale - self._device_scale()) < 1e-6:
                self._layer.setDevicePixelRatio(self.devicePixelRatioF())
                painter.drawImage(target.topLeft(), self._layer)
            else:  # zoom changed: show the stale layer scaled until the crisp one arrives
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                painter.drawImage(target, self._layer, QRectF(self._layer.rect()))
        else:
            bg = QColor.fromRgbF(*self._drawing.background) if self._drawing else QColor(Qt.GlobalColor.white)
            painter.fillRect(target, bg)
        if self._drawing is not None and not self._drawing.strokes and self.placeholder_text:
            painter.setPen(QColor(120, 120, 120))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.15)
            painter.setFont(font)
            box = target.adjusted(12, 12, -12, -12)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.placeholder_text)
        self._paint_overlays(painter)
        painter.end()
        self.last_paint_seconds = time.perf_counter() - t0

    @property
    def handle_drag(self) -> HandleDrag | None:
        """The scale/rotate handle drag in progress, if any (its preview matrix)."""
        return self._handle

    def start_pick(self) -> None:
        """Arm the eyedropper: the next left click on the canvas picks the colour there."""
        self.picking = True
        self.setCursor(Qt.CursorShape.CrossCursor)

    def colour_at(self, canvas_pos: QPointF) -> tuple[float, float, float] | None:
        """The drawing's colour at a canvas point (strokes over the paper, no overlays).

        Rendered afresh rather than read from the layer image: the layer may be stale
        mid-run or carry the highlight of a large selection.
        """
        if self._drawing is None:
            return None
        s = layer_scale(self._drawing, max(self._device_scale(), 1.0))
        image = render_layer(self._drawing, s, mark_frozen=False)
        x, y = int(canvas_pos.x() * s), int(canvas_pos.y() * s)
        if not (0 <= x < image.width() and 0 <= y < image.height()):
            return None
        c = image.pixelColor(x, y)
        return c.redF(), c.greenF(), c.blueF()

    def _selection_box(self) -> QRectF | None:
        if self._drawing is None or not self.state.selection:
            return None
        selected = set(self.state.selection)
        return selection_box([s.points for s in self._drawing.strokes if s.id in selected])

    def _paint_handles(self, painter: QPainter, highlight: QColor) -> None:
        """The Select tool's scale (squares) and rotate (circle) handles around the selection."""
        box = self._selection_box()
        if box is None or self._move is not None or self._handle is not None:
            return
        painter.save()
        painter.setPen(QPen(highlight, 1, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        corners = self.canvas_to_widget(box.topLeft()), self.canvas_to_widget(box.bottomRight())
        painter.drawRect(QRectF(*corners))
        painter.setPen(QPen(highlight, 1))
        painter.setBrush(QColor(255, 255, 255))
        for name, p in handle_positions(box, self._scale).items():
            w = self.canvas_to_widget(p)
            if name == "rotate":
                painter.drawEllipse(w, 4.5, 4.5)
            else:
                painter.drawRect(QRectF(w.x() - 4, w.y() - 4, 8, 8))
        painter.restore()

    def _paint_overlays(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        selection = self.state.selection
        small = 0 < len(selection) <= OVERLAY_SELECTION_LIMIT
        if small and self._drawing is not None:
            painter.save()
            painter.translate(self._offset)
            painter.scale(self._scale, self._scale)
            if self._move is not None:  # the selection follows the mouse while dragged
                painter.translate(self._move.offset)
            if self._handle is not None:  # ... and the handle's scale or turn
                painter.setTransform(qtransform(self._handle.matrix()), True)
            selected = set(selection)
            chosen = [s for s in self._drawing.strokes if s.id in selected]
            paint_selection(painter, chosen, highlight, 1.0 / self._scale)
            painter.restore()
        if self._tool == TOOL_SELECT:
            self._paint_handles(painter, highlight)
        if self._tool == TOOL_NODE and self.nodes.points is not None:
            painter.save()
            painter.translate(self._offset)
            painter.scale(self._scale, self._scale)
            self.nodes.paint(painter, 1.0 / self._scale, highlight)
            painter.restore()
        if self._rubber is not None:
            r = QRectF(
                self.canvas_to_widget(self._rubber.topLeft()),
                self.canvas_to_widget(self._rubber.bottomRight()),
            )
            fill = QColor(highlight)
            fill.setAlpha(40)
            painter.setPen(QPen(highlight, 1, Qt.PenStyle.DashLine))
            painter.setBrush(fill)
            painter.drawRect(r)
        if len(self._lasso) > 1:
            fill = QColor(highlight)
            fill.setAlpha(40)
            painter.setPen(QPen(highlight, 1, Qt.PenStyle.DashLine))
            painter.setBrush(fill)
            painter.drawPolygon(QPolygonF([self.canvas_to_widget(p) for p in self._lasso]))
        if len(self._freehand) > 1:
            path = QPainterPath(self.canvas_to_widget(QPointF(*self._freehand[0])))
            for x, y in self._freehand[1:]:
                path.lineTo(self.canvas_to_widget(QPointF(x, y)))
            r, g, b, a = self.brush_color
            pen = QPen(QColor.fromRgbF(r, g, b, a), max(1.0, 2 * self.brush_half_width * self._scale))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(pen)
            painter.drawPath(path)
            if self._freehand_frozen:
                painter.setPen(QPen(QColor(0, 120, 215), 1, Qt.PenStyle.DashLine))
                painter.drawPath(path)

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        cpos = self.widget_to_canvas(pos)
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._tool == TOOL_PAN
        ):
            self._drag_mode, self._pan_last = "pan", pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._press = cpos
        mods = event.modifiers()
        if self.picking:
            self.picking = False
            self.set_tool(self._tool)  # its cursor back
            colour = self.colour_at(cpos)
            if colour is not None:
                self.colourPicked.emit(colour)
            return
        if self._tool == TOOL_DRAW:
            self._drag_mode = "draw"
            self._freehand = [(cpos.x(), cpos.y())]
            self._freehand_frozen = self.draw_frozen or bool(mods & Qt.KeyboardModifier.ShiftModifier)
            return
        if self._tool == TOOL_NODE:
            if self.nodes.press(cpos, self._scale):
                self._drag_mode = "node"
                self.update()
                return
            hit = self.stroke_at(cpos)  # a click elsewhere picks the stroke to edit
            self.set_selection([] if hit is None else [hit])
            return
        box = self._selection_box() if self._tool == TOOL_SELECT else None
        handle = handle_at(box, cpos, self._scale) if box is not None else None
        if box is not None and handle is not None:
            self._drag_mode, self._handle = "handle", HandleDrag(handle, box, cpos, self._scale)
            return
        hit = self.stroke_at(cpos)
        additive = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        if self._tool == TOOL_SELECT and hit is not None:
            if additive:
                sel = self.state.selection
                sel.remove(hit) if hit in sel else sel.append(hit)
                self.set_selection(sel)
                self._drag_mode = None
            else:
                if hit not in self.state.selection:
                    self.set_selection([hit])
                # Pressing on a selected stroke and dragging moves the selection (Inkscape).
                self._drag_mode, self._move = "move", MoveDrag(cpos, hit)
            return
        self._drag_mode = (
            "lasso" if (self._tool == TOOL_LASSO or mods & Qt.KeyboardModifier.AltModifier) else "rubber"
        )
        self._additive = additive
        self._lasso = [cpos]
        self._rubber = QRectF(cpos, cpos) if self._drag_mode == "rubber" else None
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        cpos = self.widget_to_canvas(pos)
        if self._drag_mode == "pan" and self._pan_last is not None:
            delta = pos - self._pan_last
            self._pan_last = pos
            self._offset += delta
            self._fit = False
            self.update()
        elif self._drag_mode == "draw":
            last = self._freehand[-1]
            if (cpos.x() - last[0]) ** 2 + (cpos.y() - last[1]) ** 2 >= (0.75 / self._scale) ** 2:
                self._freehand.append((cpos.x(), cpos.y()))
                self.update()
        elif self._drag_mode == "rubber" and self._press is not None:
            self._rubber = QRectF(self._press, cpos).normalized()
            self.update()
        elif self._drag_mode == "lasso":
            self._lasso.append(cpos)
            self.update()
        elif self._drag_mode == "node":
            self.nodes.drag(cpos)
            self.update()
        elif self._drag_mode == "handle" and self._handle is not None:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if self._handle.update(cpos, shift):
                self.selectionDragStarted.emit()
            self.update()
        elif self._drag_mode == "move" and self._move is not None:
            if self._move.update(cpos):
                self.selectionDragStarted.emit()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        mode, self._drag_mode = self._drag_mode, None
        if mode == "node":
            self.nodes.drag(self.widget_to_canvas(event.position()))
            edited = self.nodes.release()
            if edited is not None and self.nodes.stroke_id is not None:
                self.nodesEdited.emit(self.nodes.stroke_id, edited)
        elif mode == "handle" and self._handle is not None:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._handle.update(self.widget_to_canvas(event.position()), shift)
            handle, self._handle = self._handle, None
            if handle.started:  # one transform on release (the window releases what it held)
                self.selectionTransformed.emit(handle.matrix(), handle.text)
        elif mode == "move" and self._move is not None:
            self._move.update(self.widget_to_canvas(event.position()))
            drag, self._move = self._move, None
            moved = drag.moved()
            if drag.started:  # even if it came back: the window releases what it held
                self.selectionMoved.emit(*(moved or (0.0, 0.0)))
            if moved is None:  # a plain click selects just the stroke under the mouse
                self.set_selection([drag.hit])
        elif mode == "pan":
            self._pan_last = None
            self.set_tool(self._tool)
        elif mode == "draw":
            pts, self._freehand = self._freehand, []
            cpos = self.widget_to_canvas(event.position())
            if pts and (cpos.x(), cpos.y()) != pts[-1]:
                pts.append((cpos.x(), cpos.y()))
            if len(pts) >= 2:
                self.freehandFinished.emit(np.asarray(pts, dtype=np.float64), self._freehand_frozen, None)
        elif mode in ("rubber", "lasso"):
            if mode == "rubber" and self._rubber is not None:
                ids = self._ids_in_rect(self._rubber)
            else:
                ids = self._ids_in_lasso(self._lasso)
            if getattr(self, "_additive", False):
                ids = list(dict.fromkeys(self.state.selection + ids))
            self.set_selection(ids)
        self._rubber, self._lasso, self._press = None, [], None
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """With the node tool, a double-click on the edited stroke adds a node there."""
        if self._tool != TOOL_NODE or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseDoubleClickEvent(event)
        cpos = self.widget_to_canvas(event.position())
        if self.stroke_at(cpos) == self.nodes.stroke_id and self.nodes.stroke_id is not None:
            edited = self.nodes.add_node_at(cpos)
            if edited is not None:
                self.nodesEdited.emit(self.nodes.stroke_id, edited)

    def remove_picked_node(self) -> bool:
        """Delete with the node tool: remove the picked anchor (True if one was removed)."""
        if self._tool != TOOL_NODE or self.nodes.stroke_id is None:
            return False
        try:
            edited = self.nodes.remove_selected()
        except ClipDrawError as exc:  # a closed contour at its minimum: say so, delete nothing
            self.nodeEditRefused.emit(f"Cannot delete the node: {exc}")
            return True
        if edited is None:
            return False
        self.nodesEdited.emit(self.nodes.stroke_id, edited)
        return True

    def tabletEvent(self, event: QTabletEvent) -> None:
        """Pen input with the Brush tool: the same stroke as with a mouse, plus pressure."""
        if self._tool != TOOL_DRAW:
            event.ignore()  # Qt then synthesises mouse events for selection/pan
            return
        cpos = self.widget_to_canvas(event.position())
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            self._drag_mode = "tablet"
            self._freehand = [(cpos.x(), cpos.y())]
            self._pressure = [float(event.pressure())]
            mods = event.modifiers()
            self._freehand_frozen = self.draw_frozen or bool(mods & Qt.KeyboardModifier.ShiftModifier)
        elif kind == QEvent.Type.TabletMove and self._drag_mode == "tablet" and self._pressure is not None:
            self._freehand.append((cpos.x(), cpos.y()))
            self._pressure.append(float(event.pressure()))
            self.update()
        elif kind == QEvent.Type.TabletRelease and self._drag_mode == "tablet":
            pts, pressure = self._freehand, self._pressure
            self._freehand, self._pressure, self._drag_mode = [], None, None
            if len(pts) >= 2 and pressure is not None:
                self.freehandFinished.emit(
                    np.asarray(pts, dtype=np.float64), self._freehand_frozen, np.asarray(pressure)
                )
            self.update()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.15**steps, event.position())

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:
        if any(Path(u.toLocalFile()).suffix.lower() in DROP_SUFFIXES for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [
            u.toLocalFile()
            for u in event.mimeData().urls()
            if Path(u.toLocalFile()).suffix.lower() in DROP_SUFFIXES
        ]
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(paths)
