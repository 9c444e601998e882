"""``clipdraw-cli``: run CLIPDraw headless and write SVG/PNG/project files.

Errors are one line on stderr and a non-zero exit status (no traceback): every
problem a user can cause is a :class:`~clipdraw_core.errors.ClipDrawError`. Outputs
are checked *before* the (possibly long) run - writable, and no two of them (or an
output and an input) the same file - and written atomically, so a run never leaves a
half-written file; when some outputs fail, the message says which were written.
Ctrl-C or SIGTERM stops between steps and still writes the drawing so far (see
:mod:`clipdraw_core.stop_signals`). ``--resume PROJECT.json`` continues a saved project.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipdraw_core import __version__, cli_guidance
from clipdraw_core.cli_time import add_time_options
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import check_stroke_count
from clipdraw_core.errors import ClipDrawError, ConfigError, OutputError
from clipdraw_core.optim.config import DEFAULT_NEGATIVE_PROMPTS, SessionConfig
from clipdraw_core.stop_signals import StopSignals

if TYPE_CHECKING:
    from clipdraw_core.clip.clip_model import ClipModel
    from clipdraw_core.drawing.strokes import Drawing, Stroke
    from clipdraw_core.optim.plan import PlanOptions, RunPlan
    from clipdraw_core.optim.session import Session
    from clipdraw_core.optim.snapshot import Snapshot
    from clipdraw_core.optim.steering import StyleNetworkLoader

logger = logging.getLogger(__name__)

EXIT_ERROR = 1
#: Seconds between progress-bar loss/score updates (each reads a snapshot off the device).
_POSTFIX_INTERVAL = 0.5
EXIT_INTERRUPTED = 130


def parse_size(text: str) -> tuple[int, int]:
    """``224`` -> (224, 224); ``320x200`` -> (320, 200)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+)\s*)?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected W or WxH in px (e.g. 224 or 320x200), got {text!r}")
    w = int(m.group(1))
    return w, int(m.group(2)) if m.group(2) else w


def parse_width_range(text: str) -> tuple[float, float]:
    """``MIN:MAX`` full stroke widths in px."""
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX in px (e.g. 1:6), got {text!r}") from None
    if not (0 <= lo <= hi < float("inf")):
        raise argparse.ArgumentTypeError(f"width range needs 0 <= MIN <= MAX, got {text!r}")
    return lo, hi


