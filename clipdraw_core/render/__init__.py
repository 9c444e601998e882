"""Differentiable rasterisation of cubic Bézier strokes and filled closed shapes.

One function, :func:`render`, with two interchangeable implementations:

* ``"torch"`` (default, what ``"auto"`` picks): a sparse pure-PyTorch renderer
  (:mod:`.torch_renderer`) that runs wherever torch runs (CPU, CUDA, MPS) and needs
  no compiled extension -- installing diffvg is the most common complaint of
  CLIPDraw users.
* ``"diffvg"``: pydiffvg, when it imports (:mod:`.diffvg_backend`), for comparison.

Conventions (shared with :mod:`clipdraw_core.drawing.strokes` and the SVG exporter): canvas
pixel units, pixel ``(i, j)`` covers ``[i, i+1] x [j, j+1]`` (centre at
``(i + .5, j + .5)``), half-widths (diffvg's ``stroke_width``), straight RGBA,
round caps and joins, "over" compositing in stroke order (index 0 at the bottom) onto
an opaque background.

A path may be *closed* and filled with its own RGBA fill colour, under its optional
outline, by the nonzero or the even-odd rule, and may have several closed contours
filled as one shape (holes; see "Filled shapes" in :mod:`.torch_renderer`).

The scene is passed packed -- one flat ``points`` tensor plus a static
:class:`StrokeLayout` -- so the optimiser holds three leaf tensors regardless of the
number of strokes and the renderer needs no per-stroke Python loop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

import numpy as np
import torch
from torch import Tensor

from clipdraw_core.errors import ConfigError
from clipdraw_core.render.torch_renderer import render_torch

if TYPE_CHECKING:
    from clipdraw_core.drawing.strokes import Drawing

logger = logging.getLogger(__name__)

#: The ``backend``/``renderer`` names :func:`render` accepts ("auto" is the torch renderer).
RENDERERS: tuple[str, ...] = ("auto", "torch", "diffvg")

__all__ = [
    "RENDERERS",
    "StrokeLayout",
    "available_backends",
    "pack_drawing",
    "render",
    "render_drawing",
    "render_drawing_rgba",
]


@dataclass(frozen=True, eq=False)
class StrokeLayout:
    """Static structure of a packed scene (no grad): rebuilt when strokes are added/removed.

    ``seg_index [C, 4]`` (long) holds, for every cubic segment, the indices of its four
    control points in the flat points tensor; ``seg_stroke [C]`` (long) the stroke (paint
    order) it belongs to.  Consecutive segments of a stroke share their end point; the
    last segment of a *closed* path ends at the path's first point (of a compound
    path: the last segment of each contour at that contour's first point).  ``closed [S]``
    marks closed (filled) paths and ``outlined [S]`` the paths whose stroke is drawn
    (``None``: no closed paths / every path outlined); ``evenodd [S]`` the closed paths
    filled by the even-odd rule (``None``: all nonzero).
    """

    seg_index: Tensor
    seg_stroke: Tensor
    num_strokes: int
    closed: Tensor | None = None
    outlined: Tensor | None = None
    evenodd: Tensor | None = None

    @classmethod
    def from_segment_counts(
        cls,
        counts: Sequence[int],
        device: torch.device | str = "cpu",
        closed: Sequence[bool] | None = None,
        outlined: Sequence[bool] | None = None,
        evenodd: Sequence[bool] | None = None,
        subpaths: Sequence[Sequence[int]] | None = None,
    ) -> StrokeLayout:
        """Layout of strokes with ``counts[i]`` cubic segments each.

        Stroke ``i`` owns the flat points ``[off_i, off_i + n_i)`` with ``n_i = 3 * counts[i]
        + 1`` (open) or ``3 * counts[i]`` (closed: the last segment returns to the first
        point) and ``off_i = sum_{j<i} n_j``.  ``subpaths[i]`` (closed paths only; empty =
        one contour) splits a closed path into contours of that many segments, each
        closing on its own first point.
        """
        c = np.asarray(list(counts), dtype=np.int64).reshape(-1)
        if (c < 1).any():
            raise ConfigError("every stroke needs at least one cubic segment")
        shut = np.zeros(c.size, dtype=bool) if closed is None else np.asarray(list(closed), dtype=bool)
        drawn = np.ones(c.size, dtype=bool) if outlined is None else np.asarray(list(outlined), dtype=bool)
        odd = np.zeros(c.size, dtype=bool) if evenodd is None else np.asarray(list(evenodd), dtype=bool)
        if shut.size != c.size or drawn.size != c.size or odd.size != c.size:
            raise ConfigError("closed/outlined/evenodd flags must have one entry per stroke")
        odd &= shut
        n_pts = 3 * c + 1 - shut
        offsets = np.concatenate([[0], np.cumsum(n_pts)[:-1]]) if c.size else np.zeros(0, np.int64)
        seg_stroke = np.repeat(np.arange(c.size, dtype=np.int64), c)
        seg_start = np.concatenate([[0], np.cumsum(c)[:-1]]) if c.size else np.zeros(0, np.int64)
        local = np.arange(seg_stroke.size, dtype=np.int64) - seg_start[seg_stroke]
        first = offsets[seg_stroke] + 3 * local
        seg_index = first[:, None] + np.arange(4, dtype=np.int64)[None, :]
        wrap = shut[seg_stroke] & (local == c[seg_stroke] - 1)
        seg_index[wrap, 3] = offsets[seg_stroke[wrap]]
        for i, parts in enumerate(subpaths or ()):
            if len(parts) <= 1:
                continue
            if not shut[i] or sum(parts) != c[i] or min(parts) < 1:
                raise ConfigError(f"subpaths {list(parts)} do not split closed path {i} of {c[i]} segments")
            ends = np.cumsum(parts)  # local index after each contour's last segment
            for start, end in zip(ends - np.asarray(parts), ends, strict=True):
                seg_index[seg_start[i] + end - 1, 3] = offsets[i] + 3 * start
        special = bool(shut.any() or not drawn.all())
        return cls(
            seg_index=torch.as_tensor(seg_index.reshape(-1, 4), device=device),
            seg_stroke=torch.as_tensor(seg_stroke, device=device),
            num_strokes=int(c.size),
            closed=torch.as_tensor(shut, device=device) if special else None,
            outlined=torch.as_tensor(drawn, device=device) if special else None,
            evenodd=torch.as_tensor(odd, device=device) if odd.any() else None,
        )

    @property
    def num_segments(self) -> int:
        return int(self.seg_index.shape[0])

    @property
    def has_fills(self) -> bool:
        return self.closed is not None and bool(self.closed.any())

    @property
    def num_points(self) -> int:
        """Length of the flat points tensor this layout indexes."""
        return 0 if self.num_segments == 0 else int(self.seg_index.max().item()) + 1

    def to(self, device: torch.device | str) -> StrokeLayout:
        return StrokeLayout(
            self.seg_index.to(device),
            self.seg_stroke.to(device),
            self.num_strokes,
            None if self.closed is None else self.closed.to(device),
            None if self.outlined is None else self.outlined.to(device),
            None if self.evenodd is None else self.evenodd.to(device),
        )


def available_backends() -> list[str]:
    """``["torch"]``, plus ``"diffvg"`` when ``import pydiffvg`` works."""
    from clipdraw_core.render import diffvg_backend

    return ["torch", "diffvg"] if diffvg_backend.is_available() else ["torch"]


def render(
    points: Tensor,
    half_widths: Tensor,
    colors: Tensor,
    layout: StrokeLayout,
    width: int,
    height: int,
    background: Sequence[float] | Tensor = (1.0, 1.0, 1.0),
    *,
    samples: int = 1,
    backend: str = "auto",
    seed: int | None = None,
    fills: Tensor | None = None,
) -> Tensor:
    """Rasterise the packed strokes; returns ``[3, H, W]`` float32 in [0, 1].

    Differentiable w.r.t. ``points [P, 2]`` (canvas pixels), ``half_widths [S]``,
    ``colors [S, 4]`` (straight RGBA) and ``fills [S, 4]`` (the fill colours of the
    layout's closed paths; rows of open paths are ignored).  ``samples=k`` supersamples
    ``k x k`` on top of the analytic box-filter coverage.  ``backend``: one of
    :data:`RENDERERS`.  ``seed``
    fixes the sample jitter of backends that jitter (diffvg; ``None``: derived from the
    inputs); the torch renderer is deterministic and ignores it.
    """
    if points.ndim != 2 or points.shape[1] != 2 or colors.ndim != 2 or colors.shape[1] != 4:
        raise ConfigError(
            f"expected points [P, 2] and colours [S, 4], got {tuple(points.shape)} and {tuple(colors.shape)}"
        )
    if layout.num_strokes != half_widths.shape[0] or layout.num_strokes != colors.shape[0]:
        raise ConfigError(
            f"layout has {layout.num_strokes} strokes but got {half_widths.shape[0]} widths "
            f"and {colors.shape[0]} colours"
        )
    if layout.has_fills and (fills is None or tuple(fills.shape) != (layout.num_strokes, 4)):
        raise ConfigError(f"a layout with closed paths needs fills [{layout.num_strokes}, 4]")
    if layout.seg_index.device != points.device:
        # a layout built on the CPU and parameters moved to the GPU: follow the parameters
        layout = layout.to(points.device)
    if backend in ("auto", "torch"):
        return render_torch(
            points,
            half_widths,
            colors,
            layout.seg_index,
            layout.seg_stroke,
            layout.num_strokes,
            int(width),
            int(height),
            background,
            samples,
            fills,
            layout.closed,
            layout.outlined,
            layout.evenodd,
        )
    if backend == "diffvg":
        from clipdraw_core.render import diffvg_backend

        return diffvg_backend.render_diffvg(
            points,
            half_widths,
            colors,
            layout,
            int(width),
            int(height),
            background,
            samples=samples,
            seed=seed,
            fills=fills if layout.closed is not None else None,
        )
    raise ConfigError(unknown_renderer_message(backend))


def unknown_renderer_message(name: object) -> str:
    """The one-line refusal of a renderer name, naming the choices."""
    return f"unknown renderer {name!r}: choose one of {', '.join(RENDERERS)}"


@overload
def pack_drawing(
    drawing: Drawing, device: torch.device | str = ..., *, with_fills: Literal[False] = ...
) -> tuple[Tensor, Tensor, Tensor, StrokeLayout]: ...


@overload
def pack_drawing(
    drawing: Drawing, device: torch.device | str = ..., *, with_fills: Literal[True]
) -> tuple[Tensor, Tensor, Tensor, Tensor, StrokeLayout]: ...


def pack_drawing(
    drawing: Drawing, device: torch.device | str = "cpu", *, with_fills: bool = False
) -> tuple[Tensor, Tensor, Tensor, StrokeLayout] | tuple[Tensor, Tensor, Tensor, Tensor, StrokeLayout]:
    """Flatten a :class:`~clipdraw_core.drawing.strokes.Drawing` into ``points, half_widths, colors, layout``.

    With ``with_fills=True`` the result is ``points, half_widths, colors, fills, layout``
    (``fills [S, 4]``: the fill colours, zeros for open strokes).  The returned tensors
    are fresh float32 leaves (callers may ``requires_grad_()`` them).
    """
    strokes = drawing.strokes
    if strokes:
        pts = np.concatenate([s.points for s in strokes], axis=0).astype(np.float32)
        hws = np.array([s.half_width for s in strokes], dtype=np.float32)
        cols = np.array([s.color for s in strokes], dtype=np.float32)
        fill = np.array([s.fill if s.fill is not None else (0.0, 0.0, 0.0, 0.0) for s in strokes], np.float32)
    else:
        pts = np.zeros((0, 2), np.float32)
        hws = np.zeros((0,), np.float32)
        cols = np.zeros((0, 4), np.float32)
        fill = np.zeros((0, 4), np.float32)
    layout = StrokeLayout.from_segment_counts(
        [s.num_segments for s in strokes],
        device=device,
        closed=[s.closed for s in strokes],
        outlined=[s.outlined for s in strokes],
        evenodd=[s.fill_rule == "evenodd" for s in strokes],
        subpaths=[s.subpaths for s in strokes],
    )
    tensors = (
        torch.tensor(pts, device=device),
        torch.tensor(hws, device=device),
        torch.tensor(cols, device=device),
    )
    if with_fills:
        return (*tensors, torch.tensor(fill, device=device), layout)
    if layout.has_fills:
        raise ConfigError("this drawing has filled shapes: pack it with with_fills=True")
    return (*tensors, layout)


def _render_float(
    drawing: Drawing, samples: int, device: torch.device | str, backend: str, background: Sequence[float]
) -> Tensor:
    points, half_widths, colors, fills, layout = pack_drawing(drawing, device=device, with_fills=True)
    with torch.no_grad():
        img = render(
            points,
            half_widths,
            colors,
            layout,
            drawing.width,
            drawing.height,
            background,
            samples=samples,
            backend=backend,
            fills=fills if layout.has_fills else None,
        )
    return img.clamp(0.0, 1.0).permute(1, 2, 0).cpu()


def _to_uint8(img: Tensor) -> np.ndarray:
    return (img * 255.0).round().to(torch.uint8).contiguous().numpy()


def render_drawing(
    drawing: Drawing,
    *,
    samples: int = 1,
    device: torch.device | str = "cpu",
    backend: str = "auto",
    background: Sequence[float] | None = None,
) -> np.ndarray:
    """Render a drawing to a ``uint8 [H, W, 3]`` array (no grad), e.g. for PNG export.

    ``background`` overrides the drawing's paper colour.
    """
    paper = drawing.background if background is None else background
    return _to_uint8(_render_float(drawing, samples, device, backend, paper))


def render_drawing_rgba(
    drawing: Drawing, *, samples: int = 1, device: torch.device | str = "cpu", backend: str = "auto"
) -> np.ndarray:
    """The drawing on transparent paper: ``uint8 [H, W, 4]`` straight RGBA (no grad).

    Rendered over black and over white: with "over" compositing ``on_white - on_black =
    1 - alpha`` per pixel, and ``on_black`` is the premultiplied colour, so both
    follow exactly (alpha 0 wherever nothing is drawn).
    """
    black = _render_float(drawing, samples, device, backend, (0.0, 0.0, 0.0))
    white = _render_float(drawing, samples, device, backend, (1.0, 1.0, 1.0))
    alpha = (1.0 - (white - black).mean(dim=2, keepdim=True)).clamp(0.0, 1.0)
    rgb = torch.where(alpha > 0, black / alpha.clamp(min=1e-12), torch.zeros_like(black)).clamp(0.0, 1.0)
    return _to_uint8(torch.cat([rgb, alpha], dim=2))
