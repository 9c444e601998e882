"""The live grid of variation thumbnails, best first, each with its seed, score and buttons.

Each tile paints its member's newest drawing with the canvas's own painter
(:func:`app.canvas.painting.render_layer`, so frozen strokes show their dashed outline
and lock here too) through its own :class:`~app.canvas.layer_renderer.LayerRenderer`:
off the GUI thread and latest-only, so nine members stepping fast never make the
window wait for thumbnails. The grid only shows; the buttons and a double-click emit
the member's index and the panel turns them into runner requests.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.canvas.layer_renderer import LayerRenderer
from clipdraw_core.drawing.strokes import Drawing

logger = logging.getLogger(__name__)

#: Longest side of a thumbnail, in device-independent pixels (nine tiles fit a 1280 px window).
THUMB_SIDE = 128


class VariationTile(QFrame):
    """One member: thumbnail, "rank · seed · score", Pick and Drop. Double-click picks."""

    pickRequested = Signal(int)
    dropRequested = Signal(int)

    def __init__(self, index: int, seed: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index, self.seed = int(index), int(seed)
        self.setObjectName(f"variationTile{self.index}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setToolTip(f"Seed {self.seed}: double-click to continue this one in the canvas")
        #: The drawing last asked to be shown (the thumbnail follows when painted).
        self.drawing: Drawing | None = None
        self.score: float | None = None
        self.rank: int | None = None
        self.image = QLabel(self)
        self.image.setObjectName("thumbnail")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setFixedSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.caption = QLabel(self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pick_button = QPushButton("Pick", self)
        self.pick_button.setToolTip("Continue this variation alone in the canvas (undoable)")
        self.drop_button = QPushButton("Drop", self)
        self.drop_button.setToolTip("Stop optimising this variation; the others go on")
        self.pick_button.clicked.connect(lambda: self.pickRequested.emit(self.index))
        self.drop_button.clicked.connect(lambda: self.dropRequested.emit(self.index))
        buttons = QHBoxLayout()
        buttons.addWidget(self.pick_button)
        buttons.addWidget(self.drop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)
        layout.addLayout(buttons)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._generation = 0
        self._painted = -1
        self._renderer = LayerRenderer(self)
        self._renderer.imageReady.connect(self._on_image)
        self._show_caption()

    def show_drawing(self, drawing: Drawing) -> None:
        """Paint this drawing into the thumbnail (off the GUI thread; the newest wins)."""
        if drawing is self.drawing:
            return
        self.drawing = drawing
        self._generation += 1
        scale = THUMB_SIDE * self.devicePixelRatioF() / max(drawing.width, drawing.height)
        self._renderer.request(self._generation, drawing, scale)

    def set_rank(self, rank: int | None, score: float | None) -> None:
        if (rank, score) != (self.rank, self.score):
            self.rank, self.score = rank, score
            self._show_caption()

    def is_painted(self) -> bool:
        """True once the thumbnail shows the drawing last given (tests wait for it)."""
        return self._painted == self._generation and self._generation > 0

    def _show_caption(self) -> None:
        first = f"#{self.rank} · seed {self.seed}" if self.rank is not None else f"seed {self.seed}"
        second = "score …" if self.score is None else f"score {self.score:.4f}"
        self.caption.setText(f"{first}\n{second}")

    def _on_image(self, generation: int, image: QImage, scale: float, _selected: object) -> None:
        if generation < self._painted:
            return
        self._painted = generation
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.image.setPixmap(pixmap)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.pickRequested.emit(self.index)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def set_enabled_buttons(self, enabled: bool) -> None:
        self.pick_button.setEnabled(enabled)
        self.drop_button.setEnabled(enabled)

    def shutdown(self) -> None:
        """Stop painting and wait for the current thumbnail (before the tile goes away)."""
        self._renderer.shutdown()


class VariationGrid(QWidget):
    """The tiles of the alive members in rank order, as many per row as the width holds."""

    pickRequested = Signal(int)
    dropRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("variationGrid")
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setSpacing(6)
        self._layout.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._tiles: dict[int, VariationTile] = {}
        self._order: list[int] = []
        self._columns = 1

    # ------------------------------------------------------------ queries
    def order(self) -> list[int]:
        """Member indices as shown, left to right and top to bottom."""
        return list(self._order)

    def tile(self, index: int) -> VariationTile:
        return self._tiles[index]

    def tiles(self) -> list[VariationTile]:
        """The tiles in the order shown."""
        return [self._tiles[i] for i in self._order]

    # ------------------------------------------------------------ changes
    def set_members(self, seeds: Sequence[int]) -> None:
        """Start over with one tile per seed (member ``i`` has ``seeds[i]``)."""
        self.clear()
        for index, seed in enumerate(seeds):
            tile = VariationTile(index, seed, self)
            tile.pickRequested.connect(self.pickRequested)
            tile.dropRequested.connect(self.dropRequested)
            self._tiles[index] = tile
        self._place(list(range(len(seeds))))

    def show_members(
        self, drawings: Mapping[int, Drawing], ranked: Sequence[int], scores: Mapping[int, float]
    ) -> None:
        """Show the alive members (``ranked``, best first) with their drawings and scores."""
        for index in [i for i in self._tiles if i not in ranked]:
            self.remove(index)
        order = [i for i in ranked if i in self._tiles]
        for rank, index in enumerate(order, start=1):
            tile = self._tiles[index]
            score = scores.get(index)
            tile.set_rank(rank if score is not None else None, score)
            drawing = drawings.get(index)
            if drawing is not None:
                tile.show_drawing(drawing)
        for index in order:  # the last one cannot be dropped: pick it or stop
            tile = self._tiles[index]
            tile.drop_button.setEnabled(len(order) > 1 and tile.pick_button.isEnabled())
        if order != self._order:
            self._place(order)

    def remove(self, index: int) -> None:
        tile = self._tiles.pop(index, None)
        if tile is None:
            return
        self._layout.removeWidget(tile)
        tile.shutdown()
        tile.hide()
        tile.deleteLater()
        self._order = [i for i in self._order if i != index]

    def set_buttons_enabled(self, enabled: bool) -> None:
        for tile in self._tiles.values():
            tile.set_enabled_buttons(enabled)

    def clear(self) -> None:
        for index in list(self._tiles):
            self.remove(index)
        self._order = []

    def _place(self, order: list[int]) -> None:
        while self._layout.count():
            self._layout.takeAt(0)
        self._columns = self._columns_for(self.width())
        for position, index in enumerate(order):
            row, column = divmod(position, self._columns)
            self._layout.addWidget(self._tiles[index], row, column)
        self._order = order

    def _tile_width(self) -> int:
        tiles = list(self._tiles.values())
        return tiles[0].sizeHint().width() if tiles else THUMB_SIDE

    def _columns_for(self, width: int) -> int:
        margins = self._layout.contentsMargins()
        usable = width - margins.left() - margins.right() + self._layout.spacing()
        return max(1, usable // (self._tile_width() + self._layout.spacing()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._order and self._columns_for(event.size().width()) != self._columns:
            self._place(self._order)

    def shutdown(self) -> None:
        for tile in self._tiles.values():
            tile.shutdown()
