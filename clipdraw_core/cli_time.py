"""``clipdraw-cli``'s time options: time-lapse and replay videos, variations, stages, prune, auto-stop.

Kept apart from :mod:`clipdraw_core.cli` so the main module stays about one run and
its files. Everything is checked before the model loads (video formats, writable
folders, ranges), so a typo never costs a run. The work itself is the engine's:
:class:`~clipdraw_core.optim.plan.RunPlan` for what happens during a run,
:mod:`clipdraw_core.io.video` for the clips, :mod:`clipdraw_core.optim.variations`
for seeds and ranking.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.autostop import DEFAULT_PATIENCE
from clipdraw_core.optim.timelapse import DEFAULT_EVERY

if TYPE_CHECKING:  # the engine loads torch: only at run time, so --help stays fast
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.plan import PlanOptions, RunPlan

logger = logging.getLogger(__name__)

DEFAULT_FPS = 25


def add_time_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("time-lapse, variations, stages, pruning and auto-stop")
    group.add_argument(
        "--timelapse", metavar="OUT.mp4|webm|gif", help="write a video of the drawing forming during the run"
    )
    group.add_argument(
        "--timelapse-every",
        type=int,
        default=DEFAULT_EVERY,
        metavar="K",
        help=f"record a time-lapse frame every K steps (default {DEFAULT_EVERY})",
    )
    group.add_argument(
        "--replay", metavar="OUT.mp4|webm|gif", help="write a stroke-by-stroke video of the final drawing"
    )
    group.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help=f"video frame rate (default {DEFAULT_FPS})"
    )
    group.add_argument(
        "--video-size",
        type=int,
        default=None,
        metavar="PX",
        help="video size, longest side (default: canvas)",
    )
    group.add_argument("--caption", action="store_true", help="show the prompt and step in the videos")
    group.add_argument(
        "--variations",
        type=int,
        default=1,
        metavar="N",
        help="run N seeds (seed, seed+1, ...); write OUT-1.svg..OUT-N.svg best first, OUT.svg = the best",
    )
    group.add_argument(
        "--stages",
        type=int,
        default=1,
        metavar="K",
        help="add the strokes in K stages over the run (default 1)",
    )
    group.add_argument(
        "--stage-freeze", action="store_true", help="freeze the strokes drawn so far when a stage begins"
    )
    group.add_argument(
        "--prune",
        type=float,
        default=0.0,
        metavar="ALPHA",
        help="remove strokes fainter than opacity ALPHA (and hidden ones) at the end (default 0 = off)",
    )
    group.add_argument(
        "--prune-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="also prune every STEPS steps during the run, refilling with new strokes",
    )
    group.add_argument(
        "--auto-stop", action="store_true", help="stop when the score stops improving (see --patience)"
    )
    group.add_argument(
        "--patience",
        type=int,
        default=DEFAULT_PATIENCE,
        metavar="STEPS",
        help=f"with --auto-stop: steps without improvement before stopping (default {DEFAULT_PATIENCE})",
    )


def variation_path(path: str | None, index: int) -> str | None:
    """``out.svg`` -> ``out-2.svg`` for variation 2."""
    if not path:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}-{index}{p.suffix}"))


def check_time_args(args: argparse.Namespace) -> list[str]:
    """Validate the time options; return every extra file the run will write."""
    from clipdraw_core.io.video import VideoOptions, video_format
    from clipdraw_core.optim.variations import variation_seeds

    variation_seeds(0, args.variations)
    VideoOptions(fps=args.fps, size=args.video_size).validate()
    outputs = []
    for path in (args.timelapse, args.replay):
        if path:
            video_format(path)
            outputs.append(path)
    if args.variations > 1:
        for i in range(1, args.variations + 1):
            outputs += [p for p in (variation_path(args.output, i), variation_path(args.png, i)) if p]
    return outputs


def plan_options(args: argparse.Namespace, config: SessionConfig) -> PlanOptions:
    """The run plan the options ask for, checked against the settings (before the model loads)."""
    from clipdraw_core.optim.plan import PlanOptions, RunPlan

    options = PlanOptions(
        timelapse_every=args.timelapse_every if args.timelapse else 0,
        stages=args.stages,
        stage_freeze=args.stage_freeze,
        prune_alpha=args.prune,
        prune_every=args.prune_every,
        auto_stop=args.auto_stop,
        patience=args.patience,
    ).validate()
    if args.timelapse and args.timelapse_every < 1:
        raise ConfigError("--timelapse-every must be at least 1 step")
    RunPlan(options, config)  # stages vs strokes and steps
    return options


def write_videos(args: argparse.Namespace, config: SessionConfig, plan: RunPlan, drawing) -> None:
    """The --timelapse and --replay clips of one finished run, with a progress bar unless --quiet."""
    from clipdraw_core.io.video import VideoOptions, export_replay, export_timelapse

    caption = config.prompt if args.caption else None
    jobs = []
    if args.timelapse and plan.recorder is not None:
        options = VideoOptions(fps=args.fps, size=args.video_size, caption=caption, show_step=args.caption)
        jobs.append(
            (
                args.timelapse,
                lambda progress: export_timelapse(
                    args.timelapse, plan.recorder.frames, options, progress=progress
                ),
            )
        )
    if args.replay:
        options = VideoOptions(fps=args.fps, size=args.video_size, caption=caption)
        jobs.append(
            (args.replay, lambda progress: export_replay(args.replay, drawing, options, progress=progress))
        )
    for path, job in jobs:
        bar = None
        if not args.quiet:
            from tqdm import tqdm

            bar = tqdm(desc=Path(path).name, unit="frame", dynamic_ncols=True, file=sys.stderr)

        def progress(done: int, total: int, bar=bar) -> None:
            if bar is not None:
                bar.total = total
                bar.update(done - bar.n)

        try:
            job(progress)
        finally:
            if bar is not None:
                bar.close()
        logger.info("wrote %s", path)
