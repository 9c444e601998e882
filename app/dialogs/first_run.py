"""First run: get the CLIP weights onto the machine, visibly and cancellably; pick a model.

An artist's first Draw needs a ~600 MB download. Done inside ``open_clip.create_model``
it would be a frozen window for minutes, and on a plane a traceback. So before the
model is loaded, :func:`ensure_weights` checks the Hugging Face cache and, when the
weights are missing, downloads them with :func:`clipdraw_core.clip.weights.download_weights`
as a background task (:mod:`app.background`) while a dialog shows bytes, speed and a
Cancel button. The window keeps repainting (the dialog runs its own event loop; the
work is off the GUI thread).

When the download fails (offline, hub unreachable, disk full) a dialog says what is
missing and offers the ways forward: load a weights file, retry, run with random
weights (test mode), or cancel.

:class:`ModelPickerDialog` lists open_clip's models with size and speed hints from
:mod:`clipdraw_core.clip.model_catalog` and remembers the choice in a QSettings the caller
passes (tests point it at a temporary INI file).

Only the GUI imports this module.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.background import Task, start_task
from clipdraw_core.clip import model_catalog
from clipdraw_core.clip import weights as cd_weights

logger = logging.getLogger(__name__)

RANDOM_WEIGHTS = "random"
WEIGHTS_FILE_FILTER = "open_clip checkpoints (*.safetensors *.bin *.pt *.pth *.ckpt);;All files (*)"

# What the offline dialog returns, besides a file path.
CHOICE_RETRY = "retry"
CHOICE_RANDOM = "random"
CHOICE_FILE = "file"
CHOICE_CANCEL = "cancel"


def format_bytes(n: float | None) -> str:
    """Human-readable size: '512 B', '12.3 MB', '1.20 GB'."""
    if n is None:
        return "?"
    if n < 1000:
        return f"{int(n)} B"
    if n < 1e6:
        return f"{n / 1e3:.0f} kB"
    if n < 1e9:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e9:.2f} GB"


def format_eta(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class _ThrottledProgress:
    """At most ~20 progress updates per second reach the GUI, and always the last one."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self._last_emit = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last_emit >= 0.05 or (total is not None and done >= total):
            self._last_emit = now
            self.task.report_progress((done, total))


class ProgressDownloadDialog(QDialog):
    """Modal progress dialog around one download: bytes, speed, time left, Cancel.

    ``download(progress, cancel)`` runs on a background task and returns the file's
    path; it reports ``progress(done, total)`` and stops with
    :class:`~clipdraw_core.clip.weights.DownloadCancelled` once ``cancel`` is set (the
    CLIP and the VGG-16 downloads both do). After ``exec()``: ``path`` is set on
    success, ``error`` holds the message on failure, ``was_cancelled`` is True when the
    user cancelled. Closing the window cancels too; the dialog only closes once the
    download task has stopped (within one chunk).
    """

    def __init__(
        self,
        parent: QWidget | None,
        window_title: str,
        title_html: str,
        download: Callable[[Callable[[int, int | None], None], threading.Event], str],
        task_name: str = "clipdraw-download",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("clipdraw-download-dialog")
        self.setWindowTitle(window_title)
        self.setModal(True)
        self.path: str | None = None
        self.error: str | None = None
        self.was_cancelled = False
        self._closing = False
        self._download = download
        self._task_name = task_name

        self.title = QLabel(title_html)
        self.title.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the size is known
        self.bar.setTextVisible(True)
        self.bar.setToolTip("Download progress")
        self.status = QLabel("Connecting…")
        self.status.setObjectName("download-status")
        self.status.setToolTip("Downloaded so far, download speed and estimated time left")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("download-cancel")
        self.cancel_button.setToolTip("Stop the download; nothing half-downloaded is kept")
        self.cancel_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.setMinimumWidth(460)

        self._start = time.monotonic()
        self._speed_samples: list[tuple[float, int]] = []
        self.last_progress: tuple[int, int | None] = (0, None)
        self.task_: Task | None = None
        QTimer.singleShot(0, self._start_download)

    def _start_download(self) -> None:
        if self.task_ is not None or self.was_cancelled:
            return

        def download(task: Task) -> str:
            return self._download(_ThrottledProgress(task), task.cancel_event)

        self.task_ = start_task(
            download,
            self._task_name,
            on_progress=lambda value: self._on_progress(*value),
            on_result=self._on_succeeded,
            on_error=self._on_error,
            on_finished=self._on_finished,
        )

    # -- progress ---------------------------------------------------------------------------
    def _speed(self, done: int) -> float | None:
        now = time.monotonic()
        self._speed_samples.append((now, done))
        # Speed over the last ~3 s: smooth but responsive.
        while len(self._speed_samples) > 2 and now - self._speed_samples[0][0] > 3.0:
            self._speed_samples.pop(0)
        t0, d0 = self._speed_samples[0]
        return (done - d0) / (now - t0) if now - t0 > 0.2 else None

    def _on_progress(self, done: int, total: int | None) -> None:
        self.last_progress = (done, total)
        if self._closing:
            return
        speed = self._speed(done)
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(done, total) / total))
            text = f"{format_bytes(done)} of {format_bytes(total)}"
        else:
            text = f"{format_bytes(done)}"
        if speed:
            text += f" · {format_bytes(speed)}/s"
            if total and done < total:
                text += f" · about {format_eta((total - done) / speed)} left"
        self.status.setText(text)

    def _on_succeeded(self, path: str) -> None:
        self.path = path

    def _on_error(self, message: str, exc: BaseException) -> None:
        if isinstance(exc, cd_weights.DownloadCancelled):
            self.was_cancelled = True
        else:
            self.error = str(exc)

    def _on_finished(self) -> None:
        if self.path is not None:
            self.done(QDialog.DialogCode.Accepted)
        else:
            super().reject()

    # -- cancel -----------------------------------------------------------------------------
    def reject(self) -> None:
        """Cancel button, Esc or window close: ask the worker to stop, close when it has."""
        if self.task_ is None or not self.task_.is_running():
            self.was_cancelled = True
            super().reject()
            return
        self._closing = True
        self.was_cancelled = True
        self.task_.cancel()
        self.cancel_button.setEnabled(False)
        self.status.setText("Cancelling…")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.task_ is not None and self.task_.is_running():
            event.ignore()
            self.reject()
        else:
            super().closeEvent(event)

    def wait_for_worker(self, timeout_ms: int = 60_000) -> bool:
        """Block until the download task has returned (used after exec())."""
        return True if self.task_ is None else self.task_.wait(timeout_ms)


