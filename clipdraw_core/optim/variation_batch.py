"""Variations as one batch: N sessions of the same settings, stepped together.

A :class:`VariationBatch` holds one ordinary :class:`~clipdraw_core.optim.session.Session`
per seed of :func:`~clipdraw_core.optim.variations.variation_seeds` (member ``i`` is
the session ``Session(config.replace(seed=seeds[i]), ...)`` would be: same random
strokes, same augmentation generator). Each :meth:`VariationBatch.step` runs the
phases of ``Session.step`` for every alive member, except that the members' views
go through **one** ``clip.encode_image`` call and their losses through **one**
backward pass:

1. every member drains its commands and sets its learning rates (``_begin_step``);
2. every member renders and augments with its own generator (``_step_views``);
3. all views are concatenated and encoded at once; the features are split back;
4. every member computes its loss from its features (``_step_loss``), the finite
   losses of the trainable members are summed and back-propagated once (each
   member's parameters only receive their own loss's gradient: the members share
   no parameter, and CLIP's weights are frozen);
5. every member makes its own Adam update, clamps and freeze restore (``_end_step``).

So a batched step computes what N single steps compute (up to the last bits of the
bigger matrix products), which ``tests/test_variation_batch.py`` checks. A member whose
loss or gradient is not a number skips its update as a single session would, without
touching the others; one that keeps failing is dropped (:attr:`VariationBatch.failed`).

Threads: :meth:`submit`, :meth:`drop`, :attr:`alive` and :meth:`allocate_ids` may be
called from any thread; the rest belongs to the thread that steps the batch.
"""

from __future__ import annotations

import logging
import threading
import time

import torch

from clipdraw_core.clip.clip_model import ClipModel
from clipdraw_core.drawing.commands import Command
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.errors import ConfigError, NumericalError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.snapshot import Snapshot
from clipdraw_core.optim.steering import StyleNetworkLoader
from clipdraw_core.optim.style import StyleNetwork, load_style_network
from clipdraw_core.optim.variations import evaluate_many, variation_seeds

logger = logging.getLogger(__name__)


def _shared_loader(
    loader: StyleNetworkLoader | None, weights: str, device: torch.device
) -> StyleNetworkLoader:
    """One VGG-16 for every member: loaded on first use, then handed to each."""
    loaded: list[StyleNetwork] = []
    lock = threading.Lock()

    def load() -> StyleNetwork:
        with lock:
            if not loaded:
                if loader is not None:
                    loaded.append(loader())
                else:  # the choice a Steering without a loader makes
                    loaded.append(load_style_network("random" if weights == "random" else "imagenet", device))
            return loaded[0]

    return load


