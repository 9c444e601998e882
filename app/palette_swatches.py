"""The palette as a row of colour swatches; clicking one asks to recolour the selection.

Why buttons and not a painted strip: each swatch is then a focusable, clickable
widget with its own tooltip and object name (``swatch-0``, ``swatch-1`` ...), which
keyboard users, screen readers and the pytest-qt tests can reach like any button.
The widget only shows colours and emits ``swatchClicked("#rrggbb")``; the window
turns that into one undoable recolour (:meth:`app.editing.StrokeEditor.recolour_to`).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGridLayout, QLabel, QToolButton, QWidget

logger = logging.getLogger(__name__)

#: Swatches per row (32 colours make four rows).
COLUMNS = 8
SWATCH_PX = 22


class PaletteSwatches(QWidget):
    """Shows ``#rrggbb`` entries as clickable squares; an empty palette shows a hint."""

    swatchClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paletteSwatches")
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(3)
        self._entries: tuple[str, ...] = ()
        self.buttons: list[QToolButton] = []
        self._hint = QLabel("Free colours (no palette)", self)
        self._hint.setEnabled(False)
        self._grid.addWidget(self._hint, 0, 0, 1, COLUMNS)

    def entries(self) -> tuple[str, ...]:
        return self._entries

    def set_entries(self, entries: tuple[str, ...] | list[str], hint: str = "") -> None:
        """Show these colours (replacing the old swatches); ``hint`` says what they are."""
        entries = tuple(entries)
        if entries == self._entries and self.buttons:
            return
        self._entries = entries
        for button in self.buttons:
            self._grid.removeWidget(button)
            button.hide()  # at once: deleteLater waits for the event loop
            button.deleteLater()
        self.buttons = []
        self._hint.setVisible(not entries)
        for i, colour in enumerate(entries):
            button = QToolButton(self)
            button.setObjectName(f"swatch-{i}")
            button.setFixedSize(QSize(SWATCH_PX, SWATCH_PX))
            button.setAutoRaise(False)
            edge = "#ffffff" if QColor(colour).lightness() < 80 else "#404040"
            button.setStyleSheet(f"QToolButton {{ background-color: {colour}; border: 1px solid {edge}; }}")
            button.setToolTip(f"{colour}{hint}\nClick: recolour the selected strokes to it (one undo step)")
            button.setAccessibleName(f"Palette colour {colour}")
            button.clicked.connect(lambda _=False, c=colour: self.swatchClicked.emit(c))
            self._grid.addWidget(button, 1 + i // COLUMNS, i % COLUMNS)
            self.buttons.append(button)