class DownloadDialog(ProgressDownloadDialog):
    """The progress dialog for one open_clip model's weights (into the HF cache)."""

    def __init__(
        self,
        parent: QWidget | None,
        model_name: str,
        pretrained: str,
        *,
        cache_dir: str | os.PathLike | None = None,
        endpoint: str | None = None,
        timeout: float = 30,
    ) -> None:
        source = cd_weights.weights_source(model_name, pretrained)
        approx = f" (about {format_bytes(source.approx_size_bytes)})" if source.approx_size_bytes else ""
        kwargs = {
            "cache_dir": None if cache_dir is None else os.fspath(cache_dir),
            "endpoint": endpoint,
            "timeout": timeout,
        }

        def download(progress: Callable[[int, int | None], None], cancel: threading.Event) -> str:
            path = cd_weights.download_weights(
                model_name, pretrained, progress=progress, cancel=cancel, **kwargs
            )
            return str(path)

        super().__init__(
            parent,
            "Downloading CLIP weights",
            f"<b>First run: downloading the CLIP model {model_name} ({pretrained}){approx}.</b><br>"
            "This happens once; the file is kept in your Hugging Face cache.",
            download,
            "clipdraw-weights-download",
        )


def ask_missing_weights(
    parent: QWidget | None,
    *,
    object_name: str,
    title: str,
    text: str,
    informative: str,
    file_label: str,
    file_tip: str,
    random_choice: tuple[str, str] | None = None,
) -> str:
    """The offline/failed dialog of any weights download (CLIP, VGG-16).

    Offers "load a file", Retry (the default), optionally random weights
    (``random_choice`` = label, tooltip) and Cancel; returns one of the CHOICE_* constants.
    """
    box = QMessageBox(parent)
    box.setObjectName(object_name)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(informative)
    load = box.addButton(file_label, QMessageBox.ButtonRole.AcceptRole)
    load.setObjectName("choice-file")
    load.setToolTip(file_tip)
    retry = box.addButton("Retry", QMessageBox.ButtonRole.ActionRole)
    retry.setObjectName("choice-retry")
    retry.setToolTip("Try the download again")
    choices = {id(load): CHOICE_FILE, id(retry): CHOICE_RETRY}
    if random_choice is not None:
        random_ = box.addButton(random_choice[0], QMessageBox.ButtonRole.ActionRole)
        random_.setObjectName("choice-random")
        random_.setToolTip(random_choice[1])
        choices[id(random_)] = CHOICE_RANDOM
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setObjectName("choice-cancel")
    box.setDefaultButton(retry)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    return choices.get(id(clicked), CHOICE_CANCEL)


