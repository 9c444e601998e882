"""Ctrl-C and ``kill`` for the command line: stop, keep the drawing, finish the files.

A run on a server is stopped with SIGTERM (``kill``, ``timeout``, a job scheduler) as
often as with Ctrl-C (SIGINT); both must keep the drawing so far, so both raise
:class:`KeyboardInterrupt` in the main thread, where the run loop catches it between
steps. While the final files are written, signals are *deferred*: the writes take a
moment, and an impatient second Ctrl-C used to abort them half-way (leaving hidden temp
files and a wrong "nothing written" message). A third signal during the writes does
abort them (a write can block, e.g. on a pipe nobody reads); the writer removes its
temp file and the caller reports which files were written.

Only the main thread can install signal handlers; elsewhere (an embedding application
calling ``clipdraw_core.cli.main`` from a worker thread) this does nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

#: Signals that stop a run; SIGHUP is left to its default (a closed terminal).
STOP_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)
#: Signals during the final writes after which the writes are abandoned.
ABANDON_AFTER = 2


class StopSignals:
    """Context manager installing the handlers (see the module docstring)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._deferring = False
        self._deferred = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    @property
    def last(self) -> int | None:
        """The last signal received, or None."""
        return self.received[-1] if self.received else None

    def exit_status(self) -> int:
        """The shell convention for a stop by signal: 128 + its number (130 for Ctrl-C)."""
        return 128 + int(self.last if self.last is not None else signal.SIGINT)

    def name(self) -> str:
        return signal.Signals(self.last).name if self.last is not None else "SIGINT"

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Within this block a stop signal is noted, not raised (until :data:`ABANDON_AFTER`)."""
        self._deferring, self._deferred = True, 0
        try:
            yield
        finally:
            self._deferring = False

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._deferring:
            self._deferred += 1
            if self._deferred < ABANDON_AFTER:
                print(
                    "clipdraw-cli: finishing the output files; press Ctrl-C again to abandon them",
                    file=sys.stderr,
                    flush=True,
                )
                return
        raise KeyboardInterrupt
