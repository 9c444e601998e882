"""The window's shared state: selection, unsaved-changes flag, project path.

Why one object: these used to live in the canvas (selection) and in the file actions
(dirty flag, path), and the window polled both. Now each is set in one place and the
views observe the signals: the canvas repaints the selection, the window's title
follows the path and the dirty flag, menu actions follow the selection. The engine's
state (the drawing, the run) stays in :class:`~app.run.controller.RunController`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal


class AppState(QObject):
    selectionChanged = Signal(list)  # stroke ids
    dirtyChanged = Signal(bool)
    projectPathChanged = Signal(object)  # Path | None
    recentFilesChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._selection: list[int] = []
        self._dirty = False
        self._project_path: Path | None = None

    # ------------------------------------------------------------ selection
    @property
    def selection(self) -> list[int]:
        return list(self._selection)

    def set_selection(self, ids: Iterable[int]) -> bool:
        """Select these stroke ids (in this order); True if the selection changed."""
        ids = [int(i) for i in ids]
        if ids == self._selection:
            return False
        self._selection = ids
        self.selectionChanged.emit(list(ids))
        return True

    # ------------------------------------------------------------ document
    @property
    def dirty(self) -> bool:
        """True while there are changes that were not saved to the project file."""
        return self._dirty

    def set_dirty(self, dirty: bool = True) -> None:
        if bool(dirty) != self._dirty:
            self._dirty = bool(dirty)
            self.dirtyChanged.emit(self._dirty)

    @property
    def project_path(self) -> Path | None:
        return self._project_path

    def set_project_path(self, path: str | Path | None) -> None:
        new = None if path is None else Path(path)
        if new != self._project_path:
            self._project_path = new
            self.projectPathChanged.emit(new)

    def set_document(self, path: str | Path | None, dirty: bool) -> None:
        """After New / Open / Save / Recover: which file is shown and whether it is saved."""
        self.set_project_path(path)
        self.set_dirty(dirty)

    def recent_files_changed(self) -> None:
        self.recentFilesChanged.emit()
