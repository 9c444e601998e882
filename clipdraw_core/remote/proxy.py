"""A session on a ``clipdraw-server`` that looks like a local :class:`Session` to its caller.

Why a proxy with the session's methods: the window's worker thread already drives a
local session through ``snapshot()``, ``step()``, ``apply_pending()``, ``submit()``,
``allocate_ids()`` and ``done``. Giving a remote session the same methods lets the very
same worker (pause, edits while paused, undo, stop, coalesced snapshots) steer a run on
a server, so a remote run looks and steers exactly like a local one.

How the calls map:

* ``step()`` renews a short *run lease* on the server and returns the newest snapshot
  after the last one it returned: the server runs at its own speed, and the caller gets
  whatever is newest (coalesced) instead of paying a round trip per step. When the
  caller stops asking (paused, stopped, the network is down) the lease runs out and
  the server pauses. While the connection is down ``step()`` returns the last drawing
  within a second with a note ("reconnecting"), so Stop never hangs.
* ``submit()`` never waits for the network: the client keeps every command until the
  server acknowledges it and resends it after a reconnect. While the connection is
  down the proxy also applies a stroke edit to the drawing it shows
  (:func:`~clipdraw_core.drawing.commands.apply_to_drawing`, the engine's own rule),
  so the artist sees the edit at once and "continue on this computer" starts from it.
* ``on_connection(event, text)`` (optional, called on the client's thread) reports
  ``"lost"`` (reconnecting), ``"back"`` (the same session resumed) and ``"gone"``
  (given up: the server is unreachable for ``reconnect_s`` or no longer has the
  session; ``text`` says why), so a window can say so.
* ``apply_pending()`` pauses the server and waits until it has received every command
  sent so far (the snapshot's acknowledged sequence number), then returns the snapshot.
* ``allocate_ids()`` hands out ids above every id seen so far, on this side: the server
  takes the strokes' ids as given.
* A fatal :class:`~clipdraw_core.errors.RemoteError` (the server gone for good, the
  token refused) is raised from the next ``step()``; the last snapshot stays readable,
  so the drawing so far is never lost.

The asyncio client runs on its own thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from clipdraw_core.drawing.commands import Command, apply_to_drawing
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import RemoteError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.snapshot import Snapshot
from clipdraw_core.remote.client import RemoteClient

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
#: Longest wait in ``step()`` before it returns the last snapshot (so Stop stays quick).
STEP_WAIT_S = 1.0
#: ``on_connection(event, text)``: "lost", "back" or "gone" and a line for the artist.
ConnectionCallback = Callable[[str, str], None]


class RemoteSessionProxy:
    """A remote session with a local session's methods (see the module docstring)."""

    def __init__(
        self,
        address: str,
        token: str | None,
        config: SessionConfig,
        strokes: Sequence[Stroke] = (),
        *,
        drawing: Drawing | None = None,
        start_step: int = 0,
        model: str | None = None,
        weights: str | None = None,
        lease_s: float = 0.5,
        reconnect_s: float = 60.0,
        guidance: Guidance | None = None,
        on_connection: ConnectionCallback | None = None,
    ) -> None:
        self.lease_s = lease_s
        self._on_connection = on_connection
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="clipdraw-remote", daemon=True)
        self._thread.start()
        self._client = RemoteClient(address, token, reconnect_s=reconnect_s)
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._connected = True
        self._acked = 0
        self._sent = 0
        self._last_lease = 0.0
        self._notes: list[str] = []
        #: Edits made while disconnected, shown on the drawing until acknowledged.
        self._offline: list[tuple[int, Command]] = []
        seed = list(strokes)
        if drawing is not None:  # continue this drawing: its strokes and nothing random on top
            seed = list(drawing.strokes)
            config = config.replace(num_paths=0)
        try:
            self.welcome = self._call(self._client.connect())
            first = self._call(
                self._client.start(
                    config, seed, model=model, weights=weights, paused=True, start_step=start_step,
                    guidance=guidance,
                )
            )
        except BaseException:
            self.close()
            raise
        from urllib.parse import urlsplit

        self._where = urlsplit(self._client.url).netloc
        self._latest: Snapshot = first.replace(device=f"{first.device} @ {self._where}")
        self._returned_step = first.step
        self._next_id = itertools.count(first.drawing.next_id())
        self._top_id = first.drawing.next_id() - 1
        self._id_lock = threading.Lock()
        self._reader = asyncio.run_coroutine_threadsafe(self._read(), self._loop)

    # -------------------------------------------------------------- Session's methods
    @property
    def session_id(self) -> str | None:
        return self._client.session_id

    @property
    def config(self) -> SessionConfig:
        return self._latest.config

    @property
    def step_count(self) -> int:
        return self._latest.step

    @property
    def done(self) -> bool:
        return self._latest.done

    @property
    def num_strokes(self) -> int:
        return len(self._latest.drawing.strokes)

    @property
    def device(self) -> str:
        return self._latest.device

    @property
    def connected(self) -> bool:
        return self._connected

    def drawing(self) -> Drawing:
        return self._latest.drawing

    def snapshot(self) -> Snapshot:
        return self._latest

    def submit(self, command: Command) -> None:
        """Send an edit without waiting for the network (kept and resent until acknowledged)."""
        with self._cond:
            # Commands get seq 1, 2, ... in the order they are handed to the loop.
            self._sent += 1
            self._fire(self._client.submit(command))
            if not self._connected:
                self._offline.append((self._sent, command))
                self._latest = self._with_offline(self._latest)
                self._notes.append(f"{type(command).__name__} kept; it is sent when the connection is back")
                self._cond.notify_all()

    def _with_offline(self, snap: Snapshot) -> Snapshot:
        """``snap`` with the edits made offline that the server has not acknowledged yet.

        So an edit made while disconnected shows at once and stays shown after the
        reconnect until a snapshot from the server includes it.
        """
        self._offline = [(seq, c) for seq, c in self._offline if seq > self._acked]
        drawing = snap.drawing
        for _, command in self._offline:
            try:
                drawing, _ = apply_to_drawing(drawing, command)
            except Exception as exc:  # the server says the same when it applies it
                logger.info("edit not shown while disconnected: %s", exc)
        return snap if drawing is snap.drawing else snap.replace(drawing=drawing)

    def allocate_ids(self, n: int = 1) -> list[int]:
        with self._id_lock:
            return [next(self._next_id) for _ in range(int(n))]

    def step(self) -> Snapshot:
        """Keep the server running and return the newest snapshot after the last one returned."""
        self._raise_error()
        now = time.monotonic()
        if self._connected and now - self._last_lease > self.lease_s / 4:
            self._last_lease = now
            self._fire(self._client.control("run", self.lease_s))
        deadline = now + STEP_WAIT_S
        with self._cond:
            while self._latest.step <= self._returned_step and not self._latest.done and self._error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            snap = self._latest
        self._raise_error()
        self._returned_step = snap.step
        snap = self._with_notes(snap)
        if not self._connected:
            note = "the connection to the server is down; reconnecting"
            return snap.replace(messages=(*snap.messages, note))
        return snap

    def apply_pending(self) -> Snapshot:
        """Pause the server, wait until it has every command sent so far, return its snapshot."""
        self._raise_error()
        if self._connected:
            self._fire(self._client.control("pause"))
        deadline = time.monotonic() + 10.0
        with self._cond:
            # A snapshot's seq is the last command it includes. Offline, the edits are
            # already on the drawing shown (_show_offline): nothing to wait for.
            while (
                self._acked < self._sent
                and self._connected
                and self._error is None
                and time.monotonic() < deadline
            ):
                self._cond.wait(0.1)
        self._raise_error()
        self._returned_step = self._latest.step
        return self._with_notes(self._latest)

    def _with_notes(self, snap: Snapshot) -> Snapshot:
        with self._cond:
            notes, self._notes = self._notes, []
        return snap.replace(messages=(*snap.messages, *notes)) if notes else snap

    def close(self) -> None:
        """Stop the server's session and the client thread."""
        if self._loop.is_closed():
            return
        self._on_connection = None  # a window that stopped this run hears no more of it
        reachable = self._connected and self._error is None

        async def finish() -> None:
            if reachable and self._client.session_id is not None:
                await self._client.control("stop")
            elif (reader := getattr(self, "_reader", None)) is not None:
                reader.cancel()  # nobody to tell: the server ends a detached session after its grace
            await self._client.close()

        try:
            self._call(finish(), timeout=5.0 if reachable else 2.0)
        except (RemoteError, TimeoutError, OSError) as exc:
            logger.info("closing the remote session: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        if not self._loop.is_running():
            self._loop.close()

    # -------------------------------------------------------------- internals
    async def _read(self) -> None:
        try:
            async for event in self._client.events():
                if event.kind in ("disconnected", "reconnected"):
                    lost = event.kind == "disconnected"
                    logger.info("connection to %s %s", self._where, "lost" if lost else "back")
                    self._tell("lost" if lost else "back", self._where)
                with self._cond:
                    if event.kind == "disconnected":
                        self._connected = False
                    else:
                        self._connected = True
                    if event.snapshot is not None:
                        # The status bar shows where it runs: "cuda @ gpu-box:8765".
                        snap = event.snapshot
                        self._acked = max(self._acked, event.seq)
                        snap = snap.replace(device=f"{snap.device} @ {self._where}")
                        self._latest = self._with_offline(snap) if self._offline else snap
                        top = max((s.id for s in event.snapshot.drawing.strokes), default=-1)
                        if top > self._top_id:
                            self._top_id = top
                            with self._id_lock:
                                current = next(self._next_id)
                                self._next_id = itertools.count(max(current, top + 1))
                    self._cond.notify_all()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the caller's thread
            with self._cond:
                failure = exc if isinstance(exc, RemoteError) else RemoteError(f"connection failed: {exc}")
                self._error = failure
                self._connected = False
                self._cond.notify_all()
            self._tell("gone", " ".join(str(failure).split()))

    def _tell(self, event: str, text: str) -> None:
        callback = self._on_connection
        if callback is not None:
            try:
                callback(event, text)
            except Exception:  # a listener's bug must not end the connection
                logger.exception("connection listener failed")

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _call(self, coro: Coroutine[Any, Any, _T], timeout: float = 60.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _fire(self, coro: Coroutine[Any, Any, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.add_done_callback(_log_failure)


def _log_failure(future: Any) -> None:
    """A fire-and-forget call that failed (the connection is down): the reader says so."""
    if not future.cancelled() and future.exception() is not None:
        logger.debug("remote call failed: %s", future.exception())
