"""Immutable per-step results handed from the engine to front ends.

The GUI thread never sees live tensors: after every step the session copies the
geometry into a :class:`~clipdraw_core.drawing.strokes.Drawing` (read-only numpy arrays) and
wraps it, with the step's numbers and the settings it was made with, in a
:class:`Snapshot`. A snapshot can be kept, painted or exported while the engine keeps
optimising, and a front end reads the run's settings (prompt changes included) from
it instead of from the live session, which is not thread-safe.

:meth:`Snapshot.to_plain` gives the same as plain data (dicts, lists, numbers, numpy
arrays) so a snapshot can cross a process or network boundary (a remote GPU worker).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.optim.config import SessionConfig


@dataclass(frozen=True)
class Snapshot:
    """The state of a session after ``step`` optimisation steps."""

    step: int
    total_steps: int
    drawing: Drawing
    prompt: str
    #: The session's settings at this step (prompt changes and stroke counts included).
    config: SessionConfig
    #: Loss of the last step (``None`` before the first step).
    loss: float | None = None
    #: Mean cosine similarity between the augmented images and the main prompt.
    score: float | None = None
    #: Current CLIP score (mean cosine over this step's views) of every prompt:
    #: text prompts by their text (negatives and weight-0 prompts included), image
    #: prompts as ``"image: NAME"``, regions as ``"region NAME: PROMPT"`` (their last
    #: views when the budget skipped them this step), ``"style"`` the style loss.
    scores: Mapping[str, float] = field(default_factory=dict)
    #: Image prompts, style image and regions in force.
    guidance: Guidance = field(default_factory=Guidance)
    #: Seconds spent in each phase of the last step ("render", "augment", "clip",
    #: "backward", "update", "total").
    timings: Mapping[str, float] = field(default_factory=dict)
    #: Human-readable notes about the last step (e.g. a skipped command).
    messages: tuple[str, ...] = ()
    device: str = "cpu"
    #: Precision of CLIP's image pass and why, e.g. "bf16: AVX512-BF16, 2.1x faster, ...".
    precision: str = ""

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps

    @property
    def iterations_per_second(self) -> float | None:
        total = self.timings.get("total")
        return 1.0 / total if total else None

    def to_plain(self) -> dict[str, Any]:
        """Plain data (dicts, lists, numbers, numpy arrays; no tensors) for another process."""
        return {
            "step": self.step,
            "total_steps": self.total_steps,
            "drawing": self.drawing.to_plain(),
            "prompt": self.prompt,
            "config": self.config.to_dict(),
            "loss": self.loss,
            "score": self.score,
            "scores": dict(self.scores),
            "guidance": self.guidance.to_dict(),
            "timings": dict(self.timings),
            "messages": list(self.messages),
            "device": self.device,
            "precision": self.precision,
        }

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> Snapshot:
        """Inverse of :meth:`to_plain`; the drawing and settings are validated as from a file."""
        return cls(
            step=int(data["step"]),
            total_steps=int(data["total_steps"]),
            drawing=Drawing.from_plain(data["drawing"]),
            prompt=str(data["prompt"]),
            config=SessionConfig.from_dict(dict(data["config"])).validate(),
            loss=None if data.get("loss") is None else float(data["loss"]),
            score=None if data.get("score") is None else float(data["score"]),
            scores={str(k): float(v) for k, v in dict(data.get("scores", {})).items()},
            guidance=Guidance.from_dict(data.get("guidance")),
            timings={str(k): float(v) for k, v in dict(data.get("timings", {})).items()},
            messages=tuple(str(m) for m in data.get("messages", ())),
            device=str(data.get("device", "cpu")),
            precision=str(data.get("precision", "")),
        )
