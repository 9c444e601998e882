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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, QThread, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog

from app import settings
from app.canvas.painting import render_layer
from app.run.worker import error_message
from clipdraw_core.drawing.strokes import Drawing, Stroke

if TYPE_CHECKING:
    from app.main_window import MainWindow

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


def scaled_drawing(drawing: Drawing, width: int, height: int) -> Drawing:
    """The same drawing at another pixel size (points and widths scaled)."""
    sx, sy = width / drawing.width, height / drawing.height
    factor = np.array([sx, sy], dtype=np.float64)
    strokes = [
        Stroke(s.id, s.points.astype(np.float64) * factor, s.half_width * (sx + sy) / 2, s.color, s.frozen)
        for s in drawing.strokes
    ]
    return Drawing(width, height, drawing.background, tuple(strokes))


def render_png_image(drawing: Drawing, width: int) -> QImage:
    """The drawing as an image ``width`` px wide: the engine's renderer (what CLIP saw)
    when available, else Qt's vector painter."""
    height = max(1, round(drawing.height * width / drawing.width))
    target = scaled_drawing(drawing, width, height)
    try:
        from clipdraw_core.render import render_drawing

        rgb = np.ascontiguousarray(render_drawing(target, samples=2)[..., :3], dtype=np.uint8)
        image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.shape[1] * 3, QImage.Format.Format_RGB888)
        return image.copy()
    except ImportError:
        return render_layer(target, 1.0, mark_frozen=False)


class _PngExportThread(QThread):
    done = Signal(object, object)  # target path, error message or None

    def __init__(self, drawing: Drawing, width: int, target: Path) -> None:
        super().__init__()
        self.setObjectName("clipdraw-png-export")
        self.args = (drawing, width, target)

    def run(self) -> None:
        drawing, width, target = self.args
        try:
            image = render_png_image(drawing, width)
            tmp = target.with_name(f".{target.name}.tmp.png")
            if not image.save(str(tmp), "PNG"):
                raise OSError(f"cannot write {target}")
            os.replace(tmp, target)
        except Exception as exc:
            logger.warning("PNG export failed: %s", exc)
            self.done.emit(target, error_message(exc))
        else:
            self.done.emit(target, None)


class FileSignals(QObject):
    pngExported = Signal(object, object)  # target path, error message or None


