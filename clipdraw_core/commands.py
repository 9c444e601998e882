"""Edit commands that front ends send to a running :class:`~clipdraw_core.session.Session`.

Commands are small immutable objects put on the session's ``queue.Queue`` from any
thread (``Session.submit``); the engine applies all pending commands, in order, at the
start of the next step, so an edit lands within one step and none is lost. A command
that refers to an unknown stroke id is skipped and reported in the next snapshot's
``messages``; it never stops the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .strokes import Stroke


@dataclass(frozen=True)
class SetFrozen:
    """Freeze (or unfreeze) strokes: frozen strokes are rendered but never change."""

    ids: tuple[int, ...]
    frozen: bool = True


@dataclass(frozen=True)
class DeleteStrokes:
    """Remove strokes by id."""

    ids: tuple[int, ...]


@dataclass(frozen=True)
class AddStrokes:
    """Insert strokes (each with an id from ``Session.allocate_ids`` or a previous delete).

    ``positions`` optionally gives each stroke's index in paint order (used by undo of a
    delete to put a stroke back where it was); by default strokes go on top.
    """

    strokes: tuple[Stroke, ...]
    positions: tuple[int, ...] | None = None


@dataclass(frozen=True)
class AddFreehand:
    """A freehand polyline (canvas pixels) to be fitted to cubic Béziers and added on top.

    ``pressure`` (0..1 per sample, optional) modulates the width; ``stroke_id`` comes
    from ``Session.allocate_ids`` so the caller can later undo it by id.
    """

    stroke_id: int
    polyline: np.ndarray
    half_width: float = 1.0
    color: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    frozen: bool = False
    pressure: np.ndarray | None = None
    tolerance: float = 1.0


@dataclass(frozen=True)
class UpdateStrokes:
    """Replace the geometry/colour/width/frozen flag of existing strokes (same ids)."""

    strokes: tuple[Stroke, ...]


@dataclass(frozen=True)
class SetPrompt:
    """Change the text prompt(s) mid-run; the drawing continues from where it is."""

    prompt: str
    negative_prompts: tuple[str, ...] = ()
    prompt_weights: tuple[float, ...] | None = None
    extra_prompts: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SetStrokeCount:
    """Grow the drawing with random strokes, or shrink it by removing the newest free ones."""

    count: int


Command = SetFrozen | DeleteStrokes | AddStrokes | AddFreehand | UpdateStrokes | SetPrompt | SetStrokeCount


def ids_tuple(ids: Sequence[int] | int) -> tuple[int, ...]:
    """Normalise one id or a sequence of ids to a tuple of ints."""
    if isinstance(ids, (int, np.integer)):
        return (int(ids),)
    return tuple(int(i) for i in ids)
