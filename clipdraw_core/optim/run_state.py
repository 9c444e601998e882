"""The states of a run, shared by every front end and, later, a remote worker.

Why here, in the engine, and not in the GUI: the GUI's worker thread, its controller,
its widgets and a planned remote GPU worker must agree on these seven words; an enum
that all of them import makes a typo a type error instead of a silent mismatch. It is
a ``str`` enum, so a state still compares equal to its word ("running") and crosses a
Qt ``Signal(str)`` or a network message as that word.

The life of a run: ``IDLE`` -> ``LOADING`` (the CLIP model loads; skipped when it is
cached) -> ``STARTING`` (the session is being created) -> ``RUNNING`` <-> ``PAUSED`` ->
``DONE`` (all steps taken; still steerable) -> ``STOPPED`` (the thread has ended).
"""

from __future__ import annotations

from enum import Enum


class RunState(str, Enum):
    IDLE = "idle"
    LOADING = "loading"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value

    @property
    def is_active(self) -> bool:
        """A session exists and can be steered (options are fixed meanwhile)."""
        return self in (RunState.STARTING, RunState.RUNNING, RunState.PAUSED, RunState.DONE)

    @property
    def is_busy(self) -> bool:
        """Loading or optimising: Draw is not available."""
        return self in (RunState.LOADING, RunState.STARTING, RunState.RUNNING, RunState.PAUSED)
