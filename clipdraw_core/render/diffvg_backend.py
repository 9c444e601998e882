"""The pydiffvg backend: the same :func:`clipdraw_core.render.render` semantics via diffvg.

Kept as a second implementation for comparison with the original CLIPDraw (which
rendered with diffvg) and for users who already have it built.  pydiffvg is not a
dependency: it must be compiled from source, which is what users complain about most,
so everything here imports it lazily and :func:`render_diffvg` raises a
:class:`~clipdraw_core.errors.ClipDrawError` with a clear message when it is missing.

Mapping of our packed scene onto diffvg: one open ``Path`` per stroke
(``stroke_width`` = our half-width) with one ``ShapeGroup(fill_color=None,
stroke_color=rgba)`` per stroke, in paint order; a filled shape is one closed ``Path``
per contour in a ``ShapeGroup(fill_color=rgba, use_even_odd_rule=...)`` (diffvg adds up
the winding numbers of a group's paths, so a compound shape's holes and the fill rule
come out as ours), followed by a stroke group of the same paths when it is outlined.
Four things are ours to get right, because diffvg gets them wrong silently or fatally:

* **Compositing.**  diffvg's output is *premultiplied* RGBA (an edge pixel of an opaque
  stroke comes back as ``coverage * rgb, coverage``), so compositing it as straight
  alpha (``a * rgb + (1 - a) * bg``) darkens every edge.  We hand diffvg the opaque
  background itself (its ``background_image`` argument): it then composites each
  sample over it before the box filter, exactly our pixel model, and returns opaque
  colour.
* **Segment degree.**  Our strokes are cubics, but a straight cubic (control points on
  the chord at 1/3 and 2/3, what SVG ``L``/``<line>``/``<polyline>`` and straight fitted
  strokes become) or a degree-elevated quadratic (SVG ``Q``) has a vanishing cubic
  coefficient, and diffvg's inside-stroke test for cubics divides by it: the segment
  disappears, leaving only its caps.  :func:`segment_degrees` finds such segments and we
  pass diffvg their true degree (0 control points for a line, 1 for a quadratic).
  Gradients still reach every point that shapes the curve: a quadratic's control point
  is computed from both cubic control points; a straight segment's inner control points
  get no gradient from diffvg (the first optimiser step moves its end points, after
  which it is a cubic again).
* **Reproducibility.**  diffvg jitters its samples with a seed.  It is taken from the
  call (``seed=``, the session passes one derived from its own seed and step) or, when
  none is given, hashed from the inputs, so the same input renders bit-identically.
  diffvg's CPU backward adds gradient contributions from several threads in whatever
  order they finish, so gradients (not images) can differ in the last float bits
  between runs; nothing here can order those additions.
* **Bad numbers.**  NaN/inf points trip an ``assert`` in pydiffvg and a NaN colour
  aborts the process in native code, so inputs are checked first and bad ones raise
  :class:`~clipdraw_core.errors.NumericalError`.

diffvg antialiases by point sampling with a box filter; ``samples=k`` maps to
``max(2, k) x max(2, k)`` samples per pixel, so the default matches the original's 2x2.
This backend builds diffvg's scene in Python per stroke (its API is per shape); it is
not the fast path.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from clipdraw_core.errors import ClipDrawError, ConfigError, NumericalError
from clipdraw_core.render.torch_renderer import _background_tensor

if TYPE_CHECKING:
    from clipdraw_core.render import StrokeLayout

logger = logging.getLogger(__name__)

#: Segment degrees as diffvg's per-segment control-point counts.
LINE, QUADRATIC, CUBIC = 0, 1, 2

#: A segment is treated as degenerate (straight, or quadratic) when the offending vector
#: is shorter than ``ABS_TOL + REL_TOL * |largest coordinate|`` px.  diffvg loses an exact
#: elevated quadratic up to a cubic coefficient of ~1e-5 px at coordinates ~50 (float32
#: rounding); the curves it may replace differ from the exact ones by < 0.05 x the
#: tolerance, far below a pixel.
ABS_TOL = 1e-3
REL_TOL = 1e-5

_SEED_MODULUS = 2**31 - 1


def _import_pydiffvg() -> Any:
    try:
        import pydiffvg  # type: ignore[import-not-found]
    except Exception as exc:  # ImportError, or a broken native build (OSError, ...)
        raise ClipDrawError(
            "the 'diffvg' renderer needs pydiffvg, which is not installed or failed to load "
            f"({type(exc).__name__}: {exc}); build it from https://github.com/BachiLi/diffvg "
            "or use the built-in renderer ('auto' or 'torch') instead"
        ) from exc
    return pydiffvg


def require() -> None:
    """Raise the one-line :class:`~clipdraw_core.errors.ClipDrawError` saying how to get
    pydiffvg when it does not import (front ends call this before a long set-up)."""
    _import_pydiffvg()


def is_available() -> bool:
    """True when ``import pydiffvg`` works."""
    try:
        _import_pydiffvg()
    except ClipDrawError:
        return False
    return True


def segment_degrees(cubics: Tensor) -> Tensor:
    """Per segment of ``cubics [C, 4, 2]``: :data:`LINE`, :data:`QUADRATIC` or :data:`CUBIC`.

    A line has its control points on the chord at 1/3 and 2/3; a quadratic (a degree-
    elevated one, ``P1 = (P0 + 2Q) / 3``, ``P2 = (P3 + 2Q) / 3``) has a zero cubic
    coefficient ``P3 - 3 P2 + 3 P1 - P0``.  Collinear control points elsewhere on the
    line are a genuine cubic (it may overshoot its end points) and stay one.
    """
    c = cubics.detach().cpu().to(torch.float64)  # on the CPU: MPS has no float64
    if c.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int32)
    p0, p1, p2, p3 = c.unbind(1)
    tol = ABS_TOL + REL_TOL * c.abs().amax(dim=(1, 2))
    cubic_coeff = (p3 - 3.0 * p2 + 3.0 * p1 - p0).norm(dim=1)
    off_chord = torch.maximum(
        (p1 - (2.0 * p0 + p3) / 3.0).norm(dim=1), (p2 - (p0 + 2.0 * p3) / 3.0).norm(dim=1)
    )
    degree = torch.full((c.shape[0],), CUBIC, dtype=torch.int32)
    degree[cubic_coeff <= tol] = QUADRATIC
    degree[off_chord <= tol] = LINE
    return degree


def _check_finite(points: Tensor, half_widths: Tensor, colors: Tensor) -> None:
    for name, t in (("point", points), ("stroke width", half_widths), ("colour", colors)):
        bad = ~torch.isfinite(t.detach())
        if bool(bad.any()):
            raise NumericalError(
                f"cannot render with diffvg: {int(bad.sum())} {name} value(s) are NaN or infinite; "
                "the drawing was not changed (try a lower learning rate, or the 'torch' renderer)"
            )


def input_seed(
    points: Tensor, half_widths: Tensor, colors: Tensor, width: int, height: int, samples: int, bg: Tensor
) -> int:
    """A sampling seed that depends only on the call's inputs (equal inputs, equal image)."""
    crc = 0
    for t in (points, half_widths, colors, bg):
        crc = zlib.crc32(np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy()).tobytes(), crc)
    crc = zlib.crc32(np.array([width, height, samples], dtype=np.int64).tobytes(), crc)
    return crc % _SEED_MODULUS


