"""File actions: export SVG/PNG, save/open projects, recent files, drops, autosave.

Why they live apart from the window: each action is a small function of the current
drawing/config plus a path, so tests call them with a path and no dialog. Dialogs
are only opened when no path is given. Writes go through the engine's atomic
writers, so a crash mid-save never destroys the previous file.

Autosave: every N seconds while there is unsaved work, the project is written to the
application data folder; a clean exit deletes it. If it is still there at start-up,
the previous run crashed and the window offers to recover it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from app import settings
from app.background import Task, error_message, start_task
from app.file_jobs import FileJobs
from app.state import AppState
from clipdraw_core.drawing.strokes import Drawing, Stroke

if TYPE_CHECKING:
    from app.errors import ErrorBanner
    from app.run.controller import RunController
    from clipdraw_core.drawing.guidance import Guidance
    from clipdraw_core.io.project_history import ProjectHistory
    from clipdraw_core.optim.config import SessionConfig

logger = logging.getLogger(__name__)

PROJECT_FILTER = "CLIPDraw projects (*.cdproj *.json);;All files (*)"
PROJECT_SUFFIX = ".cdproj"
AUTOSAVE_NAME = "autosave.cdproj"


def data_dir() -> Path:
    """Where autosaves go (``CLIPDRAW_DATA_DIR`` overrides, e.g. for tests)."""
    override = os.environ.get("CLIPDRAW_DATA_DIR")
    if override:
        path = Path(override)
    else:
        path = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_path() -> Path:
    return data_dir() / AUTOSAVE_NAME


class FileSignals(QObject):
    pngExported = Signal(object, object)  # target path, error message or None
    projectShown = Signal(object)  # path of a project (or autosave) now on the canvas


class FileHost(Protocol):
    """What the file actions need from the window (which this module does not import)."""

    controller: RunController
    banner: ErrorBanner

    def current_config(self) -> SessionConfig: ...
    def load_project_data(
        self,
        config: SessionConfig,
        drawing: Drawing,
        step: int,
        guidance: Guidance | None = None,
        history: ProjectHistory | None = None,
    ) -> None: ...
    def project_history(self) -> ProjectHistory | None: ...
    def add_seed_strokes(self, strokes: list[Stroke], text: str) -> None: ...
    def show_status(self, message: str, timeout_ms: int = 0) -> None: ...


class FileActions:
    """The window's file operations (see module docstring).

    ``parent`` owns the dialogs, ``host`` is what they act on, ``state`` holds the
    project path and the unsaved-changes flag (the window's title follows it).
    """

    def __init__(self, parent: QWidget, host: FileHost, state: AppState) -> None:
        self.parent = parent
        self.host = host
        self.state = state
        self.signals = FileSignals(parent)
        #: Reads projects and seed sketches; big files in the background (busy bar, Cancel).
        self.jobs = FileJobs(parent)
        self.jobs.failed.connect(lambda what, why: self.host.banner.show_message(f"{what}: {why}"))
        self._exports: list[Task] = []
        self.autosave_timer = QTimer(parent)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(max(5, settings.read("autosave_seconds")) * 1000)

    # ------------------------------------------------------------ state (kept in AppState)
    @property
    def project_path(self) -> Path | None:
        return self.state.project_path

    @project_path.setter
    def project_path(self, path: Path | None) -> None:
        self.state.set_project_path(path)

    @property
    def dirty(self) -> bool:
        return self.state.dirty

    @dirty.setter
    def dirty(self, dirty: bool) -> None:
        self.state.set_dirty(dirty)

    # ------------------------------------------------------------ helpers
    def _ask_save(self, title: str, filt: str, suffix: str) -> Path | None:
        path = self.state.project_path
        start = str(path.with_suffix(suffix)) if path else settings.read("last_dir")
        path, _ = QFileDialog.getSaveFileName(self.parent, title, start, filt)
        if not path:
            return None
        p = Path(path)
        if not p.suffix:
            p = p.with_suffix(suffix)
        settings.write("last_dir", str(p.parent))
        return p

    def _error(self, action: str, exc: BaseException) -> None:
        self.host.banner.show_message(f"{action}: {error_message(exc)}")

    def _drawing(self) -> Drawing | None:
        drawing = self.host.controller.drawing()
        if drawing is None:
            self.host.banner.show_message("There is no drawing yet: press Draw first.", level="info")
        return drawing

    def _title(self) -> str:
        cfg = self.host.current_config()
        return cfg.prompt

    # ------------------------------------------------------------ export
    def export_svg(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Write the current drawing as SVG (Ctrl+E)."""
        drawing = self._drawing()
        if drawing is None:
            return None
        target = Path(path) if path is not None else self._ask_save("Export SVG", "SVG (*.svg)", ".svg")
        if target is None:
            return None
        try:
            from clipdraw_core.io.svg_export import save_svg

            cfg = self.host.current_config()
            entries, mode, _ = cfg.look_palette()
            save_svg(
                target,
                drawing,
                title=self._title(),
                description="Made with CLIPDraw Studio",
                transparent=cfg.transparent,
                palette=entries if mode == "hard" else (),
            )
        except Exception as exc:
            self._error("Export failed", exc)
            return None
        self.host.show_status(f"Exported {target}", 5000)
        return target

    def export_png(self, path: str | os.PathLike[str] | None = None, width: int | None = None) -> Path | None:
        """Write the current drawing as a PNG of a chosen width."""
        drawing = self._drawing()
        if drawing is None:
            return None
        if width is None:
            width, ok = QInputDialog.getInt(
                self.parent, "Export PNG", "Image width (px):", max(drawing.width, 1024), 16, 8192, 64
            )
            if not ok:
                return None
        target = Path(path) if path is not None else self._ask_save("Export PNG", "PNG (*.png)", ".png")
        if target is None:
            return None
        # The engine's renderer takes ~1 s at large sizes: render and write off the GUI thread.
        from clipdraw_core.io.raster_export import save_png

        transparent = self.host.current_config().transparent
        task = start_task(
            lambda _task: save_png(target, drawing, int(width), transparent=transparent),
            "clipdraw-png-export",
            on_result=lambda _path: self._png_done(target, None),
            on_error=lambda message, _exc: self._png_done(target, message),
            on_finished=lambda: self._exports.remove(task),
        )
        self._exports.append(task)
        self.host.show_status(f"Exporting {target.name}…")
        return target

    def _png_done(self, target: Path, error: str | None) -> None:
        if error is not None:
            self.host.banner.show_message(f"PNG export failed: {error}")
        else:
            self.host.show_status(f"Exported {target}", 5000)
        self.signals.pngExported.emit(target, error)

    def shutdown(self) -> None:
        """Finish running exports (window close): a started file is always completed."""
        self.autosave_timer.stop()
        for task in list(self._exports):
            task.wait()
        self.jobs.wait()

    # ------------------------------------------------------------ projects
    def save_project(
        self, path: str | os.PathLike[str] | None = None, *, save_as: bool = False
    ) -> Path | None:
        """Ctrl+S / Ctrl+Shift+S: write config, strokes (ids, frozen flags) and step."""
        drawing = self._drawing()
        if drawing is None:
            return None
        if path is not None:
            target: Path | None = Path(path)
        elif self.state.project_path is not None and not save_as:
            target = self.state.project_path
        else:
            target = self._ask_save("Save project", PROJECT_FILTER, PROJECT_SUFFIX)
        if target is None:
            return None
        try:
            self._write_project(target, drawing)
        except Exception as exc:
            self._error("Saving failed", exc)
            return None
        self.state.set_document(target, dirty=False)
        settings.add_recent_file(target)
        self.state.recent_files_changed()
        self.host.show_status(f"Saved {target}", 5000)
        return target

    def _write_project(self, target: Path, drawing: Drawing) -> None:
        """The window's settings, drawing, step and guidance as a project file (save and autosave)."""
        from clipdraw_core.io.project import save_project

        save_project(
            target,
            self.host.current_config(),
            drawing,
            step=self.host.controller.step(),
            guidance=self.host.controller.guidance,
            history=self.host.project_history(),
        )

    def open_project(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Ctrl+O: show a saved project; Draw continues it."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self.parent, "Open project", settings.read("last_dir"), PROJECT_FILTER
            )
            if not chosen:
                return False
            path = chosen
        opened = Path(path)

        def remember() -> None:
            self.state.set_document(opened, dirty=False)
            settings.write("last_dir", str(opened.parent))
            settings.add_recent_file(opened)
            self.state.recent_files_changed()

        return self._show_project(opened, "Cannot open project", then=remember)

    # ------------------------------------------------------------ drops
    def import_files(self, paths: list[str]) -> None:
        """Dropped files: projects open; SVGs and images become seed strokes (undoable)."""
        for p in paths:
            suffix = Path(p).suffix.lower()
            if suffix in (".cdproj", ".json"):
                self.open_project(p)
            else:
                self.import_seed(p)

    def import_seed(self, path: str | os.PathLike[str]) -> bool:
        """Trace an SVG or image into seed strokes on the current canvas (one undoable edit)."""
        from clipdraw_core.io.seed import load_seed

        controller = self.host.controller
        drawing = controller.drawing()
        cfg = self.host.current_config()
        w, h = (drawing.width, drawing.height) if drawing is not None else (cfg.width, cfg.height)
        first_id = controller.allocate_ids(1)[0]
        name = Path(path).name

        def add(strokes: list[Stroke]) -> None:
            if not strokes:
                return
            if len(strokes) > 1:  # reserve the ids the importer used so nothing collides later
                more = controller.allocate_ids(len(strokes) - 1)
                if more != list(range(first_id + 1, first_id + len(strokes))):
                    # ids were handed out while the file was read: take fresh ones
                    ids = [first_id, *more]
                    strokes = [replace(s, id=i) for s, i in zip(strokes, ids, strict=True)]
            self.host.add_seed_strokes(strokes, f"Import {name}")

        return self.jobs.run(
            path,
            lambda: load_seed(path, w, h, first_id=first_id, frozen=False),
            add,
            f"Cannot import {name}",
            "Importing",
        )

    # ------------------------------------------------------------ autosave / recovery
    def autosave(self) -> Path | None:
        """Write the work in progress to the data folder (timer; also callable directly)."""
        drawing = self.host.controller.drawing()
        unsaved = self.state.dirty or self.host.controller.is_active()
        if drawing is None or not drawing.strokes or not unsaved:
            return None
        try:
            target = autosave_path()
            self._write_project(target, drawing)
        except Exception as exc:
            logger.warning("autosave failed: %s", exc)
            return None
        logger.debug("autosaved to %s", target)
        return target

    def discard_autosave(self) -> None:
        try:
            autosave_path().unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("cannot remove autosave: %s", exc)

    def offer_recovery(self) -> bool:
        """At start-up: if an autosave survived (a crash), offer to recover it."""
        path = autosave_path()
        if not path.is_file():
            return False
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        self.host.banner.show_message(
            f"CLIPDraw Studio did not close cleanly. Recover the drawing autosaved at {when}?",
            level="warning",
            actions=[("Recover", self.recover), ("Discard", self.discard_autosave)],
        )
        return True

    def _show_project(self, path: str | Path, failure: str, then: Callable[[], None]) -> bool:
        """Load a project file into the window, then ``then()``; a bad file is reported, never raised."""
        from clipdraw_core.io.project import load_project

        def show(project: Any) -> None:
            self.host.load_project_data(
                project.config, project.drawing, project.step, project.guidance, project.history
            )
            then()
            self.signals.projectShown.emit(Path(path))

        return self.jobs.run(path, lambda: load_project(path), show, failure, "Opening")

    def recover(self) -> bool:
        def recovered() -> None:
            self.state.set_document(None, dirty=True)
            self.host.show_status("Recovered the autosaved drawing", 5000)

        return self._show_project(autosave_path(), "Cannot recover the autosave", then=recovered)
