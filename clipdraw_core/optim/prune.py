"""Pruning: remove strokes that have faded or are hidden, optionally refilling the budget.

CLIPDraw's optimiser often drives a stroke's opacity towards zero or buries it under
others; such strokes cost render and optimiser time and clutter the SVG. A prune
removes

* *faded* strokes: opacity below ``min_opacity`` (an open stroke's colour alpha; a
  filled shape's is the larger of its fill's alpha and, when outlined, its outline's);
* *covered* strokes: at least ``max_covered`` of the stroke's own footprint is hidden
  by the strokes painted above it (a stroke with no pixel on the canvas counts as
  fully covered).

Frozen strokes are the artist's and are never pruned.

Coverage is measured with our differentiable renderer rather than with a second,
approximate rasteriser, so it agrees with what is on screen: the gradient of the
image's sum with respect to a stroke's RGB is ``sum_p alpha_i(p) T_i(p)`` (its
coverage times the transmittance of everything above it), which one backward pass
gives for all strokes at once. A second pass with every opacity set to a tiny value
(``T ~ 1``) gives each stroke's own footprint; the ratio is the visible fraction.
A filled shape paints with two colours (fill and outline): each part's gradient is
divided by that part's own alpha and the parts are added, in both passes alike.

With ``refill`` the removed strokes are replaced by as many new CLIPDraw random-walk
strokes, each starting on a pixel where the canvas is still (nearly) empty.

The result is a pair of command lists: ``commands`` performs the prune and ``undo``
reverses it exactly, so a front end makes the whole prune one undo step.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from clipdraw_core.drawing.commands import AddStrokes, Command, DeleteStrokes
from clipdraw_core.drawing.strokes import Drawing, Stroke, random_walk_strokes
from clipdraw_core.errors import ConfigError
from clipdraw_core.render import pack_drawing, render

logger = logging.getLogger(__name__)

#: Opacity given to every stroke when measuring its own footprint (its T stays ~1).
_PROBE_ALPHA = 1e-6
#: A pixel is "empty" when the strokes let at least this much background through.
EMPTY_TRANSMITTANCE = 0.95
DEFAULT_MAX_COVERED = 0.95


@dataclass(frozen=True)
class PruneResult:
    """What a prune found and the commands that perform / undo it."""

    faded: tuple[int, ...]
    covered: tuple[int, ...]
    added: tuple[Stroke, ...]
    commands: tuple[Command, ...]
    undo: tuple[Command, ...]

    @property
    def removed(self) -> tuple[int, ...]:
        return self.faded + self.covered

    def describe(self) -> str:
        text = f"pruned {len(self.faded)} faded and {len(self.covered)} hidden strokes"
        return text + (f", added {len(self.added)} new ones" if self.added else "")


def opacity(stroke: Stroke) -> float:
    """How opaque a stroke is drawn: its colour's alpha; a shape's most opaque part."""
    if not stroke.closed or stroke.fill is None:
        return float(stroke.color[3])
    fill_alpha = float(stroke.fill[3])
    return max(fill_alpha, float(stroke.color[3])) if stroke.outlined else fill_alpha


def visible_fractions(drawing: Drawing, *, device: torch.device | str = "cpu") -> np.ndarray:
    """Per stroke (paint order), the fraction of its own footprint that is not hidden above.

    Independent of the stroke's own opacity; 0 for strokes with no pixel on the canvas.
    """
    n = len(drawing.strokes)
    if n == 0:
        return np.zeros(0)
    points, widths, colors, fills, layout = pack_drawing(drawing, device=device, with_fills=True)
    has_fills = layout.has_fills
    outline_alpha = colors[:, 3]
    fill_alpha = fills[:, 3]

    def footprint(line_alpha: torch.Tensor, shape_alpha: torch.Tensor) -> torch.Tensor:
        """Per stroke, ``sum_p cov_i(p) T_i(p)`` over its parts (each part's gradient / its alpha)."""
        rgb = colors[:, :3].clone().requires_grad_(True)
        fill_rgb = fills[:, :3].clone().requires_grad_(True)
        rgba = torch.cat([rgb, line_alpha[:, None]], dim=1)
        fill_rgba = torch.cat([fill_rgb, shape_alpha[:, None]], dim=1)
        image = render(
            points,
            widths,
            rgba,
            layout,
            drawing.width,
            drawing.height,
            drawing.background,
            fills=fill_rgba if has_fills else None,
        )
        grads = torch.autograd.grad(image.sum(), (rgb, fill_rgb), allow_unused=True)
        total = torch.zeros(n, device=device)
        for grad, alpha in zip(grads, (line_alpha, shape_alpha), strict=True):
            if grad is not None:
                total = total + torch.where(
                    alpha > 0, grad.sum(1) / 3.0 / alpha.clamp(min=1e-12), torch.zeros_like(alpha)
                )
        return total

    visible = footprint(outline_alpha, fill_alpha)  # sum_p cov_i T_i
    probe = torch.full_like(outline_alpha, _PROBE_ALPHA)
    own = footprint(  # T ~ 1: each part's own footprint (parts that paint nothing stay at 0)
        torch.where(outline_alpha > 0, probe, outline_alpha), torch.where(fill_alpha > 0, probe, fill_alpha)
    )
    fraction = torch.where(own > 1e-6, visible / own.clamp(min=1e-12), torch.zeros_like(own))
    return fraction.clamp(0.0, 1.0).detach().cpu().numpy()


def empty_pixels(drawing: Drawing, *, device: torch.device | str = "cpu") -> np.ndarray:
    """``bool [H, W]``: pixels where the strokes let at least 95 % of the background through."""
    points, widths, colors, fills, layout = pack_drawing(drawing, device=device, with_fills=True)
    shape_fills = fills if layout.has_fills else None
    with torch.no_grad():
        on_black = render(
            points, widths, colors, layout, drawing.width, drawing.height, (0.0, 0.0, 0.0), fills=shape_fills
        )
        on_white = render(
            points, widths, colors, layout, drawing.width, drawing.height, (1.0, 1.0, 1.0), fills=shape_fills
        )
    transmittance = (on_white - on_black)[0]
    return (transmittance >= EMPTY_TRANSMITTANCE).cpu().numpy()


def refill_strokes(
    drawing: Drawing,
    ids: Sequence[int],
    rng: random.Random,
    *,
    min_segments: int = 1,
    max_segments: int = 3,
    half_width: float = 1.0,
    device: torch.device | str = "cpu",
) -> list[Stroke]:
    """CLIPDraw random-walk strokes, each moved to start on an empty pixel (random ones if none)."""
    fresh = random_walk_strokes(
        len(ids),
        drawing.width,
        drawing.height,
        rng,
        min_segments=min_segments,
        max_segments=max_segments,
        half_width=half_width,
    )
    empty = np.argwhere(empty_pixels(drawing, device=device))  # (row, col)
    strokes = []
    for stroke_id, stroke in zip(ids, fresh, strict=True):
        points = stroke.points
        if len(empty):
            row, col = empty[rng.randrange(len(empty))]
            start = np.array([col + rng.random(), row + rng.random()], dtype=np.float64)
            points = points - points[0] + start
        strokes.append(Stroke(int(stroke_id), points, stroke.half_width, stroke.color))
    return strokes


def prune(
    drawing: Drawing,
    *,
    min_opacity: float,
    max_covered: float = DEFAULT_MAX_COVERED,
    refill: bool = False,
    rng: random.Random | None = None,
    allocate_ids: Callable[[int], Sequence[int]] | None = None,
    min_segments: int = 1,
    max_segments: int = 3,
    half_width: float = 1.0,
    device: torch.device | str = "cpu",
) -> PruneResult:
    """Find faded and hidden strokes; return the commands that remove (and undo removing) them.

    ``allocate_ids`` reserves ids for refill strokes (``Session.allocate_ids`` during a
    run); by default ids follow the drawing's largest one. ``max_covered=1`` prunes only
    strokes that are entirely hidden; ``max_covered > 1`` disables the coverage test.
    """
    if not 0 <= min_opacity <= 1:
        raise ConfigError(f"the prune opacity threshold must be between 0 and 1, got {min_opacity!r}")
    if not 0 < max_covered:
        raise ConfigError("the covered fraction for pruning must be > 0")
    free = [(i, s) for i, s in enumerate(drawing.strokes) if not s.frozen]
    faded = [s.id for _, s in free if opacity(s) < min_opacity]
    covered: list[int] = []
    if max_covered <= 1 and free:
        fractions = visible_fractions(drawing, device=device)
        faded_set = set(faded)
        covered = [s.id for i, s in free if s.id not in faded_set and 1.0 - fractions[i] >= max_covered]
    removed = set(faded) | set(covered)
    if not removed:
        return PruneResult((), (), (), (), ())
    positions = {s.id: i for i, s in enumerate(drawing.strokes)}
    doomed = [s for s in drawing.strokes if s.id in removed]
    commands: list[Command] = [DeleteStrokes(tuple(s.id for s in doomed))]
    undo: list[Command] = []
    added: list[Stroke] = []
    if refill:
        ids = list(
            allocate_ids(len(doomed))
            if allocate_ids
            else range(drawing.next_id(), drawing.next_id() + len(doomed))
        )
        remaining = drawing.with_strokes([s for s in drawing.strokes if s.id not in removed])
        added = refill_strokes(
            remaining,
            ids,
            rng or random.Random(0),
            min_segments=min_segments,
            max_segments=max_segments,
            half_width=half_width,
            device=device,
        )
        commands.append(AddStrokes(tuple(added)))
        undo.append(DeleteStrokes(tuple(s.id for s in added)))
    undo.append(AddStrokes(tuple(doomed), tuple(positions[s.id] for s in doomed)))
    result = PruneResult(tuple(faded), tuple(covered), tuple(added), tuple(commands), tuple(undo))
    logger.info(result.describe())
    return result