def _stroke_paths(
    points: Tensor, layout: StrokeLayout, device: torch.device
) -> list[tuple[int, Tensor, Tensor, bool]]:
    """Per diffvg path, in paint order: (its stroke, control-point counts [n_seg], points [K, 2], closed).

    An open stroke is one path ending on its last point; a closed shape is one closed
    path per contour (several for a compound shape), each ending before the point it
    closes on, as diffvg's closed paths do. Points are gathered from ``points`` plus one
    derived quadratic control point per segment, so every output point stays
    differentiable w.r.t. the inputs.
    """
    seg_index = layout.seg_index
    cubics = points[seg_index]  # [C, 4, 2]
    degrees = segment_degrees(cubics)
    # the quadratic whose elevation is closest to the cubic: the mean of the two estimates
    # (3 P1 - P0) / 2 and (3 P2 - P3) / 2 of its control point
    quad = (3.0 * (cubics[:, 1] + cubics[:, 2]) - cubics[:, 0] - cubics[:, 3]) / 4.0
    extended = torch.cat([points, quad], dim=0)
    n_points = points.shape[0]
    idx = seg_index.cpu().numpy()
    deg = degrees.numpy()
    seg_stroke = layout.seg_stroke.cpu().numpy()
    shut = np.zeros(layout.num_strokes, bool) if layout.closed is None else layout.closed.cpu().numpy()
    gather: list[int] = []
    # (stroke, first gather slot, end slot, first seg, end seg, closed) per diffvg path
    bounds: list[tuple[int, int, int, int, int, bool]] = []
    s = 0
    n_seg_total = idx.shape[0]
    for stroke in range(layout.num_strokes):
        closed = bool(shut[stroke])
        first_slot, first_seg = len(gather), s
        while s < n_seg_total and seg_stroke[s] == stroke:
            gather.append(int(idx[s, 0]))
            if deg[s] == QUADRATIC:
                gather.append(n_points + s)
            elif deg[s] == CUBIC:
                gather += [int(idx[s, 1]), int(idx[s, 2])]
            s += 1
            if closed and idx[s - 1, 3] != idx[s - 1, 0] + 3:  # back to its contour's first point
                bounds.append((stroke, first_slot, len(gather), first_seg, s, True))
                first_slot, first_seg = len(gather), s
        if not closed:
            gather.append(int(idx[s - 1, 3]))
            bounds.append((stroke, first_slot, len(gather), first_seg, s, False))
    flat = extended[torch.as_tensor(gather, dtype=torch.long, device=points.device)].to(
        device=device, dtype=torch.float32
    )
    # A stroke whose points all coincide is a round dot; diffvg draws nothing for a
    # zero-length path (and refuses a scene of only such), so its last point is moved
    # by ABS_TOL px: a dot to the eye, and the gradient is unchanged.
    host = points.detach().cpu().numpy()
    nudge = np.zeros((len(gather), 2), dtype=np.float32)
    for _stroke, _lo, hi, a, b, closed in bounds:
        first, last = int(idx[a, 0]), int(idx[b - 1, 3])
        if not closed and np.abs(host[first : last + 1] - host[first]).max() <= ABS_TOL:
            nudge[hi - 1, 0] = 2 * ABS_TOL
    if nudge.any():
        flat = flat + torch.from_numpy(nudge).to(flat.device)
    return [
        (stroke, torch.as_tensor(deg[a:b], dtype=torch.int32), flat[lo:hi].contiguous(), closed)
        for stroke, lo, hi, a, b, closed in bounds
    ]


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
    seed: int | None = None,
    fills: Tensor | None = None,
) -> Tensor:
    """Render with pydiffvg; returns ``[3, H, W]`` float32 in [0, 1], differentiable like ``render``.

    ``fills [S, 4]`` are the fill colours of the layout's closed paths (required when it
    has any). ``seed`` fixes diffvg's sample jitter; ``None`` derives it from the inputs.  Raises
    :class:`~clipdraw_core.errors.NumericalError` for NaN/inf inputs and
    :class:`~clipdraw_core.errors.ClipDrawError` when pydiffvg does not import.
    """
    pydiffvg = _import_pydiffvg()
    device = points.device
    bg = _background_tensor(background, device)  # the torch renderer's reading of it: RGB, RGBA
    if layout.num_strokes == 0:
        zero = points[:0].sum() + half_widths[:0].sum() + colors[:0].sum()  # 0, keeps the graph
        return (bg[:, None, None].expand(3, height, width) + zero).contiguous()
    _check_finite(points, half_widths, colors if fills is None else torch.cat([colors, fills]))
    if not bool(torch.isfinite(bg).all()):
        raise NumericalError("cannot render with diffvg: the background colour is not a number")
    n = max(2, int(samples))
    if seed is None:
        paint = colors if fills is None else torch.cat([colors, fills])
        seed = input_seed(points, half_widths, paint, width, height, n, bg)

    def on(run_device: torch.device) -> Tensor:
        return _apply(
            pydiffvg, run_device, points, half_widths, colors, fills, layout, width, height, bg, n, seed
        )

    # CUDA tensors go to diffvg's GPU path; a CPU-only build refuses it (a RuntimeError,
    # caught) and the scene is rendered on the CPU instead, the result moved back. Any
    # other device diffvg has no path for (MPS) renders on the CPU.
    cpu = torch.device("cpu")
    try:
        img = on(device if device.type == "cuda" else cpu)
    except RuntimeError as exc:
        if device.type != "cuda" or "not compiled with GPU" not in str(exc):
            raise
        logger.info("pydiffvg has no GPU support here; rendering on the CPU")
        img = on(cpu)
    return img[:, :, :3].to(device=device, dtype=torch.float32).permute(2, 0, 1).contiguous()


