"""CLIPDraw's image augmentations, differentiable, on tensors.

Each step shows CLIP several randomly distorted views of the rendered drawing so the
optimisation cannot satisfy CLIP with adversarial pixel patterns. As in the original:
``RandomPerspective(fill=1, p=1, distortion_scale=0.5)`` then
``RandomResizedCrop(224, scale=(0.7, 0.9))``.

The random parameters are drawn exactly as torchvision's ``get_params`` draw them, but
from a session-owned ``torch.Generator`` (reproducible runs, global RNG untouched).
The two warps are then *composed* into one sampling grid per view and all views are
resampled by a single batched ``grid_sample``: the same geometry as applying
torchvision's ``perspective`` then ``resized_crop``, with one bilinear resampling
instead of two (slightly less blur) and a 3-5x cheaper backward on the CPU, where
the two-pass torchvision version cost more than the renderer (~250 ms per step for
four views here, against ~50 ms).

Non-square canvases
-------------------
CLIP sees square views, and a random crop of a 320x200 canvas mostly shows its
middle.  So for a canvas that is not square, the views of a step cover all of it:

* the canvas is split into ``k = ceil(long / short)`` square **windows** of the short
  side, evenly spaced along the long side (overlapping where ``long / short`` is not
  an integer; 320x200: windows at x = 0 and x = 120);
* view ``i`` looks at window ``i mod k`` and applies the original perspective and
  crop *to that window* (what lies outside the window but inside the canvas is the
  real canvas, outside the canvas the fill);
* the crop keeps its random size and aspect, but instead of a uniform position it is
  anchored at the window's corners in turn (top-left, bottom-right, top-right,
  bottom-left for views ``i // k = 0, 1, 2, 3``).  A crop is at least 0.72 of the
  window side in each direction (scale 0.7, aspect 3/4) and the perspective only moves
  the window's corners inward, so four anchored crops cover the whole window.

Hence every :func:`coverage_views` (= ``4 k``) consecutive views cover every pixel
of the canvas; the session uses at least that many views per step on a non-square
canvas.  Square canvases keep the original augmentation exactly (one window, uniform
crop positions).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812


def _randint(gen: torch.Generator, low: int, high: int) -> int:
    return int(torch.randint(low, high, (1,), generator=gen).item())


def perspective_params(
    width: int, height: int, distortion: float, gen: torch.Generator
) -> tuple[list[list[int]], list[list[int]]]:
    """Start and end corner points, distributed as ``RandomPerspective.get_params``."""
    hw, hh = width // 2, height // 2
    dw, dh = int(distortion * hw), int(distortion * hh)
    topleft = [_randint(gen, 0, dw + 1), _randint(gen, 0, dh + 1)]
    topright = [_randint(gen, width - dw - 1, width), _randint(gen, 0, dh + 1)]
    botright = [_randint(gen, width - dw - 1, width), _randint(gen, height - dh - 1, height)]
    botleft = [_randint(gen, 0, dw + 1), _randint(gen, height - dh - 1, height)]
    start = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
    return start, [topleft, topright, botright, botleft]


def crop_params(
    width: int,
    height: int,
    scale: tuple[float, float],
    gen: torch.Generator,
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """A crop box ``(top, left, h, w)``, distributed as ``RandomResizedCrop.get_params``."""
    area = width * height
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        u = torch.rand(2, generator=gen)
        target_area = area * (scale[0] + (scale[1] - scale[0]) * float(u[0]))
        aspect = math.exp(log_lo + (log_hi - log_lo) * float(u[1]))
        w = round(math.sqrt(target_area * aspect))
        h = round(math.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            return _randint(gen, 0, height - h + 1), _randint(gen, 0, width - w + 1), h, w
    side = min(width, height)
    return (height - side) // 2, (width - side) // 2, side, side


def homography(src: list[list[int]], dst: list[list[int]]) -> np.ndarray:
    """The 3x3 projective map taking the four ``src`` points to the four ``dst`` points."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    coeffs = np.linalg.solve(np.asarray(rows, dtype=np.float64), np.asarray(rhs, dtype=np.float64))
    return np.append(coeffs, 1.0).reshape(3, 3)


