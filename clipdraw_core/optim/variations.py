"""Variations: the same settings run with N different seeds, ranked by CLIP score.

The seed of variation ``i`` is ``seed + i`` (wrapping at 2**32), so variation 1 is the
run a plain ``--seed`` gives and any variation can be re-run alone. The runs are
ranked by :func:`evaluate`, not by the last step's score: that one is measured on
random augmentations and is noisy, so two variations would swap places from one
step to the next. :func:`evaluate` renders each drawing, takes a fixed set of
augmented views (the same generator seed for every variation, so all are judged on
the same crops and warps) plus the plain image, and averages their cosine
similarity to the main prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812

from clipdraw_core.clip.clip_model import ClipModel
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.augment import augment
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.render import pack_drawing, render

logger = logging.getLogger(__name__)

MAX_VARIATIONS = 9
#: Augmented views per evaluation (plus the plain image).
EVAL_VIEWS = 8
_SEED_SPACE = 2**32


def variation_seeds(seed: int, count: int) -> list[int]:
    """Seeds of ``count`` variations: ``seed, seed + 1, ...`` modulo 2**32."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_VARIATIONS:
        raise ConfigError(f"variations must be a whole number between 1 and {MAX_VARIATIONS}, got {count!r}")
    return [(int(seed) + i) % _SEED_SPACE for i in range(count)]


def evaluate(clip: ClipModel, drawing: Drawing, config: SessionConfig, *, views: int = EVAL_VIEWS) -> float:
    """Mean cosine similarity of the drawing to ``config.prompt`` over fixed views (no grad)."""
    return evaluate_many(clip, [drawing], config, views=views)[0]


def evaluate_many(
    clip: ClipModel, drawings: Sequence[Drawing], config: SessionConfig, *, views: int = EVAL_VIEWS
) -> list[float]:
    """:func:`evaluate` of several drawings with one CLIP call over all their views.

    Every drawing gets the views :func:`evaluate` gives it alone (its own generator
    seeded 0), so the numbers agree with :func:`evaluate` up to the last bits of a
    bigger matrix product.
    """
    if not drawings:
        return []
    batches = []
    with torch.no_grad():
        for drawing in drawings:
            points, widths, colors, fills, layout = pack_drawing(drawing, device=clip.device, with_fills=True)
            gen = torch.Generator().manual_seed(0)
            image = render(
                points,
                widths,
                colors,
                layout,
                drawing.width,
                drawing.height,
                drawing.background,
                samples=config.render_samples,
                backend=config.renderer,
                fills=fills if layout.has_fills else None,
            )
            plain = F.interpolate(image[None], size=clip.image_size, mode="bilinear", align_corners=False)
            warped = augment(
                image,
                views,
                clip.image_size,
                gen,
                distortion=config.perspective_distortion,
                crop_scale=config.crop_scale,
            )
            batches.append(torch.cat([plain, warped]))
        features = clip.encode_image(torch.cat(batches))
        text = clip.encode_text([config.prompt])
        per_drawing = (features @ text.T).view(len(drawings), views + 1)
        return [float(row.mean()) for row in per_drawing]


@dataclass(frozen=True)
class Variation:
    """One finished variation: its seed, drawing and evaluated score."""

    seed: int
    drawing: Drawing
    score: float
    steps: int


def rank(variations: Sequence[Variation]) -> list[Variation]:
    """Best first (highest score); ties keep seed order."""
    return sorted(variations, key=lambda v: -v.score)
