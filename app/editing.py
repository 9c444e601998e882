"""Editing strokes by hand: move, nudge, flip, restyle, reorder, duplicate, clipboard.

Each user intention becomes one undoable command (:mod:`app.commands_undo`) carrying
an engine command, so it means the same paused, mid-run and with no session (see
:mod:`app.run.local_edits`). The clipboard holds the strokes twice: our own MIME type
with their plain data (exact geometry and style, between our windows) and SVG text
from our exporter, so Inkscape can paste them; pasting SVG text (what Inkscape copies)
imports its strokes with the SVG importer.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QColor, QGuiApplication, QUndoStack
from PySide6.QtWidgets import QColorDialog, QInputDialog, QWidget

from app.commands_undo import (
    AddStrokesCommand,
    DeleteCommand,
    NodeEditCommand,
    ReorderCommand,
    StyleCommand,
    TransformCommand,
)
from clipdraw_core.drawing.commands import (
    SetFrozen,
    SetStrokeStyle,
    rotation_about,
    scaling_about,
    translation,
)
from clipdraw_core.drawing.nodes import join_strokes, split_stroke
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ClipDrawError
from clipdraw_core.io.svg_export import drawing_to_svg
from clipdraw_core.io.svg_import import load_svg_strokes

logger = logging.getLogger(__name__)

#: Our clipboard format: JSON of ``{"strokes": [Stroke.to_dict(), ...]}``.
STROKES_MIME = "application/x-clipdraw-strokes"
#: Actions (rows of app.actions) that need a selection; the window enables them with it.
SELECTION_ACTIONS = (
    "join", "copy", "cut", "duplicate", "flip_h", "flip_v", "rotate_cw", "rotate_ccw", "scale_up",
    "scale_down",
    "recolour", "eyedropper", "opacity", "width", "match_style",
    "raise", "lower", "raise_top", "lower_bottom", "nudge_left", "nudge_right", "nudge_up",
    "nudge_down", "nudge_left_10", "nudge_right_10", "nudge_up_10", "nudge_down_10",
)  # fmt: skip
#: Where a paste lands relative to the copied strokes (Inkscape pastes at the mouse).
PASTE_OFFSET = 10.0


class EditHost(Protocol):
    """What the editor needs from the window."""

    undo_stack: QUndoStack

    def show_status(self, message: str, timeout_ms: int = 0) -> None: ...
    def show_error(self, message: str, exc: object = None) -> None: ...


class Controller(Protocol):
    def is_active(self) -> bool: ...
    def submit(self, cmd: object) -> None: ...
    def drawing(self) -> Drawing | None: ...
    def allocate_ids(self, n: int = 1) -> list[int]: ...


class Selection(Protocol):
    def selected_ids(self) -> list[int]: ...
    def set_selection(self, ids: list[int]) -> None: ...


class StrokeEditor:
    """The window's hand-editing verbs, each one undo step."""

    def __init__(self, host: EditHost, controller: Controller, canvas: Selection, parent: QWidget) -> None:
        self.host, self.controller, self.canvas, self.parent = host, controller, canvas, parent
        #: Strokes held still (temporarily frozen) while dragged mid-run.
        self._held: tuple[int, ...] = ()

    # ------------------------------------------------------------ helpers
    def _selected(self) -> list[Stroke]:
        drawing = self.controller.drawing()
        ids = set(self.canvas.selected_ids())
        return [s for s in drawing.strokes if s.id in ids] if drawing is not None and ids else []

    def _bbox_centre(self, strokes: Sequence[Stroke]) -> tuple[float, float]:
        lo = (
            min(float(s.points[:, 0].min()) for s in strokes),
            min(float(s.points[:, 1].min()) for s in strokes),
        )
        hi = (
            max(float(s.points[:, 0].max()) for s in strokes),
            max(float(s.points[:, 1].max()) for s in strokes),
        )
        return (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2

    def _transform(self, matrix: Sequence[float], text: str) -> None:
        ids = [s.id for s in self._selected()]
        if ids:
            self.host.undo_stack.push(TransformCommand(self.controller, ids, matrix, text))

    # ------------------------------------------------------------ transforms
    def move(self, dx: float, dy: float) -> None:
        """Move the selection by ``(dx, dy)`` canvas px (a drag, or the arrow keys)."""
        if dx or dy:
            self._transform(translation(dx, dy), "Move")

    def begin_drag(self) -> None:
        """Mid-run, hold the dragged strokes still (not undoable: released on drop)."""
        if self.controller.is_active():
            self._held = tuple(s.id for s in self._selected() if not s.frozen)
            if self._held:
                self.controller.submit(SetFrozen(self._held, True))

    def end_drag(self, dx: float, dy: float) -> None:
        """The drop: one undoable move, then the held strokes join the optimisation again."""
        self.move(dx, dy)
        self._release_held()

    def end_transform(self, matrix: Sequence[float], text: str) -> None:
        """A scale/rotate handle released: one undoable transform, then release the held strokes."""
        if tuple(float(v) for v in matrix) != translation(0.0, 0.0):
            self._transform(matrix, text)
        self._release_held()

    def _release_held(self) -> None:
        held, self._held = self._held, ()
        if held:
            self.controller.submit(SetFrozen(held, False))

    def set_nodes(self, stroke_id: int, edited: object) -> None:
        """A node edit: the stroke gets the edited stroke's points and contour counts (same id, style, flags).

        Only the geometry is taken, so a colour the optimiser changed mid-drag is kept.
        """
        drawing = self.controller.drawing()
        if drawing is None:
            return
        try:
            if not isinstance(edited, Stroke):
                raise TypeError(f"a node edit carries a stroke, got {type(edited).__name__}")
            old = drawing.stroke(int(stroke_id))
            new = replace(old, points=edited.points, subpaths=edited.subpaths, anchor=None, respect=0.0)
        except (KeyError, TypeError, ClipDrawError) as exc:
            self.host.show_error(f"Cannot edit the nodes: {exc}", exc)
            return
        self.host.undo_stack.push(NodeEditCommand(self.controller, old, new))

    def split_at_node(self) -> None:
        """Break the node tool's stroke at its picked node (Inkscape's Break Path).

        An open stroke is cut in two at an inner node; a one-contour shape is opened there
        into an open stroke (the fill goes, the outline stays); a compound shape is refused.
        """
        nodes = getattr(self.canvas, "nodes", None)
        drawing = self.controller.drawing()
        if nodes is None or nodes.stroke_id is None or nodes.selected is None or drawing is None:
            self.host.show_status("With the Nodes tool (N), click an inner node to split at", 3000)
            return
        if nodes.selected % 3:
            return
        try:
            old = drawing.stroke(nodes.stroke_id)
            head, second = split_stroke(old, nodes.selected // 3)
        except (KeyError, ClipDrawError) as exc:
            self.host.show_status(f"Cannot split: {exc}", 4000)
            return
        stack = self.host.undo_stack
        if second is None:  # a shape opened at the node: one stroke, one step
            stack.push(NodeEditCommand(self.controller, old, head, "Open shape"))
            self.host.show_status("Opened the shape at the node: it is an open stroke now (no fill)", 4000)
            return
        (new_id,) = self.controller.allocate_ids(1)
        tail = replace(old, id=new_id, points=second, anchor=None, respect=0.0)
        stack.beginMacro("Split stroke")
        stack.push(NodeEditCommand(self.controller, old, head))
        stack.push(AddStrokesCommand(self.controller, [tail], "Split stroke"))
        stack.endMacro()

    def join(self) -> None:
        """Join two selected open strokes end to end (the first selected keeps its id and style)."""
        ids = self.canvas.selected_ids()
        drawing = self.controller.drawing()
        if drawing is None or len(ids) != 2:
            self.host.show_status("Select exactly two strokes to join", 3000)
            return
        try:
            a, b = drawing.stroke(ids[0]), drawing.stroke(ids[1])
            joined = join_strokes(a, b)
        except (KeyError, ClipDrawError) as exc:
            self.host.show_status(f"Cannot join: {exc}", 4000)
            return
        stack = self.host.undo_stack
        stack.beginMacro("Join strokes")
        stack.push(DeleteCommand(self.controller, [b.id]))
        stack.push(NodeEditCommand(self.controller, a, joined))
        stack.endMacro()
        self.canvas.set_selection([a.id])

    def flip(self, horizontal: bool) -> None:
        """Mirror the selection about its bounding box's centre (Inkscape's H / V)."""
        strokes = self._selected()
        if strokes:
            cx, cy = self._bbox_centre(strokes)
            m = scaling_about(-1.0, 1.0, cx, cy) if horizontal else scaling_about(1.0, -1.0, cx, cy)
            self._transform(m, "Flip horizontal" if horizontal else "Flip vertical")

    def rotate(self, degrees: float) -> None:
        """Turn the selection about its bounding box's centre (Inkscape's [ and ], 15 degrees)."""
        strokes = self._selected()
        if strokes:
            cx, cy = self._bbox_centre(strokes)
            self._transform(rotation_about(math.radians(degrees), cx, cy), f"Rotate {degrees:+g}°")

    def scale(self, factor: float) -> None:
        """Scale the selection about its centre, keeping the aspect (widths follow the size)."""
        strokes = self._selected()
        if strokes and factor > 0:
            cx, cy = self._bbox_centre(strokes)
            self._transform(scaling_about(factor, factor, cx, cy), f"Scale {factor:g}x")

    # ------------------------------------------------------------ style
    def _style(self, command: SetStrokeStyle, text: str) -> None:
        if command.ids:
            self.host.undo_stack.push(StyleCommand(self.controller, command, text))

    def recolour(self, color: tuple[float, float, float] | None = None) -> None:
        strokes = self._selected()
        if not strokes:
            return
        if color is None:
            r, g, b, _ = strokes[0].color
            picked = QColorDialog.getColor(QColor.fromRgbF(r, g, b), self.parent, "Stroke colour")
            if not picked.isValid():
                return
            color = (picked.redF(), picked.greenF(), picked.blueF())
        self._style(SetStrokeStyle(tuple(s.id for s in strokes), color=color), "Recolour")

    def recolour_to(self, color: tuple[float, float, float], text: str = "Recolour") -> bool:
        """Give the selection this colour, outlines and shapes' fills alike (a palette swatch).

        One undo step; opacities are kept. False when nothing is selected.
        """
        strokes = self._selected()
        if not strokes:
            return False
        has_fill = any(s.fill is not None for s in strokes)
        ids = tuple(s.id for s in strokes)
        self._style(SetStrokeStyle(ids, color=color, fill=color if has_fill else None), text)
        return True

    def set_opacity(self, opacity: float | None = None) -> None:
        strokes = self._selected()
        if not strokes:
            return
        if opacity is None:
            value, ok = QInputDialog.getInt(
                self.parent, "Opacity", "Opacity (%):", round(strokes[0].color[3] * 100), 0, 100
            )
            if not ok:
                return
            opacity = value / 100
        self._style(SetStrokeStyle(tuple(s.id for s in strokes), opacity=opacity), "Set opacity")

    def set_width(self, width: float | None = None) -> None:
        """Set the full stroke width (px, as in the SVG); the engine stores half of it."""
        strokes = self._selected()
        if not strokes:
            return
        if width is None:
            value, ok = QInputDialog.getDouble(
                self.parent, "Width", "Stroke width (px):", 2 * strokes[0].half_width, 0.1, 200.0, 1
            )
            if not ok:
                return
            width = value
        self._style(SetStrokeStyle(tuple(s.id for s in strokes), half_width=width / 2), "Set width")

    def match_style(self) -> None:
        """Give every selected stroke the style of the first selected (the one clicked first)."""
        ids = self.canvas.selected_ids()
        drawing = self.controller.drawing()
        if drawing is None or len(ids) < 2:
            self.host.show_status("Select the stroke to copy from first, then the others", 3000)
            return
        try:
            source = drawing.stroke(ids[0])
        except KeyError:
            return
        cmd = SetStrokeStyle(tuple(ids[1:]), color=source.color, half_width=source.half_width)
        self._style(cmd, "Match style")

    # ------------------------------------------------------------ order
    def reorder(self, where: str) -> None:
        ids = [s.id for s in self._selected()]
        if ids:
            text = {"raise": "Raise", "lower": "Lower", "top": "Raise to top", "bottom": "Lower to bottom"}
            self.host.undo_stack.push(ReorderCommand(self.controller, ids, where, text[where]))

    # ------------------------------------------------------------ copies
    def _add_copies(self, strokes: Sequence[Stroke], text: str, offset: float) -> None:
        if not strokes:
            return
        ids = self.controller.allocate_ids(len(strokes))
        # Copies are free strokes of their own: no soft lock tied to the original's place.
        copies = [
            replace(s, id=i, points=s.points + offset, respect=0.0, anchor=None)
            for s, i in zip(strokes, ids, strict=True)
        ]
        self.host.undo_stack.push(AddStrokesCommand(self.controller, copies, text))
        self.canvas.set_selection(list(ids))

    def duplicate(self) -> None:
        """Copies on top with fresh ids, in the same place (Inkscape's Ctrl+D), then selected."""
        self._add_copies(self._selected(), "Duplicate", 0.0)

    def copy(self) -> bool:
        strokes = self._selected()
        drawing = self.controller.drawing()
        if not strokes or drawing is None:
            return False
        mime = QMimeData()
        mime.setData(STROKES_MIME, json.dumps({"strokes": [s.to_dict() for s in strokes]}).encode())
        mime.setText(drawing_to_svg(drawing.with_strokes(strokes), layered=False))
        QGuiApplication.clipboard().setMimeData(mime)
        self.host.show_status(f"Copied {len(strokes)} stroke(s)", 2000)
        return True

    def cut(self) -> None:
        if self.copy():
            self.host.undo_stack.push(DeleteCommand(self.controller, self.canvas.selected_ids()))
            self.canvas.set_selection([])

    def paste(self) -> None:
        """Our strokes (exact, offset a little) or the strokes of SVG text on the clipboard."""
        mime = QGuiApplication.clipboard().mimeData()
        drawing = self.controller.drawing()
        if mime is None or drawing is None:
            return
        try:
            if mime.hasFormat(STROKES_MIME):
                data = json.loads(bytes(mime.data(STROKES_MIME).data()).decode())
                strokes = [Stroke.from_dict(s) for s in data["strokes"]]
                self._add_copies(strokes, "Paste", PASTE_OFFSET)
                return
            text = mime.text().strip() if mime.hasText() else ""
            if text.startswith("<") and "<svg" in text[:4096]:
                strokes = load_svg_strokes(text.encode(), drawing.width, drawing.height)
                self._add_copies(strokes, "Paste SVG", 0.0)
                return
        except (ClipDrawError, ValueError, KeyError, TypeError) as exc:
            self.host.show_error(f"Cannot paste: {exc}", exc)
            return
        self.host.show_status("Nothing to paste: copy strokes here or SVG in Inkscape", 3000)
