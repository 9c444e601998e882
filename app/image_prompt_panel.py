"""Image prompts (pictures as CLIP targets, each with a weight) and the style image.

Why it only emits new values: image prompts and the style are engine data
(:class:`~clipdraw_core.drawing.guidance.ImagePrompt`,
:class:`~clipdraw_core.drawing.guidance.StyleImage`); the window makes every change
one undoable :class:`~clipdraw_core.drawing.commands.SetImagePrompts` /
:class:`~clipdraw_core.drawing.commands.SetStyle` and the panel then shows what the
run controller holds (:meth:`show`). Reading and shrinking a picture
(``ImagePrompt.from_file``) runs off the GUI thread with
:func:`app.background.start_task`, so a large photo never freezes the window.

A weight may be negative ("not like this"). The style strength is 0-100 as in the
engine (StyleCLIPDraw's style loss on VGG-16 features); "every" is how many steps
apart it is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.background import start_task
from app.score_column import refresh_scores, score_text
from clipdraw_core.drawing.guidance import ImagePrompt, StyleImage
from clipdraw_core.errors import ClipDrawError

logger = logging.getLogger(__name__)

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff);;All files (*)"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
COL_NAME, COL_WEIGHT, COL_SCORE = range(3)


class ImagePromptPanel(QWidget):
    """Image prompts table, Open/drop, and the style image row (see the module docstring)."""

    imagesEdited = Signal(tuple)  # tuple[ImagePrompt, ...]
    styleEdited = Signal(object)  # StyleImage | None
    failed = Signal(str, object)  # one-line message, exception

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imagePromptPanel")
        self.setAcceptDrops(True)
        self._images: tuple[ImagePrompt, ...] = ()
        self._style: StyleImage | None = None
        self._scores: dict[str, float] = {}
        self._loading = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("imageTable")
        self.table.setHorizontalHeaderLabels(["Image", "Weight", "Score"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col in (COL_WEIGHT, COL_SCORE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip(
            "Pictures as targets: weight > 0 'like this', < 0 'not like this' (double-click to edit).\n"
            "Open or drop an image here; undoable, also while drawing."
        )
        self.table.setMaximumHeight(120)
        self.table.itemChanged.connect(self._on_item_changed)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        self.open_image = QToolButton(self)
        self.open_image.setText("Open image…")
        self.open_image.clicked.connect(self.choose_images)
        self.remove_image = QToolButton(self)
        self.remove_image.setText("Remove")
        self.remove_image.clicked.connect(self.remove_selected)
        row.addWidget(self.open_image)
        row.addWidget(self.remove_image)
        row.addStretch(1)
        layout.addLayout(row)

        style_row = QHBoxLayout()
        self.style_name = QLabel("Style: none", self)
        self.open_style = QToolButton(self)
        self.open_style.setText("Style image…")
        self.open_style.setToolTip(
            "Match the style of a picture (VGG-16 style loss, StyleCLIPDraw); slower per step"
        )
        self.open_style.clicked.connect(self.choose_style)
        self.remove_style = QToolButton(self)
        self.remove_style.setText("No style")
        self.remove_style.clicked.connect(lambda: self._emit_style(None))
        style_row.addWidget(self.style_name, 1)
        style_row.addWidget(self.open_style)
        style_row.addWidget(self.remove_style)
        layout.addLayout(style_row)
        strength_row = QHBoxLayout()
        self.strength = QSlider(Qt.Orientation.Horizontal, self)
        self.strength.setObjectName("styleStrength")
        self.strength.setRange(0, 100)
        self.strength.setValue(50)
        self.strength.setToolTip("Style strength 0-100 (applied when you let go)")
        self.strength_value = QLabel("50", self)
        self.strength.valueChanged.connect(lambda v: self.strength_value.setText(str(v)))
        self.strength.sliderReleased.connect(self._style_settings_changed)
        self.every = QSpinBox(self)
        self.every.setRange(1, 1000)
        self.every.setPrefix("every ")
        self.every.setSuffix(" step(s)")
        self.every.setKeyboardTracking(False)
        self.every.setToolTip("Apply the style loss on every N-th step (cheaper)")
        self.every.valueChanged.connect(self._style_settings_changed)
        strength_row.addWidget(QLabel("Strength", self))
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_value)
        strength_row.addWidget(self.every)
        layout.addLayout(strength_row)
        self._show_style()

    # ------------------------------------------------------------ showing
    def show(self, images: tuple[ImagePrompt, ...], style: StyleImage | None) -> None:  # type: ignore[override]
        self._images, self._style = tuple(images), style
        table = self.table
        table.blockSignals(True)
        try:
            table.setRowCount(len(self._images))
            for r, image in enumerate(self._images):
                name = QTableWidgetItem(image.name)
                name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                weight = QTableWidgetItem(f"{image.weight:g}")
                weight.setFlags(
                    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
                )
                score = QTableWidgetItem(score_text(self._scores, image.label))
                score.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                for col, item in enumerate((name, weight, score)):
                    table.setItem(r, col, item)
        finally:
            table.blockSignals(False)
        self._show_style()

    def _show_style(self) -> None:
        style = self._style
        for w in (self.strength, self.every):
            w.blockSignals(True)
        if style is not None:
            self.strength.setValue(round(style.strength))
            self.every.setValue(style.every)
        for w in (self.strength, self.every):
            w.blockSignals(False)
        self.strength_value.setText(str(self.strength.value()))
        score = self._scores.get("style")
        suffix = "" if score is None or style is None else f"  (loss {score:.3g})"
        self.style_name.setText(f"Style: {style.name}{suffix}" if style is not None else "Style: none")
        self.remove_style.setEnabled(style is not None)

    def update_scores(self, scores: Mapping[str, float]) -> None:
        self._scores = dict(scores)
        refresh_scores(self.table, COL_SCORE, [image.label for image in self._images], self._scores)
        self._show_style()

    # ------------------------------------------------------------ image prompts
    def choose_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Image prompts", settings.read("last_dir"), IMAGE_FILTER
        )
        for path in paths:
            self.add_image_file(path)

    def add_image_file(self, path: str | Path, weight: float = 1.0) -> None:
        """Read the picture off the GUI thread, then emit the list with it added."""
        self._loading += 1

        def done(prompt: ImagePrompt) -> None:
            self.imagesEdited.emit((*self._images, prompt))

        start_task(
            lambda _task: ImagePrompt.from_file(path, weight),
            "clipdraw-image-prompt",
            on_result=done,
            on_error=self.failed.emit,
            on_finished=self._loaded,
        )

    def _loaded(self) -> None:
        self._loading -= 1

    def is_loading(self) -> bool:
        return self._loading > 0

    def remove_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if rows:
            self.imagesEdited.emit(tuple(im for r, im in enumerate(self._images) if r not in rows))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        r = item.row()
        if item.column() != COL_WEIGHT or not 0 <= r < len(self._images):
            return
        try:
            new = replace(self._images[r], weight=float(item.text()))
        except (ClipDrawError, ValueError) as exc:
            logger.info("image prompt weight refused: %s", exc)
            self.show(self._images, self._style)
            return
        if new != self._images[r]:
            images = list(self._images)
            images[r] = new
            self.imagesEdited.emit(tuple(images))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(Path(u.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES:
                self.add_image_file(path)
        event.acceptProposedAction()

    # ------------------------------------------------------------ style
    def choose_style(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Style image", settings.read("last_dir"), IMAGE_FILTER)
        if path:
            self.set_style_file(path)

    def set_style_file(self, path: str | Path) -> None:
        strength, every = float(self.strength.value()), int(self.every.value())
        self._loading += 1
        start_task(
            lambda _task: StyleImage.from_file(path, strength, every),
            "clipdraw-style-image",
            on_result=self._emit_style,
            on_error=self.failed.emit,
            on_finished=self._loaded,
        )

    def _style_settings_changed(self) -> None:
        if self._style is not None:
            self._emit_style(
                replace(self._style, strength=float(self.strength.value()), every=int(self.every.value()))
            )

    def _emit_style(self, style: StyleImage | None) -> None:
        if style != self._style:
            self.styleEdited.emit(style)
