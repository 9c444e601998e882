"""Region views: CLIP sees parts of the canvas, masked to a region, next to the whole.

A :class:`~clipdraw_core.drawing.guidance.Region` steers only its part of the drawing.
Each step, besides the canvas views, CLIP is shown augmented views of the region's
bounding box in which every pixel outside the region is replaced by the background
colour, and the region's prompt scores those views.

Why it does not double the cost of a step:

* the views are cut from the **same rendered image** as the canvas views (one
  render, one backward through the renderer);
* they are **batched into the same CLIP pass** as the canvas views (one
  ``encode_image`` call, one backward through CLIP);
* their number is **budgeted**: all regions together get ``region_views`` views per
  step (default half the canvas views, at least one), shared out by
  :func:`allocate_views` - evenly, and round-robin across steps when there are more
  regions than views. So a step costs at most ``1 + region_views / num_augs`` times
  the CLIP work of a plain step, however many regions there are.

A region's loss is ``-weight * num_augs * mean_views cos(prompt, view) / tau``: the
mean over its views, scaled to the canvas's number of views, so a region of weight 1
pulls as hard as a canvas prompt of weight 1 whatever its share of the budget.
Gradients reach only pixels inside the bounding box (the box is a slice of the image),
so strokes entirely outside it are not pulled by the region's prompt.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from clipdraw_core.drawing.guidance import Region
from clipdraw_core.optim.augment import augment

logger = logging.getLogger(__name__)

#: Supersampling per axis when the region polygon is rasterised to a soft mask.
MASK_SUPERSAMPLE = 4


def default_region_views(num_augs: int) -> int:
    """Half the canvas views, at least one."""
    return max(1, num_augs // 2)


def allocate_views(num_regions: int, budget: int, step: int) -> list[int]:
    """Views per region this step: ``budget`` shared evenly, the remainder rotating with ``step``."""
    if num_regions <= 0:
        return []
    base, extra = divmod(budget, num_regions)
    counts = [base] * num_regions
    for k in range(extra):
        counts[(step * extra + k) % num_regions] += 1
    return counts


def region_mask(region: Region, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """Coverage of each pixel of ``bbox`` by the region's polygon, float32 ``[h, w]`` in [0, 1].

    Rasterised by Pillow at :data:`MASK_SUPERSAMPLE` x and box-filtered down, so the
    edge is anti-aliased like the strokes are. Pixel ``(i, j)`` covers
    ``[i, i+1] x [j, j+1]``.
    """
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = bbox
    w, h = x1 - x0, y1 - y0
    s = MASK_SUPERSAMPLE
    canvas = Image.new("L", (w * s, h * s), 0)
    # Pillow fills the sub-pixels whose centres are inside: shift by half a sub-pixel.
    poly = [((x - x0) * s - 0.5, (y - y0) * s - 0.5) for x, y in region.polygon]
    ImageDraw.Draw(canvas).polygon(poly, fill=255)
    fine = np.asarray(canvas, dtype=np.float32) / 255.0
    coverage: np.ndarray = fine.reshape(h, s, w, s).mean(axis=(1, 3))
    return coverage


def region_views(
    image: torch.Tensor,
    bbox: tuple[int, int, int, int],
    mask: torch.Tensor,
    background: torch.Tensor,
    count: int,
    out_size: int,
    gen: torch.Generator,
    *,
    distortion: float,
    crop_scale: tuple[float, float],
) -> torch.Tensor:
    """``count`` augmented views ``[count, 3, S, S]`` of the masked bounding box.

    ``mask`` is ``[h, w]`` (see :func:`region_mask`), ``background`` ``[3, 1, 1]``.
    Working on ``image - background`` with zero fill makes everything outside the
    region, and the area the perspective warp exposes, exactly the background colour.
    """
    x0, y0, x1, y1 = bbox
    inside = (image[:, y0:y1, x0:x1] - background) * mask
    views = augment(inside, count, out_size, gen, distortion=distortion, crop_scale=crop_scale, fill=0.0)
    return views + background.unsqueeze(0)
