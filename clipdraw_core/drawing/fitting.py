"""Freehand pointer samples -> a smooth chain of cubic Béziers (Schneider 1990).

Why our own implementation: the classic algorithm (Philip J. Schneider, "An Algorithm
for Automatically Fitting Digitized Curves", Graphics Gems, 1990) is not available in
any maintained Python package (the few ports on PyPI are unmaintained gists without
corner handling, bounds or vectorisation), and the GUI freehand tool, the raster
tracer and the engine's "add stroke from a polyline" command all need the same
predictable behaviour on hostile input. So it lives here, vectorised with numpy:

1. Clean-up: drop non-finite rows and duplicate consecutive points; one distinct point
   becomes a zero-length cubic (renders as a round dot), two a straight cubic.
2. Huge polylines (> ``_MAX_WORK_POINTS`` samples, e.g. a 50k-point trace) are resampled
   by arc length first, so the cost is bounded whatever the input size.
3. Corners: the turning angle at every sample is measured between chords that reach a
   few tolerances back and forward along the curve (not between neighbouring samples,
   which jitter makes useless); peaks above ``corner_angle_deg`` split the polyline and
   each piece is fitted on its own, so a "V" keeps its point.
4. Each piece: chord-length parameterisation, least-squares control points for fixed
   end tangents, Newton-Raphson reparameterisation while the error is close, and a
   split at the point of maximum error with a shared (smoothed) tangent there.
   End/centre tangents are averaged over a window of samples to resist jitter.
5. Bounded output: if more than ``max_segments`` cubics are needed the tolerance is
   raised (x1.5) and the fit repeated, so a scribble never yields thousands of segments.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any

import numpy as np

from clipdraw_core.drawing.strokes import MAX_SEGMENTS_PER_STROKE
from clipdraw_core.errors import ConfigError

logger = logging.getLogger(__name__)

#: Polylines longer than this are resampled by arc length before fitting.
_MAX_WORK_POINTS = 2000
_NEWTON_ITERATIONS = 4
_EPS = 1e-9


# --------------------------------------------------------------------------- helpers
def _clean(points: Any) -> np.ndarray:
    """Return finite float64 points [N, 2] with consecutive duplicates removed."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ConfigError(f"a polyline must have shape (N, 2), got {arr.shape}")
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        logger.warning("dropping %d non-finite polyline points", int((~finite).sum()))
        arr = arr[finite]
    if arr.shape[0] == 0:
        raise ConfigError("a polyline needs at least one finite point")
    if arr.shape[0] > 1:
        step = np.linalg.norm(np.diff(arr, axis=0), axis=1)
        keep = np.concatenate([[True], step > 1e-7])
        arr = arr[keep]
    return arr


def _arclength(p: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])


def _resample(p: np.ndarray, count: int) -> np.ndarray:
    """Resample a polyline to ``count`` points evenly spaced along its arc length."""
    s = _arclength(p)
    t = np.linspace(0.0, s[-1], count)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], axis=1)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > _EPS else np.zeros(2)


def _line_cubic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack([a, a + (b - a) / 3.0, a + 2.0 * (b - a) / 3.0, b])


def _bezier(ctrl: np.ndarray, u: np.ndarray) -> np.ndarray:
    u = u[:, None]
    v = 1.0 - u
    out: np.ndarray = v**3 * ctrl[0] + 3 * v * v * u * ctrl[1] + 3 * v * u * u * ctrl[2] + u**3 * ctrl[3]
    return out


def _bezier_d1(ctrl: np.ndarray, u: np.ndarray) -> np.ndarray:
    u = u[:, None]
    v = 1.0 - u
    d = 3.0 * np.diff(ctrl, axis=0)
    out: np.ndarray = v * v * d[0] + 2 * v * u * d[1] + u * u * d[2]
    return out


def _bezier_d2(ctrl: np.ndarray, u: np.ndarray) -> np.ndarray:
    u = u[:, None]
    d2 = 6.0 * np.diff(ctrl, n=2, axis=0)
    out: np.ndarray = (1.0 - u) * d2[0] + u * d2[1]
    return out