#: Settings whose option does not map one to one onto their field (see ``_config_from_args``):
#: ``--paths`` defaults to "fill the budget", ``--negative`` collects several prompts.
_ADAPTED: dict[str, dict[str, Any]] = {
    "num_paths": {
        "default": None,
        "help": "random strokes (default 256; with a seed: on top of it, default 256 minus the seeded ones)",
    },
    "negative_prompts": {"nargs": "+", "action": "extend", "default": []},
    # --size W[xH] sets width and height (the default, an int, stays 224 x 224)
    "width": {"type": parse_size, "metavar": "W[xH]", "help": "canvas size in px: 224 or WxH, e.g. 320x200"},
    # --palette SPEC is read into the entries by clipdraw_core.drawing.palette.load_palette
    "palette": {
        "help": "lock colours to a palette: '#rrggbb,#rrggbb,...', a .gpl/.txt file, an image (.png/.jpg) "
        "to pick colours from, a built-in palette name, or 'seed' (the seed sketch's colours)"
    },
    # --ink alone means black ink
    "ink": {"nargs": "?", "const": "#000000"},
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
        if s.scalar is bool:  # a switch: present = on
            parser.add_argument(s.cli, action="store_true", **kwargs)
            continue
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


def _add_look_options(parser: argparse.ArgumentParser) -> None:
    """The look options that set several fields at once (adapters, like --default-negatives)."""
    from clipdraw_core.optim.presets import preset_names

    names = ", ".join(f"'{n}'" for n in preset_names())
    parser.add_argument(
        "--preset", metavar="NAME", help=f"fill the look settings from a preset ({names}); options win"
    )
    parser.add_argument(
        "--width-range",
        type=parse_width_range,
        metavar="MIN:MAX",
        help="full stroke width range in px (default 2:100, the original's half-widths 1..50)",
    )
    parser.add_argument(
        "--background",
        metavar="#rrggbb|transparent",
        help="paper colour (default white), or 'transparent': PNG with alpha, SVG without background",
    )


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Every option that sets a run's :class:`SessionConfig` (read by :func:`_config_from_args`).

    The settings' own options, the look adapters and ``--default-negatives``; the main
    command and ``batch`` both call this, so a new setting reaches both.
    """
    _add_setting_options(parser)
    _add_look_options(parser)
    parser.add_argument(
        "--default-negatives",
        action="store_true",
        help="add the original CLIPDraw negatives ('A badly drawn sketch.', 'Many ugly, messy drawings.')",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipdraw-cli",
        description="Draw a prompt with coloured Bézier strokes steered by CLIP (CLIPDraw), headless.",
    )
    parser.add_argument(
        "prompt",
        nargs="?",
        help="what to draw, e.g. 'Watercolor painting of an underwater submarine.' (with --resume: optional)",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.svg", help="SVG file to write")
    parser.add_argument(
        "--png", metavar="OUT.png", help="also write a PNG at the canvas size, drawn by --renderer"
    )
    parser.add_argument("--project", metavar="OUT.json", help="also save a project file (reopen in the app)")
    add_config_options(parser)
    parser.add_argument("--seed-svg", metavar="FILE", help="start from the strokes of an SVG sketch")
    parser.add_argument("--seed-image", metavar="FILE", help="start from a scanned/photographed line sketch")
    parser.add_argument("--seed-frozen", action="store_true", help="keep seeded strokes fixed (frozen)")
    parser.add_argument(
        "--seed-max-strokes", type=int, default=256, help="cap on strokes traced from an image"
    )
    parser.add_argument(
        "--resume",
        metavar="PROJECT.json",
        help="continue a saved project (its prompt, settings and strokes; options given override them)",
    )
    add_time_options(parser)
    parser.add_argument(
        "--server", metavar="HOST:PORT",
        help="run on a clipdraw-server (ws://, wss://, http://, https:// accepted); outputs are written here",
    )
    parser.add_argument("--token", help="the server's token")
    parser.add_argument("--token-file", metavar="FILE", help="read the server's token from this file")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", "-v", action="store_true", help="log details")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    cli_guidance.add_arguments(parser)
    return parser


def _prompt_values(args: argparse.Namespace) -> dict[str, Any]:
    """``--add-prompt``/``--negative`` with their ``:W`` weights, plus ``--default-negatives``."""
    values = cli_guidance.prompt_settings(args)
    if args.default_negatives:
        values["negative_prompts"] += DEFAULT_NEGATIVE_PROMPTS
        if "negative_weights" in values:
            values["negative_weights"] += (args.negative_weight,) * len(DEFAULT_NEGATIVE_PROMPTS)
    return values


def _config_from_args(
    args: argparse.Namespace,
    num_seeded: int,
    seed_colors: Sequence[Sequence[float]] = (),
    given: set[str] | None = None,
) -> SessionConfig:
    """The run's settings: every option named by a setting, plus the few adapters.

    A ``--preset`` fills its settings first; the options in ``given`` (the argparse
    dests typed on the command line, see :func:`explicit_options`) override it. With
    a seed sketch and no ``--paths``, the random strokes fill the rest of the stroke
    budget (the original's 256, or the preset's); ``--size`` sets width and height;
    ``--default-negatives`` adds the original CLIPDraw's negative prompts to
    ``--negative``; the look adapters are :func:`_look_values`'s.
    """
    given = set() if given is None else given
    values = {s.name: getattr(args, _dest(s.cli)) for s in SessionConfig.settings() if s.cli}
    budget = SessionConfig().num_paths
    if getattr(args, "preset", None):
        from clipdraw_core.optim.presets import find_preset

        by_dest = {s.name: _dest(s.cli) for s in SessionConfig.settings() if s.cli}
        preset = dict(find_preset(args.preset).settings)
        budget = int(preset.pop("num_paths", budget))
        values.update({k: v for k, v in preset.items() if by_dest.get(k) not in given})
    paths = args.paths if args.paths is not None else max(0, budget - num_seeded)
    check_stroke_count(paths, allow_zero=True)
    if paths + num_seeded + int(values.get("num_shapes") or 0) == 0:
        raise ConfigError("nothing to draw: --paths or --shapes must be at least 1 (or give a seed sketch)")
    values["num_paths"] = paths
    values.update(_prompt_values(args))
    size = values["width"]
    values["width"], values["height"] = size if isinstance(size, tuple) else (size, size)
    values.update(_look_values(args, values["palette"], values["palette_colors"], given, seed_colors))
    return SessionConfig(prompt=args.prompt, **values).validate()


def _look_values(
    args: argparse.Namespace,
    palette: Any,
    palette_colors: int,
    given: set[str],
    seed_colors: Sequence[Sequence[float]] = (),
) -> dict[str, Any]:
    """Fields set by the look adapters: ``--palette`` SPEC read into its entries
    (``seed_colors``: the seed sketch's, for ``--palette seed``), ``--width-range`` the
    half-width clamps, ``--background`` the paper (or transparent exports)."""
    from clipdraw_core.drawing.palette import check_palette, hex_to_rgb, load_palette, palette_from_colors

    out: dict[str, Any] = {}
    if isinstance(palette, str):  # from --palette; a preset's or project's palette is a tuple
        if palette.strip().lower() == "seed":
            if not seed_colors:
                raise ConfigError("--palette seed needs a seed sketch (--seed-svg or --seed-image)")
            out["palette"] = check_palette(palette_from_colors(seed_colors, palette_colors))
        else:
            out["palette"] = load_palette(palette, palette_colors)
        if "ink" not in given:
            out["ink"] = None  # a palette given replaces a preset's (or project's) ink
    width_range = getattr(args, "width_range", None)
    if width_range is not None:
        out["min_half_width"], out["max_half_width"] = width_range[0] / 2.0, width_range[1] / 2.0
    paper = getattr(args, "background", None)
    if paper is not None:
        if paper.strip().lower() == "transparent":
            out["transparent"] = True
        else:
            out["background"], out["transparent"] = hex_to_rgb(paper), False
    return out


def _load_seed(args: argparse.Namespace) -> list[Stroke]:
    from clipdraw_core.io.seed import SEED_IMAGE, SEED_SVG, load_seed

    strokes: list[Stroke] = []
    if args.seed_svg:
        width, height = args.size if isinstance(args.size, tuple) else (args.size, args.size)
        strokes += load_seed(args.seed_svg, width, height, frozen=args.seed_frozen, kind=SEED_SVG)
    if args.seed_image:
        width, height = args.size if isinstance(args.size, tuple) else (args.size, args.size)
        strokes += load_seed(
            args.seed_image,
            width,
            height,
            first_id=len(strokes),
            frozen=args.seed_frozen,
            max_strokes=args.seed_max_strokes,
            kind=SEED_IMAGE,
        )
    return strokes


class _Outputs:
    """The output files of a run, and which of them were written (for truthful messages)."""

    def __init__(self) -> None:
        self.planned: list[str] = []
        self.written: list[str] = []
        self.failed: list[str] = []

    def paths(self) -> list[str]:
        return list(self.planned)

    def summary(self) -> str:
        """'wrote a.svg, a.json' / 'nothing written', plus what was not written."""
        text = "wrote " + ", ".join(self.written) if self.written else "nothing written"
        missing = [p for p in self.paths() if p not in self.written]
        if self.written and missing:
            text += "; not written: " + ", ".join(missing)
        return text


def _check_outputs(args: argparse.Namespace) -> None:
    """Before the run: every output is writable, and no two paths name the same file.

    Outputs may not name one another or an input (a seed sketch, the resumed project
    for -o/--png): the run would silently overwrite it. ``--project`` may name the
    project given to ``--resume`` (it is read completely first): that saves the
    continued project in place.
    """
    from clipdraw_core.cli_time import time_outputs
    from clipdraw_core.io.fileio import check_writable, same_file

    outputs = [("-o", args.output), ("--png", args.png), ("--project", args.project), *time_outputs(args)]
    outputs = [(flag, path) for flag, path in outputs if path]
    for _flag, path in outputs:
        check_writable(path)
    for i, (flag_a, a) in enumerate(outputs):
        for flag_b, b in outputs[i + 1 :]:
            if same_file(a, b):
                raise ConfigError(f"{flag_a} and {flag_b} name the same file ({b}); give each output its own")
    inputs = [("--seed-svg", args.seed_svg), ("--seed-image", args.seed_image), ("--resume", args.resume)]
    for flag_in, source in inputs:
        if not source:
            continue
        for flag_out, path in outputs:
            if flag_in == "--resume" and flag_out == "--project":
                continue
            if same_file(source, path):
                raise ConfigError(
                    f"{flag_out} {path} would overwrite the {flag_in} input; choose another output file"
                )


def _write_outputs(
    outputs: _Outputs,
    config: SessionConfig,
    drawing: Drawing,
    step: int,
    prompt_desc: str,
    guidance: Guidance,
    *,
    svg: str,
    png: str | None = None,
    project: str | None = None,
) -> None:
    """Write one drawing's files, recording in ``outputs`` what was written and what failed."""
    from clipdraw_core.io.project import save_project
    from clipdraw_core.io.raster_export import save_png
    from clipdraw_core.io.svg_export import save_svg

    entries, mode, _ = config.look_palette()

    def write_png(path: str) -> None:
        save_png(
            path,
            drawing,
            samples=max(2, config.render_samples),
            backend=config.renderer,
            transparent=config.transparent,
        )

    def write_svg(path: str) -> None:
        save_svg(
            path,
            drawing,
            title=config.prompt,
            description=prompt_desc,
            transparent=config.transparent,
            palette=entries if mode == "hard" else (),
        )

    def write_project(path: str) -> None:
        save_project(path, config, drawing, step, guidance)

    jobs = [(svg, write_svg), (png, write_png), (project, write_project)]
    for path, job in jobs:
        if not path:
            continue
        if path not in outputs.planned:
            outputs.planned.append(path)
        try:
            job(path)
        except ClipDrawError as exc:
            outputs.failed.append(" ".join(str(exc).split()))
        else:
            outputs.written.append(path)


def _optimise(args: argparse.Namespace, session: Session, plan: RunPlan, total: int, label: str) -> bool:
    """Run one session with its plan and a progress bar; returns True if Ctrl-C / SIGTERM stopped it."""
    from clipdraw_core.optim.plan import run_with_plan

    bar = None
    try:
        if not args.quiet and total > 0:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=label or None, unit="step", dynamic_ncols=True, file=sys.stderr)
        shown = -math.inf
        for snap in run_with_plan(session, plan):
            if bar is not None:
                # reading a snapshot's numbers waits for a GPU: a few times a second is enough
                now = time.monotonic()
                if now - shown >= _POSTFIX_INTERVAL or snap.done:
                    shown = now
                    bar.set_postfix(
                        loss=f"{snap.loss:.4f}" if snap.loss is not None else "nan",
                        score=f"{snap.score:.4f}" if snap.score is not None else "nan",
                    )
                bar.update(1)
    except KeyboardInterrupt:
        return True
    finally:
        if bar is not None:
            bar.close()
    if plan.stopped_early and not args.quiet:
        print(
            f"clipdraw-cli: auto-stop at step {session.step_count}: the score stopped improving",
            file=sys.stderr,
        )
    return False


def _say_precision(args: argparse.Namespace, session: Session) -> None:
    logger.info("CLIP image pass precision %s", session.precision.describe())
    if not args.quiet:
        print(f"clipdraw-cli: CLIP image pass in {session.precision.describe()}", file=sys.stderr)


def _optimise_variations(
    args: argparse.Namespace,
    clip: ClipModel,
    config: SessionConfig,
    options: PlanOptions,
    seeded: list[Stroke],
    guidance: Guidance,
    style_network: StyleNetworkLoader | None,
) -> tuple[list[tuple[RunPlan, SessionConfig, Snapshot]], bool]:
    """``--variations N``: the N seeds as one :class:`VariationBatch`, each with its own run plan.

    Every variation keeps its own stages, prunes and auto-stop (a variation that stops
    early is left out of the following steps); returns each one's ``(plan, settings,
    final snapshot)`` in seed order and whether Ctrl-C / SIGTERM stopped the run.
    """
    from clipdraw_core.drawing.strokes import Drawing
    from clipdraw_core.optim.plan import RunPlan
    from clipdraw_core.optim.variation_batch import VariationBatch
    from clipdraw_core.optim.variations import variation_seeds

    plans = [RunPlan(options, config.replace(seed=s)) for s in variation_seeds(config.seed, args.variations)]
    start = Drawing(config.width, config.height, config.background, tuple(seeded))
    batch = VariationBatch(
        clip,
        plans[0].session_config(config),
        args.variations,
        drawing=start,
        style_loader=style_network,
        guidance=guidance,
    )
    _say_precision(args, batch.member(0))
    for i, plan in enumerate(plans):
        plan.start(batch.member(i))
    bar = None
    interrupted = False
    try:
        if not args.quiet and config.num_steps > 0:
            from tqdm import tqdm

            desc = f"{args.variations} variations"
            bar = tqdm(total=config.num_steps, desc=desc, unit="step", dynamic_ncols=True, file=sys.stderr)
        while not batch.done:
            for i in batch.alive:
                plans[i].before_step(batch.member(i))
            snaps = batch.step()
            for i, snap in snaps.items():
                if plans[i].after_step(batch.member(i), snap):
                    batch.drop(i)
                    if not args.quiet:
                        print(
                            f"clipdraw-cli: variation seed {batch.seeds[i]}: auto-stop at step {snap.step}: "
                            "the score stopped improving",
                            file=sys.stderr,
                        )
            if bar is not None and snaps:
                best = max((s.score for s in snaps.values() if s.score is not None), default=None)
                bar.set_postfix(best_score=f"{best:.4f}" if best is not None else "nan")
                bar.update(batch.step_count - bar.n)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    runs = [
        (plan, config.replace(seed=seed), plan.finish(batch.member(i)))
        for i, (plan, seed) in enumerate(zip(plans, batch.seeds, strict=True))
    ]
    return runs, interrupted


#: Options that cannot apply to a resumed project: its strokes and canvas are given.
_NOT_WITH_RESUME = {
    "size": "--size",
    "paths": "--paths",
    "seed_svg": "--seed-svg",
    "seed_image": "--seed-image",
    "seed_frozen": "--seed-frozen",
    "seed_max_strokes": "--seed-max-strokes",
    "shapes": "--shapes",
    "preset": "--preset",
}


def _config_options() -> dict[str, str]:
    """Command-line option (argparse dest) -> the SessionConfig field it sets, from the settings."""
    options = {_dest(s.cli): s.name for s in SessionConfig.settings() if s.cli}
    options["prompt"] = "prompt"
    return options


def explicit_options(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> set[str]:
    """The argparse dests the user actually gave (so --resume and a --preset know what overrides them).

    ``parser``: the parser ``argv`` is for (default :func:`build_parser`'s; batch passes its own).
    """
    parser = build_parser() if parser is None else parser
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(list(argv))))


