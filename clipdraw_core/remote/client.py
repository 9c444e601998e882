"""The client side of ``clipdraw-server``: used by ``clipdraw-cli --server`` and the app.

:class:`RemoteClient` is asyncio code on aiohttp's WebSocket client (the same library
as the server, see :mod:`clipdraw_core.remote.server` for why). It keeps every command
it sent until a snapshot from the server acknowledges its sequence number; when the
connection drops it reconnects for up to ``reconnect_s`` seconds, resumes the same
session by id and resends only the commands the server did not get, so an edit made
during a network drop is not lost.

Errors are :class:`~clipdraw_core.errors.RemoteError` (one line for the artist):
:class:`~clipdraw_core.errors.AuthError` for a refused token, the server's reason when
it closes the connection on purpose (a bad message, busy, a model it does not serve).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from clipdraw_core.drawing.commands import Command
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import AuthError, ClipDrawError, RemoteError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.snapshot import Snapshot
from clipdraw_core.remote.protocol import decode_message, encode_message, parse_server_address

logger = logging.getLogger(__name__)

#: Close codes the server uses on purpose: reconnecting would not help.
_FINAL_CODES = frozenset({1008, 1009, 1013, 4000})
MAX_INCOMING_BYTES = 256 * 1024 * 1024


class _Dropped(Exception):
    """The connection ended without the server meaning to end it (reconnect)."""


@dataclass(frozen=True)
class RemoteEvent:
    """What :meth:`RemoteClient.events` yields: a snapshot, or a change of connection."""

    kind: str  # "snapshot", "disconnected", "reconnected"
    snapshot: Snapshot | None = None
    state: str = ""
    #: The last command sequence number the server has received.
    seq: int = 0


class RemoteClient:
    """One connection (and, after :meth:`start`, one session) on a ``clipdraw-server``."""

    def __init__(
        self, address: str, token: str | None = None, *, reconnect_s: float = 30.0, timeout_s: float = 10.0
    ) -> None:
        self.url = parse_server_address(address)
        self.token = token
        self.reconnect_s = reconnect_s
        self.timeout_s = timeout_s
        self.welcome: dict[str, Any] = {}
        self.session_id: str | None = None
        self.state = ""
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        self._seq = 0
        self._unacked: list[tuple[int, dict[str, Any]]] = []
        self._acked = 0
        self._closing = False
        #: The guidance of the last snapshot that carried one (the server sends it on change).
        self._guidance = Guidance()
        #: True while a reconnect resends what the server missed: new commands wait in
        #: ``_unacked`` so that they reach the server after the older ones, in order.
        self._resyncing = False
        #: Bytes and messages received (the benchmark's bandwidth per snapshot).
        self.received_bytes = 0
        self.received_messages = 0

    # -------------------------------------------------------------- connection
    async def connect(self) -> dict[str, Any]:
        """Open the WebSocket and return the server's ``welcome`` (device, model, ...)."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            self._ws = await self._http.ws_connect(
                self.url,
                headers=headers,
                max_msg_size=MAX_INCOMING_BYTES,
                heartbeat=20.0,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                proxy=None,
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                message = f"the server at {self.url} refused the token (wrong or missing --token)"
                raise AuthError(message) from exc
            raise RemoteError(f"{self.url} answered HTTP {exc.status}: is it a clipdraw-server?") from exc
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise RemoteError(f"cannot reach the server at {self.url}: {exc or type(exc).__name__}") from exc
        welcome = await asyncio.wait_for(self._receive(), self.timeout_s)
        if welcome.get("type") != "welcome":
            raise RemoteError(f"{self.url} is not a clipdraw-server (no welcome)")
        self.welcome = welcome
        return welcome

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def drop(self) -> None:
        """Close the socket abruptly (as a network failure would); for tests and the benchmark."""
        if self._ws is not None:
            transport = self._ws._response.connection.transport if self._ws._response.connection else None
            if transport is not None:
                transport.abort()

    async def ping(self) -> float:
        """Round-trip time in seconds (before :meth:`start`: the reader is not running yet)."""
        t0 = time.perf_counter()
        await self._send({"type": "ping", "t": t0})
        while True:
            msg = await asyncio.wait_for(self._receive(), self.timeout_s)
            if msg.get("type") == "pong":
                return time.perf_counter() - t0

    # -------------------------------------------------------------- session
    async def start(
        self,
        config: SessionConfig,
        strokes: Sequence[Stroke] = (),
        *,
        model: str | None = None,
        weights: str | None = None,
        paused: bool = False,
        start_step: int = 0,
        guidance: Guidance | None = None,
        plan: bool = False,
        record: bool = False,
    ) -> Snapshot:
        """Start a session on the server (at ``start_step`` to continue a drawing); its first snapshot.

        ``guidance`` (image prompts, style image, regions) travels as data: the pictures
        as the PNG bytes they already are, within the protocol's size caps. ``plan``
        runs the settings' stages, prunes and auto-stop on the server (as the CLI's local
        loop does), ``record`` also keeps its time-lapse frames (:meth:`frames`).
        """
        await self._send(
            {
                "type": "start",
                "config": config.to_dict(),
                "strokes": [s.to_plain() for s in strokes],
                "guidance": (guidance or Guidance()).to_dict(),
                "model": model,
                "weights": weights,
                "paused": paused,
                "step": start_step,
                "plan": {"record": record} if plan else None,
            }
        )
        while True:
            msg = await self._receive()
            if msg.get("type") == "started":
                self.session_id = str(msg["session"])
                self.state = str(msg.get("state", ""))
                return self._snapshot(msg)

    async def frames(self) -> dict[str, Any] | None:
        """The time-lapse the server recorded (``TimelapseRecorder.to_dict()``), once the run is done.

        Call it when :meth:`events` is not being iterated (it reads the socket itself).
        """
        await self._send({"type": "frames"})
        while True:
            msg = await asyncio.wait_for(self._receive(), 10 * self.timeout_s)
            if msg.get("type") == "frames":
                data = msg.get("timelapse")
                return data if isinstance(data, dict) else None

    async def submit(self, command: Command) -> int:
        """Send an edit (kept until acknowledged, resent after a reconnect); returns its seq."""
        self._seq += 1
        seq = self._seq
        plain = command.to_plain()
        self._unacked.append((seq, plain))
        if self._resyncing:
            return seq  # the reconnect sends it after the older ones
        try:
            await self._send({"type": "command", "seq": seq, "command": plain})
        except _Dropped:
            pass  # resent on reconnect
        return seq

    async def control(self, action: str, lease_s: float | None = None) -> None:
        """``pause``, ``run`` (for ``lease_s`` seconds unless renewed) or ``stop`` the session."""
        message: dict[str, Any] = {"type": "control", "action": action}
        if lease_s is not None:
            message["lease_s"] = lease_s
        try:
            await self._send(message)
        except _Dropped:
            if action != "stop":
                raise RemoteError("the connection to the server is down") from None

    async def events(self) -> AsyncIterator[RemoteEvent]:
        """Snapshots as they come (coalesced by the server); reconnects on a drop."""
        while True:
            try:
                msg = await self._receive()
            except _Dropped:
                if self._closing or self.session_id is None:
                    raise RemoteError("the connection to the server was closed") from None
                yield RemoteEvent("disconnected")
                await self._reconnect()
                yield RemoteEvent("reconnected", self._last_resumed, self.state, self._acked)
                continue
            if msg.get("type") == "snapshot":
                self._ack(int(msg.get("seq", 0)))
                self.state = str(msg.get("state", ""))
                snap = self._snapshot(msg)
                yield RemoteEvent("snapshot", snap, self.state, self._acked)
                if msg.get("error"):
                    raise RemoteError(f"the server's session failed: {msg['error']}")

    # -------------------------------------------------------------- internals
    _last_resumed: Snapshot | None = None

    async def _reconnect(self) -> None:
        deadline = time.monotonic() + self.reconnect_s
        delay = 0.2
        self._resyncing = True
        try:
            await self._reconnect_until(deadline, delay)
        finally:
            self._resyncing = False

    async def _reconnect_until(self, deadline: float, delay: float) -> None:
        while True:
            reached = False
            try:
                await self.connect()
                reached = True
                await self._send({"type": "resume", "session": self.session_id})
                while True:
                    msg = await asyncio.wait_for(self._receive(), self.timeout_s)
                    if msg.get("type") == "resumed":
                        break
                self._ack(int(msg.get("seq", 0)))
                self.state = str(msg.get("state", ""))
                self._last_resumed = self._snapshot(msg)
                i = 0
                while i < len(self._unacked):  # including any submitted meanwhile, in order
                    seq, plain = self._unacked[i]
                    await self._send({"type": "command", "seq": seq, "command": plain})
                    i += 1
                logger.info("resumed session %s (%d commands resent)", self.session_id, i)
                return
            except (RemoteError, _Dropped, asyncio.TimeoutError) as exc:
                # The server answered but will not resume (the session ended, a restart):
                # final, waiting would not bring the session back.
                final = isinstance(exc, AuthError) or (reached and isinstance(exc, RemoteError))
                if final:
                    raise
                if time.monotonic() + delay > deadline:
                    raise RemoteError(
                        f"lost the server at {self.url} and could not reconnect within "
                        f"{self.reconnect_s:g} s"
                    ) from exc
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    def _ack(self, seq: int) -> None:
        self._acked = max(self._acked, seq)
        self._unacked = [(s, c) for s, c in self._unacked if s > seq]

    def _snapshot(self, msg: dict[str, Any]) -> Snapshot:
        try:
            snap = Snapshot.from_plain(msg["snapshot"])
        except (ClipDrawError, KeyError, TypeError, ValueError) as exc:
            raise RemoteError(f"the server sent an unreadable snapshot: {exc}") from exc
        if msg.get("guidance_same"):
            return snap.replace(guidance=self._guidance)
        self._guidance = snap.guidance
        return snap

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is None or self._ws.closed:
            raise _Dropped()
        try:
            await self._ws.send_str(encode_message(message))
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            raise _Dropped() from exc

    async def _receive(self) -> dict[str, Any]:
        ws = self._ws
        if ws is None:
            raise _Dropped()
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            self.received_bytes += len(msg.data)  # JSON text is ASCII: characters are bytes
            self.received_messages += 1
            data = decode_message(msg.data)
            if data.get("type") == "error":
                raise RemoteError(str(data.get("message", "the server refused")))
            return data
        code = ws.close_code
        if msg.type == aiohttp.WSMsgType.CLOSE:
            code = int(msg.data)
        if code in _FINAL_CODES:
            reason = msg.extra if isinstance(msg.extra, str) and msg.extra else "no reason given"
            raise RemoteError(f"the server closed the connection: {reason}")
        raise _Dropped()


