"""``clipdraw-cli``: run CLIPDraw headless and write SVG/PNG/project files.

Errors are one line on stderr and a non-zero exit status (no traceback): every
problem a user can cause is a :class:`~clipdraw_core.errors.ClipDrawError`. Outputs
are checked for writability *before* the (possibly long) run and written atomically,
so a run never leaves a half-written file. Ctrl-C stops between steps and still
writes the drawing so far.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipdraw_core import __version__
from clipdraw_core.drawing.strokes import check_stroke_count
from clipdraw_core.errors import ClipDrawError, ConfigError, OutputError
from clipdraw_core.optim.config import DEFAULT_NEGATIVE_PROMPTS, SessionConfig

if TYPE_CHECKING:
    from clipdraw_core.drawing.strokes import Stroke
    from clipdraw_core.optim.session import Session

logger = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


#: Settings whose option does not map one to one onto their field (see ``_config_from_args``):
#: ``--paths`` defaults to "fill the budget", ``--negative`` collects several prompts.
_ADAPTED: dict[str, dict[str, Any]] = {
    "num_paths": {
        "default": None,
        "help": "random strokes (default 256; with a seed: on top of it, default 256 minus the seeded ones)",
    },
    "negative_prompts": {"nargs": "+", "action": "extend", "default": []},
}


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def _add_setting_options(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`~clipdraw_core.optim.setting.Setting` that names one."""
    from clipdraw_core.optim.setting import Setting

    settings: tuple[Setting, ...] = SessionConfig.settings()
    for s in settings:
        if s.cli is None:
            continue
        kwargs: dict[str, Any] = {"default": s.default, "help": s.help}
        if s.scalar in (int, float):
            kwargs["type"] = s.scalar
        if s.choices:
            kwargs["choices"] = list(s.choices)
        if s.metavar:
            kwargs["metavar"] = s.metavar
        if s.default not in (None, (), ""):
            kwargs["help"] += f" (default {s.default})"
        kwargs.update(_ADAPTED.get(s.name, {}))
        parser.add_argument(s.cli, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipdraw-cli",
        description="Draw a prompt with coloured Bézier strokes steered by CLIP (CLIPDraw), headless.",
    )
    parser.add_argument("prompt", help="what to draw, e.g. 'Watercolor painting of an underwater submarine.'")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.svg", help="SVG file to write")
    parser.add_argument(
        "--png", metavar="OUT.png", help="also write a PNG at the canvas size, drawn by --renderer"
    )
    parser.add_argument("--project", metavar="OUT.json", help="also save a project file (reopen in the app)")
    _add_setting_options(parser)
    parser.add_argument(
        "--default-negatives",
        action="store_true",
        help="add the original CLIPDraw negatives ('A badly drawn sketch.', 'Many ugly, messy drawings.')",
    )
    parser.add_argument("--seed-svg", metavar="FILE", help="start from the strokes of an SVG sketch")
    parser.add_argument("--seed-image", metavar="FILE", help="start from a scanned/photographed line sketch")
    parser.add_argument("--seed-frozen", action="store_true", help="keep seeded strokes fixed (frozen)")
    parser.add_argument(
        "--seed-max-strokes", type=int, default=256, help="cap on strokes traced from an image"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", "-v", action="store_true", help="log details")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _config_from_args(args: argparse.Namespace, num_seeded: int) -> SessionConfig:
    """The run's settings: every option named by a setting, plus the few adapters.

    With a seed sketch and no ``--paths``, the random strokes fill the rest of the
    original stroke budget; ``--size`` sets width and height; ``--default-negatives``
    adds the original CLIPDraw's negative prompts to ``--negative``.
    """
    values = {s.name: getattr(args, _dest(s.cli)) for s in SessionConfig.settings() if s.cli}
    budget = SessionConfig().num_paths
    paths = args.paths if args.paths is not None else max(0, budget - num_seeded)
    check_stroke_count(paths, allow_zero=True)
    if paths + num_seeded == 0:
        raise ConfigError("nothing to draw: --paths must be at least 1 (or give a seed sketch)")
    values["num_paths"] = paths
    negatives = list(args.negative) + (list(DEFAULT_NEGATIVE_PROMPTS) if args.default_negatives else [])
    values["negative_prompts"] = tuple(negatives)
    values["height"] = values["width"]
    return SessionConfig(prompt=args.prompt, **values).validate()


def _check_writable(path: str | None) -> None:
    if not path:
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {target}: folder {folder} is not writable")
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a folder")


def _load_seed(args: argparse.Namespace) -> list[Stroke]:
    strokes: list[Stroke] = []
    if args.seed_svg:
        from clipdraw_core.io.svg_import import load_svg_strokes

        strokes += load_svg_strokes(args.seed_svg, args.size, args.size, first_id=0, frozen=args.seed_frozen)
    if args.seed_image:
        from clipdraw_core.io.raster_import import load_image_strokes

        strokes += load_image_strokes(
            args.seed_image,
            args.size,
            args.size,
            first_id=len(strokes),
            frozen=args.seed_frozen,
            max_strokes=args.seed_max_strokes,
        )
    return strokes


def _write_outputs(args: argparse.Namespace, session: Session, prompt_desc: str) -> None:
    from PIL import Image

    from clipdraw_core.io.project import save_project
    from clipdraw_core.io.svg_export import save_svg
    from clipdraw_core.render import render_drawing

    snap = session.snapshot()
    drawing = snap.drawing
    save_svg(args.output, drawing, title=session.config.prompt, description=prompt_desc)
    if args.png:
        pixels = render_drawing(
            drawing, samples=max(2, session.config.render_samples), backend=session.config.renderer
        )
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        from clipdraw_core.io.fileio import atomic_write_bytes

        atomic_write_bytes(args.png, buffer.getvalue())
    if args.project:
        save_project(args.project, session.config, drawing, snap.step)


def run(args: argparse.Namespace) -> int:
    import torch  # noqa: F401 - imported here so --help stays fast

    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.optim.session import Session

    for path in (args.output, args.png, args.project):
        _check_writable(path)
    seeded = _load_seed(args)
    if (args.seed_svg or args.seed_image) and not seeded:
        raise ConfigError("the seed sketch contains no strokes")
    config = _config_from_args(args, len(seeded))
    negatives = list(config.negative_prompts)
    if config.renderer == "diffvg":  # say so before the (slow) model load
        from clipdraw_core.render import diffvg_backend

        diffvg_backend.require()
    clip = load_clip(args.model, args.weights, args.device)
    session = Session(config, clip, initial_strokes=seeded)
    description = (
        f"CLIPDraw Studio {__version__}: prompt {args.prompt!r}; negatives {negatives}; "
        f"{len(session.snapshot().drawing.strokes)} strokes; {args.steps} steps; seed {args.seed}; "
        f"model {args.model} ({args.weights}); renderer {config.renderer}"
    )
    interrupted = False
    bar = None
    try:
        if not args.quiet and args.steps > 0:
            from tqdm import tqdm

            bar = tqdm(total=args.steps, unit="step", dynamic_ncols=True, file=sys.stderr)
        for snap in session.run():
            if bar is not None:
                bar.set_postfix(
                    loss=f"{snap.loss:.4f}" if snap.loss is not None else "nan",
                    score=f"{snap.score:.4f}" if snap.score is not None else "nan",
                )
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    _write_outputs(args, session, description)
    step = session.step_count
    if interrupted:
        print(
            f"clipdraw-cli: interrupted at step {step}; wrote the drawing so far to {args.output}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    logger.info("wrote %s after %d steps", args.output, step)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``clipdraw-cli``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("clipdraw_core").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return run(args)
    except ClipDrawError as exc:
        message = " ".join(str(exc).split())
        print(f"clipdraw-cli: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("clipdraw-cli: interrupted before the run started; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print(
            "clipdraw-cli: error: out of memory; try fewer strokes, a smaller --size or --augs",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
