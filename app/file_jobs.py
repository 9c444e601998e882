"""Reading files for the window without freezing it: big files load as background tasks.

Opening a project or importing a seed sketch parses the whole file (a big SVG or
project takes seconds). Files under :data:`BACKGROUND_LOAD_BYTES` are read at once on
the GUI thread (a few milliseconds, and the caller sees the result immediately);
bigger ones are read by a background task (:mod:`app.background`) while the status
bar shows a busy bar with Cancel. The parsers cannot be interrupted half-way, so
Cancel means "forget the result": the window is usable at once and the task ends on
its own. The result is always applied on the GUI thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.background import Task, error_message, start_task

logger = logging.getLogger(__name__)

#: Files at least this big are read off the GUI thread.
BACKGROUND_LOAD_BYTES = 256 * 1024


def _size(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # missing or unreadable: the reader reports it at once


class FileJobs(QObject):
    """Runs ``read()`` (sync or in the background) and hands its result to ``apply``."""

    busyChanged = Signal(bool, str)  # busy, text for the status bar
    failed = Signal(str, str)  # what failed ("Cannot open project"), one-line reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Task] = []

    def run(
        self,
        path: str | os.PathLike[str],
        read: Callable[[], Any],
        apply: Callable[[Any], None],
        failure: str,
        label: str,
    ) -> bool:
        """Read ``path`` with ``read()``; ``apply(result)`` on success, ``failed`` otherwise.

        Returns False when a small file failed to read (reported already), True when
        it was applied or is being read in the background.
        """
        if _size(path) < BACKGROUND_LOAD_BYTES:
            try:
                result = read()
            except Exception as exc:
                self.failed.emit(failure, error_message(exc))
                return False
            apply(result)
            return True

        def done(task: Task, result: Any) -> None:
            if task in self._jobs:
                self._forget(task)
                apply(result)

        def error(task: Task, message: str) -> None:
            if task in self._jobs:
                self._forget(task)
                self.failed.emit(failure, message)

        task = start_task(
            lambda _task: read(),
            "clipdraw-file-load",
            on_result=lambda result: done(task, result),
            on_error=lambda message, _exc: error(task, message),
        )
        self._jobs.append(task)
        self.busyChanged.emit(True, f"{label} {Path(path).name}…")
        return True

    def _forget(self, task: Task) -> None:
        self._jobs.remove(task)
        if not self._jobs:
            self.busyChanged.emit(False, "")

    def is_busy(self) -> bool:
        return bool(self._jobs)

    def cancel(self) -> None:
        """Forget every file being read (their tasks end on their own)."""
        if self._jobs:
            self._jobs.clear()
            self.busyChanged.emit(False, "")

    def wait(self) -> None:
        """Window close: let running reads end (their results are dropped)."""
        jobs, self._jobs = list(self._jobs), []
        for task in jobs:
            task.wait()
