"""The canvas shape in the Run box: width, height and an aspect lock (1:1, 3:2, 16:9 ...).

Why a lock instead of a list of sizes: the artist picks the shape (an aspect, or
"free") and the size separately, and with an aspect chosen typing either side fixes
the other, so the two spin boxes can never disagree with the choice shown. The values
themselves are the ``width`` / ``height`` settings of
:class:`~clipdraw_core.optim.config.SessionConfig` (their spin boxes are built from
the settings like every other field); the aspect is the window's own
``canvas_aspect`` setting (:class:`app.settings.GuiSettings`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from app import settings
from app.settings import ASPECTS

logger = logging.getLogger(__name__)


def aspect_ratio(aspect: str) -> float | None:
    """``"16:9"`` -> 16/9; ``"free"`` (or anything unreadable) -> None."""
    w, sep, h = aspect.partition(":")
    try:
        return float(w) / float(h) if sep else None
    except (ValueError, ZeroDivisionError):
        return None


def fits(aspect: str, width: int, height: int) -> bool:
    """True when ``width`` x ``height`` is what the lock would make of this width (or height)."""
    ratio = aspect_ratio(aspect)
    if ratio is None:
        return True
    return round(width / ratio) == height or round(height * ratio) == width


def matching_aspect(width: int, height: int, preferred: str = "") -> str:
    """The aspect to show for a given size: ``preferred`` if it fits (free always does), else the
    first that does, else free."""
    if preferred in ASPECTS and fits(preferred, width, height):
        return preferred
    for aspect in ASPECTS[1:]:
        if fits(aspect, width, height):
            return aspect
    return "free"


class CanvasShape(QObject):
    """Links the width and height spin boxes through the aspect combo box ``aspect``."""

    def __init__(self, width: QSpinBox, height: QSpinBox, aspect: QComboBox, parent: QObject) -> None:
        super().__init__(parent)
        self.width, self.height, self.aspect = width, height, aspect
        aspect.setObjectName("canvas_aspect")
        self._linking = True
        width.valueChanged.connect(self._width_changed)
        height.valueChanged.connect(self._height_changed)
        aspect.currentTextChanged.connect(self._aspect_changed)

    def row(self, parent: QWidget) -> QHBoxLayout:
        """``[width] x [height]`` for the form."""
        layout = QHBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.width, 1)
        layout.addWidget(QLabel("×", parent))
        layout.addWidget(self.height, 1)
        return layout

    def ratio(self) -> float | None:
        return aspect_ratio(self.aspect.currentText())

    @contextmanager
    def unlinked(self) -> Iterator[None]:
        """Set width and height independently (loading settings or a project), then pick the aspect."""
        self._linking = False
        try:
            yield
        finally:
            self._linking = True
        self.show_aspect(self.aspect.currentText())

    def show_aspect(self, preferred: str) -> None:
        """Show the aspect that fits the current size (``preferred`` when it does)."""
        chosen = matching_aspect(self.width.value(), self.height.value(), preferred)
        self._linking = False
        try:
            self.aspect.setCurrentText(chosen)
        finally:
            self._linking = True

    def _set(self, spin: QSpinBox, value: float) -> None:
        self._linking = False
        try:
            spin.setValue(max(spin.minimum(), min(spin.maximum(), round(value))))
        finally:
            self._linking = True

    def _width_changed(self, width: int) -> None:
        ratio = self.ratio()
        if self._linking and ratio is not None:
            self._set(self.height, width / ratio)

    def _height_changed(self, height: int) -> None:
        ratio = self.ratio()
        if self._linking and ratio is not None:
            self._set(self.width, height * ratio)

    def _aspect_changed(self, _text: str) -> None:
        """A chosen aspect keeps the longer side and fits the other to it."""
        ratio = self.ratio()
        if not self._linking or ratio is None:
            return
        w, h = self.width.value(), self.height.value()
        if ratio >= 1:
            self._set(self.height, max(w, h) / ratio)
            self._set(self.width, max(w, h))
        else:
            self._set(self.width, max(w, h) * ratio)
            self._set(self.height, max(w, h))

    # ------------------------------------------------------------ persistence
    def load(self) -> None:
        """Show the remembered aspect if the remembered size fits it."""
        self.show_aspect(settings.read("canvas_aspect"))

    def save(self) -> None:
        settings.write("canvas_aspect", self.aspect.currentText())
