"""Paints the stroke layer into a QImage on its own thread, latest request only.

Why: 256 semi-transparent antialiased strokes cost ~25-45 ms with the raster engine
at typical sizes (more when zoomed in). Doing that in ``paintEvent`` for every
optimisation step would stall the GUI thread. Instead the canvas asks for a layer
image here, keeps painting the previous one (one step stale at worst), and swaps the
new image in when it arrives, so a repaint is a single blit (~1 ms).

Only QImage/QPainter are used in the thread, which Qt documents as thread-safe.
Requests are coalesced: if several snapshots arrive while one is being painted, only
the newest is painted next, so a fast optimisation loop cannot queue up work.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QColor

from app.canvas.painting import layer_scale, render_layer
from clipdraw_core.drawing.strokes import Drawing

logger = logging.getLogger(__name__)


class _LayerJob(QObject):
    """Lives in the render thread; paints whatever request is newest."""

    done = Signal(object)  # (generation, QImage, device_scale, seconds)
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: tuple | None = None
        self._scheduled = False
        self._wake.connect(self._process)

    def request(
        self,
        generation: int,
        drawing: Drawing,
        device_scale: float,
        selected: frozenset[int],
        highlight: QColor,
    ) -> None:
        """Thread-safe: remember the newest request and make sure it gets processed."""
        with self._lock:
            self._pending = (generation, drawing, device_scale, selected, QColor(highlight))
            if self._scheduled:
                return
            self._scheduled = True
        self._wake.emit()

    @Slot()
    def _process(self) -> None:
        with self._lock:
            job, self._pending = self._pending, None
            self._scheduled = False
        if job is None:
            return
        generation, drawing, scale, selected, highlight = job
        t0 = time.perf_counter()
        try:
            image = render_layer(drawing, scale, yield_every=8, selected=selected, highlight=highlight)
        except Exception:  # never let a paint bug kill the render thread
            logger.exception("layer rendering failed")
            return
        self.done.emit((generation, image, layer_scale(drawing, scale), selected, time.perf_counter() - t0))


class LayerRenderer(QObject):
    """GUI-side handle: ``request()`` from the GUI thread, ``imageReady`` comes back on it."""

    imageReady = Signal(int, object, float, object)  # generation, QImage, device scale, selection painted

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("clipdraw-layer-render")
        self._job = _LayerJob()
        self._job.moveToThread(self._thread)
        self._job.done.connect(self._on_done)
        self._thread.start()
        self.last_render_seconds = 0.0

    def request(
        self,
        generation: int,
        drawing: Drawing,
        device_scale: float,
        selected: frozenset[int] = frozenset(),
        highlight: QColor | None = None,
    ) -> None:
        if self._thread.isRunning():
            self._job.request(generation, drawing, device_scale, selected, highlight or QColor(0, 120, 215))

    @Slot(object)
    def _on_done(self, result: tuple) -> None:
        generation, image, scale, selected, seconds = result
        self.last_render_seconds = seconds
        self.imageReady.emit(generation, image, scale, selected)

    def shutdown(self) -> None:
        """Stop the thread and wait for it (called when the canvas goes away)."""
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()

    def is_running(self) -> bool:
        return self._thread.isRunning()
