"""Compute on a ``clipdraw-server``: what the run controller needs to start a remote session.

The window's worker drives a :class:`~clipdraw_core.remote.proxy.RemoteSessionProxy`
exactly like a local ``Session`` (same methods), so a remote run looks and steers like
a local one; this module holds the address and token, opens the proxy, and turns the
proxy's connection reports (made on its network thread) into a Qt signal on the GUI
thread (:class:`ConnectionWatch`), which the window's connection banner follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.remote.client import probe_server
from clipdraw_core.remote.protocol import parse_server_address
from clipdraw_core.remote.proxy import RemoteSessionProxy


@dataclass(frozen=True)
class RemoteCompute:
    """A server to compute on: ``HOST:PORT`` (or a ws/wss/http/https URL) and its token."""

    address: str
    token: str | None = None
    #: How long a dropped connection is retried before the run is given up.
    reconnect_s: float = 60.0

    def __post_init__(self) -> None:
        parse_server_address(self.address)  # a RemoteError now, not when Draw is pressed

    @property
    def label(self) -> str:
        return parse_server_address(self.address).split("://", 1)[1].removesuffix("/ws")

    def open(
        self,
        config: SessionConfig,
        *,
        drawing: Drawing | None = None,
        start_step: int = 0,
        initial_strokes: Sequence[Stroke] = (),
        guidance: Guidance | None = None,
        on_connection: Callable[[str, str], None] | None = None,
    ) -> RemoteSessionProxy:
        """Start a session on the server (called on the worker thread)."""
        return RemoteSessionProxy(
            self.address, self.token, config, initial_strokes, drawing=drawing, start_step=start_step,
            guidance=guidance, reconnect_s=self.reconnect_s,
            on_connection=on_connection,
        )

    def test(self) -> dict[str, Any]:
        """Device, model and round-trip time of the server (blocks: call it off the GUI thread)."""
        return asyncio.run(probe_server(self.address, self.token))


class ConnectionWatch(QObject):
    """The connection of the running remote session, as a signal on the GUI thread.

    ``changed(event, text)``: ``"lost"`` (reconnecting; text: host), ``"back"`` (the same
    session resumed), ``"gone"`` (given up; text: why), ``"closed"`` (the run was stopped
    here). Each run gets its own :meth:`reporter` (callable from any thread: the signal
    is queued to this GUI-thread object); a report of an earlier run that arrives after
    :meth:`close` or a newer :meth:`reporter` is dropped, so a stopped run cannot bring
    the banner back.
    """

    changed = Signal(str, str)
    _reported = Signal(int, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = "closed"
        self.text = ""
        self._generation = 0
        self._reported.connect(self._on_reported)

    def reporter(self) -> Callable[[str, str], None]:
        """A callback for the next run's proxy (call on the GUI thread)."""
        self._generation += 1
        generation = self._generation
        return lambda event, text: self._reported.emit(generation, event, text)

    def close(self) -> None:
        """The run ended here: forget it (reports still on their way are dropped)."""
        self._generation += 1
        self._set("closed", "")

    def _on_reported(self, generation: int, event: str, text: str) -> None:
        if generation == self._generation:
            self._set(event, text)

    def _set(self, event: str, text: str) -> None:
        changed = (event, text) != (self.state, self.text)
        self.state, self.text = event, text
        if changed:
            self.changed.emit(event, text)