def _ask_what_to_do(parent: QWidget | None, model_name: str, pretrained: str, message: str) -> str:
    """The CLIP weights' offline/failed dialog. Returns one of the CHOICE_* constants."""
    return ask_missing_weights(
        parent,
        object_name="clipdraw-weights-missing",
        title="CLIP weights missing",
        text=(
            f"The CLIP model {model_name} ({pretrained}) is not on this computer "
            "and could not be downloaded."
        ),
        informative=(
            f"{message}\n\nYou can load an open_clip checkpoint file you already have, retry the download, "
            "or run with random weights to try the app (the drawings will be meaningless)."
        ),
        file_label="Load weights file…",
        file_tip="Pick an open_clip checkpoint (.safetensors, .bin, .pt) for this model",
        random_choice=(
            "Use random weights (test mode)",
            "Run the full pipeline on an untrained model: meaningless drawings, no download",
        ),
    )


def _pick_weights_file(parent: QWidget | None, model_name: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(
        parent, f"Load CLIP weights for {model_name}", str(Path.home()), WEIGHTS_FILE_FILTER
    )
    if not path:
        return None
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        QMessageBox.warning(parent, "Cannot read file", f"{path} is not a readable file.")
        return None
    return path


def ensure_weights(
    parent: QWidget | None,
    model_name: str,
    weights: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    endpoint: str | None = None,
    timeout: float = 30,
    max_attempts: int = 20,
) -> str | None:
    """Make sure ``weights`` can be loaded; return the weights argument for load_clip, or None.

    * a file path or ``"random"``: returned unchanged (nothing to download);
    * a pretrained tag already in the HF cache: returned unchanged (open_clip finds it);
    * a pretrained tag not cached: a progress dialog downloads it (Cancel -> None); on
      failure a dialog offers "Load weights file…" (returns the path), "Retry",
      "Use random weights (test mode)" (returns ``"random"``) and Cancel (None).

    ``cache_dir``/``endpoint`` are for tests and mirrors; by default the standard HF cache
    and hub (``HF_ENDPOINT`` is honoured).
    """
    weights_value = (weights or "").strip()
    if not weights_value:
        return None
    if not _needs_download(model_name, weights_value, cache_dir):
        return weights_value
    for _attempt in range(max_attempts):
        ok, error, cancelled = _download(parent, model_name, weights_value, cache_dir, endpoint, timeout)
        if ok:
            return weights_value
        if cancelled and error is None:
            return None
        answer = _choose_after_failure(parent, model_name, weights_value, error or "The download failed.")
        if answer != CHOICE_RETRY:
            return answer
    return None


def _needs_download(model_name: str, weights: str, cache_dir: str | os.PathLike | None) -> bool:
    """Only a pretrained tag that is not in the cache is downloaded (the engine classifies)."""
    if cd_weights.classify_weights(weights, model_name) != cd_weights.WEIGHTS_TAG:
        return False  # random or a file; anything else load_clip reports clearly
    try:
        return cd_weights.cached_weights_path(model_name, weights, cache_dir) is None
    except Exception as exc:
        logger.info("cannot check weights %s/%s: %s", model_name, weights, exc)
        return False


def _download(
    parent: QWidget | None,
    model_name: str,
    weights: str,
    cache_dir: str | os.PathLike | None,
    endpoint: str | None,
    timeout: float,
) -> tuple[bool, str | None, bool]:
    """One attempt with the progress dialog: (downloaded, error message or None, cancelled)."""
    dialog = DownloadDialog(
        parent, model_name, weights, cache_dir=cache_dir, endpoint=endpoint, timeout=timeout
    )
    dialog.exec()
    dialog.wait_for_worker()
    path, error, cancelled = dialog.path, dialog.error, dialog.was_cancelled
    dialog.deleteLater()
    if path is not None:
        logger.info("weights ready at %s", path)
        return True, None, False
    return False, error, cancelled


def _choose_after_failure(parent: QWidget | None, model_name: str, weights: str, message: str) -> str | None:
    """The offline dialog until it yields an answer: a file path, "random", CHOICE_RETRY or None."""
    while True:
        choice = _ask_what_to_do(parent, model_name, weights, message)
        if choice == CHOICE_FILE:
            picked = _pick_weights_file(parent, model_name)
            if picked:
                return picked
            continue  # file dialog cancelled: ask again
        if choice == CHOICE_RANDOM:
            return RANDOM_WEIGHTS
        if choice == CHOICE_RETRY:
            return CHOICE_RETRY
        return None


# ------------------------------------------------------------------------------ model picker


def load_model_choice(settings: QSettings, key_prefix: str = "") -> tuple[str, str]:
    """The remembered (model_name, weights), defaulting to ViT-B-32 / openai."""
    model = settings.value(f"{key_prefix}model_name", model_catalog.DEFAULT_MODEL)
    tag = settings.value(f"{key_prefix}weights", model_catalog.DEFAULT_PRETRAINED)
    return str(model or model_catalog.DEFAULT_MODEL), str(tag or model_catalog.DEFAULT_PRETRAINED)


def save_model_choice(settings: QSettings, model_name: str, weights_value: str, key_prefix: str = "") -> None:
    settings.setValue(f"{key_prefix}model_name", model_name)
    settings.setValue(f"{key_prefix}weights", weights_value)
    settings.sync()


class ModelPickerDialog(QDialog):
    """Choose a CLIP model and its pretrained weights, with size and speed hints.

    ``settings`` is where the choice is remembered under ``{key_prefix}model_name`` and
    ``{key_prefix}weights`` (the app's own keys with the default empty prefix). After
    ``exec()`` returns Accepted, ``model_name`` and ``pretrained`` hold the choice.
    """

    COLUMNS = ("Model", "Size", "Speed", "Input", "Notes")

    def __init__(
        self,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
        key_prefix: str = "",
        *,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("clipdraw-model-picker")
        self.setWindowTitle("Choose a CLIP model")
        self.settings = settings
        self.key_prefix = key_prefix
        self.cache_dir = cache_dir
        self.entries = model_catalog.list_catalog()
        self._by_name = {e.model_name: e for e in self.entries}
        if settings is not None:
            self.model_name, self.pretrained = load_model_choice(settings, key_prefix)
        else:
            self.model_name, self.pretrained = model_catalog.DEFAULT_MODEL, model_catalog.DEFAULT_PRETRAINED

        intro = QLabel(
            "The model that judges the drawing. ViT-B-32 (openai) is what CLIPDraw used and the "
            "fastest good choice; bigger models see more but are slower and need a GPU. Speeds are "
            "relative to ViT-B-32; sizes are the one-time download."
        )
        intro.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter models…")
        self.filter.setToolTip("Show only models whose name contains this text")
        self.filter.textChanged.connect(self._apply_filter)

        self.table = QTableWidget(len(self.entries), len(self.COLUMNS))
        self.table.setObjectName("model-table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("open_clip models; those without hints show 'unknown'")
        for row, entry in enumerate(self.entries):
            name = entry.model_name + (" (default)" if entry.is_default else "")
            cells = (
                name,
                entry.size_text(),
                entry.speed_text(),
                f"{entry.image_size} px" if entry.image_size else "?",
                entry.hint.note if entry.hint else "",
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, entry.model_name)
                item.setToolTip(entry.summary())
                self.table.setItem(row, col, item)
        self.table.itemSelectionChanged.connect(self._on_selection)

        self.tag = QComboBox()
        self.tag.setObjectName("pretrained-tag")
        self.tag.setToolTip("Which training run's weights to use; 'openai' is the original CLIP")
        self.tag.currentTextChanged.connect(self._update_details)
        self.details = QLabel()
        self.details.setObjectName("model-details")
        self.details.setWordWrap(True)
        tag_row = QHBoxLayout()
        tag_row.addWidget(QLabel("Weights:"))
        tag_row.addWidget(self.tag, 1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addLayout(tag_row)
        layout.addWidget(self.details)
        layout.addWidget(self.buttons)
        self.resize(980, 560)
        self.select(self.model_name, self.pretrained)

    # -- selection --------------------------------------------------------------------------
    def select(self, model_name: str, pretrained: str | None = None) -> None:
        """Select a model row (falls back to the default model) and a tag."""
        if model_name not in self._by_name:
            model_name = model_catalog.DEFAULT_MODEL
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == model_name:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
                break
        if pretrained and self.tag.findText(pretrained) >= 0:
            self.tag.setCurrentText(pretrained)

    def selected_entry(self) -> model_catalog.CatalogEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self._by_name[self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)]

    def _on_selection(self) -> None:
        entry = self.selected_entry()
        self.tag.blockSignals(True)
        self.tag.clear()
        if entry is not None:
            self.tag.addItems(list(entry.pretrained_tags))
            if entry.recommended_tag:
                self.tag.setCurrentText(entry.recommended_tag)
        self.tag.blockSignals(False)
        self._update_details()

    def _update_details(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            self.details.setText("")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.tag.currentText()))
        tag = self.tag.currentText()
        cached = False
        if tag:
            try:
                cached = cd_weights.cached_weights_path(entry.model_name, tag, self.cache_dir) is not None
            except Exception:
                cached = False
        state = "already downloaded" if cached else "will be downloaded on first Draw"
        self.details.setText(f"{entry.summary()}<br><i>{entry.model_name} / {tag or '?'}: {state}</i>")

    def _apply_filter(self, text: str) -> None:
        text = text.strip().lower()
        for row in range(self.table.rowCount()):
            name = str(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)).lower()
            self.table.setRowHidden(row, bool(text) and text not in name)

    def accept(self) -> None:
        entry = self.selected_entry()
        if entry is None or not self.tag.currentText():
            return
        self.model_name, self.pretrained = entry.model_name, self.tag.currentText()
        if self.settings is not None:
            save_model_choice(self.settings, self.model_name, self.pretrained, self.key_prefix)
        super().accept()
