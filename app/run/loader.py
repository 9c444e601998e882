"""Loads a CLIP model on a background thread so the window never freezes.

``load_clip`` takes seconds (minutes on a first download) and cannot be interrupted
half-way, so Cancel means "forget the result": the thread finishes on its own and
its result is dropped. Results are cached per (model, weights, device) so a second
Draw starts at once.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from app.run.worker import error_message

logger = logging.getLogger(__name__)


class _LoadThread(QThread):
    loaded = Signal(object)
    failed = Signal(str, object)

    def __init__(self, model_name: str, weights: str, device: str) -> None:
        super().__init__()
        self.setObjectName("clipdraw-model-load")
        self.args = (model_name, weights, device)

    def run(self) -> None:
        try:
            from clipdraw_core.clip.clip_model import load_clip

            model = load_clip(*self.args)
        except Exception as exc:
            logger.warning("loading CLIP %s failed: %s", self.args, exc)
            self.failed.emit(error_message(exc), exc)
        else:
            self.loaded.emit(model)


class ModelLoader(QObject):
    """Start a load, get ``loaded(model)`` or ``failed(message, exc)``; ``cancel()`` drops it."""

    loaded = Signal(object)
    failed = Signal(str, object)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: dict[tuple[str, str, str], Any] = {}
        self._threads: list[_LoadThread] = []
        self._current: _LoadThread | None = None

    def cached(self, model_name: str, weights: str, device: str) -> Any:
        return self._cache.get((model_name, weights, device))

    def put(self, model_name: str, weights: str, device: str, model: Any) -> None:
        self._cache[(model_name, weights, device)] = model

    def is_busy(self) -> bool:
        return self._current is not None

    def load(self, model_name: str, weights: str, device: str) -> None:
        self.cancel()
        thread = _LoadThread(model_name, weights, device)
        thread.loaded.connect(lambda m, t=thread: self._on_loaded(t, m))
        thread.failed.connect(lambda msg, exc, t=thread: self._on_failed(t, msg, exc))
        thread.finished.connect(lambda t=thread: self._reap(t))
        self._threads.append(thread)
        self._current = thread
        self.busyChanged.emit(True)
        thread.start()

    def cancel(self) -> None:
        if self._current is not None:
            self._current = None
            self.busyChanged.emit(False)

    def _on_loaded(self, thread: _LoadThread, model: Any) -> None:
        self._cache[thread.args] = model
        if thread is self._current:
            self._current = None
            self.busyChanged.emit(False)
            self.loaded.emit(model)

    def _on_failed(self, thread: _LoadThread, message: str, exc: object) -> None:
        if thread is self._current:
            self._current = None
            self.busyChanged.emit(False)
            self.failed.emit(message, exc)

    def _reap(self, thread: _LoadThread) -> None:
        if thread in self._threads and not thread.isRunning():
            self._threads.remove(thread)
            thread.deleteLater()

    def shutdown(self) -> None:
        """Join every load thread (a load cannot be interrupted; this waits for it)."""
        self.cancel()
        for thread in list(self._threads):
            thread.wait()
        self._threads.clear()