# --------------------------------------------------------------------------- tangents
def _tangent_radius(s: np.ndarray, tol: float) -> float:
    """Window (arc length) for tangent estimates: wide enough to average jitter out."""
    length = float(s[-1])
    return min(max(4.0 * tol, 0.2 * length), 0.5 * length)


def _local_tangent(p: np.ndarray, s: np.ndarray, i: int, lo: float, hi: float) -> np.ndarray:
    """Unit tangent (direction of increasing index) at sample i from a local quadratic fit.

    x(s) and y(s) are fitted with quadratics over the samples whose arc length lies in
    ``[lo, hi]``; the derivative at ``s[i]`` averages the jitter out and, unlike a chord
    or a centroid, is not biased by the curvature.
    """
    a = int(np.searchsorted(s, lo, side="left"))
    b = int(np.searchsorted(s, hi, side="right"))
    a, b = max(0, min(a, i - 1 if i > 0 else 0)), min(len(p), max(b, i + 2))
    ds = s[a:b] - s[i]
    scale = max(float(np.abs(ds).max()), _EPS)
    ds = ds / scale
    if b - a >= 4:
        design = np.stack([np.ones_like(ds), ds, ds * ds], axis=1)
        coef, *_ = np.linalg.lstsq(design, p[a:b], rcond=None)
        t = _unit(coef[1])
        if t.any():
            return t
    j0, j1 = (i - 1, i + 1) if 0 < i < len(p) - 1 else ((0, 1) if i == 0 else (i - 1, i))
    return _unit(p[j1] - p[j0])


