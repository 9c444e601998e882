"""Compute on a ``clipdraw-server``: what the run controller needs to start a remote session.

The window's worker drives a :class:`~clipdraw_core.remote.proxy.RemoteSessionProxy`
exactly like a local ``Session`` (same methods), so a remote run looks and steers like
a local one; this module only holds the address and token and opens the proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    ) -> RemoteSessionProxy:
        """Start a session on the server (called on the worker thread)."""
        return RemoteSessionProxy(
            self.address, self.token, config, initial_strokes, drawing=drawing, start_step=start_step
        )

    def test(self) -> dict[str, Any]:
        """Device, model and round-trip time of the server (blocks: call it off the GUI thread)."""
        return asyncio.run(probe_server(self.address, self.token))
