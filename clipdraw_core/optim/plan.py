"""What happens to a run over time: time-lapse frames, stages, prunes, auto-stop and ETA.

:class:`RunPlan` wraps the per-step extras around any :class:`~clipdraw_core.optim.session.Session`
loop without changing the loop itself: call :meth:`RunPlan.start` once, then
:meth:`RunPlan.before_step` / :meth:`RunPlan.after_step` around every ``session.step()``
and :meth:`RunPlan.finish` at the end. Everything it does to the drawing goes through
the session's ordinary edit commands (stages add and freeze strokes, prunes delete
and refill them), so a front end can show, undo or replay those edits like manual
ones. :func:`run_with_plan` is the plain loop the CLI uses; the GUI's worker calls
the hooks from its own loop.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.autostop import DEFAULT_PATIENCE, DEFAULT_TOLERANCE, EtaEstimator, PlateauDetector
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.prune import PruneResult, prune
from clipdraw_core.optim.setting import check_value, setting_named
from clipdraw_core.optim.snapshot import Snapshot
from clipdraw_core.optim.stages import StageScheduler
from clipdraw_core.optim.timelapse import TimelapseRecorder

if TYPE_CHECKING:
    from clipdraw_core.optim.session import Session

logger = logging.getLogger(__name__)

#: The :class:`PlanOptions` fields that are :class:`SessionConfig` settings of the same name.
CONFIG_FIELDS = (
    "timelapse_every",
    "stages",
    "stage_freeze",
    "prune_alpha",
    "prune_every",
    "auto_stop",
    "patience",
)


@dataclass(frozen=True)
class PlanOptions:
    """The time-related settings of a run (all off by default).

    The artist-facing ones are :class:`SessionConfig` settings (:meth:`from_config`);
    the frame cap, refill and tolerance are the engine's defaults.
    """

    #: Record a time-lapse frame every K steps (0 = no recording).
    timelapse_every: int = 0
    timelapse_max_frames: int = 1000
    #: Add the stroke budget in this many stages (1 = all at once, the original).
    stages: int = 1
    stage_freeze: bool = False
    #: Prune strokes with opacity below this (0 = never prune).
    prune_alpha: float = 0.0
    #: Prune (and refill) every N steps during the run; 0 = only once at the end.
    prune_every: int = 0
    prune_refill: bool = True
    auto_stop: bool = False
    patience: int = DEFAULT_PATIENCE
    tolerance: float = DEFAULT_TOLERANCE

    @classmethod
    def from_config(cls, config: SessionConfig, *, record: bool = True) -> PlanOptions:
        """The plan the settings ask for; ``record=False`` keeps no time-lapse frames."""
        values = {name: getattr(config, name) for name in CONFIG_FIELDS}
        if not record:
            values["timelapse_every"] = 0
        return cls(**values)

    def validate(self) -> PlanOptions:
        """Raise :class:`ConfigError` on a bad value (for plans built directly, not from a config).

        The fields copied from :class:`SessionConfig` are checked by their settings'
        metadata (:func:`~clipdraw_core.optim.setting.check_value`), so a plan and the
        settings accept the same values and name them alike ("patience (--patience)
        must be ..."); only ``timelapse_every`` also accepts 0 here (no recording).
        """
        for name in CONFIG_FIELDS:
            spec = setting_named(SessionConfig, name)
            if name == "timelapse_every":
                spec = replace(spec, minimum=0)  # 0 = record nothing (the CLI without --timelapse)
            check_value(spec, getattr(self, name))
        frames = self.timelapse_max_frames
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise ConfigError(f"the time-lapse frame cap must be a whole number >= 1, got {frames!r}")
        if not isinstance(self.prune_refill, bool):
            raise ConfigError(f"prune refill must be true or false, got {self.prune_refill!r}")
        tol = self.tolerance
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0.0 <= tol < math.inf:
            raise ConfigError(f"the auto-stop tolerance must be a finite number >= 0, got {tol!r}")
        return self


class RunPlan:
    """Per-step extras for one run (see the module docstring)."""

    def __init__(self, options: PlanOptions, config: SessionConfig, *, start_step: int = 0) -> None:
        self.options = options.validate()
        self.recorder = (
            TimelapseRecorder(options.timelapse_every, max_frames=options.timelapse_max_frames)
            if options.timelapse_every
            else None
        )
        self.stages: StageScheduler | None = None
        if options.stages > 1:
            self.stages = StageScheduler(
                config.num_paths,
                options.stages,
                config.num_steps - start_step,
                freeze=options.stage_freeze,
                width=config.width,
                height=config.height,
                seed=config.seed,
                min_segments=config.min_segments,
                max_segments=config.max_segments,
                half_width=config.init_half_width,
                start_step=start_step,
            )
        self.plateau = PlateauDetector(options.patience, options.tolerance) if options.auto_stop else None
        self.eta = EtaEstimator()
        self._rng = random.Random(f"clipdraw-prune-{config.seed}")
        self.prunes: list[PruneResult] = []
        self.stopped_early = False

    def session_config(self, config: SessionConfig) -> SessionConfig:
        """The settings to start the session with: only the first stage's strokes."""
        return config.replace(num_paths=self.stages.initial_count) if self.stages else config

    # ------------------------------------------------------------------ hooks
    def start(self, session: Session) -> None:
        """Record the initial drawing and start the clock."""
        if self.recorder is not None:
            snap = session.snapshot()
            self.recorder.offer(snap.drawing, snap.step, snap.score)
        self.eta.update(session.step_count)

    def before_step(self, session: Session) -> None:
        """Submit the stage and prune edits due before the next step."""
        steps = session.step_count
        changed = False
        if self.stages is not None:
            commands = self.stages.commands_for(steps, session.drawing(), session.allocate_ids)
            for command in commands:
                session.submit(command)
            changed = bool(commands)
        every = self.options.prune_every
        if self.options.prune_alpha and every and steps and steps % every == 0 and not changed:
            changed = self._prune(session, refill=self.options.prune_refill)
        if changed and self.plateau is not None:
            self.plateau.reset()

    def after_step(self, session: Session, snap: Snapshot) -> bool:
        """Record, update ETA and plateau; ``True`` when the run should stop (auto-stop).

        A plateau never stops a run before its last stage has begun: the strokes still to
        come are part of the drawing the artist asked for.
        """
        if self.recorder is not None:
            # the drawing is read (off the device) only for a frame that is due
            self.recorder.tick(snap.step)
            if self.recorder.due(snap.step):
                self.recorder.offer(snap.drawing, snap.step, snap.score)
        self.eta.update(snap.step)
        stages_pending = self.stages is not None and self.stages.current_stage < self.stages.stages
        if (
            self.plateau is not None
            and self.plateau.update(snap.score)
            and not snap.done
            and not stages_pending
        ):
            if not self.stopped_early:
                logger.info("auto-stop at step %d: the score stopped improving", snap.step)
            self.stopped_early = True
            return True
        return False

    def finish(self, session: Session) -> Snapshot:
        """Final prune (no refill), apply it, close the time-lapse; returns the final snapshot."""
        if self.options.prune_alpha:
            self._prune(session, refill=False)
        snap = session.apply_pending()
        if self.recorder is not None:
            self.recorder.finish(snap.drawing, snap.step, snap.score)
        return snap

    def seconds_left(self, steps_done: int, total: int) -> float | None:
        return self.eta.remaining(steps_done, total)

    def _prune(self, session: Session, *, refill: bool) -> bool:
        cfg = session.config
        result = prune(
            session.drawing(),
            min_opacity=self.options.prune_alpha,
            refill=refill,
            rng=self._rng,
            allocate_ids=session.allocate_ids,
            min_segments=cfg.min_segments,
            max_segments=cfg.max_segments,
            half_width=cfg.init_half_width,
            device=session.device,
        )
        if not result.commands:
            return False
        for command in result.commands:
            session.submit(command)
        self.prunes.append(result)
        logger.info("step %d: %s", session.step_count, result.describe())
        return True


def run_with_plan(
    session: Session, plan: RunPlan, on_step: Callable[[Snapshot], None] | None = None
) -> Iterator[Snapshot]:
    """``session.run()`` with the plan's hooks; stops early on a plateau. Call ``plan.finish`` after."""
    plan.start(session)
    while not session.done:
        plan.before_step(session)
        snap = session.step()
        if on_step is not None:
            on_step(snap)
        yield snap
        if plan.after_step(session, snap):
            return