class FileActions:
    """The window's file operations (see module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.signals = FileSignals(window)
        self._threads: list[QThread] = []
        self.project_path: Path | None = None
        self.dirty = False
        self.autosave_timer = QTimer(window)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(max(5, settings.read("autosave_seconds")) * 1000)

    # ------------------------------------------------------------ helpers
    def _ask_save(self, title: str, filt: str, suffix: str) -> Path | None:
        start = str(self.project_path.with_suffix(suffix)) if self.project_path else settings.read("last_dir")
        path, _ = QFileDialog.getSaveFileName(self.window, title, start, filt)
        if not path:
            return None
        p = Path(path)
        if not p.suffix:
            p = p.with_suffix(suffix)
        settings.write("last_dir", str(p.parent))
        return p

    def _error(self, action: str, exc: BaseException) -> None:
        self.window.banner.show_message(f"{action}: {error_message(exc)}")

    def _drawing(self) -> Drawing | None:
        drawing = self.window.controller.drawing()
        if drawing is None:
            self.window.banner.show_message("There is no drawing yet: press Draw first.", level="info")
        return drawing

    def _title(self) -> str:
        cfg = self.window.current_config()
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

            save_svg(target, drawing, title=self._title(), description="Made with CLIPDraw Studio")
        except Exception as exc:
            self._error("Export failed", exc)
            return None
        self.window.statusBar().showMessage(f"Exported {target}", 5000)
        return target

    def export_png(self, path: str | os.PathLike[str] | None = None, width: int | None = None) -> Path | None:
        """Write the current drawing as a PNG of a chosen width."""
        drawing = self._drawing()
        if drawing is None:
            return None
        if width is None:
            width, ok = QInputDialog.getInt(
                self.window, "Export PNG", "Image width (px):", max(drawing.width, 1024), 16, 8192, 64
            )
            if not ok:
                return None
        target = Path(path) if path is not None else self._ask_save("Export PNG", "PNG (*.png)", ".png")
        if target is None:
            return None
        # The engine's renderer takes ~1 s at large sizes: render and write off the GUI thread.
        thread = _PngExportThread(drawing, int(width), target)
        thread.done.connect(self._png_done)
        thread.finished.connect(lambda t=thread: self._reap(t))
        self._threads.append(thread)
        self.window.statusBar().showMessage(f"Exporting {target.name}…")
        thread.start()
        return target

    def _png_done(self, target: object, error: object) -> None:
        if error is not None:
            self.window.banner.show_message(f"PNG export failed: {error}")
        else:
            self.window.statusBar().showMessage(f"Exported {target}", 5000)
        self.signals.pngExported.emit(target, error)

    def _reap(self, thread: QThread) -> None:
        if thread in self._threads:
            self._threads.remove(thread)
            thread.deleteLater()

    def shutdown(self) -> None:
        """Join running exports (window close)."""
        self.autosave_timer.stop()
        for thread in list(self._threads):
            thread.wait()

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
        elif self.project_path is not None and not save_as:
            target = self.project_path
        else:
            target = self._ask_save("Save project", PROJECT_FILTER, PROJECT_SUFFIX)
        if target is None:
            return None
        try:
            from clipdraw_core.io.project import save_project

            save_project(
                target,
                self.window.current_config(),
                drawing,
                step=self.window.controller.step(),
                guidance=self.window.controller.guidance,
            )
        except Exception as exc:
            self._error("Saving failed", exc)
            return None
        self.project_path = target
        self.dirty = False
        settings.add_recent_file(target)
        self.window.update_recent_menu()
        self.window.update_title()
        self.window.statusBar().showMessage(f"Saved {target}", 5000)
        return target

    def open_project(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Ctrl+O: show a saved project; Draw continues it."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self.window, "Open project", settings.read("last_dir"), PROJECT_FILTER
            )
            if not chosen:
                return False
            path = chosen
        if not self._show_project(path, "Cannot open project"):
            return False
        self.project_path = Path(path)
        self.dirty = False
        settings.write("last_dir", str(Path(path).parent))
        settings.add_recent_file(path)
        self.window.update_recent_menu()
        self.window.update_title()
        return True

    # ------------------------------------------------------------ drops
    def import_files(self, paths: list[str]) -> None:
        """Dropped files: projects open; SVGs and images become seed strokes (undoable)."""
        for p in paths:
            suffix = Path(p).suffix.lower()
            if suffix in (".cdproj", ".json"):
                self.open_project(p)
                continue
            try:
                strokes = self._load_seed(p, suffix)
            except Exception as exc:
                self._error(f"Cannot import {Path(p).name}", exc)
                continue
            if strokes:
                self.window.add_seed_strokes(strokes, f"Import {Path(p).name}")

    def _load_seed(self, path: str, suffix: str) -> list[Any]:
        drawing = self.window.controller.drawing()
        cfg = self.window.current_config()
        w, h = (drawing.width, drawing.height) if drawing is not None else (cfg.width, cfg.height)
        first_id = self.window.controller.allocate_ids(1)[0]
        if suffix == ".svg":
            from clipdraw_core.io.svg_import import load_svg_strokes

            strokes = load_svg_strokes(path, w, h, first_id=first_id, frozen=False)
        else:
            from clipdraw_core.io.raster_import import load_image_strokes

            strokes = load_image_strokes(path, w, h, first_id=first_id, frozen=False)
        if len(strokes) > 1:  # reserve the ids the importer used so nothing collides later
            self.window.controller.allocate_ids(len(strokes) - 1)
        return list(strokes)

    # ------------------------------------------------------------ autosave / recovery
    def autosave(self) -> Path | None:
        """Write the work in progress to the data folder (timer; also callable directly)."""
        drawing = self.window.controller.drawing()
        if drawing is None or not drawing.strokes or not (self.dirty or self.window.controller.is_active()):
            return None
        try:
            from clipdraw_core.io.project import save_project

            target = autosave_path()
            save_project(
                target,
                self.window.current_config(),
                drawing,
                step=self.window.controller.step(),
                guidance=self.window.controller.guidance,
            )
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
        self.window.banner.show_message(
            f"CLIPDraw Studio did not close cleanly. Recover the drawing autosaved at {when}?",
            level="warning",
            actions=[("Recover", self.recover), ("Discard", self.discard_autosave)],
        )
        return True

    def _show_project(self, path: str | Path, failure: str) -> bool:
        """Load a project file into the window; a bad file is reported, never raised."""
        try:
            from clipdraw_core.io.project import load_project

            project = load_project(path)
        except Exception as exc:
            self._error(failure, exc)
            return False
        self.window.load_project_data(project.config, project.drawing, project.step, project.guidance)
        return True

    def recover(self) -> bool:
        if not self._show_project(autosave_path(), "Cannot recover the autosave"):
            return False
        self.project_path = None
        self.dirty = True
        self.window.update_title()
        self.window.statusBar().showMessage("Recovered the autosaved drawing", 5000)
        return True
