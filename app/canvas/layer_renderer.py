"""Paints the stroke layer into a QImage off the GUI thread, latest request only.

Why: 256 semi-transparent antialiased strokes cost ~25-45 ms with the raster engine
at typical sizes (more when zoomed in). Doing that in ``paintEvent`` for every
optimisation step would stall the GUI thread. Instead the canvas asks for a layer
image here, keeps painting the previous one (one step stale at worst), and swaps the
new image in when it arrives, so a repaint is a single blit (~1 ms).

Only QImage/QPainter are used off the GUI thread, which Qt documents as thread-safe.
Requests go through the app's latest-only :class:`~app.background.Mailbox`: if several
snapshots arrive while one is being painted, only the newest is painted next, and one
background task at a time drains the mailbox, so a fast loop cannot queue up work.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor

from app.background import Mailbox, Task, start_task
from app.canvas.painting import layer_scale, render_layer
from clipdraw_core.drawing.strokes import Drawing

logger = logging.getLogger(__name__)

#: (generation, drawing, device scale, selection to paint, highlight colour)
LayerRequest = tuple[int, Drawing, float, frozenset[int], QColor]


class LayerRenderer(QObject):
    """GUI-side handle: ``request()`` from the GUI thread, ``imageReady`` comes back on it."""

    imageReady = Signal(int, object, float, object)  # generation, QImage, device scale, selection painted

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mailbox: Mailbox[LayerRequest] = Mailbox()
        self._task: Task | None = None
        self._closed = False
        self.last_render_seconds = 0.0

    def request(
        self,
        generation: int,
        drawing: Drawing,
        device_scale: float,
        selected: frozenset[int] = frozenset(),
        highlight: QColor | None = None,
    ) -> None:
        if self._closed:
            return
        job = (generation, drawing, device_scale, selected, QColor(highlight or QColor(0, 120, 215)))
        if self._mailbox.put(job):  # no painter is draining the mailbox: start one
            self._task = start_task(self._paint_latest, "clipdraw-layer-render", on_progress=self._on_done)

    def _paint_latest(self, task: Task) -> None:
        """Worker thread: paint the newest request until none is waiting."""
        while not task.cancelled() and (job := self._mailbox.take_or_idle()) is not None:
            generation, drawing, scale, selected, highlight = job
            t0 = time.perf_counter()
            try:
                image = render_layer(drawing, scale, yield_every=8, selected=selected, highlight=highlight)
            except Exception:  # never let a paint bug stop the painting
                logger.exception("layer rendering failed")
                continue
            task.report_progress(
                (generation, image, layer_scale(drawing, scale), selected, time.perf_counter() - t0)
            )
        if task.cancelled():
            self._mailbox.take()  # give the claim back: a later request starts a new painter

    def _on_done(self, result: tuple) -> None:
        if self._closed:
            return
        generation, image, scale, selected, seconds = result
        self.last_render_seconds = seconds
        self.imageReady.emit(generation, image, scale, selected)

    def shutdown(self) -> None:
        """Stop painting and wait for the current paint (called when the canvas goes away)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            self._task.wait()

    def is_running(self) -> bool:
        return not self._closed
