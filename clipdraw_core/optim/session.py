"""The CLIPDraw optimisation loop, steppable and steerable between steps.

A :class:`Session` owns the drawing's parameters as four packed leaf tensors
(control points ``[P, 2]``, half-widths ``[S]``, RGBA colours ``[S, 4]``, RGBA fill
colours ``[S, 4]`` -- the rows of open strokes are unused) plus a
:class:`~clipdraw_core.render.StrokeLayout`, one Adam optimiser with the original's
three learning-rate groups, and a queue of edit commands. Each :meth:`Session.step`:

1. drains the command queue (freeze, delete, add, prompt changes...) in order;
2. renders, augments, encodes with CLIP and computes the loss;
3. back-propagates, updates with Adam, clamps widths/colours as the original does
   (the width range is the settings' ``min/max_half_width``);
4. returns an immutable :class:`~clipdraw_core.optim.snapshot.Snapshot` whose numbers
   are copied to the host only when it is read.

**No host-device syncs in a step** (beyond the sparse renderer's, which size its
buffers): on a GPU, reading a number on the host (``float(loss)``, ``bool(mask.any())``)
waits for every queued kernel, so the step never does. The loss, the scores, the new
parameters and a status word (loss finite? gradients finite? update finite? the
NaN streak) go into one :class:`~clipdraw_core.optim.host_copy.HostCopy` per step,
queued behind the step's kernels, and the snapshot reads it when a front end asks.
A non-finite step is skipped *on the device*: ``torch.where`` keeps the old
parameters and Adam moments (and step counter: Adam runs ``capturable`` on CUDA so
the counter is a device tensor too) where the step's finite flag is false. The
session reads a step's status word once the device has finished it (asked without
waiting: at once on the CPU, typically a step later on a GPU), logs its note and
raises :class:`~clipdraw_core.errors.NumericalError` after ``MAX_NAN_STEPS`` in a row;
the snapshot of a skipped step carries the note among its messages.

Structural edits (add/delete/resize) rebuild the packed tensors and carry the Adam
moments of surviving strokes over, so an edit never resets the rest of the drawing's
optimisation. Frozen strokes get zero gradient and are restored bit for bit after
every update, because Adam's momentum would otherwise still move them.

The look settings (issue 11) act here: a hard palette (or ink mode, a one-colour
opaque palette) replaces every rendered, snapshotted and exported colour by its
nearest entry (:func:`clipdraw_core.drawing.palette.snap`: the parameters stay the
free "latent" colours so strokes can change entry); a soft palette adds its penalty
to the loss.

The session knows nothing of threads or Qt: :meth:`submit` and :meth:`allocate_ids`
are the only methods meant to be called from another thread.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from clipdraw_core.clip.clip_model import ClipModel
from clipdraw_core.drawing.commands import (
    AddStrokes,
    Command,
    SetFrozen,
    SetImagePrompts,
    SetLook,
    SetPrompt,
    SetRegions,
    SetRespect,
    SetStrokeCount,
    SetStyle,
    apply_to_drawing,
)
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.palette import palette_distance, palette_tensor, snap
from clipdraw_core.drawing.strokes import (
    MAX_STROKES,
    Anchor,
    Drawing,
    Stroke,
    random_shapes,
    random_walk_strokes,
    trusted_stroke,
)
from clipdraw_core.errors import ClipDrawError, ConfigError, NumericalError
from clipdraw_core.optim.augment import coverage_views
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.host_copy import HostCopy
from clipdraw_core.optim.losses import diversity_penalty, l2_penalty, smoothness_penalty
from clipdraw_core.optim.memory import TRIM_EVERY, trim_heap
from clipdraw_core.optim.snapshot import Snapshot, StepResults
from clipdraw_core.optim.softlock import LockTensors, pack_locks, pull_to_anchors
from clipdraw_core.optim.steering import Steering, StepObjective, StepViews, StyleNetworkLoader
from clipdraw_core.render import StrokeLayout, render

logger = logging.getLogger(__name__)

#: Consecutive non-finite steps tolerated (each one is skipped) before giving up.
MAX_NAN_STEPS = 5


@dataclass(frozen=True, eq=False)
class _Slot:
    """Bookkeeping for one stroke in paint order (the tensors hold its numbers).

    Frozen, and the session's list of slots is replaced, never changed in place, so a
    pending snapshot can keep the list it was taken with for free.
    """

    id: int
    num_segments: int
    frozen: bool
    respect: float = 0.0
    anchor: Anchor | None = None
    closed: bool = False
    outlined: bool = True
    fill_rule: str = "nonzero"
    subpaths: tuple[int, ...] = ()

    @property
    def num_points(self) -> int:
        return 3 * self.num_segments + (0 if self.closed else 1)


@dataclass
class _StepStart:
    """What the first phase of a step hands to the others."""

    t_start: float
    free_points: torch.Tensor
    free_strokes: torch.Tensor
    trainable: bool
    timings: dict[str, float]


def config_with_prompt(config: SessionConfig, command: SetPrompt) -> SessionConfig:
    """The config after a :class:`SetPrompt` (what a session runs with once it is applied)."""
    weights = tuple(command.prompt_weights or ())
    new = config.replace(
        prompt=command.prompt,
        negative_prompts=tuple(command.negative_prompts),
        extra_prompts=tuple(command.extra_prompts),
        extra_weights=weights if command.extra_prompts else (),
        prompt_weight=command.prompt_weight,
        negative_weights=tuple(command.negative_weights or ()),
    )
    return new.validate()


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Multiplier of the points learning rate at ``step`` of ``total`` (0-based)."""
    if schedule == "step":
        if total > 0 and step >= int(total * 0.75):
            return 0.1
        if total > 0 and step >= int(total * 0.5):
            return 0.4
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))
    return 1.0


