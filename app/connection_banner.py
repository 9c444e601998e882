"""The banner above the canvas while a run on a ``clipdraw-server`` has lost its connection.

Why a banner of its own rather than the error banner (:mod:`app.errors`): a dropped
connection is a state, not a one-off message. It stays up while the client reconnects
(the drawing so far stays on the canvas, edits are kept and sent when the connection
is back), disappears by itself when the same session resumes, and says so plainly when
the server is gone. Either way it offers the two ways on: *Continue on this computer*
(a local session starting from the drawing on the canvas, with the run's settings) and
*Choose another server…*. Other errors keep using the error banner.

It follows :class:`app.run.remote.ConnectionWatch` (``lost``, ``back``, ``gone``,
``closed``) and never touches the run itself: its buttons emit signals the window
turns into calls.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QWidget

logger = logging.getLogger(__name__)


class ConnectionBanner(QFrame):
    """Shows "Connection to HOST lost — reconnecting…" or "the server is gone", with two ways on."""

    continueLocally = Signal()
    chooseServer = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self._icon = QLabel(self)
        layout.addWidget(self._icon)
        self.label = QLabel(self)
        self.label.setObjectName("connectionMessage")
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.continue_button = QPushButton("Continue on this computer", self)
        self.continue_button.setObjectName("continueLocally")
        self.continue_button.setToolTip("Go on optimising this drawing here, with the same settings")
        self.continue_button.clicked.connect(self.continueLocally)
        layout.addWidget(self.continue_button)
        self.server_button = QPushButton("Choose another server…", self)
        self.server_button.setObjectName("chooseServer")
        self.server_button.setToolTip("Go on optimising this drawing on another clipdraw-server")
        self.server_button.clicked.connect(self.chooseServer)
        layout.addWidget(self.server_button)
        self.state = "closed"
        self.hide()

    def message(self) -> str:
        """The text shown, or "" while hidden."""
        return self.label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def on_connection(self, event: str, text: str, host: str = "") -> None:
        """Follow a :class:`~app.run.remote.ConnectionWatch` report."""
        if event == "lost":
            self.show_lost(text or host)
        elif event == "gone":
            self.show_gone(host, text)
        else:  # "back" (the same session resumed) or "closed" (stopped here)
            self.state = event
            self.hide()

    def show_lost(self, host: str) -> None:
        self._show(
            "lost",
            f"Connection to {host} lost — reconnecting… The drawing stays here; "
            "edits you make are kept and sent when it is back.",
            QStyle.StandardPixmap.SP_MessageBoxWarning,
            QColor(220, 150, 20),
        )

    def show_gone(self, host: str, reason: str) -> None:
        where = f"The server {host}" if host else "The server"
        why = f" ({reason})" if reason else ""
        self._show(
            "gone",
            f"{where} is gone{why}. The drawing so far is kept: continue it here or on another server.",
            QStyle.StandardPixmap.SP_MessageBoxCritical,
            QColor(200, 50, 40),
        )

    def _show(self, state: str, text: str, icon: QStyle.StandardPixmap, base: QColor) -> None:
        logger.info("connection banner: %s", text)
        self.state = state
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._icon.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        pal = self.palette()
        window = pal.color(QPalette.ColorRole.Window)
        tint = QColor(
            int(window.red() * 0.8 + base.red() * 0.2),
            int(window.green() * 0.8 + base.green() * 0.2),
            int(window.blue() * 0.8 + base.blue() * 0.2),
        )
        pal.setColor(QPalette.ColorRole.Window, tint)
        self.setPalette(pal)
        self.label.setText(text)
        self.show()
