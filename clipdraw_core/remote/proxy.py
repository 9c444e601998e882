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
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from clipdraw_core.drawing.commands import Command
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import RemoteError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.snapshot import Snapshot
from clipdraw_core.remote.client import RemoteClient
from clipdraw_core.remote.protocol import REMOTE_UNSUPPORTED

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
#: Longest wait in ``step()`` before it returns the last snapshot (so Stop stays quick).
STEP_WAIT_S = 1.0


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
    ) -> None:
        self.lease_s = lease_s
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
        seed = list(strokes)
        if drawing is not None:  # continue this drawing: its strokes and nothing random on top
            seed = list(drawing.strokes)
            config = config.replace(num_paths=0)
        try:
            self.welcome = self._call(self._client.connect())
            first = self._call(
                self._client.start(
                    config, seed, model=model, weights=weights, paused=True, start_step=start_step
                )
            )
        except BaseException:
            self.close()
            raise
        from urllib.parse import urlsplit

        self._where = urlsplit(self._client.url).netloc
        self._latest: Snapshot = replace(first, device=f"{first.device} @ {self._where}")
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
        if type(command).__name__ in REMOTE_UNSUPPORTED:
            # Said in the next snapshot's notes (as the engine does for a skipped command)
            # rather than sent: the server would close the connection for it.
            with self._cond:
                self._notes.append(f"{type(command).__name__} is not available on a server yet; ignored")
            return
        seq = self._call(self._client.submit(command))
        with self._cond:
            self._sent = max(self._sent, seq)

    def allocate_ids(self, n: int = 1) -> list[int]:
        with self._id_lock:
            return [next(self._next_id) for _ in range(int(n))]

    def step(self) -> Snapshot:
        """Keep the server running and return the newest snapshot after the last one returned."""
        self._raise_error()
        now = time.monotonic()
        if now - self._last_lease > self.lease_s / 4:
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
            return replace(snap, messages=(*snap.messages, note))
        return snap

    def apply_pending(self) -> Snapshot:
        """Pause the server, wait until it has every command sent so far, return its snapshot."""
        self._raise_error()
        self._fire(self._client.control("pause"))
        deadline = time.monotonic() + 10.0
        with self._cond:
            # A snapshot's seq is the last command it includes.
            while self._acked < self._sent and self._error is None and time.monotonic() < deadline:
                self._cond.wait(0.1)
        self._raise_error()
        self._returned_step = self._latest.step
        return self._with_notes(self._latest)

    def _with_notes(self, snap: Snapshot) -> Snapshot:
        with self._cond:
            notes, self._notes = self._notes, []
        return replace(snap, messages=(*snap.messages, *notes)) if notes else snap

    def close(self) -> None:
        """Stop the server's session and the client thread."""
        if self._loop.is_closed():
            return

        async def finish() -> None:
            await self._client.control("stop")
            await self._client.close()

        try:
            if self._client.session_id is not None:
                self._call(finish(), timeout=5.0)
            else:
                self._call(self._client.close(), timeout=5.0)
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
                with self._cond:
                    if event.kind == "disconnected":
                        self._connected = False
                    else:
                        self._connected = True
                    if event.snapshot is not None:
                        # The status bar shows where it runs: "cuda @ gpu-box:8765".
                        snap = event.snapshot
                        self._latest = replace(snap, device=f"{snap.device} @ {self._where}")
                        self._acked = max(self._acked, event.seq)
                        top = max((s.id for s in event.snapshot.drawing.strokes), default=-1)
                        if top > self._top_id:
                            self._top_id = top
                            with self._id_lock:
                                current = next(self._next_id)
                                self._next_id = itertools.count(max(current, top + 1))
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the caller's thread
            with self._cond:
                failure = exc if isinstance(exc, RemoteError) else RemoteError(f"connection failed: {exc}")
                self._error = failure
                self._connected = False
                self._cond.notify_all()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _call(self, coro: Coroutine[Any, Any, _T], timeout: float = 60.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _fire(self, coro: Coroutine[Any, Any, Any]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop)
