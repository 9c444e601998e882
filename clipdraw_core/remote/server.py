"""``clipdraw-server``: run CLIPDraw sessions on this machine's GPU(s) for remote windows and CLIs.

Built on aiohttp's WebSocket server. Why aiohttp: one well-kept asyncio library gives
both the server and the client side (the CLI and the app use its client), WebSockets
with a per-message size cap, ping/pong keep-alive and close codes with reasons, and
plain HTTP for the upgrade, so the token is checked *before* a WebSocket exists and
any reverse proxy (nginx, Caddy) can put TLS in front. FastAPI/uvicorn would add two
more packages for the same WebSocket; gRPC would need generated code and does not
pass through ordinary HTTP proxies as easily.

How a connection runs:

* The upgrade request must carry ``Authorization: Bearer TOKEN`` (compared with
  :func:`hmac.compare_digest`); otherwise the answer is HTTP 401 and no WebSocket.
  A token is required unless the server is bound to loopback.
* The server greets with ``welcome`` (version, devices, model). The client sends
  ``start`` (settings, seed strokes as data) or ``resume`` (a session id). One session
  per connection; each session steps on its own thread, so the event loop never waits
  for the GPU; models are loaded and sessions created in the executor.
* Snapshots stream *coalesced*: the session thread replaces a one-slot "latest" and
  wakes the connection's sender, which sends whatever is newest when the socket is
  free. A slow network gets fewer snapshots, never a backlog.
* Commands come up as plain data with a sequence number; every message is validated
  by :mod:`clipdraw_core.remote.protocol` before it reaches the engine. A bad message
  closes that connection (code 1008 and the reason); other sessions never notice.
  Messages over ``--max-message-bytes`` close the connection (1009); commands beyond
  a token bucket (``--max-commands-per-second``, burst twice that) close it too.
* A connection that drops leaves its session *detached* (still running) for
  ``--grace`` seconds; ``resume`` with the session id attaches again and reports the
  last command it received, so the client resends only what was lost.
* No file path from a client is ever opened: seeds arrive as strokes, image prompts
  and a style image as size-capped PNG data, regions as polygons; a model is served
  only if it is the one the server was started with or a built-in open_clip model
  with published (cached) weights. The style loss's VGG-16 is the server's choice
  (``--style-weights``; random when the CLIP weights are), loaded once per device.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from clipdraw_core import __version__
from clipdraw_core.clip.clip_model import ClipModel
from clipdraw_core.drawing.commands import Command
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import ClipDrawError, ConfigError, RemoteError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.plan import PlanOptions, RunPlan
from clipdraw_core.optim.run_state import RunState
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.snapshot import Snapshot
from clipdraw_core.optim.style import StyleNetwork
from clipdraw_core.remote.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    ClientMessage,
    ProtocolError,
    decode_message,
    encode_message,
    parse_client_message,
)

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8765
#: Close codes (RFC 6455 and the private range) a client can tell apart.
CLOSE_POLICY = int(WSCloseCode.POLICY_VIOLATION)
CLOSE_TRY_AGAIN = int(WSCloseCode.TRY_AGAIN_LATER)
CLOSE_TAKEN_OVER = 4000
_NO_GUIDANCE = Guidance()


@dataclass
class ServerOptions:
    """What ``clipdraw-server`` was started with."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    devices: tuple[str, ...] = ("auto",)
    max_sessions: int = 4
    model: str = "ViT-B-32"
    weights: str = "openai"
    grace_s: float = 120.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_commands_per_second: float = 100.0
    #: VGG-16 of the style loss: imagenet, random or a checkpoint on this machine
    #: (``None``: random when ``weights`` is random, else imagenet).
    style_weights: str | None = None

    def check(self) -> ServerOptions:
        if self.token is not None and not self.token.strip():
            raise ConfigError("the token is empty")
        if self.token is None and not is_loopback(self.host):
            raise ConfigError(
                f"a token is required to listen on {self.host} (not loopback): give --token or --token-file"
            )
        if not 1 <= self.max_sessions <= 1024:
            raise ConfigError("--max-sessions must be between 1 and 1024")
        if not 0 <= self.port <= 65535:
            raise ConfigError("--port must be between 0 and 65535")
        if not self.max_commands_per_second > 0:
            raise ConfigError("--max-commands-per-second must be > 0")
        return self


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TokenBucket:
    """At most ``rate`` events per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = burst
        self._last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class ModelPool:
    """CLIP models by (model, weights, device), loaded once; decides what a client may ask for."""

    def __init__(self, model: str, weights: str, style_weights: str | None = None) -> None:
        self.model, self.weights = model, weights
        test_mode = weights.strip().lower() == "random"
        self.style_weights = style_weights or ("random" if test_mode else "imagenet")
        self._models: dict[tuple[str, str, str], ClipModel] = {}
        self._styles: dict[str, StyleNetwork] = {}
        self._lock = threading.Lock()
        self._style_lock = threading.Lock()

    def resolve(self, model: str | None, weights: str | None) -> tuple[str, str]:
        """The (model, weights) to load for a request, or :class:`RemoteError` saying why not."""
        if model is None or (model == self.model and weights in (None, self.weights)):
            return self.model, self.weights if weights is None or model is None else weights
        weights = weights or "openai"
        import open_clip

        builtin = model in open_clip.list_models()
        tags = open_clip.list_pretrained_tags_by_model(model) if builtin else []
        if builtin and (weights in tags or weights == "random"):
            return model, weights
        raise RemoteError(
            f"this server does not serve model {model!r} with weights {weights!r}; it serves "
            f"{self.model!r} ({self.weights}) and built-in open_clip models with their published "
            "weights (it never opens files named by a client)"
        )

    def get(self, model: str, weights: str, device: str) -> ClipModel:
        from clipdraw_core.clip.clip_model import load_clip

        key = (model, weights, device)
        with self._lock:
            if key not in self._models:
                logger.info("loading model %s (%s) on %s", model, weights, device)
                self._models[key] = load_clip(model, weights, device)
            return self._models[key]

    def style_loader(self, device: str) -> Callable[[], StyleNetwork]:
        """What a session calls when a style image first needs VGG-16: one network per device."""

        def load() -> StyleNetwork:
            from clipdraw_core.optim.style import load_style_network

            with self._style_lock:
                if device not in self._styles:
                    logger.info("loading the style network (%s) on %s", self.style_weights, device)
                    self._styles[device] = load_style_network(self.style_weights, device)
                return self._styles[device]

        return load


class HostedSession:
    """A :class:`Session` stepping on its own thread, with a one-slot latest snapshot.

    With a :class:`RunPlan` (``clipdraw-cli --server``) the thread calls its hooks around
    every step exactly as the CLI's local loop does (stages, prunes, auto-stop, time-lapse
    frames), so a remote CLI run gives the local run's drawing; the run is *done* when
    the session reaches its last step or the plan stops it early, and the plan's
    ``finish`` (last prune, closing frame) has run.
    """

    def __init__(
        self, session_id: str, session: Session, device: str, paused: bool, plan: RunPlan | None = None
    ) -> None:
        self.id = session_id
        self.session = session
        self.plan = plan
        self._plan_done = False
        #: Held around the plan's hooks (session thread) and while its frames are read.
        self.plan_lock = threading.Lock()
        self.device = device
        self.last_seq = 0
        self.error: str | None = None
        #: The newest snapshot and the last command seq it includes.
        #: The newest snapshot, the last command seq it includes and the run state it was
        #: published in (so "done" always comes with the final snapshot, never before it).
        self._latest: tuple[Snapshot, int, str] | None = (
            session.snapshot(), 0, str(RunState.PAUSED if paused else RunState.RUNNING)
        )
        self._latest_lock = threading.Lock()
        self._running = not paused
        self._applied = 0
        self._lease_until: float | None = None
        self._dirty = False
        self._stop = False
        self._wake = threading.Event()
        self._listener: Callable[[], None] | None = None
        self.expiry: asyncio.TimerHandle | None = None
        self.connection: Any = None
        self._thread = threading.Thread(target=self._loop, name=f"session-{session_id[:6]}", daemon=True)
        self._thread.start()

    # -------------------------------------------------------------- any thread
    @property
    def state(self) -> RunState:
        if self._stop:
            return RunState.STOPPED
        if self._finished():
            return RunState.DONE
        return RunState.RUNNING if self._may_step() else RunState.PAUSED

    def submit(self, seq: int, command: Command) -> bool:
        """Queue a command unless its ``seq`` was already received (a resend after reconnect)."""
        if seq <= self.last_seq:
            return False
        self.session.submit(command)  # queued before last_seq says so (see _loop)
        self.last_seq = seq
        self._dirty = True
        self._wake.set()
        return True

    def control(self, action: str, lease_s: float | None = None) -> None:
        """``run`` (for ``lease_s`` seconds unless renewed, or for good), ``pause`` or ``stop``.

        A window renews a short lease with every step it asks for, so when it pauses
        (or its network drops) the GPU stops within the lease instead of running on.
        """
        if action == "stop":
            self._stop = True
        else:
            self._running = action == "run"
            self._lease_until = None if lease_s is None else time.monotonic() + lease_s
            self._dirty = True
        self._wake.set()

    def _finished(self) -> bool:
        return self._plan_done if self.plan is not None else self.session.done

    def timelapse(self) -> dict[str, Any] | None:
        """The time-lapse frames recorded so far as data (``None`` without a recorder)."""
        with self.plan_lock:
            recorder = self.plan.recorder if self.plan is not None else None
            return None if recorder is None else recorder.to_dict()

    def _may_step(self) -> bool:
        lease = self._lease_until
        return self._running and (lease is None or time.monotonic() < lease)

    def set_listener(self, listener: Callable[[], None] | None) -> None:
        self._listener = listener
        if listener is not None:
            listener()

    def take_latest(self) -> tuple[Snapshot, int, str] | None:
        with self._latest_lock:
            latest, self._latest = self._latest, None
            return latest

    def peek(self) -> tuple[Snapshot, int, str]:
        with self._latest_lock:
            if self._latest is not None:
                return self._latest
        return self.session.snapshot(), self._applied, str(self.state)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -------------------------------------------------------------- its thread
    def _publish(self, snap: Snapshot, seq: int) -> None:
        self._applied = seq
        with self._latest_lock:
            self._latest = (snap, seq, str(self.state))
        listener = self._listener
        if listener is not None:
            listener()

    def _loop(self) -> None:
        session = self.session
        plan = self.plan
        try:
            if plan is not None:
                with self.plan_lock:
                    plan.start(session)
            while not self._stop:
                # Every command up to last_seq is already queued, so this step applies them.
                seq = self.last_seq
                if self._may_step() and not self._finished():
                    if plan is None:
                        snap = session.step()
                    else:  # the CLI's own loop (run_with_plan), then plan.finish
                        with self.plan_lock:
                            plan.before_step(session)
                            snap = session.step()
                            if plan.after_step(session, snap) or session.done:
                                snap = plan.finish(session)
                                self._plan_done = True
                else:
                    self._wake.wait(timeout=0.05 if self._running else 1.0)
                    self._wake.clear()
                    if self._stop or not self._dirty:
                        continue
                    self._dirty = False
                    # Read again: a command that woke this wait came after the read above,
                    # and its snapshot must say it is in (a paused client waits for that).
                    seq = self.last_seq
                    snap = session.apply_pending()
                self._publish(snap, seq)
        except ClipDrawError as exc:
            self.error = " ".join(str(exc).split())
        except Exception as exc:  # a bug must end this session only, never the server
            logger.exception("session %s failed", self.id)
            self.error = f"the session failed on the server: {type(exc).__name__}: {exc}"
        finally:
            self._stop = True
            self._publish(session.snapshot(), self._applied)


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    peer: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    hosted: HostedSession | None = None
    transport: asyncio.Transport | None = None
    #: The guidance the client last received (snapshots repeat it only when it changes).
    sent_guidance: Guidance | None = None


class RemoteServer:
    """The aiohttp application and its sessions (see the module docstring)."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options.check()
        self.pool = ModelPool(options.model, options.weights, options.style_weights)
        self.sessions: dict[str, HostedSession] = {}
        self._connections: set[_Connection] = set()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # -------------------------------------------------------------- lifecycle
    def preload(self) -> None:
        """Load the served model on every device now, so the first session starts quickly."""
        for device in self.options.devices:
            self.pool.get(self.options.model, self.options.weights, device)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def start(self) -> int:
        """Start listening; returns the port (useful with port 0)."""
        self.loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(
            self.make_app(), handle_signals=False, access_log=None, shutdown_timeout=5.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self.options.port
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._stop_all()

    async def _on_shutdown(self, app: web.Application) -> None:
        self._stop_all()
        for conn in list(self._connections):
            await conn.ws.close(code=int(WSCloseCode.GOING_AWAY), message=b"the server is shutting down")

    def _stop_all(self) -> None:
        for hosted in list(self.sessions.values()):
            hosted.control("stop")
        self.sessions.clear()

    def info(self) -> dict[str, Any]:
        return {
            "type": "welcome",
            "protocol": PROTOCOL_VERSION,
            "version": __version__,
            "devices": [self._device_name(d) for d in self.options.devices],
            "model": self.options.model,
            "weights": self.options.weights,
            "sessions": len(self.sessions),
            "max_sessions": self.options.max_sessions,
        }

    @staticmethod
    def _device_name(device: str) -> str:
        from clipdraw_core.clip.clip_model import resolve_device

        return str(resolve_device(device))

    # -------------------------------------------------------------- a connection
    def _authorised(self, request: web.Request) -> bool:
        expected = self.options.token
        if expected is None:
            return True
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.remote or "?"
        if not self._authorised(request):
            logger.warning("refused %s: wrong or missing token", peer)
            return web.Response(status=401, text="wrong or missing token")
        ws = web.WebSocketResponse(max_msg_size=self.options.max_message_bytes, heartbeat=20.0)
        await ws.prepare(request)
        conn = _Connection(ws, peer, transport=request.transport)
        self._connections.add(conn)
        logger.info("%s connected", peer)
        sender = asyncio.create_task(self._send_snapshots(conn))
        bucket = TokenBucket(self.options.max_commands_per_second, 2 * self.options.max_commands_per_second)
        try:
            await ws.send_str(encode_message(self.info()))
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        await ws.close(code=CLOSE_POLICY, message=b"binary messages are not accepted")
                    break
                try:
                    parsed = await _parse(msg.data)
                    if parsed.type == "command" and not bucket.take():
                        raise ProtocolError(
                            f"too many commands (at most {self.options.max_commands_per_second:g} per second)"
                        )
                    await self._dispatch(conn, parsed)
                except ProtocolError as exc:
                    reason = " ".join(str(exc).split())
                    logger.warning("closing %s: %s", peer, reason)
                    if conn.hosted is not None:  # a misbehaving client's session ends with it
                        self._end(conn.hosted)
                    await ws.close(code=CLOSE_POLICY, message=reason.encode("utf-8")[:120])
                    break
                except RemoteError as exc:
                    await ws.send_str(encode_message({"type": "error", "message": str(exc)}))
                    await ws.close(code=CLOSE_TRY_AGAIN, message=str(exc).encode("utf-8")[:120])
                    break
            if ws.close_code == int(WSCloseCode.MESSAGE_TOO_BIG) or ws.exception() is not None:
                logger.warning("closing %s: %s", peer, ws.exception() or "message too big")
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._detach(conn)
            self._connections.discard(conn)
            logger.info("%s disconnected", peer)
        return ws

    async def _dispatch(self, conn: _Connection, msg: ClientMessage) -> None:
        if msg.type == "ping":
            await conn.ws.send_str(encode_message({"type": "pong", "t": msg.payload}))
        elif msg.type == "start":
            if conn.hosted is not None:
                raise ProtocolError("this connection already has a session")
            assert msg.config is not None
            hosted = await self._start_session(conn, msg.config, msg.strokes, msg.paused,
                                               msg.payload if isinstance(msg.payload, tuple) else None,
                                               start_step=msg.seq, guidance=msg.guidance,
                                               plan=(msg.run_plan, msg.record))
            await self._attach(conn, hosted, "started")
        elif msg.type == "resume":
            if conn.hosted is not None:
                raise ProtocolError("this connection already has a session")
            found = self.sessions.get(msg.session_id)
            if found is None:
                raise RemoteError("that session has ended on the server (or never existed); start a new one")
            await self._attach(conn, found, "resumed")
        elif conn.hosted is None:
            raise ProtocolError(f"{msg.type} before start")
        elif msg.type == "frames":
            hosted = conn.hosted

            def frames_text() -> str:
                return encode_message({"type": "frames", "timelapse": hosted.timelapse()})

            text = await asyncio.get_running_loop().run_in_executor(None, frames_text)
            await conn.ws.send_str(text)
        elif msg.type == "command":
            assert msg.command is not None
            if conn.hosted.submit(msg.seq, msg.command):
                logger.info("session %s: %s", conn.hosted.id[:6], type(msg.command).__name__)
        else:
            conn.hosted.control(msg.action, msg.payload)
            logger.info("session %s: %s", conn.hosted.id[:6], msg.action)
            if msg.action == "stop":
                self._end(conn.hosted)

    async def _start_session(
        self,
        conn: _Connection,
        config: SessionConfig,
        strokes: Sequence[Stroke],
        paused: bool,
        model_request: tuple[str | None, str | None] | None,
        *,
        start_step: int = 0,
        guidance: Guidance | None = None,
        plan: tuple[bool, bool] = (False, False),
    ) -> HostedSession:
        if len(self.sessions) >= self.options.max_sessions:
            raise RemoteError(f"the server is busy: {self.options.max_sessions} sessions already run")
        model, weights = self.pool.resolve(*(model_request or (None, None)))
        device = self._least_busy_device()
        loop = asyncio.get_running_loop()

        run_plan, record = plan

        def create() -> tuple[Session, RunPlan | None]:
            cfg = config.replace(model_name=model, weights=weights, device=device).validate()
            run = None
            if run_plan:  # as the CLI does locally: first stage's strokes only, then the hooks
                options = PlanOptions.from_config(cfg, record=record).validate()
                run = RunPlan(options, cfg, start_step=start_step)
                cfg = run.session_config(cfg)
            clip = self.pool.get(model, weights, device)
            session = Session(
                cfg, clip, initial_strokes=strokes, start_step=start_step, guidance=guidance,
                style_network=self.pool.style_loader(device),
            )
            return session, run

        try:
            session, run = await loop.run_in_executor(None, create)
        except ClipDrawError as exc:
            raise RemoteError(" ".join(str(exc).split())) from exc
        sid = secrets.token_urlsafe(16)
        hosted = HostedSession(sid, session, device, paused, run)
        self.sessions[sid] = hosted
        logger.info(
            "session %s for %s: %r, %d steps, %d strokes, model %s (%s) on %s",
            sid[:6], conn.peer, config.prompt, config.num_steps, session.num_strokes, model, weights, device,
        )
        return hosted

    def _least_busy_device(self) -> str:
        counts = {d: 0 for d in self.options.devices}
        for hosted in self.sessions.values():
            if hosted.device in counts:
                counts[hosted.device] += 1
        return min(self.options.devices, key=lambda d: counts[d])

    async def _attach(self, conn: _Connection, hosted: HostedSession, kind: str) -> None:
        previous = hosted.connection
        if previous is not None and previous is not conn:
            previous.hosted = None
            await previous.ws.close(code=CLOSE_TAKEN_OVER, message=b"the session was resumed elsewhere")
        if hosted.expiry is not None:
            hosted.expiry.cancel()
            hosted.expiry = None
        conn.hosted = hosted
        hosted.connection = conn
        snap, _, state = hosted.take_latest() or hosted.peek()
        conn.sent_guidance = snap.guidance
        await conn.ws.send_str(
            encode_message(
                {
                    "type": kind,
                    "session": hosted.id,
                    "seq": hosted.last_seq,
                    "state": state,
                    "snapshot": snap.to_plain(),
                }
            )
        )
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(conn.wake.set)

        hosted.set_listener(wake)
        if kind == "resumed":
            logger.info("session %s resumed by %s", hosted.id[:6], conn.peer)

    def _detach(self, conn: _Connection) -> None:
        hosted = conn.hosted
        if hosted is None or hosted.connection is not conn:
            return
        hosted.connection = None
        hosted.set_listener(None)
        if hosted.state == RunState.STOPPED:
            self._end(hosted)
            return
        loop = asyncio.get_running_loop()
        hosted.expiry = loop.call_later(self.options.grace_s, self._expire, hosted.id)
        logger.info("session %s detached; kept for %.0f s", hosted.id[:6], self.options.grace_s)

    def _expire(self, sid: str) -> None:
        hosted = self.sessions.get(sid)
        if hosted is not None and hosted.connection is None:
            logger.info("session %s expired after its grace period", sid[:6])
            self._end(hosted)

    def _end(self, hosted: HostedSession) -> None:
        hosted.control("stop")
        if self.sessions.pop(hosted.id, None) is not None:
            logger.info("session %s ended at step %d", hosted.id[:6], hosted.session.step_count)

    async def _send_snapshots(self, conn: _Connection) -> None:
        """Send the newest snapshot whenever the session has one and the socket is free."""
        while True:
            await conn.wake.wait()
            conn.wake.clear()
            hosted = conn.hosted
            if hosted is None:
                continue
            latest = hosted.take_latest()
            if latest is None:
                continue
            snap, seq, state = latest
            message: dict[str, Any] = {
                "type": "snapshot",
                "seq": seq,  # the last command this snapshot includes
                "state": state,
            }
            if snap.guidance is conn.sent_guidance or snap.guidance == conn.sent_guidance:
                message["guidance_same"] = True  # pictures are sent once, not every step
                snap = snap.replace(guidance=_NO_GUIDANCE)
            else:
                conn.sent_guidance = snap.guidance
            message["snapshot"] = snap.to_plain()
            if hosted.error:
                message["error"] = hosted.error
            # Encoding a 256-stroke snapshot takes milliseconds: off the loop, so that
            # other connections are not held up meanwhile.
            text = await asyncio.get_running_loop().run_in_executor(None, encode_message, message)
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


#: Messages larger than this are decoded and checked off the event loop (pictures).
_PARSE_OFF_LOOP_BYTES = 64 * 1024


async def _parse(text: str) -> ClientMessage:
    """Decode and validate a client message; a big one (pictures to decode) in the executor,
    so that other connections' snapshots are not held up meanwhile."""
    if len(text) < _PARSE_OFF_LOOP_BYTES:
        return parse_client_message(decode_message(text))
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: parse_client_message(decode_message(text)))