def _resumed_config(
    args: argparse.Namespace, given: set[str]
) -> tuple[SessionConfig, Drawing, int, Guidance]:
    """The project's settings, drawing, step and guidance, with the options given on the command line."""
    from clipdraw_core.io.project import load_project

    clash = [flag for dest, flag in _NOT_WITH_RESUME.items() if dest in given]
    if clash:
        raise ConfigError(
            f"--resume continues the project's own strokes and canvas; {', '.join(clash)} cannot change them"
        )
    project = load_project(args.resume)
    changes: dict[str, Any] = {
        field: getattr(args, dest)
        for dest, field in _config_options().items()
        if dest in given and dest not in _NOT_WITH_RESUME
    }
    prompts = _prompt_values(args)
    if "negative" in given or "default_negatives" in given:
        changes["negative_prompts"] = prompts["negative_prompts"]
        changes["negative_weights"] = prompts.get("negative_weights", ())
    if "add_prompt" in given:
        changes["extra_prompts"], changes["extra_weights"] = (
            prompts["extra_prompts"],
            prompts["extra_weights"],
        )
    colours = changes.get("palette_colors", project.config.palette_colors)
    seed_colors = [s.fill[:3] if s.fill is not None else s.color[:3] for s in project.drawing.strokes]
    changes.update(_look_values(args, changes.get("palette"), colours, given, seed_colors))
    config = project.config.replace(**changes).validate() if changes else project.config
    guidance = cli_guidance.merge_guidance(project.guidance, args, given, (config.width, config.height))
    return config, project.drawing, project.step, guidance