@dataclass
class RemoteResult:
    """The newest snapshot a remote job produced (kept even when the job fails midway)."""

    last: Snapshot | None = None
    #: The time-lapse recorded on the server (``record=True``), as ``TimelapseRecorder`` data.
    timelapse: dict[str, Any] | None = None
    #: The plan stopped the run before its last step (auto-stop).
    stopped_early: bool = False


async def run_remote_job(
    address: str,
    token: str | None,
    config: SessionConfig,
    strokes: Sequence[Stroke],
    result: RemoteResult,
    *,
    model: str | None = None,
    weights: str | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    reconnect_s: float = 30.0,
    guidance: Guidance | None = None,
    plan: bool = False,
    record: bool = False,
) -> Snapshot:
    """Run ``config`` to its last step on a server (what ``clipdraw-cli --server`` does).

    With ``plan`` the server runs the settings' stages, prunes and auto-stop; with
    ``record`` the time-lapse frames are fetched into ``result.timelapse`` at the end.
    """
    client = RemoteClient(address, token, reconnect_s=reconnect_s)
    await client.connect()
    try:
        snap = await client.start(
            config, strokes, model=model, weights=weights, guidance=guidance, plan=plan, record=record
        )
        result.last = snap
        if on_snapshot is not None:
            on_snapshot(snap)
        if not (snap.done and not plan):
            async for event in client.events():
                if event.snapshot is None:
                    continue
                result.last = event.snapshot
                if on_snapshot is not None:
                    on_snapshot(event.snapshot)
                if event.state == "done" or (event.snapshot.done and not plan):
                    break
        result.stopped_early = result.last.step < result.last.total_steps
        if record:
            result.timelapse = await client.frames()
        await client.control("stop")
        assert result.last is not None
        return result.last
    finally:
        await client.close()


async def probe_server(address: str, token: str | None) -> dict[str, Any]:
    """The server's device and model and the round-trip time (the app's "Test connection")."""
    client = RemoteClient(address, token, reconnect_s=0)
    try:
        welcome = await client.connect()
        rtt = min([await client.ping() for _ in range(3)])
    finally:
        await client.close()
    return {
        "devices": list(welcome.get("devices", [])),
        "model": welcome.get("model"),
        "weights": welcome.get("weights"),
        "sessions": welcome.get("sessions"),
        "max_sessions": welcome.get("max_sessions"),
        "rtt_s": rtt,
    }
