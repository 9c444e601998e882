"""Compute: Server… - the address and token of a ``clipdraw-server``, with "Test connection".

The address and token are remembered (``compute_server`` / ``compute_token`` in the
settings file; the token is stored in clear text there, like an SSH config's host
names - use a token made for this server only). "Test connection" runs on a Python
thread (it waits for the network) and reports the server's device, model and round-trip
time, or the one-line reason it failed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.background import start_task
from app.run.remote import RemoteCompute
from clipdraw_core.errors import ClipDrawError


def describe(info: dict[str, Any]) -> str:
    devices = ", ".join(info.get("devices") or ["?"])
    return (
        f"Connected: {devices}, model {info.get('model')} ({info.get('weights')}), "
        f"round trip {1000 * float(info['rtt_s']):.0f} ms, "
        f"{info.get('sessions')} of {info.get('max_sessions')} sessions in use"
    )


class ComputeServerDialog(QDialog):
    """Asks for a server; :meth:`compute` is the result once accepted."""

    tested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compute on a server")
        self.address = QLineEdit(str(settings.read("compute_server") or ""))
        self.address.setPlaceholderText("gpu-box:8765 or https://draw.example.com")
        self.token = QLineEdit(str(settings.read("compute_token") or ""))
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.test_button = QPushButton("Test connection")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Server", self.address)
        form.addRow("Token", self.token)
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok | cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result)
        layout.addWidget(buttons)
        self.test_button.clicked.connect(self.test_connection)
        self.tested.connect(self._show_result)
        self._compute: RemoteCompute | None = None

    def _current(self) -> RemoteCompute:
        return RemoteCompute(self.address.text().strip(), self.token.text().strip() or None)

    def test_connection(self) -> None:
        try:
            compute = self._current()
        except ClipDrawError as exc:
            self._show_result(str(exc))
            return
        self.test_button.setEnabled(False)
        self.result.setText("Testing…")

        # A background task like every other (joined at quit); results come back on the GUI thread.
        start_task(
            lambda _task: describe(compute.test()),
            "clipdraw-test-connection",
            on_result=self.tested.emit,
            on_error=lambda message, _exc: self.tested.emit(message),
        )

    def _show_result(self, text: str) -> None:
        self.result.setText(text)
        self.test_button.setEnabled(True)

    def accept(self) -> None:
        try:
            self._compute = self._current()
        except ClipDrawError as exc:
            self.result.setText(str(exc))
            return
        settings.write("compute_server", self._compute.address)
        settings.write("compute_token", self._compute.token or "")
        super().accept()

    def compute(self) -> RemoteCompute | None:
        return self._compute