def run(args: argparse.Namespace, given: set[str] | None = None, signals: StopSignals | None = None) -> int:
    import torch  # noqa: F401 - imported here so --help stays fast

    from clipdraw_core.cli_time import check_time_args, plan_options, variation_path, write_videos
    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.optim.plan import RunPlan
    from clipdraw_core.optim.session import Session
    from clipdraw_core.optim.variations import Variation, evaluate, rank, variation_seeds

    signals = signals or StopSignals()
    given = given if given is not None else set()
    check_time_args(args)
    _check_outputs(args)
    drawing: Drawing | None = None
    start_step = 0
    seeded: list[Stroke] = []
    if args.resume:
        config, drawing, start_step, guidance = _resumed_config(args, given)
    else:
        seeded = _load_seed(args)
        if (args.seed_svg or args.seed_image) and not seeded:
            raise ConfigError("the seed sketch contains no strokes")
        colours = [s.fill[:3] if s.fill is not None else s.color[:3] for s in seeded]
        config = _config_from_args(args, len(seeded), colours, given)
        guidance = cli_guidance.guidance_from_args(args)
    if args.server:
        if args.resume:
            raise ConfigError("--resume runs locally for now; --server starts a new drawing")
        if args.style_weights:
            raise ConfigError("--style-weights is the server's choice (clipdraw-server --style-weights)")
        if args.variations != 1:
            # ranking variations needs CLIP here; one server run per seed is the batch command
            raise ConfigError("--variations runs locally for now (not --server); try clipdraw-cli batch")
        return _run_remote(args, config, seeded, given, signals, guidance)
    options = plan_options(args, config, resumed=bool(args.resume))
    if config.renderer == "diffvg":  # say so before the (slow) model load
        from clipdraw_core.render import diffvg_backend

        diffvg_backend.require()
    clip = load_clip(config.model_name, config.weights, config.device)
    style_network = None
    if guidance.style is not None and guidance.style.strength > 0:
        # Loaded before the run so that a missing VGG-16 download fails now, in one line.
        from clipdraw_core.optim.style import load_style_network

        network = load_style_network(cli_guidance.style_weights_choice(args), clip.device)
        style_network = cli_guidance.constant(network)
    todo = max(0, config.num_steps - start_step)
    seeds = variation_seeds(config.seed, args.variations)
    runs: list[tuple[RunPlan, SessionConfig, Snapshot]] = []
    interrupted = False
    if len(seeds) > 1:
        runs, interrupted = _optimise_variations(args, clip, config, options, seeded, guidance, style_network)
    else:
        plan = RunPlan(options, config, start_step=start_step)
        start_config = plan.session_config(config) if drawing is None else config
        session = Session(
            start_config,
            clip,
            initial_strokes=seeded,
            drawing=drawing,
            start_step=start_step,
            guidance=guidance,
            style_network=style_network,
        )
        _say_precision(args, session)
        interrupted = _optimise(args, session, plan, todo, "")
        # the run's own settings (a staged session starts with fewer strokes than its budget)
        runs.append((plan, config, plan.finish(session)))

    def describe(cfg: SessionConfig, snap: Snapshot, extra: str = "") -> str:
        return (
            f"CLIPDraw Studio {__version__}: prompt {cfg.prompt!r}; "
            f"negatives {list(cfg.negative_prompts)}; extra prompts {list(cfg.extra_prompts)}; "
            f"image prompts {[i.name for i in guidance.images]}; "
            f"style {guidance.style.name if guidance.style else None!r}; "
            f"regions {[r.label for r in guidance.regions]}; "
            f"{len(snap.drawing.strokes)} strokes; {snap.step} steps; seed {cfg.seed}; "
            f"model {cfg.model_name} ({cfg.weights}); renderer {cfg.renderer}{extra}"
        )

    # what to write: one drawing, or every variation best first plus the best as OUT
    writes: list[tuple[tuple[RunPlan, SessionConfig, Snapshot], str, str, str | None, str | None]] = []
    if len(seeds) == 1:
        best = runs[0]
        writes.append((best, describe(best[1], best[2]), args.output, args.png, args.project))
    else:
        scored = [
            (Variation(c.seed, s.drawing, evaluate(clip, s.drawing, c), s.step), (p, c, s))
            for p, c, s in runs
        ]
        order = rank([v for v, _ in scored])
        by_seed = {v.seed: item for v, item in scored}
        best = by_seed[order[0].seed]
        for i, variation in enumerate(order, start=1):
            item = by_seed[variation.seed]
            text = describe(item[1], item[2], f"; variation {i} of {len(order)}, score {variation.score:.6f}")
            png = variation_path(args.png, i) if args.png else None
            writes.append((item, text, variation_path(args.output, i), png, None))
            if i == 1:
                writes.append((item, text, args.output, args.png, args.project))
    outputs = _Outputs()
    for _item, _text, *paths in writes:  # all of them, so an abandoned write can say what is missing
        outputs.planned += [p for p in paths if p and p not in outputs.planned]
    try:
        with signals.deferred():
            for (_plan, cfg, snap), text, svg, png, project in writes:
                _write_outputs(
                    outputs,
                    cfg,
                    snap.drawing,
                    snap.step,
                    text,
                    snap.guidance,
                    svg=svg,
                    png=png,
                    project=project,
                )
    except KeyboardInterrupt:
        print(f"clipdraw-cli: interrupted while writing the files; {outputs.summary()}", file=sys.stderr)
        return signals.exit_status()
    if outputs.failed:
        raise OutputError(f"{'; '.join(outputs.failed)} ({outputs.summary()})")
    plan, cfg, snap = best
    step = snap.step
    try:
        write_videos(args, cfg, plan, snap.drawing)
    except KeyboardInterrupt:
        print(f"clipdraw-cli: interrupted while writing the videos; {outputs.summary()}", file=sys.stderr)
        return signals.exit_status()
    if interrupted:
        print(
            f"clipdraw-cli: interrupted at step {step} ({signals.name()}); "
            f"{outputs.summary()} (the drawing so far)",
            file=sys.stderr,
        )
        return signals.exit_status()
    if args.resume and todo == 0:
        logger.warning("the project was already at step %d of %d; no steps run", start_step, config.num_steps)
    logger.info("wrote %s after %d steps", ", ".join(outputs.written), step)
    return 0


