"""Session settings, with defaults that reproduce the original CLIPDraw exactly.

The defaults below are the numbers of the CLIPDraw notebook / Cog predictor (see
``docs/reference.md``); everything that is not in the original is an option that is
off by default. Each field is declared once with :func:`~clipdraw_core.optim.setting.setting`:
its default, range or choices, label, help and ``clipdraw-cli`` option live together,
and the CLI parser, the app's stored settings and the control panel are built from
that (see ``docs/architecture.md``, "How to add a setting").
``SessionConfig.validate`` turns bad values into one-line
:class:`~clipdraw_core.errors.ConfigError` messages for the CLI and the GUI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from clipdraw_core.drawing.commands import MID_RUN_LOOK
from clipdraw_core.drawing.palette import MAX_COLORS, MIN_COLORS, check_palette, parse_hex
from clipdraw_core.drawing.strokes import MAX_CANVAS, MAX_STROKES, MIN_CANVAS
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.setting import Setting, check_all, check_value, setting, settings_of
from clipdraw_core.validation import MAX_HALF_WIDTH, check_text

#: The original CLIPDraw's optional negative prompts.
DEFAULT_NEGATIVE_PROMPTS: tuple[str, ...] = ("A badly drawn sketch.", "Many ugly, messy drawings.")

MAX_STEPS = 1_000_000
MAX_PROMPT_CHARS = 1000
#: Seeds are unsigned 32-bit numbers (numpy's range): every front end can show one
#: exactly, and torch and Python's ``random`` accept them all.
MAX_SEED = 2**32 - 1
#: The devices the CLI offers; the engine also accepts "cuda:N".
DEVICES = ("auto", "cpu", "cuda", "mps")
LR_SCHEDULES = ("step", "cosine", "constant")
#: Precisions of CLIP's image pass (see clipdraw_core.clip.precision).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PALETTE_MODES = ("hard", "soft")


@dataclass(frozen=True)
class SessionConfig:
    """Everything that defines a run except the CLIP model instance and the strokes."""

    prompt: str = setting(
        "Watercolor painting of an underwater submarine.", label="Prompt", help="what to draw"
    )
    negative_prompts: tuple[str, ...] = setting(
        (),
        label="Negative prompts",
        help="negative prompt(s): what the drawing should not look like; TEXT:W pushes away with strength W",
        cli="--negative",
        metavar="TEXT[:W]",
    )
    negative_weight: float = setting(
        0.3,
        label="Negative weight",
        minimum=0.0,
        maximum=10.0,
        cli="--negative-weight",
        help="how strongly to push away from the negative prompts",
    )
    #: Additional positive prompts, each with a weight (the main prompt has weight 1).
    extra_prompts: tuple[str, ...] = setting((), label="Extra prompts", help="more prompts to draw towards")
    extra_weights: tuple[float, ...] = setting(
        (), label="Extra prompt weights", help="one weight per extra prompt (the main has 1)"
    )
    #: Weight of the main prompt (0: the canvas prompt does not pull; regions may).
    prompt_weight: float = setting(
        1.0, label="Prompt weight", help="weight of the main prompt (negative pushes away)"
    )
    #: Push-away strength of each negative prompt (empty: ``negative_weight`` each).
    negative_weights: tuple[float, ...] = setting(
        (), label="Negative prompt weights", help="one push-away strength per negative prompt"
    )
    num_paths: int = setting(
        256,
        label="Strokes",
        minimum=0,
        maximum=MAX_STROKES,
        cli="--paths",
        help="random strokes to start from",
    )
    min_segments: int = setting(
        1, label="Minimum segments", minimum=1, maximum=64, help="fewest cubic segments of a random stroke"
    )
    max_segments: int = setting(
        3, label="Maximum segments", minimum=1, maximum=64, help="most cubic segments of a random stroke"
    )
    width: int = setting(
        224,
        label="Canvas",
        minimum=MIN_CANVAS,
        maximum=MAX_CANVAS,
        cli="--size",
        help="canvas width and height in px",
    )
    height: int = setting(224, label="Canvas height", minimum=MIN_CANVAS, maximum=MAX_CANVAS, help="in px")
    background: tuple[float, float, float] = setting(
        (1.0, 1.0, 1.0), label="Background", minimum=0.0, maximum=1.0, length=3, help="RGB in [0, 1]"
    )
    num_steps: int = setting(
        1000,
        label="Steps",
        minimum=0,
        maximum=MAX_STEPS,
        cli="--steps",
        help="optimisation steps (0 = the initial drawing)",
    )
    num_augs: int = setting(
        4, label="Augmentations", minimum=1, maximum=64, cli="--augs", help="augmented views per step"
    )
    seed: int = setting(
        0,
        label="Seed",
        minimum=0,
        maximum=MAX_SEED,
        cli="--seed",
        help="random seed: the same seed and settings give the same starting strokes",
    )
    init_half_width: float = setting(1.0, label="Initial half-width", minimum=0.0, help="of random strokes")
    lr_points: float = setting(1.0, label="Points learning rate", minimum=0.0, help="Adam, canvas px")
    lr_width: float = setting(0.1, label="Width learning rate", minimum=0.0, help="Adam")
    lr_color: float = setting(0.01, label="Colour learning rate", minimum=0.0, help="Adam")
    #: "step" = the original (points LR x0.4 at 50 %, x0.1 at 75 %); "cosine"; "constant".
    lr_schedule: str = setting(
        "step",
        label="LR schedule",
        choices=LR_SCHEDULES,
        cli="--lr-schedule",
        help="learning-rate schedule: step (the original), cosine or constant",
    )
    min_half_width: float = setting(
        1.0, label="Minimum half-width", minimum=0.0, maximum=MAX_HALF_WIDTH, help="clamped every step"
    )
    max_half_width: float = setting(
        50.0, label="Maximum half-width", minimum=0.0, maximum=MAX_HALF_WIDTH, help="clamped every step"
    )
    perspective_distortion: float = setting(
        0.5, label="Perspective distortion", minimum=0.0, maximum=1.0, help="of the augmentations"
    )
    crop_scale: tuple[float, float] = setting(
        (0.7, 0.9),
        label="Crop scale",
        minimum=0.0,
        maximum=1.0,
        length=2,
        help="area range of the augmentations' random crops",
    )
    #: Options of the seed document, all off by default.
    temperature: float = setting(
        1.0, label="Temperature", minimum=0.0, cli="--temperature", help="divides the CLIP similarities (> 0)"
    )
    grad_clip: float | None = setting(
        None,
        label="Gradient clipping",
        minimum=0.0,
        cli="--grad-clip",
        metavar="NORM",
        help="clip the gradient norm to this (off by default)",
    )
    l2_points: float = setting(0.0, label="L2 on points", minimum=0.0, help="pull towards the start")
    l2_colors: float = setting(0.0, label="L2 on colours", minimum=0.0, help="pull towards the start")
    smoothness: float = setting(0.0, label="Smoothness", minimum=0.0, help="penalty on sharp turns")
    diversity: float = setting(0.0, label="Diversity", minimum=0.0, help="penalty on similar strokes")
    #: Renderer supersampling factor per axis (1 = analytic box-filter coverage).
    render_samples: int = setting(
        1,
        label="Render samples",
        minimum=1,
        maximum=8,
        cli="--samples",
        help="renderer supersampling per axis",
    )
    #: The names are the render room's (:data:`clipdraw_core.render.RENDERERS`); validate() asks it.
    renderer: str = setting(
        "auto", label="Renderer", cli="--renderer", metavar="auto|torch|diffvg",
        help="rasteriser: auto = torch (built in); diffvg needs pydiffvg installed",
    )
    # --- the look (issue 11); all off by default, so the defaults stay the original's
    num_shapes: int = setting(
        0, label="Shapes", minimum=0, maximum=MAX_STROKES, cli="--shapes", metavar="N",
        help="closed filled shapes added below the random strokes (--paths 0 --shapes N: shapes only)",
    )
    palette: tuple[str, ...] = setting(
        (), label="Palette", cli="--palette", metavar="SPEC",
        help="colours #rrggbb the drawing is held to (empty: free colours)",
    )
    palette_colors: int = setting(
        8, label="Palette colours", minimum=MIN_COLORS, maximum=MAX_COLORS, cli="--palette-colors",
        metavar="N", help="colours picked when a palette comes from an image or the seed sketch",
    )
    palette_mode: str = setting(
        "hard", label="Palette mode", choices=PALETTE_MODES, cli="--palette-mode",
        help="hard: every colour is an entry; soft: a pull towards the entries",
    )
    palette_strength: float = setting(
        1.0, label="Palette strength", minimum=0.0, maximum=100.0, help="weight of the soft palette's pull"
    )
    palette_opaque: bool = setting(False, label="Opaque palette", help="hard palette colours get alpha 1")
    ink: str | None = setting(
        None, label="Ink", cli="--ink", metavar="#rrggbb",
        help="ink mode: every stroke one opaque colour (--ink alone: black)",
    )
    transparent: bool = setting(
        False, label="Transparent paper",
        help="exports leave the paper out (PNG alpha, SVG without background)",
    )
    model_name: str = setting(
        "ViT-B-32", label="CLIP model", cli="--model", help="open_clip model name or config JSON"
    )
    weights: str = setting(
        "openai",
        label="Weights",
        cli="--weights",
        metavar="TAG|PATH|random",
        help="pretrained tag (openai), a local checkpoint file, or 'random' to test offline",
    )
    device: str = setting(
        "auto",
        label="Device",
        choices=DEVICES,
        open_choices=True,
        cli="--device",
        help="compute device: auto picks CUDA or Apple MPS when available",
    )
    precision: str = setting(
        "auto", label="Precision", choices=PRECISIONS, cli="--precision",
        help="precision of CLIP's image pass: auto uses bf16/fp16 only where a calibration at load "
        "shows it faster with matching gradients (the renderer and optimiser always run fp32)",
    )
    #: Time options (issue 13), all off by default; :class:`~clipdraw_core.optim.plan.RunPlan` applies them.
    timelapse_every: int = setting(
        5, label="Time-lapse interval", minimum=1, maximum=MAX_STEPS, cli="--timelapse-every", metavar="K",
        help="record a time-lapse frame every K steps (5 keeps ~200 frames of a 1000-step run)",
    )
    stages: int = setting(
        1, label="Stages", minimum=1, maximum=64, cli="--stages", metavar="K",
        help="add the strokes in K stages over the run (1 = all at once, as the original)",
    )
    stage_freeze: bool = setting(
        False, label="Freeze stages", cli="--stage-freeze",
        help="freeze the strokes drawn so far when a new stage begins",
    )
    prune_alpha: float = setting(
        0.0, label="Prune below opacity", minimum=0.0, maximum=1.0, cli="--prune", metavar="ALPHA",
        help="at the end, remove strokes fainter than opacity ALPHA and strokes hidden by others (0 = off)",
    )
    prune_every: int = setting(
        0, label="Prune every", minimum=0, maximum=MAX_STEPS, cli="--prune-every", metavar="STEPS",
        help="with --prune: also prune every STEPS steps during the run, refilling with new strokes",
    )
    auto_stop: bool = setting(
        False, label="Auto-stop", cli="--auto-stop",
        help="stop when the score has not improved for --patience steps",
    )
    patience: int = setting(
        100, label="Patience", minimum=1, maximum=MAX_STEPS, cli="--patience", metavar="STEPS",
        help="with --auto-stop: steps without improvement before the run stops",
    )
    extra: dict[str, Any] = setting(
        label="Extra", factory=dict, help="front ends' own data, kept in projects"
    )

    def validate(self) -> SessionConfig:
        """Raise :class:`ConfigError` with an actionable message if a value is unusable.

        Types, ranges and choices come from each field's :class:`Setting`; what one
        field cannot say alone (min <= max, non-empty prompts) is checked here.
        """
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ConfigError("the prompt is empty: describe what to draw, e.g. 'a red bicycle'")
        check_all(self)
        from clipdraw_core.render import RENDERERS, unknown_renderer_message  # torch: only when validating

        if self.renderer not in RENDERERS:
            raise ConfigError(unknown_renderer_message(self.renderer))
        for p in (self.prompt, *self.negative_prompts, *self.extra_prompts):
            check_text(p, "the prompt" if p is self.prompt else "a negative or extra prompt")
            if len(p) > MAX_PROMPT_CHARS:
                raise ConfigError(f"prompts are limited to {MAX_PROMPT_CHARS} characters")
        if any(not p.strip() for p in (*self.negative_prompts, *self.extra_prompts)):
            raise ConfigError("negative and extra prompts must not be empty")
        if len(self.extra_weights) not in (0, len(self.extra_prompts)):
            raise ConfigError("give one weight per extra prompt")
        if len(self.negative_weights) not in (0, len(self.negative_prompts)):
            raise ConfigError("give one weight per negative prompt")
        if self.min_segments > self.max_segments:
            raise ConfigError("segments per stroke must satisfy 1 <= min <= max <= 64")
        if self.temperature <= 0:
            raise ConfigError("temperature must be > 0")
        _check_width_range(self.min_half_width, self.max_half_width)
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError("gradient clipping must be a positive number (or off)")
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise ConfigError("crop scale must satisfy 0 < min <= max <= 1")
        k = self.stages
        if k > 1 and k > self.num_paths:
            raise ConfigError(f"{k} stages need at least {k} random strokes (--paths), got {self.num_paths}")
        if k > 1 and self.num_steps < k:
            raise ConfigError(f"{k} stages need at least {k} steps, got {self.num_steps}")
        if self.num_paths + self.num_shapes > MAX_STROKES:
            raise ConfigError(f"strokes plus shapes must be at most {MAX_STROKES}")
        _check_colours(self.palette, self.ink)
        return self

    @classmethod
    def check_look(cls, changes: Mapping[str, Any]) -> None:
        """Check mid-run look values on their own (a ``SetLook`` from a client) as :meth:`validate` does.

        Each value gets its field's type, range and choices (:func:`check_value`), a
        palette and an ink the hex checks of :meth:`validate`, and a width range given
        whole must be ordered. What depends on the run's other settings (a new minimum
        above its maximum) is left to the session, which ignores such a change with a note.
        """
        by_name = {s.name: s for s in cls.settings()}
        for name, value in changes.items():
            if name not in MID_RUN_LOOK:
                raise ConfigError(f"{name!r} is not a look setting that may change during a run")
            check_value(by_name[name], value)
        _check_colours(changes.get("palette", ()), changes.get("ink"))
        if "min_half_width" in changes and "max_half_width" in changes:
            _check_width_range(changes["min_half_width"], changes["max_half_width"])

    def look_palette(self) -> tuple[tuple[str, ...], str, bool]:
        """``(entries, mode, opaque)`` in effect: ink mode is a one-colour opaque hard palette."""
        if self.ink is not None:
            return (parse_hex(self.ink),), "hard", True
        return tuple(self.palette), self.palette_mode, bool(self.palette_opaque)

    @classmethod
    def settings(cls) -> tuple[Setting, ...]:
        """Every field's :class:`Setting` (default, range, label, help, CLI option)."""
        return settings_of(cls)

    def replace(self, **changes: Any) -> SessionConfig:
        data = asdict(self)
        data.update(changes)
        return SessionConfig.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionConfig:
        """Build from a (possibly older or newer) dict; unknown keys are ignored."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if isinstance(value, list):
                value = tuple(value)
            kwargs[key] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"invalid settings: {exc}") from exc


def _check_width_range(low: float, high: float) -> None:
    if low > high:
        raise ConfigError("minimum stroke width exceeds the maximum")


def _check_colours(palette: Any, ink: Any) -> None:
    """The palette (empty: free colours) and the ink colour (``None``: off) as hex colours."""
    if palette:
        check_palette(palette)
    if ink is not None:
        parse_hex(ink)