class BackgroundServer:
    """A :class:`RemoteServer` on its own event-loop thread (tests, benchmarks, a local server).

    ``with BackgroundServer(options) as server: server.port`` listens until the block ends.
    """

    def __init__(self, options: ServerOptions) -> None:
        self.server = RemoteServer(options)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="clipdraw-server", daemon=True)
        self.port = 0

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(60)
        return self

    def __exit__(self, *exc: object) -> None:
        sessions = list(self.server.sessions.values())
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(60)
        for hosted in sessions:
            hosted.join(60)
        self.loop.close()

    @property
    def address(self) -> str:
        return f"{self.server.options.host}:{self.port}"

    def drop_connections(self, then_stall_s: float = 0.0) -> None:
        """Cut every connection as a network failure would (tests, the benchmark).

        ``then_stall_s`` keeps the server from answering for that long afterwards (its
        event loop sleeps; sessions keep stepping on their threads), like a network
        that stays down for a while: clients see the drop at once and reconnect after.
        """

        def cut() -> None:
            for conn in list(self.server._connections):
                if conn.transport is not None:
                    conn.transport.abort()
            if then_stall_s > 0:  # after the sockets are closed (callbacks run in order)
                self.loop.call_soon(time.sleep, then_stall_s)

        self.loop.call_soon_threadsafe(cut)