def _server_token(args: argparse.Namespace) -> str | None:
    if args.token_file:
        try:
            return Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {args.token_file}: {exc.strerror}") from exc
    token: str | None = args.token
    return token


def _run_remote(
    args: argparse.Namespace,
    config: SessionConfig,
    seeded: list[Stroke],
    given: set[str],
    signals: StopSignals,
    guidance: Guidance,
) -> int:
    """The same job on a ``clipdraw-server``; the outputs are written here, as locally.

    ``--model``/``--weights`` are sent only when given: otherwise the server's own
    model is used. Image prompts and the style image are read here and sent as PNG
    data (the server never opens a path), regions as polygons. The server runs the
    settings' stages, prunes and auto-stop around the session as the local loop does
    and, for ``--timelapse``, records the frames, which come down at the end; the
    videos are encoded here. A drop mid-run reconnects to the same session; if the
    server is gone for good, the drawing so far is written and the exit status is 1.
    """
    import asyncio

    from clipdraw_core.cli_time import plan_options, write_videos
    from clipdraw_core.errors import RemoteError
    from clipdraw_core.optim.plan import RunPlan
    from clipdraw_core.optim.timelapse import TimelapseRecorder
    from clipdraw_core.remote.client import RemoteResult, run_remote_job

    plan = RunPlan(plan_options(args, config), config)  # checked here, run on the server
    token = _server_token(args)
    bar = None
    if not args.quiet and config.num_steps > 0:
        from tqdm import tqdm

        bar = tqdm(total=config.num_steps, unit="step", dynamic_ncols=True, file=sys.stderr)

    def progress(snap: Snapshot) -> None:
        if bar is not None:
            bar.set_postfix(
                loss=f"{snap.loss:.4f}" if snap.loss is not None else "nan",
                score=f"{snap.score:.4f}" if snap.score is not None else "nan",
            )
            bar.update(snap.step - bar.n)

    result = RemoteResult()
    interrupted = False
    failure: RemoteError | None = None
    try:
        asyncio.run(
            run_remote_job(
                args.server, token, config, seeded, result,
                model=config.model_name if "model" in given else None,
                weights=config.weights if "weights" in given else None,
                on_snapshot=progress,
                guidance=guidance,
                plan=True,
                record=bool(args.timelapse),
            )
        )
    except KeyboardInterrupt:
        interrupted = True
    except RemoteError as exc:
        if result.last is None or result.last.step == 0:
            raise
        failure = exc
    finally:
        if bar is not None:
            bar.close()
    if result.last is None:
        print("clipdraw-cli: interrupted before the run started; nothing written", file=sys.stderr)
        return signals.exit_status()
    snap = result.last
    description = (
        f"CLIPDraw Studio {__version__}: prompt {config.prompt!r}; "
        f"negatives {list(config.negative_prompts)}; extra prompts {list(config.extra_prompts)}; "
        f"image prompts {[i.name for i in snap.guidance.images]}; "
        f"style {snap.guidance.style.name if snap.guidance.style else None!r}; "
        f"regions {[r.label for r in snap.guidance.regions]}; "
        f"{len(snap.drawing.strokes)} strokes; {config.num_steps} steps; seed {config.seed}; "
        f"model {snap.config.model_name} ({snap.config.weights}) on {args.server} ({snap.device})"
    )
    outputs = _Outputs()
    outputs.planned = [p for p in (args.output, args.png, args.project) if p]
    try:
        with signals.deferred():
            _write_outputs(
                outputs, snap.config, snap.drawing, snap.step, description, snap.guidance,
                svg=args.output, png=args.png, project=args.project,
            )
    except KeyboardInterrupt:
        print(f"clipdraw-cli: interrupted while writing the files; {outputs.summary()}", file=sys.stderr)
        return signals.exit_status()
    if outputs.failed:
        raise OutputError(f"{'; '.join(outputs.failed)} ({outputs.summary()})")
    if result.timelapse is not None:
        plan.recorder = TimelapseRecorder.from_dict(result.timelapse)
    if not interrupted and failure is None:
        try:
            write_videos(args, snap.config, plan, snap.drawing)
        except KeyboardInterrupt:
            print(f"clipdraw-cli: interrupted while writing the videos; {outputs.summary()}", file=sys.stderr)
            return signals.exit_status()
        if result.stopped_early and config.auto_stop and not args.quiet:
            print(f"clipdraw-cli: auto-stop at step {snap.step}: the score stopped improving",
                  file=sys.stderr)
    if interrupted or failure is not None:
        why = f"interrupted ({signals.name()})" if interrupted else " ".join(str(failure).split())
        print(f"clipdraw-cli: {why} at step {snap.step}; {outputs.summary()} (the drawing so far)",
              file=sys.stderr)
        return signals.exit_status() if interrupted else EXIT_ERROR
    logger.info("wrote %s after %d steps on %s", ", ".join(outputs.written), snap.step, args.server)
    return 0