def _apply(
    pydiffvg: Any,
    run_device: torch.device,
    points: Tensor,
    half_widths: Tensor,
    colors: Tensor,
    fills: Tensor | None,
    layout: StrokeLayout,
    width: int,
    height: int,
    bg: Tensor,
    n: int,
    seed: int,
) -> Tensor:
    """One diffvg render on ``run_device``: ``[H, W, 4]`` composited over ``bg`` (alpha 1).

    A closed shape is a fill group of its contours' paths (diffvg sums their winding
    numbers, by the shape's rule: ``use_even_odd_rule``), then, when outlined, a second
    group of the same paths for the outline: two layers, fill under outline, as the
    torch renderer composites them.
    """
    pydiffvg.set_use_gpu(run_device.type == "cuda")
    pydiffvg.set_device(run_device)

    def on_device(t: Tensor) -> Tensor:
        return t.to(device=run_device, dtype=torch.float32).contiguous()

    shapes: list[Any] = []
    paths_of: dict[int, list[int]] = {}
    for i, counts, pts, closed_path in _stroke_paths(points, layout, run_device):
        paths_of.setdefault(i, []).append(len(shapes))
        shapes.append(
            pydiffvg.Path(
                num_control_points=counts,
                points=pts,
                stroke_width=on_device(half_widths[i]),
                is_closed=closed_path,
            )
        )

    def flags(t: Tensor | None, default: bool) -> np.ndarray:  # one host copy, not one per stroke
        return np.full(layout.num_strokes, default) if t is None else t.cpu().numpy()

    closed, outlined, evenodd = (
        flags(layout.closed, False),
        flags(layout.outlined, True),
        flags(layout.evenodd, False),
    )
    if closed.any() and fills is None:
        raise ConfigError(f"a layout with closed paths needs fills [{layout.num_strokes}, 4]")
    groups = []
    for i in range(layout.num_strokes):
        ids = torch.tensor(paths_of[i])
        if closed[i]:
            assert fills is not None
            groups.append(
                pydiffvg.ShapeGroup(
                    shape_ids=ids,
                    fill_color=on_device(fills[i]),
                    stroke_color=None,
                    use_even_odd_rule=bool(evenodd[i]),
                )
            )
        if not outlined[i]:
            continue
        groups.append(pydiffvg.ShapeGroup(shape_ids=ids, fill_color=None, stroke_color=on_device(colors[i])))
    scene_args = pydiffvg.RenderFunction.serialize_scene(width, height, shapes, groups)
    opaque = torch.ones(height, width, 1, dtype=torch.float32, device=run_device)
    background_image = torch.cat([bg.to(run_device)[None, None, :].expand(height, width, 3), opaque], dim=2)
    return pydiffvg.RenderFunction.apply(
        width, height, n, n, int(seed) % _SEED_MODULUS, background_image.contiguous(), *scene_args
    )
