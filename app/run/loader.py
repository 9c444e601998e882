"""Loads a CLIP model as a background task so the window never freezes.

``load_clip`` takes seconds (minutes on a first download) and cannot be interrupted
half-way, so Cancel means "forget the result": the task finishes on its own and its
result is only cached. Results are cached per (model, weights, device) so a second
Draw starts at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.background import Task, start_task

if TYPE_CHECKING:
    from clipdraw_core.clip.clip_model import ClipModel

logger = logging.getLogger(__name__)

Key = tuple[str, str, str]


class ModelLoader(QObject):
    """Start a load, get ``loaded(model)`` or ``failed(message, exc)``; ``cancel()`` drops it."""

    loaded = Signal(object)
    failed = Signal(str, object)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: dict[Key, ClipModel] = {}
        self._tasks: list[Task] = []
        self._current: Task | None = None

    def cached(self, model_name: str, weights: str, device: str) -> ClipModel | None:
        return self._cache.get((model_name, weights, device))

    def put(self, model_name: str, weights: str, device: str, model: ClipModel) -> None:
        self._cache[(model_name, weights, device)] = model

    def is_busy(self) -> bool:
        return self._current is not None

    def load(self, model_name: str, weights: str, device: str) -> None:
        self.cancel()
        key: Key = (model_name, weights, device)

        def work(_task: Task) -> ClipModel:
            from clipdraw_core.clip.clip_model import load_clip

            return load_clip(*key)

        task = start_task(
            work,
            "clipdraw-model-load",
            on_result=lambda model: self._on_loaded(task, key, model),
            on_error=lambda message, exc: self._on_failed(task, message, exc),
            on_finished=lambda: self._tasks.remove(task) if task in self._tasks else None,
        )
        self._tasks.append(task)
        self._current = task
        self.busyChanged.emit(True)

    def cancel(self) -> None:
        if self._current is not None:
            self._current = None
            self.busyChanged.emit(False)

    def _on_loaded(self, task: Task, key: Key, model: ClipModel) -> None:
        self._cache[key] = model
        if task is self._current:
            self._current = None
            self.busyChanged.emit(False)
            self.loaded.emit(model)

    def _on_failed(self, task: Task, message: str, exc: object) -> None:
        if task is self._current:
            self._current = None
            self.busyChanged.emit(False)
            self.failed.emit(message, exc)

    def shutdown(self) -> None:
        """Wait for every load (a load cannot be interrupted; this waits for it)."""
        self.cancel()
        for task in list(self._tasks):
            task.wait()
