"""Stages: the stroke budget added in K steps over the run, coarse to fine.

CLIPasso-style progressive drawing: instead of optimising all strokes from the first
step, the run starts with the first share of the budget; at the start of each later
stage another share of fresh random strokes is added, and with ``freeze`` the
strokes drawn so far are frozen first, so early strokes settle the composition and
later ones add detail on top.

The :class:`StageScheduler` only *emits* edit commands (``SetFrozen`` then
``AddStrokes``) -- the same ones the GUI sends -- so stages work with any session and
every stage change could be undone like a manual edit.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence

from clipdraw_core.drawing.commands import AddStrokes, Command, SetFrozen
from clipdraw_core.drawing.strokes import Drawing, Stroke, random_walk_strokes
from clipdraw_core.errors import ConfigError

logger = logging.getLogger(__name__)

MAX_STAGES = 64


def stage_sizes(total: int, stages: int) -> list[int]:
    """Split ``total`` strokes into ``stages`` shares as evenly as possible (earlier ones larger)."""
    base, extra = divmod(int(total), int(stages))
    return [base + (1 if i < extra else 0) for i in range(stages)]


def stage_starts(num_steps: int, stages: int, start_step: int = 0) -> list[int]:
    """The step count at which each stage begins: ``start + j * steps // K``."""
    return [start_step + j * int(num_steps) // int(stages) for j in range(stages)]


class StageScheduler:
    """Emits the commands that begin stage ``j`` when the session reaches its first step.

    ``total`` is the random-stroke budget; the session should start with
    :attr:`initial_count` of them. Call :meth:`commands_for` before every step with the
    steps taken so far and the current drawing.
    """

    def __init__(
        self,
        total: int,
        stages: int,
        num_steps: int,
        *,
        freeze: bool = False,
        width: int = 224,
        height: int = 224,
        seed: int = 0,
        min_segments: int = 1,
        max_segments: int = 3,
        half_width: float = 1.0,
        start_step: int = 0,
    ) -> None:
        if isinstance(stages, bool) or not isinstance(stages, int) or not 1 <= stages <= MAX_STAGES:
            raise ConfigError(f"stages must be a whole number between 1 and {MAX_STAGES}, got {stages!r}")
        if stages > max(1, total):
            raise ConfigError(f"{stages} stages need at least {stages} strokes, got {total}")
        if stages > 1 and num_steps < stages:
            raise ConfigError(f"{stages} stages need at least {stages} steps, got {num_steps}")
        self.stages = stages
        self.freeze = freeze
        self.sizes = stage_sizes(total, stages)
        self.starts = stage_starts(num_steps, stages, start_step)
        self._canvas = (width, height)
        self._shape = (min_segments, max_segments, half_width)
        # its own stream, so the strokes of later stages do not depend on the session's RNG use
        self._rng = random.Random(f"clipdraw-stages-{seed}")
        self._begun = 1

    @property
    def initial_count(self) -> int:
        return self.sizes[0]

    @property
    def current_stage(self) -> int:
        """Stages begun so far (1 = only the first)."""
        return self._begun

    def commands_for(
        self, steps_taken: int, drawing: Drawing, allocate_ids: Callable[[int], Sequence[int]]
    ) -> list[Command]:
        """The commands to submit before the next step (empty unless a stage begins now)."""
        commands: list[Command] = []
        while self._begun < self.stages and steps_taken >= self.starts[self._begun]:
            j = self._begun
            self._begun += 1
            if self.freeze:
                unfrozen = tuple(s.id for s in drawing.strokes if not s.frozen)
                if unfrozen:
                    commands.append(SetFrozen(unfrozen, True))
            ids = list(allocate_ids(self.sizes[j]))
            commands.append(AddStrokes(tuple(self._strokes(ids))))
            logger.info("stage %d of %d at step %d: +%d strokes", j + 1, self.stages, steps_taken, len(ids))
        return commands

    def _strokes(self, ids: Sequence[int]) -> list[Stroke]:
        width, height = self._canvas
        min_segments, max_segments, half_width = self._shape
        fresh = random_walk_strokes(
            len(ids),
            width,
            height,
            self._rng,
            min_segments=min_segments,
            max_segments=max_segments,
            half_width=half_width,
        )
        return [Stroke(i, s.points, s.half_width, s.color) for i, s in zip(ids, fresh, strict=True)]