def view_grid(
    width: int,
    height: int,
    out_size: int,
    start: list[list[int]],
    end: list[list[int]],
    crop: tuple[int, int, int, int],
) -> torch.Tensor:
    """``grid_sample`` grid [out, out, 2] for perspective(start->end) then resized_crop(crop).

    Like torchvision, the homography is applied to pixel-centre coordinates in the
    edge convention (pixel ``i`` spans ``[i, i+1]``, centre ``i + 0.5``); the crop is
    resized with ``align_corners=False``.
    """
    # Computed in numpy: these are small ops, and torch's intra-op threads make small
    # ops very slow when another process competes for the cores.
    top, left, h, w = crop
    centres = (np.arange(out_size, dtype=np.float64) + 0.5) / out_size
    xs = (left + centres * w)[None, :]
    ys = (top + centres * h)[:, None]
    # perspective output pixel (end corners) -> input pixel (start corners)
    m = homography(end, start)
    den = m[2, 0] * xs + m[2, 1] * ys + m[2, 2]
    src_x = (m[0, 0] * xs + m[0, 1] * ys + m[0, 2]) / den
    src_y = (m[1, 0] * xs + m[1, 1] * ys + m[1, 2]) / den
    grid = np.stack([2 * src_x / width - 1, 2 * src_y / height - 1], axis=-1).astype(np.float32)
    return torch.from_numpy(grid)


def view_windows(width: int, height: int) -> list[tuple[int, int, int]]:
    """Square windows ``(left, top, side)`` whose union is the canvas (see the module docstring)."""
    if width == height:
        return [(0, 0, width)]
    side, long = min(width, height), max(width, height)
    k = math.ceil(long / side)
    offsets = [round(i * (long - side) / (k - 1)) for i in range(k)]
    return [(o, 0, side) if width > height else (0, o, side) for o in offsets]


def coverage_views(width: int, height: int) -> int:
    """Views per step that cover the whole canvas: 1 for a square canvas (the original), else ``4 k``."""
    windows = view_windows(width, height)
    return 1 if len(windows) == 1 and width == height else 4 * len(windows)


def _anchored(crop: tuple[int, int, int, int], side: int, corner: int) -> tuple[int, int, int, int]:
    """The crop ``(top, left, h, w)`` moved to a window corner (0 TL, 1 BR, 2 TR, 3 BL)."""
    _, _, h, w = crop
    top = 0 if corner in (0, 2) else side - h
    left = 0 if corner in (0, 3) else side - w
    return top, left, h, w


def view_grids(
    width: int,
    height: int,
    count: int,
    out_size: int,
    gen: torch.Generator,
    *,
    distortion: float = 0.5,
    crop_scale: tuple[float, float] = (0.7, 0.9),
) -> torch.Tensor:
    """Sampling grids ``[count, out, out, 2]`` of a step's views (normalised canvas coordinates)."""
    windows = view_windows(width, height)
    grids = []
    for i in range(count):
        if width == height:
            start, end = perspective_params(width, height, distortion, gen)
            crop = crop_params(width, height, crop_scale, gen)
            grids.append(view_grid(width, height, out_size, start, end, crop))
            continue
        left, top, side = windows[i % len(windows)]
        start, end = perspective_params(side, side, distortion, gen)
        crop = _anchored(crop_params(side, side, crop_scale, gen), side, (i // len(windows)) % 4)
        g = view_grid(side, side, out_size, start, end, crop)
        # window-normalised -> canvas pixels -> canvas-normalised
        gx = ((g[..., 0] + 1) * 0.5 * side + left) * 2 / width - 1
        gy = ((g[..., 1] + 1) * 0.5 * side + top) * 2 / height - 1
        grids.append(torch.stack([gx, gy], dim=-1))
    return torch.stack(grids)


def augment(
    image: torch.Tensor,
    count: int,
    out_size: int,
    gen: torch.Generator,
    *,
    distortion: float = 0.5,
    crop_scale: tuple[float, float] = (0.7, 0.9),
    fill: float = 1.0,
) -> torch.Tensor:
    """``count`` augmented views [count, 3, out_size, out_size] of ``image`` [3, H, W].

    On a non-square canvas, pass at least :func:`coverage_views` views to cover all of it.
    """
    _, height, width = image.shape
    grid = view_grids(width, height, count, out_size, gen, distortion=distortion, crop_scale=crop_scale).to(
        image.device
    )
    # Sampling (image - fill) with zero padding, then adding fill back, fills the
    # outside with ``fill`` and blends it bilinearly at the border, as torchvision does.
    shifted = (image - fill).unsqueeze(0).expand(count, -1, -1, -1)
    views = F.grid_sample(shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return views + fill