def _build_drawing(
    slots: Sequence[_Slot],
    size: tuple[int, int],
    background: tuple[float, float, float],
    points: np.ndarray,
    widths: list[float],
    colors: list[list[float]],
    fills: list[list[float]] | None,
) -> Drawing:
    """The drawing of host copies of the packed parameters (colours as drawn)."""
    strokes = []
    offset = 0
    for i, slot in enumerate(slots):
        n = slot.num_points
        fill = tuple(fills[i]) if fills is not None and slot.closed else None
        strokes.append(
            trusted_stroke(
                slot.id,
                points[offset : offset + n].copy(),
                widths[i],
                tuple(colors[i]),
                slot.frozen,
                slot.respect,
                slot.anchor,
                fill=fill,
                outlined=slot.outlined,
                fill_rule=slot.fill_rule,
                subpaths=slot.subpaths,
            )
        )
        offset += n
    return Drawing(size[0], size[1], background, tuple(strokes))


#: Index of each entry of a step's status word (see :class:`_StepRecord`).
_LOSS_OK, _ADAM_OK, _STEP_OK, _STREAK = range(4)


class _StepRecord:
    """One step's results on their way to the host (see the module docstring).

    Holds the :class:`HostCopy` of the new parameters (colours as drawn), the loss and
    scores (``values``: the loss, then one score per label) and the status word
    ``[loss finite, gradients finite, update finite, NaN streak]``, plus the host-side
    facts needed to turn them into a :class:`StepResults`.
    """

    def __init__(
        self,
        step: int,
        copy: HostCopy,
        labels: tuple[str, ...],
        has_score: bool,
        slots: Sequence[_Slot],
        size: tuple[int, int],
        background: tuple[float, float, float],
        messages: tuple[str, ...],
    ) -> None:
        self.step = step
        self.copy = copy
        self.labels = labels
        self.has_score = has_score
        self.slots = slots
        self.size = size
        self.background = background
        self.messages = messages

    def ready(self) -> bool:
        return self.copy.ready()

    def status(self) -> tuple[bool, bool, bool, int]:
        word = self.copy.read()["status"]
        return bool(word[_LOSS_OK]), bool(word[_ADAM_OK]), bool(word[_STEP_OK]), int(word[_STREAK])

    def note(self) -> str | None:
        """The message of a skipped step (``None`` for a step that was taken)."""
        loss_ok, adam_ok, step_ok, _ = self.status()
        if not loss_ok:
            return f"step {self.step}: the loss was not a number; the update was skipped"
        if not adam_ok:
            return f"step {self.step}: the gradient was not a number; the update was skipped"
        if not step_ok:
            return f"step {self.step}: the update produced NaN/Inf and was undone"
        return None

    def error(self) -> NumericalError | None:
        """The error to raise when this step ends ``MAX_NAN_STEPS`` non-finite steps in a row."""
        loss_ok, adam_ok, _, streak = self.status()
        if streak < MAX_NAN_STEPS:
            return None
        if not loss_ok:
            return NumericalError(
                f"the loss was NaN/Inf for {MAX_NAN_STEPS} steps in a row; the drawing so far is kept. "
                "Try a lower learning rate or fewer extreme settings."
            )
        if not adam_ok:
            return NumericalError(f"gradients were NaN/Inf for {MAX_NAN_STEPS} steps in a row")
        return NumericalError(f"updates produced NaN/Inf for {MAX_NAN_STEPS} steps in a row")

    def results(
        self,
        drawing: Drawing | None = None,
        messages: tuple[str, ...] | None = None,
        include_note: bool = True,
    ) -> StepResults:
        """The host side of this step: waits for the copy if the device is not done yet."""
        arrays = self.copy.read()
        values = arrays["values"].tolist()
        loss = values[0]
        scores = dict(zip(self.labels, values[1:], strict=True))
        score = values[1] if self.has_score else math.nan
        if drawing is None:
            fills = arrays["fills"].tolist() if "fills" in arrays else None
            drawing = _build_drawing(
                self.slots,
                self.size,
                self.background,
                arrays["points"],
                arrays["widths"].tolist(),
                arrays["colors"].tolist(),
                fills,
            )
        notes = self.messages if messages is None else messages
        note = self.note() if include_note else None
        if note is not None and note not in notes:
            notes = (*notes, note)
        return StepResults(
            drawing,
            loss if math.isfinite(loss) else None,
            score if math.isfinite(score) else None,
            scores,
            tuple(notes),
        )


