"""A non-modal error banner above the canvas.

Why not a message box: errors from the worker (missing weights, NaN, out of memory)
arrive while the artist is working; a modal dialog would block steering and pile up
if several came at once. The banner shows the newest message with optional action
buttons (e.g. "Use a weights file...") and a close button, and the app stays usable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QToolButton, QWidget

logger = logging.getLogger(__name__)


class ErrorBanner(QFrame):
    """Shows one message at a time; ``show_message`` replaces the previous one."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self._icon = QLabel(self)
        layout.addWidget(self._icon)
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._label, 1)
        self._buttons: list[QPushButton] = []
        self._button_row = QHBoxLayout()
        layout.addLayout(self._button_row)
        close = QToolButton(self)
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setToolTip("Dismiss this message")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout.addWidget(close)
        self.hide()

    def message(self) -> str:
        return self._label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(
        self, text: str, *, level: str = "error", actions: Sequence[tuple[str, Callable[[], None]]] = ()
    ) -> None:
        """Show ``text`` with buttons for ``actions`` (label, callback; each also dismisses)."""
        logger.info("banner (%s): %s", level, text)
        icon = {
            "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
            "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
        }.get(level, QStyle.StandardPixmap.SP_MessageBoxInformation)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._icon.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        pal = self.palette()
        base = {"error": QColor(200, 50, 40), "warning": QColor(220, 150, 20)}.get(
            level, QColor(40, 120, 200)
        )
        window = pal.color(QPalette.ColorRole.Window)
        tint = QColor(
            int(window.red() * 0.82 + base.red() * 0.18),
            int(window.green() * 0.82 + base.green() * 0.18),
            int(window.blue() * 0.82 + base.blue() * 0.18),
        )
        pal.setColor(QPalette.ColorRole.Window, tint)
        self.setPalette(pal)
        self._label.setText(text)
        for b in self._buttons:
            b.deleteLater()
        self._buttons = []
        for label, callback in actions:
            button = QPushButton(label, self)
            button.clicked.connect(lambda _=False, cb=callback: (self.dismiss(), cb()))
            self._button_row.addWidget(button)
            self._buttons.append(button)
        self.show()

    def action_labels(self) -> list[str]:
        return [b.text() for b in self._buttons]

    def trigger_action(self, label: str) -> None:
        """Press the action button with this label (tests, keyboard users)."""
        for b in self._buttons:
            if b.text() == label:
                b.click()
                return
        raise KeyError(label)

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
