"""Immutable per-step results handed from the engine to front ends.

The GUI thread never sees live tensors: after every step the session copies the
geometry into a :class:`~clipdraw_core.drawing.strokes.Drawing` (read-only numpy arrays) and
wraps it, with the step's numbers, in a :class:`Snapshot`. A snapshot can be kept,
painted or exported while the engine keeps optimising.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from clipdraw_core.drawing.strokes import Drawing


@dataclass(frozen=True)
class Snapshot:
    """The state of a session after ``step`` optimisation steps."""

    step: int
    total_steps: int
    drawing: Drawing
    prompt: str
    #: Loss of the last step (``None`` before the first step).
    loss: float | None = None
    #: Mean cosine similarity between the augmented images and the main prompt.
    score: float | None = None
    #: Seconds spent in each phase of the last step ("render", "augment", "clip",
    #: "backward", "update", "total").
    timings: Mapping[str, float] = field(default_factory=dict)
    #: Human-readable notes about the last step (e.g. a skipped command).
    messages: tuple[str, ...] = ()
    device: str = "cpu"

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps

    @property
    def iterations_per_second(self) -> float | None:
        total = self.timings.get("total")
        return 1.0 / total if total else None