class Session:
    """One drawing being optimised towards a prompt (see the module docstring)."""

    def __init__(
        self,
        config: SessionConfig,
        clip: ClipModel,
        *,
        initial_strokes: Sequence[Stroke] = (),
        drawing: Drawing | None = None,
        start_step: int = 0,
        guidance: Guidance | None = None,
        style_network: StyleNetworkLoader | None = None,
    ) -> None:
        self._config = config.validate()
        self.clip = clip
        self.device = clip.device
        # Only CLIP's image pass changes precision (auto calibrates once per model).
        self.precision = clip.set_precision(config.precision, batch=config.num_augs)
        self._rng = random.Random(config.seed)
        self._gen = torch.Generator().manual_seed(config.seed)
        self._queue: queue.Queue[Command] = queue.Queue()
        self._id_lock = threading.Lock()
        self._step = int(start_step)
        #: Non-finite steps in a row, on the device (read through each step's record).
        self._nan_streak = torch.zeros((), dtype=torch.int32, device=self.device)
        self._messages: list[str] = []
        #: The last step's results (``None`` before the first step) and whether the
        #: messages since are still that step's (``apply_pending`` starts new ones).
        self._last: _StepRecord | None = None
        self._last_is_current = False
        #: Steps whose status the session has not read yet (oldest first).
        self._unchecked: deque[_StepRecord] = deque()
        self._timings: dict[str, float] = {}
        # Adam's step counter on the device, so a skipped step can put it back without a sync.
        self._capturable = self.device.type == "cuda"
        #: Strokes may be waiting for their fresh-Adam first step (see _first_steps),
        #: since the step numbered ``_fresh_since``; cleared once such a step is known taken.
        self._any_fresh = False
        self._fresh_since = 0
        self._guidance = guidance or Guidance()
        self._lock: LockTensors | None = None
        if drawing is None:
            strokes = list(initial_strokes)
            first_id = max((s.id for s in strokes), default=-1) + 1
            # shapes at the bottom (they cover areas), then the seed, then the strokes
            shapes = self._random_shapes(config.num_shapes, first_id)
            strokes = shapes + strokes + self._random_strokes(config.num_paths, first_id + len(shapes))
            drawing = Drawing(config.width, config.height, config.background, tuple(strokes))
        elif (drawing.width, drawing.height) != (config.width, config.height):
            raise ConfigError(
                f"drawing is {drawing.width}x{drawing.height} but the settings say "
                f"{config.width}x{config.height}"
            )
        if len(drawing.strokes) > MAX_STROKES:
            raise ConfigError(f"too many strokes: {len(drawing.strokes)} (at most {MAX_STROKES})")
        self._background: tuple[float, float, float] = drawing.background
        self._next_id = itertools.count(drawing.next_id())
        self._slots: list[_Slot] = []
        self._points = torch.zeros(0, 2, device=self.device)
        self._widths = torch.zeros(0, device=self.device)
        self._colors = torch.zeros(0, 4, device=self.device)
        self._fills = torch.zeros(0, 4, device=self.device)
        self._anchor_points = self._points.clone()
        self._anchor_colors = self._colors.clone()
        #: Entries of strokes that joined mid-run and have not had their first update.
        self._fresh_points = torch.zeros(0, dtype=torch.bool, device=self.device)
        self._fresh_strokes = torch.zeros(0, dtype=torch.bool, device=self.device)
        self._optimizer: torch.optim.Adam | None = None
        self._set_look()
        self._rebuild([s for s in drawing.strokes])
        self._steering = Steering(clip, style_network)
        self._encode_prompts()

    # ------------------------------------------------------------------ threads
    def submit(self, command: Command) -> None:
        """Queue an edit; it is applied at the start of the next step (thread-safe)."""
        self._queue.put(command)

    def allocate_ids(self, n: int = 1) -> list[int]:
        """Reserve ``n`` fresh stroke ids (thread-safe) for strokes a front end will add."""
        with self._id_lock:
            return [next(self._next_id) for _ in range(int(n))]

    # ------------------------------------------------------------------ state
    @property
    def config(self) -> SessionConfig:
        return self._config

    @property
    def guidance(self) -> Guidance:
        """Image prompts, style image and regions now in force."""
        return self._guidance

    @property
    def steering(self) -> Steering:
        return self._steering

    @property
    def step_count(self) -> int:
        return self._step

    @property
    def done(self) -> bool:
        return self._step >= self._config.num_steps

    @property
    def num_views(self) -> int:
        """Augmented views per step: ``num_augs``, raised on a non-square canvas to cover it all."""
        return max(self._config.num_augs, coverage_views(self._config.width, self._config.height))

    @property
    def num_strokes(self) -> int:
        return len(self._slots)

    def drawing(self) -> Drawing:
        """The current drawing as immutable data (copies of the tensors; reads the device now)."""
        pts = self._points.detach().cpu().numpy()
        widths = self._widths.detach().cpu().tolist()
        with torch.no_grad():
            colors = self._look(self._colors).cpu().tolist()
            fills = self._look(self._fills).cpu().tolist() if self._has_fills else None
        size = (self._config.width, self._config.height)
        return _build_drawing(self._slots, size, self._background, pts, widths, colors, fills)

    def snapshot(self) -> Snapshot:
        """The current state, without stepping.

        The drawing is read now (edits applied since the last step included); the
        loss, scores and notes are the last step's, read when the snapshot is.
        """
        drawing = self.drawing()
        messages = tuple(self._messages)
        record = self._last
        cfg = self._config

        def make(pending: Callable[[], StepResults] | None) -> Snapshot:
            return Snapshot(
                step=self._step,
                total_steps=cfg.num_steps,
                drawing=None if pending is not None else drawing,
                prompt=cfg.prompt,
                config=cfg,
                guidance=self._guidance,
                timings=dict(self._timings),
                messages=messages,
                device=str(self.device),
                precision=self.precision.describe(),
                pending=pending,
            )

        if record is None:
            return make(None)
        include_note = self._last_is_current

        def pending() -> StepResults:
            assert record is not None
            return record.results(drawing, messages, include_note)

        return make(pending)

    def render_image(self, samples: int | None = None) -> torch.Tensor:
        """The drawing rendered at canvas size, ``[3, H, W]`` in [0, 1] (no grad)."""
        with torch.no_grad():
            return self._render(samples or self._config.render_samples)

    # ------------------------------------------------------------------ loop
    def apply_pending(self) -> Snapshot:
        """Apply queued edits without optimising (e.g. while paused) and snapshot."""
        self._messages = []
        self._last_is_current = False
        self._drain()
        return self.snapshot()

    def run(self, max_steps: int | None = None) -> Iterator[Snapshot]:
        """Yield a snapshot after each step until ``num_steps`` (or ``max_steps`` more)."""
        taken = 0
        while not self.done and (max_steps is None or taken < max_steps):
            yield self.step()
            taken += 1

    def step(self) -> Snapshot:
        """Apply pending edits, then take one optimisation step.

        Never reads the device (see the module docstring): the returned snapshot's
        numbers and drawing are copied when it is read, and a non-finite step's note
        reaches the log and :class:`NumericalError` is raised once the device has
        finished that step (at once on the CPU).
        """
        start = self._begin_step()
        with torch.set_grad_enabled(start.trainable):
            image = self._step_render(start)
            objective = self._steering.objective(image, self._config, self._gen, self._step)
            loss = objective.loss + self._regularisers()
        return self._end_step(start, loss, objective)

    # The phases of a step. A batch of variations (optim.variation_batch) runs them for
    # several sessions with one CLIP call over all their views and one backward pass.
    def _begin_step(self) -> _StepStart:
        """Drain the commands, set this step's learning rates and freeze masks."""
        t_start = time.perf_counter()
        self._messages = []
        self._drain()
        cfg = self._config
        free_points = ~self._point_frozen
        free_strokes = ~self._stroke_frozen
        factor = lr_factor(cfg.lr_schedule, self._step, cfg.num_steps)
        assert self._optimizer is not None
        group_points, group_widths, group_colors, group_fills = self._optimizer.param_groups
        group_points["lr"] = cfg.lr_points * factor
        if cfg.lr_schedule == "cosine":
            group_widths["lr"] = cfg.lr_width * factor
            group_colors["lr"] = cfg.lr_color * factor
            group_fills["lr"] = cfg.lr_color * factor
        # whether anything is free is known on the host: no device read
        return _StepStart(t_start, free_points, free_strokes, self._trainable, {})

    def _step_render(self, start: _StepStart) -> torch.Tensor:
        """Render the canvas (call under ``torch.set_grad_enabled(start.trainable)``)."""
        t = time.perf_counter()
        image = self._render(self._config.render_samples)
        start.timings["render"] = time.perf_counter() - t
        return image

    def _step_views(self, start: _StepStart) -> tuple[torch.Tensor, StepViews]:
        """Render and augment: the first half of ``Steering.objective``, for a batch."""
        image = self._step_render(start)
        return image, self._steering.views(image, self._config, self._gen, self._step)

    def _step_loss(
        self, image: torch.Tensor, views: StepViews, features: torch.Tensor
    ) -> tuple[torch.Tensor, StepObjective]:
        """The loss from the CLIP features of this session's views, regularisers included.

        The second half of ``Steering.objective``, for a batch that encoded the views.
        """
        objective = self._steering.loss(image, views, features, self._config, self._step)
        return objective.loss + self._regularisers(), objective

    def _end_step(
        self, start: _StepStart, loss: torch.Tensor, objective: StepObjective, *, backward: bool = True
    ) -> Snapshot:
        """Back-propagate (unless the caller did: ``backward=False``), update, count the step.

        The NaN skip is decided on the device whoever back-propagated (a caller that
        left a non-finite loss out of its backward leaves stale gradients, which the
        skip throws away with the rest). Earlier steps' status is read at the end, so
        :class:`NumericalError` comes from here, never from :meth:`_begin_step`.
        """
        cfg = self._config
        timings = start.timings
        timings.update(objective.timings)
        trainable = start.trainable
        assert self._optimizer is not None
        loss_ok = torch.isfinite(loss.detach())
        if trainable:
            # a loss cut off the parameters has nothing to give (and is skipped)
            if backward and loss.requires_grad:
                t = time.perf_counter()
                self._optimizer.zero_grad(set_to_none=False)
                loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
                timings["backward"] = time.perf_counter() - t
            t = time.perf_counter()
            adam_ok, step_ok = self._update(start.free_points, start.free_strokes, loss_ok)
            timings["update"] = time.perf_counter() - t
        else:
            # nothing to update; a non-finite loss still counts towards the streak
            adam_ok = step_ok = loss_ok
            self._note("every stroke is frozen: nothing to optimise")
        with torch.no_grad():
            self._nan_streak = torch.where(step_ok, torch.zeros_like(self._nan_streak), self._nan_streak + 1)
        self._step += 1
        if self._step % TRIM_EVERY == 0:
            trim_heap()  # a long run's resident memory stays flat (see optim.memory)
        timings["total"] = time.perf_counter() - start.t_start
        self._timings = timings
        record = self._record(loss, objective, loss_ok, adam_ok, step_ok)
        self._last = record
        self._last_is_current = True
        self._unchecked.append(record)
        self._check_records()
        return Snapshot(
            step=self._step,
            total_steps=cfg.num_steps,
            prompt=cfg.prompt,
            config=cfg,
            guidance=self._guidance,
            timings=dict(timings),
            device=str(self.device),
            precision=self.precision.describe(),
            pending=record.results,
        )

    def _record(
        self,
        loss: torch.Tensor,
        objective: StepObjective,
        loss_ok: torch.Tensor,
        adam_ok: torch.Tensor,
        step_ok: torch.Tensor,
    ) -> _StepRecord:
        """Queue this step's results to the host (no wait) as a :class:`_StepRecord`."""
        with torch.no_grad():
            parts = [loss.detach().float().reshape(1)]
            if objective.values is not None:
                parts.append(objective.values.float())
            status = torch.stack(
                [loss_ok.int(), adam_ok.int(), step_ok.int(), self._nan_streak.int()]
            )
            tensors = {
                "points": self._points,
                "widths": self._widths,
                "colors": self._look(self._colors),
                "values": torch.cat(parts),
                "status": status,
            }
            if self._has_fills:
                tensors["fills"] = self._look(self._fills)
            copy = HostCopy(tensors)
        return _StepRecord(
            self._step,
            copy,
            objective.labels,
            objective.has_score,
            self._slots,
            (self._config.width, self._config.height),
            self._background,
            tuple(self._messages),
        )

    def _check_records(self) -> None:
        """Read the status of the steps the device has finished (never waits, but see below).

        Logs each skipped step's note and raises :class:`NumericalError` at the end of
        a streak of ``MAX_NAN_STEPS``. A device whose copies cannot be asked without
        waiting (MPS) is read ``MAX_NAN_STEPS`` steps behind, so it still stops.
        """
        while self._unchecked:
            record = self._unchecked[0]
            if not record.ready() and len(self._unchecked) <= MAX_NAN_STEPS:
                return
            self._unchecked.popleft()
            note = record.note()
            if note is not None:
                logger.info(note)
            elif self._any_fresh and record.step > self._fresh_since:
                self._any_fresh = False  # that step took the fresh strokes' first update
            error = record.error()
            if error is not None:
                self._unchecked.clear()
                raise error

    # ------------------------------------------------------------------ internals
    def _render(self, samples: int) -> torch.Tensor:
        cfg = self._config
        return render(
            self._points,
            self._widths,
            self._look(self._colors),
            self._layout,
            cfg.width,
            cfg.height,
            self._background,
            samples=samples,
            backend=cfg.renderer,
            # diffvg jitters its samples: a seed from the session's seed and step makes
            # equal sessions render equally (the torch renderer ignores it)
            seed=(cfg.seed * 1_000_003 + self._step) % (2**31 - 1),
            fills=self._look(self._fills) if self._has_fills else None,
        )

    def _set_look(self) -> None:
        """Cache the palette in effect (entries as a tensor, mode, opaque) from the settings."""
        entries, mode, opaque = self._config.look_palette()
        self._palette = palette_tensor(entries, self.device) if entries else None
        self._palette_hard = self._palette is not None and mode == "hard"
        self._palette_opaque = self._palette_hard and opaque

    def _look(self, colors: torch.Tensor) -> torch.Tensor:
        """The colours as drawn: latent colours snapped to a hard palette (else unchanged)."""
        if not self._palette_hard or colors.shape[0] == 0:
            return colors
        assert self._palette is not None
        rgb = snap(colors[:, :3], self._palette)
        alpha = torch.ones_like(colors[:, 3:]) if self._palette_opaque else colors[:, 3:]
        return torch.cat([rgb, alpha], dim=1)

    def _regularisers(self) -> torch.Tensor:
        cfg = self._config
        total = torch.zeros((), device=self.device)
        scale = float(max(cfg.width, cfg.height))
        if cfg.l2_points:
            total = total + cfg.l2_points * l2_penalty(self._points, self._anchor_points, scale)
        if cfg.l2_colors:
            total = total + cfg.l2_colors * l2_penalty(self._colors, self._anchor_colors)
        if self._palette is not None and not self._palette_hard and cfg.palette_strength:
            total = total + cfg.palette_strength * palette_distance(self._painted_rgb(), self._palette)
        if cfg.smoothness or cfg.diversity:
            cubics = self._points[self._layout.seg_index]
            if cfg.smoothness:
                total = total + cfg.smoothness * smoothness_penalty(cubics, scale)
            if cfg.diversity:
                total = total + cfg.diversity * diversity_penalty(
                    cubics, self._layout.seg_stroke, self._colors, self.num_strokes, scale
                )
        return total

    def _painted_rgb(self) -> torch.Tensor:
        """RGB of every painted colour: outlines/open strokes' colours and shapes' fills."""
        parts = []
        if self._outlined_idx.numel():
            parts.append(self._colors[:, :3].index_select(0, self._outlined_idx))
        if self._closed_idx.numel():
            parts.append(self._fills[:, :3].index_select(0, self._closed_idx))
        return torch.cat(parts) if parts else self._colors[:0, :3]

    def _update(
        self, free_points: torch.Tensor, free_strokes: torch.Tensor, loss_ok: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Adam, clamps and soft locks, with the NaN skip decided on the device.

        Returns ``(adam_ok, step_ok)`` as device booleans: the loss and the gradients
        were finite (else the parameters, Adam's moments and its step counter are put
        back as if the step had not been taken), and the updated values are finite too
        (else the parameters are put back; the moments, from finite gradients, stay,
        as they always did). Frozen entries are put back exactly: Adam's momentum
        moves them otherwise.
        """
        cfg = self._config
        params = (self._points, self._widths, self._colors, self._fills)
        masks = (free_points, free_strokes, free_strokes, free_strokes)
        assert self._optimizer is not None
        finite = [loss_ok]
        for p, m in zip(params, masks, strict=True):
            if p.grad is None:
                continue
            p.grad.mul_(m.view(-1, *([1] * (p.dim() - 1))).to(p.grad.dtype))
            finite.append(torch.isfinite(p.grad).all())
        adam_ok = torch.stack(finite).all()
        if cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        before = [p.detach().clone() for p in params]
        moments = {
            p: {key: value.clone() for key, value in state.items() if isinstance(value, torch.Tensor)}
            for p, state in self._optimizer.state.items()
        }
        try:
            return self._apply_update(params, masks, before, moments, adam_ok)
        except BaseException:
            # Ctrl-C / SIGTERM (a KeyboardInterrupt) can land between Adam's step and the
            # clamps; put the parameters and moments back, so the drawing the CLI saves
            # "so far" is the last whole step's, never half-updated (colours above 1).
            with torch.no_grad():
                for p, old in zip(params, before, strict=True):
                    p.copy_(old)
                for p in list(self._optimizer.state):
                    if p not in moments:  # created by the interrupted step: a fresh Adam again
                        del self._optimizer.state[p]
                        continue
                    state = self._optimizer.state[p]
                    for key, value in moments[p].items():
                        state[key].copy_(value)
            raise

    def _apply_update(
        self,
        params: tuple[torch.Tensor, ...],
        masks: tuple[torch.Tensor, ...],
        before: list[torch.Tensor],
        moments: dict[torch.Tensor, dict[str, torch.Tensor]],
        adam_ok: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Adam's step, the first-step fix, clamps, soft locks and the NaN skip (see :meth:`_update`)."""
        cfg = self._config
        assert self._optimizer is not None
        self._optimizer.step()
        self._first_steps(before, adam_ok)
        with torch.no_grad():
            self._widths.clamp_(cfg.min_half_width, cfg.max_half_width)
            self._colors.clamp_(0.0, 1.0)
            if self._lock is not None:
                pull_to_anchors(self._points, self._widths, self._colors, self._lock)
            self._fills.clamp_(0.0, 1.0)
            step_ok = adam_ok & torch.stack([torch.isfinite(p).all() for p in params]).all()
            for p, old, m in zip(params, before, masks, strict=True):
                keep = step_ok & m.view(-1, *([1] * (p.dim() - 1)))
                p.copy_(torch.where(keep, p, old))
            for p, state in self._optimizer.state.items():
                saved = moments.get(p, {})
                for key, value in state.items():
                    if not isinstance(value, torch.Tensor):
                        continue
                    # a state the skipped step created starts from zero (a fresh Adam's)
                    old_value = saved.get(key)
                    if old_value is None:
                        old_value = torch.zeros_like(value)
                    value.copy_(torch.where(adam_ok.to(value.device), value, old_value))
        return adam_ok, step_ok

    def _first_steps(self, before: Sequence[torch.Tensor], adam_ok: torch.Tensor) -> None:
        """Give strokes that joined mid-run the step a fresh Adam takes first.

        Torch's Adam keeps one step counter per tensor, so zeroed moments at a late
        step would be bias-corrected as if they were old: the first update of a moved
        or recoloured stroke would be about 3x the learning rate, and a stroke the
        artist put somewhere would visibly jump. A fresh Adam's first step is
        ``lr * g / (|g| + eps)`` (at most ``lr`` per coordinate), so the optimiser
        starts from where the artist left the stroke. Selected with ``torch.where``
        (no host sync); the entries stay marked until a step with finite gradients.
        """
        if not self._any_fresh:
            return
        assert self._optimizer is not None
        params = (self._points, self._widths, self._colors, self._fills)
        masks = (self._fresh_points, self._fresh_strokes, self._fresh_strokes, self._fresh_strokes)
        with torch.no_grad():
            for p, old, m, group in zip(params, before, masks, self._optimizer.param_groups, strict=True):
                if p.grad is None:
                    continue
                g = p.grad
                fresh = m.view(-1, *([1] * (p.dim() - 1)))
                p.copy_(torch.where(fresh, old - group["lr"] * g / (g.abs() + group["eps"]), p))
            self._fresh_points = self._fresh_points & ~adam_ok
            self._fresh_strokes = self._fresh_strokes & ~adam_ok

    def _random_strokes(self, count: int, first_id: int) -> list[Stroke]:
        """CLIPDraw's random-walk strokes with this session's settings and RNG."""
        cfg = self._config
        return random_walk_strokes(
            count,
            cfg.width,
            cfg.height,
            self._rng,
            first_id=first_id,
            min_segments=cfg.min_segments,
            max_segments=cfg.max_segments,
            half_width=min(max(cfg.init_half_width, cfg.min_half_width), cfg.max_half_width),
        )

    def _random_shapes(self, count: int, first_id: int) -> list[Stroke]:
        """Random closed filled shapes (:func:`random_shapes`) with this session's RNG."""
        cfg = self._config
        if count <= 0:
            return []
        return random_shapes(
            count,
            cfg.width,
            cfg.height,
            self._rng,
            first_id=first_id,
            half_width=min(max(cfg.init_half_width, cfg.min_half_width), cfg.max_half_width),
        )

    def _note(self, message: str) -> None:
        logger.info(message)
        self._messages.append(message)

    def _encode_prompts(self) -> None:
        self._steering.prepare(self._config, self._guidance, self._background)

    # ------------------------------------------------------------------ commands
    def _drain(self) -> None:
        while True:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                self._apply(command)
            except ClipDrawError as exc:
                self._note(f"{type(command).__name__} ignored: {exc}")

    def _apply(self, command: Command) -> None:
        if isinstance(command, SetFrozen):
            self._set_frozen(command.ids, command.frozen)
        elif isinstance(command, SetPrompt):
            self._set_prompt(command)
        elif isinstance(command, SetStrokeCount):
            self._set_count(command.count)
        elif isinstance(command, (SetImagePrompts, SetStyle, SetRegions)):
            self._set_guidance(command)
        elif isinstance(command, SetRespect):
            self._set_respect(command)
        elif isinstance(command, SetLook):
            self._set_look_command(command)
        else:
            self._apply_structural(command)

    def _apply_structural(self, command: Command) -> None:
        """Delete/add/update strokes as :func:`apply_to_drawing` defines, then repack.

        Strokes the command leaves alone come back as the same objects, so they are
        mapped to their old slots and keep their Adam moments.
        """
        old = self.drawing()
        new, notes = apply_to_drawing(old, command)
        for note in notes:
            self._note(note)
        if len(new.strokes) == len(old.strokes) and all(
            a is b for a, b in zip(new.strokes, old.strokes, strict=True)
        ):
            return
        slot_of = {id(s): i for i, s in enumerate(old.strokes)}
        order: list[int | Stroke] = [slot_of.get(id(s), s) for s in new.strokes]
        with self._id_lock:
            top = max((s.id for s in new.strokes), default=-1)
            current = next(self._next_id)
            self._next_id = itertools.count(max(current, top + 1))
        self._rebuild(order)

    def _index_of(self) -> dict[int, int]:
        return {slot.id: i for i, slot in enumerate(self._slots)}

    def _known(self, ids: Sequence[int]) -> list[int]:
        index = self._index_of()
        unknown = [i for i in ids if i not in index]
        if unknown:
            self._note(f"no stroke with id {', '.join(map(str, unknown))} (already deleted?)")
        return [index[i] for i in ids if i in index]

    def _set_frozen(self, ids: Sequence[int], frozen: bool) -> None:
        chosen = set(self._known(ids))
        self._slots = [replace(s, frozen=frozen) if i in chosen else s for i, s in enumerate(self._slots)]
        self._refresh_masks()
        if frozen:
            self._forget_momentum()

    def _forget_momentum(self) -> None:
        """Zero the Adam moments of held strokes so that releasing them starts afresh."""
        if self._optimizer is not None:
            params = (self._points, self._widths, self._colors, self._fills)
            masks = (self._point_frozen, self._stroke_frozen, self._stroke_frozen, self._stroke_frozen)
            for p, m in zip(params, masks, strict=True):
                state = self._optimizer.state.get(p, {})
                for key in ("exp_avg", "exp_avg_sq"):
                    if key in state:
                        state[key][m] = 0

    def _set_prompt(self, command: SetPrompt) -> None:
        self._config = config_with_prompt(self._config, command)
        self._encode_prompts()

    def _set_guidance(self, command: SetImagePrompts | SetStyle | SetRegions) -> None:
        """Swap in new image prompts / style / regions; the old ones stay if the new are unusable."""
        if isinstance(command, SetImagePrompts):
            new = self._guidance.replace(images=tuple(command.images))
        elif isinstance(command, SetStyle):
            new = self._guidance.replace(style=command.style)
        else:
            new = self._guidance.replace(regions=tuple(command.regions), region_views=command.region_views)
        old = self._guidance
        self._guidance = new
        try:
            self._encode_prompts()
        except ClipDrawError:
            self._guidance = old
            self._encode_prompts()
            raise

    def _set_respect(self, command: SetRespect) -> None:
        """Set soft-lock strengths and anchors in place: no repack, Adam state kept."""
        strength = float(command.strength)
        anchors = command.anchors or (None,) * len(command.ids)
        index = self._index_of()
        unknown = [i for i in command.ids if i not in index]
        if unknown:
            self._note(f"no stroke with id {', '.join(map(str, unknown))} (already deleted?)")
        current = self.drawing()
        slots = list(self._slots)
        for stroke_id, anchor in zip(command.ids, anchors, strict=True):
            if stroke_id not in index:
                continue
            slot = slots[index[stroke_id]]
            stroke = current.strokes[index[stroke_id]]
            if anchor is not None and anchor.points.shape != stroke.points.shape:
                self._note(f"stroke {stroke_id}: the anchor does not fit the stroke; soft lock unchanged")
                continue
            kept = anchor or Anchor(stroke.points, stroke.half_width, stroke.color)
            slots[index[stroke_id]] = replace(slot, respect=strength, anchor=kept if strength > 0 else None)
        self._slots = slots
        self._refresh_masks()
        if strength >= 1.0:
            self._forget_momentum()

    def _set_look_command(self, command: SetLook) -> None:
        """Palette / ink / width range / paper mid-run (validated first; a bad change is ignored)."""
        changes = SetLook.of(**command.fields).fields  # re-checks the allowed fields
        new = self._config.replace(**changes).validate()
        self._config = new
        self._set_look()
        if "background" in changes:
            self._background = new.background
        if "min_half_width" in changes or "max_half_width" in changes:
            with torch.no_grad():
                free = ~self._stroke_frozen
                clamped = self._widths.clamp(new.min_half_width, new.max_half_width)
                self._widths[free] = clamped[free]

    def _set_count(self, count: int) -> None:
        if not 0 <= count <= MAX_STROKES:
            raise ConfigError(f"stroke count must be between 0 and {MAX_STROKES}")
        current = len(self._slots)
        if count > current:
            ids = self.allocate_ids(count - current)
            fresh = self._random_strokes(count - current, 0)
            strokes = tuple(replace(s, id=i) for i, s in zip(ids, fresh, strict=True))
            self._apply_structural(AddStrokes(strokes))
        elif count < current:
            newest_first = [i for i in range(current - 1, -1, -1) if not self._slots[i].frozen]
            removable = newest_first[: current - count]
            if len(removable) < current - count:
                self._note("frozen strokes are kept: the drawing has more strokes than asked for")
            doomed = set(removable)
            self._rebuild([i for i in range(current) if i not in doomed])
        self._config = self._config.replace(num_paths=count)

    # ------------------------------------------------------------------ packing
    def _refresh_masks(self) -> None:
        # A soft lock of strength 1 is the exact freeze.
        frozen = torch.tensor(
            [s.frozen or s.respect >= 1.0 for s in self._slots], dtype=torch.bool, device=self.device
        )
        self._lock = pack_locks(self._slots, self.device)
        # known on the host, so a step never asks the device whether anything is free
        self._trainable = any(not (s.frozen or s.respect >= 1.0) for s in self._slots)
        self._stroke_frozen = frozen
        self._point_frozen = frozen[self._point_owner] if self._point_owner.numel() else frozen.new_zeros(0)

    def _rebuild(self, order: Sequence[int | Stroke]) -> None:
        """Repack the tensors for a new stroke list.

        ``order`` lists, in paint order, either the index of an existing slot (its
        parameters, anchors and Adam moments are carried over) or a new
        :class:`Stroke` (fresh values, zero moments).
        """
        old_counts = [s.num_points for s in self._slots]
        old_offsets = np.concatenate([[0], np.cumsum(old_counts)]).astype(np.int64)
        n_old_points = int(old_offsets[-1])
        n_old_strokes = len(self._slots)
        new_points: list[np.ndarray] = []
        new_widths: list[float] = []
        new_colors: list[tuple[float, ...]] = []
        new_fills: list[tuple[float, ...]] = []
        point_index: list[np.ndarray] = []
        stroke_index: list[int] = []
        slots: list[_Slot] = []
        start = n_old_points  # where the next new stroke's points go in cat([old, new])
        for item in order:
            if isinstance(item, Stroke):
                n = item.points.shape[0]
                point_index.append(np.arange(start, start + n))
                start += n
                stroke_index.append(n_old_strokes + len(new_widths))
                new_points.append(np.asarray(item.points, dtype=np.float32))
                new_widths.append(item.half_width)
                new_colors.append(item.color)
                new_fills.append(item.fill if item.fill is not None else (0.0, 0.0, 0.0, 0.0))
                slots.append(
                    _Slot(
                        item.id,
                        item.num_segments,
                        item.frozen,
                        item.respect,
                        item.anchor,
                        closed=item.closed,
                        outlined=item.outlined,
                        fill_rule=item.fill_rule,
                        subpaths=item.subpaths,
                    )
                )
            else:
                i = int(item)
                point_index.append(np.arange(old_offsets[i], old_offsets[i + 1]))
                stroke_index.append(i)
                old_slot = self._slots[i]
                slots.append(
                    _Slot(
                        old_slot.id,
                        old_slot.num_segments,
                        old_slot.frozen,
                        old_slot.respect,
                        old_slot.anchor,
                        closed=old_slot.closed,
                        outlined=old_slot.outlined,
                        fill_rule=old_slot.fill_rule,
                        subpaths=old_slot.subpaths,
                    )
                )
        dev = self.device
        flat_index = np.concatenate(point_index) if point_index else np.zeros(0, np.int64)
        p_idx = torch.as_tensor(flat_index, dtype=torch.long, device=dev)
        s_idx = torch.as_tensor(np.asarray(stroke_index, dtype=np.int64), dtype=torch.long, device=dev)
        add_pts = torch.as_tensor(
            np.concatenate(new_points) if new_points else np.zeros((0, 2), np.float32), device=dev
        )
        add_w = torch.as_tensor(np.asarray(new_widths, dtype=np.float32).reshape(-1), device=dev)
        add_c = torch.as_tensor(np.asarray(new_colors, dtype=np.float32).reshape(-1, 4), device=dev)
        add_f = torch.as_tensor(np.asarray(new_fills, dtype=np.float32).reshape(-1, 4), device=dev)

        def take(old: torch.Tensor, fresh: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
            return torch.cat([old.detach(), fresh]).index_select(0, index).contiguous()

        points = take(self._points, add_pts, p_idx)
        widths = take(self._widths, add_w, s_idx)
        colors = take(self._colors, add_c, s_idx)
        fills = take(self._fills, add_f, s_idx)
        self._anchor_points = take(self._anchor_points, add_pts, p_idx)
        self._anchor_colors = take(self._anchor_colors, add_c, s_idx)
        # Strokes that arrive mid-run (added, or edited by hand and so re-entered with
        # zero moments) take their first update as a fresh Adam would (see _first_steps).
        mid_run = self._optimizer is not None and bool(self._optimizer.state)
        n_new_pts, n_new = add_pts.shape[0], add_w.shape[0]
        if mid_run and n_new:
            self._any_fresh = True
            self._fresh_since = self._step
        self._fresh_points = take(
            self._fresh_points,
            torch.full((n_new_pts,), mid_run, dtype=torch.bool, device=dev),
            p_idx,
        )
        self._fresh_strokes = take(
            self._fresh_strokes,
            torch.full((n_new,), mid_run, dtype=torch.bool, device=dev),
            s_idx,
        )

        old_state: dict[int, dict[str, torch.Tensor]] = {}
        if self._optimizer is not None:
            pairs = (
                (self._points, points, add_pts, p_idx),
                (self._widths, widths, add_w, s_idx),
                (self._colors, colors, add_c, s_idx),
                (self._fills, fills, add_f, s_idx),
            )
            for old_p, new_p, fresh, idx in pairs:
                state = self._optimizer.state.get(old_p)
                if state:
                    carried = {"step": state["step"]}
                    for key in ("exp_avg", "exp_avg_sq"):
                        carried[key] = take(state[key], torch.zeros_like(fresh), idx)
                    old_state[id(new_p)] = carried
        self._points = points.requires_grad_(True)
        self._widths = widths.requires_grad_(True)
        self._colors = colors.requires_grad_(True)
        self._fills = fills.requires_grad_(True)
        self._slots = slots
        self._has_fills = any(s.closed for s in slots)
        counts = [s.num_segments for s in slots]
        self._layout = StrokeLayout.from_segment_counts(
            counts,
            device=dev,
            closed=[s.closed for s in slots],
            outlined=[s.outlined for s in slots],
            evenodd=[s.fill_rule == "evenodd" for s in slots],
            subpaths=[s.subpaths for s in slots],
        )
        self._closed_idx = torch.tensor(
            [i for i, s in enumerate(slots) if s.closed], dtype=torch.long, device=dev
        )
        self._outlined_idx = torch.tensor(
            [i for i, s in enumerate(slots) if s.outlined], dtype=torch.long, device=dev
        )
        owner = np.repeat(np.arange(len(slots), dtype=np.int64), [s.num_points for s in slots])
        self._point_owner = torch.as_tensor(owner, dtype=torch.long, device=dev)
        self._refresh_masks()
        cfg = self._config
        optimizer = torch.optim.Adam(
            [
                {"params": [self._points], "lr": cfg.lr_points},
                {"params": [self._widths], "lr": cfg.lr_width},
                {"params": [self._colors], "lr": cfg.lr_color},
                {"params": [self._fills], "lr": cfg.lr_color},
            ],
            capturable=self._capturable,
        )
        if self._optimizer is not None:
            groups = zip(self._optimizer.param_groups, optimizer.param_groups, strict=True)
            for old_group, new_group in groups:
                new_group["lr"] = old_group["lr"]
        for p in (self._points, self._widths, self._colors, self._fills):
            if id(p) in old_state:
                optimizer.state[p] = old_state[id(p)]
        self._optimizer = optimizer