def _end_tangents(p: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Schneider's tHat1 (leaving p[0]) and tHat2 (leaving p[-1] backwards into the curve)."""
    s = _arclength(p)
    r = _tangent_radius(s, tol)
    t1 = _local_tangent(p, s, 0, 0.0, r)
    t2 = -_local_tangent(p, s, len(p) - 1, s[-1] - r, s[-1])
    return t1, t2


def _centre_tangent(p: np.ndarray, i: int, tol: float) -> np.ndarray:
    """Unit tangent at interior sample i, pointing backwards (Schneider's convention)."""
    s = _arclength(p)
    r = _tangent_radius(s, tol)
    return -_local_tangent(p, s, i, s[i] - r, s[i] + r)


# --------------------------------------------------------------------------- Schneider
def _chord_params(p: np.ndarray) -> np.ndarray:
    s = _arclength(p)
    return s / s[-1] if s[-1] > _EPS else np.linspace(0.0, 1.0, len(p))


def _generate_bezier(p: np.ndarray, u: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Least-squares inner control points along fixed end tangents (Schneider's GenerateBezier)."""
    first, last = p[0], p[-1]
    v = 1.0 - u
    b0, b1, b2, b3 = v**3, 3 * u * v * v, 3 * u * u * v, u**3
    a1 = b1[:, None] * t1
    a2 = b2[:, None] * t2
    c00 = float((a1 * a1).sum())
    c01 = float((a1 * a2).sum())
    c11 = float((a2 * a2).sum())
    tmp = p - ((b0 + b1)[:, None] * first + (b2 + b3)[:, None] * last)
    x0 = float((a1 * tmp).sum())
    x1 = float((a2 * tmp).sum())
    det = c00 * c11 - c01 * c01
    seg_len = float(np.linalg.norm(last - first))
    alpha_l = alpha_r = 0.0
    if abs(det) > 1e-12:
        alpha_l = (x0 * c11 - x1 * c01) / det
        alpha_r = (c00 * x1 - c01 * x0) / det
    eps = 1e-6 * max(seg_len, 1e-3)
    if not (math.isfinite(alpha_l) and math.isfinite(alpha_r)) or alpha_l < eps or alpha_r < eps:
        # Wu/Barsky heuristic: a third of the chord along each tangent.
        alpha_l = alpha_r = seg_len / 3.0
    return np.stack([first, first + alpha_l * t1, last + alpha_r * t2, last])


def _max_error(p: np.ndarray, ctrl: np.ndarray, u: np.ndarray) -> tuple[float, int]:
    d2 = ((_bezier(ctrl, u) - p) ** 2).sum(axis=1)
    if len(p) <= 2:
        return 0.0, len(p) // 2
    inner = d2[1:-1]
    i = int(np.argmax(inner)) + 1
    return float(d2[i]), i


def _reparameterize(p: np.ndarray, ctrl: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Newton-Raphson step towards the closest curve parameter for every sample."""
    q = _bezier(ctrl, u) - p
    q1 = _bezier_d1(ctrl, u)
    q2 = _bezier_d2(ctrl, u)
    num = (q * q1).sum(axis=1)
    den = (q1 * q1).sum(axis=1) + (q * q2).sum(axis=1)
    step = np.where(np.abs(den) > _EPS, num / np.where(np.abs(den) > _EPS, den, 1.0), 0.0)
    new = np.clip(u - step, 0.0, 1.0)
    new[0], new[-1] = 0.0, 1.0
    # Keep the parameterisation monotone; Newton can cross neighbours on tight curves.
    return np.maximum.accumulate(new)


def _fit_piece(p: np.ndarray, tol: float, budget: int) -> list[np.ndarray] | None:
    """Fit one corner-free piece; None when more than ``budget`` segments would be needed."""
    if len(p) == 2:
        return [_line_cubic(p[0], p[1])]
    tol2 = tol * tol
    out: list[np.ndarray] = []
    # Work stack of (points, left tangent, right tangent); popped left-to-right.
    stack = [(p, *_end_tangents(p, tol))]
    while stack:
        q, t1, t2 = stack.pop()
        if len(q) == 2:
            out.append(_line_cubic(q[0], q[1]))
        else:
            u = _chord_params(q)
            ctrl = _generate_bezier(q, u, t1, t2)
            err, split = _max_error(q, ctrl, u)
            if err > tol2 and err < 16.0 * tol2:
                for _ in range(_NEWTON_ITERATIONS):
                    u = _reparameterize(q, ctrl, u)
                    ctrl = _generate_bezier(q, u, t1, t2)
                    err, split = _max_error(q, ctrl, u)
                    if err <= tol2:
                        break
            if err <= tol2:
                out.append(ctrl)
            else:
                tc = _centre_tangent(q, split, tol)
                # right half first so the left half is popped (and emitted) first
                stack.append((q[split:], -tc, t2))
                stack.append((q[: split + 1], t1, tc))
        if len(out) + len(stack) > budget:
            return None
    return out


def _corners(p: np.ndarray, angle_deg: float, radius: float, limit: int) -> list[int]:
    """Indices of (at most ``limit``) samples where the curve turns by more than ``angle_deg``.

    The turn is measured between chords reaching ``radius`` back and forward along the
    curve; only the sharpest sample within ``radius`` of another corner is kept.
    """
    n = len(p)
    if n < 3 or angle_deg >= 180.0 or limit <= 0:
        return []
    s = _arclength(p)
    idx = np.arange(n)
    back = np.minimum(np.searchsorted(s, s - radius, side="right") - 1, idx - 1).clip(0)
    fwd = np.maximum(np.searchsorted(s, s + radius, side="left"), idx + 1).clip(max=n - 1)
    vin = p - p[back]
    vout = p[fwd] - p
    nin = np.linalg.norm(vin, axis=1)
    nout = np.linalg.norm(vout, axis=1)
    ok = (nin > _EPS) & (nout > _EPS)
    ok[0] = ok[-1] = False
    cos = np.where(ok, (vin * vout).sum(axis=1) / np.where(ok, nin * nout, 1.0), 1.0)
    turn = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    cand = np.nonzero(ok & (turn > angle_deg))[0]
    if cand.size == 0:
        return []
    lo = np.searchsorted(s, s - radius, side="left")
    hi = np.searchsorted(s, s + radius, side="right")
    blocked = np.zeros(n, dtype=bool)
    chosen: list[int] = []
    for i in cand[np.argsort(-turn[cand], kind="stable")]:
        if blocked[i]:
            continue
        chosen.append(int(i))
        blocked[lo[i] : hi[i]] = True
        if len(chosen) >= limit:
            break
    return sorted(chosen)


def _fit(p: np.ndarray, tol: float, max_segments: int, corner_angle_deg: float) -> list[np.ndarray] | None:
    radius = max(3.0 * tol, 1e-3)
    # At most half the segment budget goes to corners (the sharpest ones win).
    corners = _corners(p, corner_angle_deg, radius, max_segments // 2)
    bounds = [0, *corners, len(p) - 1]
    segments: list[np.ndarray] = []
    for a, b in itertools.pairwise(bounds):
        piece = _fit_piece(p[a : b + 1], tol, max_segments - len(segments))
        if piece is None:
            return None
        segments.extend(piece)
    return segments


# --------------------------------------------------------------------------- public API
def fit_polyline(
    points: Any,
    tolerance: float = 1.0,
    *,
    max_segments: int = 64,
    corner_angle_deg: float = 60.0,
) -> np.ndarray:
    """Fit a polyline ``[N, 2]`` (pixels) with cubic Béziers; return ``[3k+1, 2]`` float32.

    ``tolerance`` is the wanted maximum distance (px) between samples and the curve;
    it is raised automatically when more than ``max_segments`` cubics would be needed.
    Turns sharper than ``corner_angle_deg`` are kept as corners. One distinct point gives
    a zero-length cubic (a round dot once stroked), two points a straight cubic.
    """
    tol = float(tolerance)
    if not math.isfinite(tol) or tol <= 0:
        raise ConfigError(f"fitting tolerance must be a positive number, got {tolerance!r}")
    max_segments = int(max_segments)
    if max_segments < 1:
        raise ConfigError(f"max_segments must be at least 1, got {max_segments}")
    max_segments = min(max_segments, MAX_SEGMENTS_PER_STROKE)
    p = _clean(points)
    if len(p) == 1:
        return np.repeat(p, 4, axis=0).astype(np.float32)
    if len(p) == 2:
        return _line_cubic(p[0], p[1]).astype(np.float32)
    if len(p) > _MAX_WORK_POINTS:
        logger.debug("resampling a %d-point polyline to %d points", len(p), _MAX_WORK_POINTS)
        p = _clean(_resample(p, _MAX_WORK_POINTS))
    segments = None
    for _ in range(40):
        segments = _fit(p, tol, max_segments, corner_angle_deg)
        if segments is not None:
            break
        tol *= 1.5
    if segments is None:  # pragma: no cover - 40 x1.5 covers any canvas size
        segments = [_line_cubic(p[0], p[-1])]
    if tol != float(tolerance):
        logger.debug("raised fitting tolerance to %.3g px to stay within %d segments", tol, max_segments)
    out = np.concatenate([segments[0]] + [seg[1:] for seg in segments[1:]], axis=0)
    return out.astype(np.float32)


def fit_freehand(
    points: Any,
    pressure: Any = None,
    *,
    tolerance: float = 1.0,
    half_width: float = 1.0,
) -> tuple[np.ndarray, float]:
    """Fit a freehand pointer trace; return ``(control points [3k+1, 2], half-width)``.

    ``points`` is ``[N, 2]`` (extra columns such as timestamps are ignored). ``pressure``
    (optional, ``N`` values in 0..1, NaN ignored) scales the width: the result is
    ``half_width * (0.5 + mean pressure)``, i.e. the nominal width at pressure 0.5, half
    of it at 0 and 1.5x at full pressure. Without pressure the width is ``half_width``.
    """
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] > 2:
        arr = arr[:, :2]
    hw = float(half_width)
    if not math.isfinite(hw) or hw < 0:
        raise ConfigError(f"half_width must be a finite number >= 0, got {half_width!r}")
    if pressure is not None:
        pr = np.asarray(pressure, dtype=np.float64).reshape(-1)
        if arr.ndim == 2 and pr.shape[0] != arr.shape[0]:
            raise ConfigError(f"got {pr.shape[0]} pressure values for {arr.shape[0]} points")
        pr = pr[np.isfinite(pr)]
        if pr.size:
            hw = hw * (0.5 + float(np.clip(pr, 0.0, 1.0).mean()))
    return fit_polyline(arr, tolerance), hw
