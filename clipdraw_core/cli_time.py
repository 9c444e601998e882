"""``clipdraw-cli``'s time outputs: time-lapse and replay videos, and variations.

The run settings of the same feature set (``--timelapse-every``, ``--stages``,
``--stage-freeze``, ``--prune``, ``--prune-every``, ``--auto-stop``, ``--patience``) are
:class:`~clipdraw_core.optim.config.SessionConfig` settings, so their options come from
the settings' metadata like every other; the options here name files or repeat runs.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from clipdraw_core.errors import ConfigError

if TYPE_CHECKING:  # the engine loads torch: only at run time, so --help stays fast
    from clipdraw_core.drawing.strokes import Drawing
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.plan import PlanOptions, RunPlan

logger = logging.getLogger(__name__)

DEFAULT_FPS = 25


def add_time_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("time-lapse, replay and variations")
    group.add_argument(
        "--timelapse", metavar="OUT.mp4|webm|gif", help="write a video of the drawing forming during the run"
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


def variation_path(path: str, index: int) -> str:
    """``out.svg`` -> ``out-2.svg`` for variation 2."""
    p = Path(path)
    return str(p.with_name(f"{p.stem}-{index}{p.suffix}"))


def check_time_args(args: argparse.Namespace) -> None:
    """Validate the time options (formats, counts, frame rate) before anything runs."""
    from clipdraw_core.io.video import VideoOptions, video_format
    from clipdraw_core.optim.variations import variation_seeds

    variation_seeds(0, args.variations)
    if args.variations > 1 and args.resume:
        raise ConfigError("--variations starts new drawings; it cannot continue a --resume project")
    VideoOptions(fps=args.fps, size=args.video_size).validate()
    for path in (args.timelapse, args.replay):
        if path:
            video_format(path)


def time_outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """``(option, path)`` of every extra file the run will write (videos, variation files)."""
    outputs = [("--timelapse", args.timelapse), ("--replay", args.replay)]
    if args.variations > 1:
        for i in range(1, args.variations + 1):
            outputs += [(f"-o (variation {i})", variation_path(args.output, i))]
            if args.png:
                outputs += [(f"--png (variation {i})", variation_path(args.png, i))]
    return [(flag, path) for flag, path in outputs if path]


def plan_options(args: argparse.Namespace, config: SessionConfig, *, resumed: bool = False) -> PlanOptions:
    """The run plan the settings ask for (frames are recorded only for ``--timelapse``).

    A resumed project's stages are over (its strokes are all there), so they are not
    added again.
    """
    from dataclasses import replace

    from clipdraw_core.optim.plan import PlanOptions, RunPlan

    options = PlanOptions.from_config(config, record=bool(args.timelapse)).validate()
    if resumed and options.stages > 1:
        logger.info("resumed project: its %d stages are not added again", options.stages)
        options = replace(options, stages=1)
    RunPlan(options, config)  # stages vs strokes and steps, before the model loads
    return options


def write_videos(args: argparse.Namespace, config: SessionConfig, plan: RunPlan, drawing: Drawing) -> None:
    """The --timelapse and --replay clips of one finished run, with a progress bar unless --quiet."""
    from clipdraw_core.io.video import VideoOptions, export_replay, export_timelapse

    caption = config.prompt if args.caption else None
    if args.timelapse and plan.recorder is not None:
        frames = plan.recorder.frames
        options = VideoOptions(fps=args.fps, size=args.video_size, caption=caption, show_step=args.caption)
        with _progress_bar(args, args.timelapse) as progress:
            export_timelapse(args.timelapse, frames, options, progress=progress)
    if args.replay:
        options = VideoOptions(fps=args.fps, size=args.video_size, caption=caption)
        with _progress_bar(args, args.replay) as progress:
            export_replay(args.replay, drawing, options, progress=progress)


@contextmanager
def _progress_bar(args: argparse.Namespace, path: str) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (none with --quiet)."""
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(desc=Path(path).name, unit="frame", dynamic_ncols=True, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
    logger.info("wrote %s", path)
