"""Immutable per-step results handed from the engine to front ends.

The GUI thread never sees live tensors: after every step the session copies the
geometry into a :class:`~clipdraw_core.drawing.strokes.Drawing` (read-only numpy arrays) and
wraps it, with the step's numbers and the settings it was made with, in a
:class:`Snapshot`. On a GPU that copy is only queued by the step and finished when
the snapshot is first read (:class:`StepResults`, :mod:`clipdraw_core.optim.host_copy`),
so stepping never waits for the device. A snapshot can be kept, painted or exported while the engine keeps
optimising, and a front end reads the run's settings (prompt changes included) from
it instead of from the live session, which is not thread-safe.

:meth:`Snapshot.to_plain` gives the same as plain data (dicts, lists, numbers, numpy
arrays) so a snapshot can cross a process or network boundary (a remote GPU worker).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.optim.config import SessionConfig


@dataclass(frozen=True)
class StepResults:
    """The part of a snapshot that lives on the compute device until someone reads it."""

    drawing: Drawing
    loss: float | None = None
    score: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    messages: tuple[str, ...] = ()


#: What a session hands a snapshot instead of its results: called (once, from any
#: thread) the first time the drawing, loss, scores or messages are read.
PendingResults = Callable[[], StepResults]


class Snapshot:
    """The state of a session after ``step`` optimisation steps.

    Immutable. The drawing, loss, score, scores and messages may be *pending*: a
    session step on a GPU only queues their copy to the host
    (:mod:`clipdraw_core.optim.host_copy`) and the snapshot reads them the first
    time one of them is asked for, in whichever thread asks. So a front end that
    reads every snapshot pays one wait per snapshot, off the step, and one that
    drops snapshots pays nothing for them. A note about a skipped (NaN) step is
    among the messages of the snapshot of that step, known when it is read.
    """

    __slots__ = (
        "_lock",
        "_pending",
        "_results",
        "config",
        "device",
        "guidance",
        "precision",
        "prompt",
        "step",
        "timings",
        "total_steps",
    )

    step: int
    total_steps: int
    prompt: str
    #: The session's settings at this step (prompt changes and stroke counts included).
    config: SessionConfig
    #: Image prompts, style image and regions in force.
    guidance: Guidance
    #: Seconds spent in each phase of the last step ("render", "augment", "clip",
    #: "backward", "update", "total"); host clock, so on a GPU they are the time to
    #: queue the work, not to finish it.
    timings: Mapping[str, float]
    device: str
    #: Precision of CLIP's image pass and why, e.g. "bf16: AVX512-BF16, 2.1x faster, ...".
    precision: str
    _results: StepResults | None
    _pending: PendingResults | None
    _lock: threading.Lock

    def __init__(
        self,
        step: int,
        total_steps: int,
        drawing: Drawing | None = None,
        prompt: str = "",
        config: SessionConfig | None = None,
        loss: float | None = None,
        score: float | None = None,
        scores: Mapping[str, float] | None = None,
        guidance: Guidance | None = None,
        timings: Mapping[str, float] | None = None,
        messages: tuple[str, ...] = (),
        device: str = "cpu",
        precision: str = "",
        *,
        pending: PendingResults | None = None,
    ) -> None:
        if config is None:
            raise TypeError("Snapshot needs the config it was made with")
        if (drawing is None) == (pending is None):
            raise TypeError("Snapshot needs either a drawing or pending results, not both")
        put = object.__setattr__
        put(self, "step", step)
        put(self, "total_steps", total_steps)
        put(self, "prompt", prompt)
        put(self, "config", config)
        put(self, "guidance", guidance if guidance is not None else Guidance())
        put(self, "timings", dict(timings or {}))
        put(self, "device", device)
        put(self, "precision", precision)
        results = (
            None
            if drawing is None
            else StepResults(drawing, loss, score, dict(scores or {}), tuple(messages))
        )
        put(self, "_results", results)
        put(self, "_pending", pending)
        put(self, "_lock", threading.Lock())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Snapshot is immutable (cannot set {name!r})")

    # ------------------------------------------------------------------ pending part
    def _resolved(self) -> StepResults:
        results: StepResults | None = self._results
        if results is None:
            with self._lock:
                results = self._results
                if results is None:
                    assert self._pending is not None
                    results = self._pending()
                    object.__setattr__(self, "_results", results)
                    object.__setattr__(self, "_pending", None)
        return results

    @property
    def resolved(self) -> bool:
        """Whether the device results have been read (reading any of them does it)."""
        return self._results is not None

    @property
    def drawing(self) -> Drawing:
        return self._resolved().drawing

    @property
    def loss(self) -> float | None:
        """Loss of the last step (``None`` before the first step)."""
        return self._resolved().loss

    @property
    def score(self) -> float | None:
        """Mean cosine similarity between the augmented images and the main prompt."""
        return self._resolved().score

    @property
    def scores(self) -> Mapping[str, float]:
        """Current CLIP score (mean cosine over this step's views) of every prompt.

        Text prompts by their text (negatives and weight-0 prompts included), image
        prompts as ``"image: NAME"``, regions as ``"region NAME: PROMPT"`` (their last
        views when the budget skipped them this step), ``"style"`` the style loss.
        """
        return self._resolved().scores

    @property
    def messages(self) -> tuple[str, ...]:
        """Human-readable notes about the last step (e.g. a skipped command or NaN step)."""
        return self._resolved().messages

    # ------------------------------------------------------------------ value semantics
    def _fields(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "total_steps": self.total_steps,
            "drawing": self.drawing,
            "prompt": self.prompt,
            "config": self.config,
            "loss": self.loss,
            "score": self.score,
            "scores": dict(self.scores),
            "guidance": self.guidance,
            "timings": dict(self.timings),
            "messages": self.messages,
            "device": self.device,
            "precision": self.precision,
        }

    def replace(self, **changes: Any) -> Snapshot:
        """A copy with some fields changed (reads pending results)."""
        fields = self._fields()
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"Snapshot has no field {', '.join(sorted(unknown))}")
        fields.update(changes)
        return Snapshot(**fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mappings inside, as the dataclass was

    def __repr__(self) -> str:
        state = "" if self.resolved else " (pending)"
        where = f"step={self.step}/{self.total_steps}, prompt={self.prompt!r}, device={self.device!r}"
        return f"Snapshot({where}{state})"

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
