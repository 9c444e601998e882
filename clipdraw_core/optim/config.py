"""Session settings, with defaults that reproduce the original CLIPDraw exactly.

The defaults below are the numbers of the CLIPDraw notebook / Cog predictor (see
``shared/CLIPDRAW_REFERENCE.md``); everything that is not in the original is an option
that is off by default. ``SessionConfig.validate`` turns bad values into one-line
:class:`~clipdraw_core.errors.ConfigError` messages for the CLI and the GUI.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from clipdraw_core.drawing.strokes import check_canvas_size, check_stroke_count
from clipdraw_core.errors import ConfigError

#: The original CLIPDraw's optional negative prompts.
DEFAULT_NEGATIVE_PROMPTS: tuple[str, ...] = ("A badly drawn sketch.", "Many ugly, messy drawings.")

MAX_STEPS = 1_000_000
MAX_PROMPT_CHARS = 1000


@dataclass(frozen=True)
class SessionConfig:
    """Everything that defines a run except the CLIP model instance and the strokes."""

    prompt: str = "Watercolor painting of an underwater submarine."
    negative_prompts: tuple[str, ...] = ()
    negative_weight: float = 0.3
    #: Additional positive prompts, each with a weight (the main prompt has weight 1).
    extra_prompts: tuple[str, ...] = ()
    extra_weights: tuple[float, ...] = ()
    num_paths: int = 256
    min_segments: int = 1
    max_segments: int = 3
    width: int = 224
    height: int = 224
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    num_steps: int = 1000
    num_augs: int = 4
    seed: int = 0
    init_half_width: float = 1.0
    lr_points: float = 1.0
    lr_width: float = 0.1
    lr_color: float = 0.01
    #: "step" = the original (points LR x0.4 at 50 %, x0.1 at 75 %); "cosine"; "constant".
    lr_schedule: str = "step"
    min_half_width: float = 1.0
    max_half_width: float = 50.0
    perspective_distortion: float = 0.5
    crop_scale: tuple[float, float] = (0.7, 0.9)
    #: Options of the seed document, all off by default.
    temperature: float = 1.0
    grad_clip: float | None = None
    l2_points: float = 0.0
    l2_colors: float = 0.0
    smoothness: float = 0.0
    diversity: float = 0.0
    #: Renderer supersampling factor per axis (1 = analytic box-filter coverage).
    render_samples: int = 1
    renderer: str = "auto"
    model_name: str = "ViT-B-32"
    weights: str = "openai"
    device: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> SessionConfig:
        """Raise :class:`ConfigError` with an actionable message if a value is unusable."""
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ConfigError("the prompt is empty: describe what to draw, e.g. 'a red bicycle'")
        for p in (self.prompt, *self.negative_prompts, *self.extra_prompts):
            if len(p) > MAX_PROMPT_CHARS:
                raise ConfigError(f"prompts are limited to {MAX_PROMPT_CHARS} characters")
        if any(not p.strip() for p in (*self.negative_prompts, *self.extra_prompts)):
            raise ConfigError("negative and extra prompts must not be empty")
        if len(self.extra_weights) not in (0, len(self.extra_prompts)):
            raise ConfigError("give one weight per extra prompt")
        check_stroke_count(self.num_paths, allow_zero=True)
        check_canvas_size(self.width, self.height)
        if not 1 <= self.min_segments <= self.max_segments <= 64:
            raise ConfigError("segments per stroke must satisfy 1 <= min <= max <= 64")
        if not isinstance(self.num_steps, int) or not 0 <= self.num_steps <= MAX_STEPS:
            raise ConfigError(f"steps must be an integer between 0 and {MAX_STEPS}, got {self.num_steps!r}")
        if not 1 <= self.num_augs <= 64:
            raise ConfigError("augmentations per step must be between 1 and 64")
        if not 1 <= self.render_samples <= 8:
            raise ConfigError("render samples must be between 1 and 8")
        if self.lr_schedule not in ("step", "cosine", "constant"):
            raise ConfigError(f"unknown LR schedule {self.lr_schedule!r} (step, cosine, constant)")
        numbers = {
            "negative_weight": self.negative_weight,
            "init_half_width": self.init_half_width,
            "lr_points": self.lr_points,
            "lr_width": self.lr_width,
            "lr_color": self.lr_color,
            "min_half_width": self.min_half_width,
            "max_half_width": self.max_half_width,
            "temperature": self.temperature,
            "l2_points": self.l2_points,
            "l2_colors": self.l2_colors,
            "smoothness": self.smoothness,
            "diversity": self.diversity,
            "perspective_distortion": self.perspective_distortion,
        }
        for name, v in numbers.items():
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.temperature <= 0:
            raise ConfigError("temperature must be > 0")
        if self.min_half_width > self.max_half_width:
            raise ConfigError("minimum stroke width exceeds the maximum")
        if self.grad_clip is not None and not (math.isfinite(self.grad_clip) and self.grad_clip > 0):
            raise ConfigError("gradient clipping must be a positive number (or off)")
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise ConfigError("crop scale must satisfy 0 < min <= max <= 1")
        if self.perspective_distortion > 1:
            raise ConfigError("perspective distortion must be between 0 and 1")
        if len(self.background) != 3 or not all(0 <= c <= 1 for c in self.background):
            raise ConfigError("background must be three numbers in [0, 1]")
        return self

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
