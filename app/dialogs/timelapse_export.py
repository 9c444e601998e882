"""File > Export Time-lapse…: the recorded frames, or a stroke-by-stroke replay, as MP4, WebM or GIF.

Why a dialog with its own progress bar: a clip of a few hundred frames takes seconds
to minutes to render and encode, so it runs off the GUI thread (:func:`app.background.start_task`)
while the window stays usable, and Cancel stops it within one frame. The encoding itself
is :mod:`clipdraw_core.io.video` (the CLI's ``--timelapse`` / ``--replay`` use the same
functions); it writes to a temporary file that replaces the target only when complete,
so a cancelled or failed export leaves no partial file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.background import Task, start_task
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.errors import Cancelled
from clipdraw_core.io.video import FORMATS, MAX_FPS, MAX_SIZE, VideoOptions
from clipdraw_core.optim.timelapse import Frame

logger = logging.getLogger(__name__)

_FORMAT_LABELS = {"mp4": "MP4 (H.264)", "webm": "WebM (VP9)", "gif": "GIF"}


class TimelapseExportDialog(QDialog):
    """Choose the clip, format, size, frame rate and caption; export with progress and Cancel."""

    #: The written file (after a successful export).
    exported = Signal(object)

    def __init__(
        self,
        parent: QWidget | None,
        frames: Sequence[Frame],
        drawing: Drawing | None,
        *,
        caption: str = "",
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Time-lapse")
        self.setObjectName("timelapseExportDialog")
        self.frames = list(frames)
        self.drawing = drawing
        self.caption_text = caption.strip()
        self.on_error = on_error
        self.task: Task | None = None
        self.result_path: Path | None = None
        self._build()
        self._on_format()

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.timelapse_choice = QRadioButton(f"Time-lapse of the run ({len(self.frames)} frames)", self)
        self.replay_choice = QRadioButton("Stroke by stroke (the final drawing, in paint order)", self)
        strokes = len(self.drawing.strokes) if self.drawing is not None else 0
        self.timelapse_choice.setEnabled(bool(self.frames))
        self.replay_choice.setEnabled(strokes > 0)
        (self.timelapse_choice if self.frames else self.replay_choice).setChecked(True)
        kind = QVBoxLayout()
        kind.addWidget(self.timelapse_choice)
        kind.addWidget(self.replay_choice)
        form.addRow("Clip", kind)
        self.format = QComboBox(self)
        self.format.setObjectName("timelapseFormat")
        for fmt in FORMATS:
            self.format.addItem(_FORMAT_LABELS[fmt], fmt)
        self.format.currentIndexChanged.connect(self._on_format)
        form.addRow("Format", self.format)
        canvas = self._canvas_side()
        self.size = QSpinBox(self)
        self.size.setRange(16, MAX_SIZE)
        self.size.setSingleStep(32)
        self.size.setSuffix(" px")
        self.size.setValue(max(16, min(MAX_SIZE, 2 * canvas)))
        self.size.setToolTip("The longest side of the clip (strokes are re-rendered at this size)")
        form.addRow("Size", self.size)
        self.fps = QSpinBox(self)
        self.fps.setRange(1, MAX_FPS)
        self.fps.setValue(25)
        self.fps.setSuffix(" fps")
        form.addRow("Frame rate", self.fps)
        self.caption = QCheckBox("Caption (prompt and step)", self)
        self.caption.setChecked(bool(self.caption_text))
        form.addRow("", self.caption)
        row = QHBoxLayout()
        self.path = QLineEdit(self)
        self.path.setObjectName("timelapsePath")
        self.path.setText(str(Path(settings.read("last_dir") or Path.home()) / "timelapse.mp4"))
        browse = QToolButton(self)
        browse.setText("…")
        browse.setToolTip("Choose where to save the clip")
        browse.clicked.connect(self.browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("Save as", row)
        layout.addLayout(form)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.message = QLabel("", self)
        self.message.setObjectName("timelapseMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(self)
        self.export_button = QPushButton("Export", self)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout.addWidget(buttons)
        self.export_button.setEnabled(self.timelapse_choice.isEnabled() or self.replay_choice.isEnabled())
        if not self.export_button.isEnabled():
            self.message.setText("Nothing to export yet: draw first (the run records the time-lapse).")

    def _canvas_side(self) -> int:
        if self.frames:
            return max(self.frames[-1].width, self.frames[-1].height)
        if self.drawing is not None:
            return max(self.drawing.width, self.drawing.height)
        return 224

    # ------------------------------------------------------------ choices
    def chosen_format(self) -> str:
        return str(self.format.currentData())

    def _on_format(self, *_: object) -> None:
        """Keep the file name's extension in step with the format."""
        text = self.path.text().strip()
        if text:
            self.path.setText(str(Path(text).with_suffix("." + self.chosen_format())))

    def browse(self) -> None:
        fmt = self.chosen_format()
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Export time-lapse", self.path.text(), f"{_FORMAT_LABELS[fmt]} (*.{fmt})"
        )
        if chosen:
            self.path.setText(str(Path(chosen).with_suffix("." + fmt)))

    def options(self) -> VideoOptions:
        caption = self.caption_text if self.caption.isChecked() and self.caption_text else None
        return VideoOptions(
            fps=float(self.fps.value()),
            size=self.size.value(),
            caption=caption,
            show_step=self.caption.isChecked() and self.timelapse_choice.isChecked(),
        )

    # ------------------------------------------------------------ export
    def is_exporting(self) -> bool:
        return self.task is not None and self.task.is_running()

    def start_export(self) -> None:
        if self.is_exporting():
            return
        target = Path(self.path.text().strip()).expanduser().with_suffix("." + self.chosen_format())
        self.path.setText(str(target))
        options = self.options()
        replay = self.replay_choice.isChecked()
        frames, drawing = self.frames, self.drawing

        def run(task: Task) -> Path:
            from clipdraw_core.io.video import export_replay, export_timelapse

            def progress(done: int, total: int) -> None:
                task.report_progress((done, total))

            if replay:
                assert drawing is not None
                return export_replay(target, drawing, options, progress=progress, cancel=task.cancel_event)
            return export_timelapse(target, frames, options, progress=progress, cancel=task.cancel_event)

        self._set_running(True)
        self.message.setText(f"Exporting {target.name}…")
        self.task = start_task(
            run,
            "clipdraw-timelapse-export",
            on_result=self._done,
            on_error=self._failed,
            on_progress=self._progress,
            on_finished=lambda: self._set_running(False),
        )

    def _set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        for w in (self.format, self.size, self.fps, self.caption, self.path):
            w.setEnabled(not running)
        self.cancel_button.setText("Cancel" if running else "Close")

    def _progress(self, value: Any) -> None:
        done, total = value
        self.progress.setRange(0, max(1, int(total)))
        self.progress.setValue(int(done))

    def _done(self, path: Path) -> None:
        self.result_path = Path(path)
        settings.write("last_dir", str(self.result_path.parent))
        self.message.setText(f"Wrote {self.result_path}")
        self.exported.emit(self.result_path)

    def _failed(self, message: str, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.message.setText("Cancelled; nothing was written.")
            self.progress.setValue(0)
            return
        self.message.setText(message)
        if self.on_error is not None:
            self.on_error(f"Time-lapse export failed: {message}")

    def cancel_or_close(self) -> None:
        """Cancel a running export (the dialog stays to show it); otherwise close."""
        if self.is_exporting():
            assert self.task is not None
            self.task.cancel()
            self.message.setText("Cancelling…")
            return
        self.reject()

    def wait(self, timeout_ms: int = -1) -> bool:
        return True if self.task is None else self.task.wait(timeout_ms)

    def done(self, result: int) -> None:
        """Closing the dialog (Esc, the title bar) cancels a running export and waits for it."""
        if self.is_exporting():
            assert self.task is not None
            self.task.cancel()
            self.task.wait()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_exporting():
            assert self.task is not None
            self.task.cancel()
            self.task.wait()
        super().closeEvent(event)
