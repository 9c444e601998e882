"""The pydiffvg backend: the same :func:`clipdraw_core.render.render` semantics via diffvg.

Kept as a second implementation for comparison with the original CLIPDraw (which
rendered with diffvg) and for users who already have it built.  pydiffvg is not a
dependency: it must be compiled from source, which is what users complain about most,
so everything here imports it lazily and :func:`render_diffvg` raises a
:class:`~clipdraw_core.errors.ClipDrawError` with a clear message when it is missing.

Mapping of our packed scene onto diffvg (as the original notebook builds it):
``Path(num_control_points=[2] * segments, points, stroke_width=half_width,
is_closed=False)`` with one ``ShapeGroup(fill_color=None, stroke_color=rgba)`` per
stroke, in paint order.  diffvg returns straight (un-premultiplied) RGBA, which we
composite over the background exactly as CLIPDraw does: ``a * rgb + (1 - a) * bg``.
diffvg antialiases by point sampling with a box filter; ``samples=k`` maps to
``max(2, k) x max(2, k)`` samples per pixel, so the default matches the original's 2x2.
This backend loops over strokes in Python (diffvg's API is per shape); it is not the
fast path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from clipdraw_core.errors import ClipDrawError

if TYPE_CHECKING:
    from clipdraw_core.render import StrokeLayout

logger = logging.getLogger(__name__)

_seed_counter = 0


def _import_pydiffvg() -> Any:
    try:
        import pydiffvg  # type: ignore[import-not-found]
    except Exception as exc:  # ImportError, or a broken native build (OSError, ...)
        raise ClipDrawError(
            "the 'diffvg' renderer needs pydiffvg, which is not installed or failed to load "
            f"({type(exc).__name__}: {exc}); use the built-in renderer ('auto' or 'torch') instead"
        ) from exc
    return pydiffvg


def is_available() -> bool:
    """True when ``import pydiffvg`` works."""
    try:
        _import_pydiffvg()
    except ClipDrawError:
        return False
    return True


def render_diffvg(
    points: Tensor,
    half_widths: Tensor,
    colors: Tensor,
    layout: StrokeLayout,
    width: int,
    height: int,
    background: Sequence[float] | Tensor = (1.0, 1.0, 1.0),
    *,
    samples: int = 1,
) -> Tensor:
    """Render with pydiffvg; returns ``[3, H, W]`` float32 in [0, 1], differentiable like ``render``."""
    global _seed_counter
    pydiffvg = _import_pydiffvg()
    device = points.device
    pydiffvg.set_use_gpu(device.type == "cuda")
    pydiffvg.set_device(device)

    if isinstance(background, Tensor):
        bg = background.to(device=device, dtype=torch.float32).reshape(-1)[:3]
    else:
        bg = torch.tensor([float(c) for c in background][:3], dtype=torch.float32, device=device)
    if layout.num_strokes == 0:
        zero = points[:0].sum() + half_widths[:0].sum() + colors[:0].sum()  # 0, keeps the graph
        return (bg[:, None, None].expand(3, height, width) + zero).contiguous()

    seg_stroke = layout.seg_stroke.cpu()
    counts = torch.bincount(seg_stroke, minlength=layout.num_strokes).tolist()
    shapes = []
    groups = []
    offset = 0
    for i, n_seg in enumerate(counts):
        n_pts = 3 * n_seg + 1
        path = pydiffvg.Path(
            num_control_points=torch.full((n_seg,), 2, dtype=torch.int32),
            points=points[offset : offset + n_pts].to(torch.float32).contiguous(),
            stroke_width=half_widths[i].to(torch.float32),
            is_closed=False,
        )
        shapes.append(path)
        groups.append(
            pydiffvg.ShapeGroup(
                shape_ids=torch.tensor([i]),
                fill_color=None,
                stroke_color=colors[i].to(torch.float32),
            )
        )
        offset += n_pts
    scene_args = pydiffvg.RenderFunction.serialize_scene(width, height, shapes, groups)
    n = max(2, int(samples))
    _seed_counter += 1
    img = pydiffvg.RenderFunction.apply(width, height, n, n, _seed_counter, None, *scene_args)  # [H, W, 4]
    img = img.to(device=device, dtype=torch.float32)
    alpha = img[:, :, 3:4]
    out = alpha * img[:, :, :3] + (1.0 - alpha) * bg[None, None, :]
    return out.permute(2, 0, 1).contiguous()