def build_batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipdraw-cli batch",
        description="Draw every prompt of a file (one per line) with several seeds; write SVGs and a CSV.",
    )
    parser.add_argument("prompts_file", metavar="PROMPTS.txt", help="one prompt per line (# comments)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results")
    parser.add_argument("--seeds", type=int, default=1, help="drawings per prompt (seed, seed+1, ...)")
    parser.add_argument(
        "--ray", metavar="auto|ADDRESS",
        help="one drawing per Ray task on a cluster (needs the [cluster] extra); 'local' starts Ray here",
    )
    add_config_options(parser)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
    parser.add_argument("--verbose", "-v", action="store_true", help="log details")
    cli_guidance.add_arguments(parser)
    return parser


def batch_main(argv: Sequence[str]) -> int:
    """``clipdraw-cli batch PROMPTS.txt -o DIR --seeds N [--ray auto|ADDRESS]``."""
    from clipdraw_core.batch import make_jobs, read_prompts, run_batch

    args = build_batch_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    level = logging.INFO if args.verbose or not args.quiet else logging.WARNING
    logging.getLogger("clipdraw_core.batch").setLevel(level)
    try:
        prompts = read_prompts(args.prompts_file)
        args.prompt = prompts[0]
        base = _config_from_args(args, 0, given=explicit_options(argv, build_batch_parser()))
        if not cli_guidance.guidance_from_args(args).empty:
            raise ConfigError("batches take text prompts only for now (no image prompts, style or regions)")
        jobs = make_jobs(prompts, base, args.seeds)
        csv_path = run_batch(jobs, args.output, ray_address=args.ray)
    except ClipDrawError as exc:
        print(f"clipdraw-cli: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("clipdraw-cli: batch interrupted; the files written so far are kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"wrote {len(jobs)} drawings and {csv_path}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``clipdraw-cli``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "batch":
        return batch_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.prompt is None and not args.resume:
        parser.error("the following arguments are required: prompt (or --resume PROJECT.json)")
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("clipdraw_core").setLevel(logging.INFO if args.verbose else logging.WARNING)
    with StopSignals() as signals:
        try:
            return run(args, explicit_options(argv), signals)
        except ClipDrawError as exc:
            message = " ".join(str(exc).split())
            print(f"clipdraw-cli: error: {message}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print(
                f"clipdraw-cli: interrupted ({signals.name()}) before the run started; nothing written",
                file=sys.stderr,
            )
            return signals.exit_status()
        except MemoryError:
            print(
                "clipdraw-cli: error: out of memory; try fewer strokes, a smaller --size or --augs",
                file=sys.stderr,
            )
            return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