# ---------------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    defaults = SessionConfig()
    parser = argparse.ArgumentParser(
        prog="clipdraw-server",
        description="Run CLIPDraw sessions on this machine's GPU for remote windows and CLIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--token", help="shared secret clients must send (required unless on loopback)")
    parser.add_argument("--token-file", metavar="FILE", help="read the token from this file")
    parser.add_argument(
        "--device", default=defaults.device,
        help="compute device, or several separated by commas (cuda:0,cuda:1): sessions are spread over them",
    )
    parser.add_argument("--max-sessions", type=int, default=4, help="sessions at once (default 4)")
    parser.add_argument("--model", default=defaults.model_name, help="open_clip model name or config JSON")
    parser.add_argument(
        "--weights", default=defaults.weights, metavar="TAG|PATH|random",
        help="pretrained tag (openai), a local checkpoint file, or 'random' to test offline",
    )
    parser.add_argument(
        "--style-weights", default=None, metavar="imagenet|random|PATH",
        help="VGG-16 of the style loss, on this machine (default imagenet; random with --weights random)",
    )
    parser.add_argument(
        "--grace", type=float, default=120.0, help="seconds a dropped session waits for its client"
    )
    parser.add_argument(
        "--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES, help="largest message accepted"
    )
    parser.add_argument("--max-commands-per-second", type=float, default=100.0, help="per connection")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every command")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    token = args.token
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {args.token_file}: {exc.strerror}") from exc
    devices = tuple(d.strip() for d in str(args.device).split(",") if d.strip()) or ("auto",)
    return ServerOptions(
        host=args.host,
        port=args.port,
        token=token,
        devices=devices,
        max_sessions=args.max_sessions,
        model=args.model,
        weights=args.weights,
        grace_s=args.grace,
        max_message_bytes=args.max_message_bytes,
        max_commands_per_second=args.max_commands_per_second,
        style_weights=args.style_weights,
    ).check()


async def _serve(server: RemoteServer) -> None:
    port = await server.start()
    print(f"listening on {server.options.host}:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``clipdraw-server``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("clipdraw_core.optim").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        server = RemoteServer(options_from_args(args))
        server.preload()
        asyncio.run(_serve(server))
    except ClipDrawError as exc:
        print(f"clipdraw-server: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        print(f"clipdraw-server: error: cannot listen on {where}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