class VariationBatch:
    """``count`` variations of ``config`` optimised as one batch (see the module docstring).

    ``drawing`` is the starting drawing shared by all: its strokes are every member's
    seed strokes (frozen ones stay frozen), below which each member adds
    ``config.num_paths`` random strokes (and ``config.num_shapes`` shapes) of its own
    seed, exactly as a single session started from those strokes does. The stroke
    ids are therefore the same in every member, so one ``SetFrozen`` or ``SetPrompt``
    given to :meth:`submit` means the same in all of them.
    """

    def __init__(
        self,
        clip: ClipModel,
        config: SessionConfig,
        count: int,
        *,
        drawing: Drawing | None = None,
        style_loader: StyleNetworkLoader | None = None,
        guidance: Guidance | None = None,
    ) -> None:
        config = config.validate()
        self.seeds: list[int] = variation_seeds(config.seed, count)
        if drawing is not None and (drawing.width, drawing.height) != (config.width, config.height):
            raise ConfigError(
                f"drawing is {drawing.width}x{drawing.height} but the settings say "
                f"{config.width}x{config.height}"
            )
        self.clip = clip
        loader = _shared_loader(style_loader, config.weights, clip.device)
        seeds_strokes = drawing.strokes if drawing is not None else ()
        self._members: list[Session] = [
            Session(
                config.replace(seed=seed),
                clip,
                initial_strokes=seeds_strokes,
                guidance=guidance,
                style_network=loader,
            )
            for seed in self.seeds
        ]
        # the attention kernel measured for the batched shape (the members measured theirs)
        clip.set_precision(config.precision, batch=count * self._members[0].num_views)
        self._lock = threading.Lock()
        self._dropped: set[int] = set()
        self._ended = False
        #: Members dropped because their numbers kept failing: index -> the reason.
        self.failed: dict[int, str] = {}
        self._timings: dict[str, float] = {}

    # ------------------------------------------------------------------ threads
    @property
    def alive(self) -> list[int]:
        """Indices (0-based, in seed order) of the members still stepped."""
        with self._lock:
            if self._ended:
                return []
            return [i for i in range(len(self._members)) if i not in self._dropped]

    def submit(self, command: Command) -> None:
        """Queue an edit for every alive member; applied at the start of the next step (thread-safe)."""
        with self._lock:
            if self._ended:
                return
            for i, member in enumerate(self._members):
                if i not in self._dropped:
                    member.submit(command)

    def drop(self, index: int) -> None:
        """Stop stepping member ``index`` (thread-safe; it is left out from the next step on)."""
        self._check(index)
        with self._lock:
            self._dropped.add(index)

    def allocate_ids(self, n: int = 1) -> list[int]:
        """Stroke ids free in every member (thread-safe), for strokes a front end will add to all."""
        with self._lock:
            members = [m for i, m in enumerate(self._members) if i not in self._dropped] or self._members
            return max(m.allocate_ids(n) for m in members)

    # ------------------------------------------------------------------ state
    @property
    def step_count(self) -> int:
        """Steps taken (every member takes every step, so they agree)."""
        alive = self.alive
        return self._members[alive[0] if alive else 0].step_count

    @property
    def done(self) -> bool:
        """True when no member is left or every alive member has reached ``num_steps``."""
        alive = self.alive
        return not alive or all(self._members[i].done for i in alive)

    @property
    def timings(self) -> dict[str, float]:
        """Seconds of the last batched step by phase (``render``, ``clip``, ``backward``, ...)."""
        return dict(self._timings)

    def member(self, index: int) -> Session:
        """The live session of member ``index`` (also a dropped one, to read or finish it).

        For the engine's per-member hooks (a run plan's stages, prunes); it must not be
        stepped on its own while the batch runs: :meth:`take` it for that.
        """
        self._check(index)
        return self._members[index]

    def snapshot(self, index: int) -> Snapshot:
        return self.member(index).snapshot()

    def take(self, index: int) -> Session:
        """Detach member ``index`` as an ordinary session (its Adam state kept); the batch ends."""
        self._check(index)
        with self._lock:
            if self._ended:
                raise ConfigError("this batch of variations has ended: a member was already taken")
            if index in self._dropped:
                raise ConfigError(f"variation {index + 1} was dropped")
            self._ended = True
        return self._members[index]

    # ------------------------------------------------------------------ scores
    def scores(self) -> dict[int, float]:
        """Each alive member's :func:`~clipdraw_core.optim.variations.evaluate` score (no grad)."""
        alive = self.alive
        if not alive:
            return {}
        drawings = [self._members[i].drawing() for i in alive]
        values = evaluate_many(self.clip, drawings, self._members[alive[0]].config)
        return dict(zip(alive, values, strict=True))

    def ranked(self) -> list[int]:
        """Alive indices, best score first (ties keep seed order)."""
        scores = self.scores()
        return sorted(scores, key=lambda i: -scores[i])

    # ------------------------------------------------------------------ step
    def step(self) -> dict[int, Snapshot]:
        """One batched step of every alive member; their snapshots by index."""
        alive = self.alive
        if not alive:
            return {}
        t_start = time.perf_counter()
        members = {i: self._members[i] for i in alive}
        starts = {i: m._begin_step() for i, m in members.items()}
        trainable = any(s.trainable for s in starts.values())
        prepared = {}
        for i, m in members.items():
            with torch.set_grad_enabled(starts[i].trainable):
                prepared[i] = m._step_views(starts[i])
        t = time.perf_counter()
        with torch.set_grad_enabled(trainable):
            features = self.clip.encode_image(torch.cat([views.views for _, views in prepared.values()]))
        encode_seconds = time.perf_counter() - t
        sizes = [views.views.shape[0] for _, views in prepared.values()]
        parts = dict(zip(alive, torch.split(features, sizes), strict=True))
        results = {}
        for i, m in members.items():
            image, views = prepared[i]
            with torch.set_grad_enabled(starts[i].trainable):
                loss, objective = m._step_loss(image, views, parts[i])
            objective.timings["clip"] += encode_seconds
            results[i] = (loss, objective)
        # Every trainable member goes into the one backward, a NaN loss too: no host read of
        # the losses here (a GPU would wait for each). Each view's gradient depends only on
        # its own member (CLIP's image pass is per sample; its weights take no gradient),
        # so a NaN stays in its member's gradients, and that member's own device-side skip
        # in ``_end_step`` drops the update exactly as a single session's would.
        backward = [i for i in alive if starts[i].trainable]
        t = time.perf_counter()
        if backward:
            for i in backward:
                optimizer = members[i]._optimizer
                assert optimizer is not None
                optimizer.zero_grad(set_to_none=False)
            total = torch.stack([results[i][0] for i in backward]).sum()
            total.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        backward_seconds = time.perf_counter() - t
        snapshots: dict[int, Snapshot] = {}
        for i, m in members.items():
            loss, objective = results[i]
            if i in backward:
                starts[i].timings["backward"] = backward_seconds
            try:
                snapshots[i] = m._end_step(starts[i], loss, objective, backward=False)
            except NumericalError as exc:
                logger.warning("variation %d (seed %d) dropped: %s", i + 1, self.seeds[i], exc)
                self.failed[i] = str(exc)
                self.drop(i)
        if not snapshots:  # every member failed this step: the batch fails as a session would
            raise NumericalError(self.failed[alive[-1]])
        self._timings = {
            "clip": encode_seconds,
            "backward": backward_seconds,
            "total": time.perf_counter() - t_start,
        }
        return snapshots

    def _check(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self._members):
            raise ConfigError(f"no variation {index!r}: the batch has {len(self._members)} (0-based)")
