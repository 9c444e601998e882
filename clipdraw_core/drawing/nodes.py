"""Node editing on cubic Bézier strokes: add, remove, split at, and join nodes.

A stroke's nodes are its anchor points ``points[0::3]``; segment ``k`` is
``points[3k : 3k + 4]``. Adding a node is de Casteljau's split, so the curve's shape is
exactly kept; splitting a stroke at a node and joining two strokes end to end keep it
too. Removing a node replaces its two segments by one cubic fitted to them by least
squares (end points and the outer tangent directions kept, Schneider's method from
:mod:`clipdraw_core.drawing.fitting`), so the shape is kept as far as one cubic can hold
it. Written here (a few lines of numpy) rather than taken from a library because they
work on our packed ``3k + 1`` point layout directly.
"""

from __future__ import annotations

import numpy as np

from clipdraw_core.drawing.fitting import _bezier, _chord_params, _generate_bezier, _reparameterize
from clipdraw_core.errors import ConfigError


def _segments(points: np.ndarray) -> int:
    return (len(points) - 1) // 3


def split_segment(points: np.ndarray, segment: int, t: float = 0.5) -> np.ndarray:
    """Add a node at parameter ``t`` of ``segment`` (de Casteljau): the same curve, one more node."""
    p = np.asarray(points, dtype=np.float64)
    if not 0 <= segment < _segments(p):
        raise ConfigError(f"the stroke has no segment {segment}")
    if not 0.0 < t < 1.0:
        raise ConfigError(f"a node is added strictly inside a segment (0 < t < 1), got {t}")
    p0, p1, p2, p3 = p[3 * segment : 3 * segment + 4]
    a, b, c = p0 + t * (p1 - p0), p1 + t * (p2 - p1), p2 + t * (p3 - p2)
    d, e = a + t * (b - a), b + t * (c - b)
    m = d + t * (e - d)
    return np.concatenate([p[: 3 * segment + 1], [a, d, m, e, c], p[3 * segment + 3 :]])


def remove_node(points: np.ndarray, node: int) -> np.ndarray:
    """Remove anchor ``node``; an end node drops its segment, an inner one merges two."""
    p = np.asarray(points, dtype=np.float64)
    k = _segments(p)
    if k < 2:
        raise ConfigError("a stroke of one segment keeps its two end nodes")
    if not 0 <= node <= k:
        raise ConfigError(f"the stroke has no node {node}")
    if node == 0:
        return p[3:]
    if node == k:
        return p[:-3]
    first, second = p[3 * node - 3 : 3 * node + 1], p[3 * node : 3 * node + 4]
    u = np.linspace(0, 1, 32)
    pts = np.concatenate([_bezier(first, u), _bezier(second, u)[1:]])
    t0, t1 = first[1] - first[0], second[2] - second[3]
    t0 = t0 / (np.linalg.norm(t0) or 1.0)
    t1 = t1 / (np.linalg.norm(t1) or 1.0)
    # Schneider's least squares along the outer tangents, reparametrised a few times
    # (the freehand fitter's own steps).
    params = _chord_params(pts)
    ctrl = _generate_bezier(pts, params, t0, t1)
    for _ in range(8):
        params = _reparameterize(pts, ctrl, params)
        ctrl = _generate_bezier(pts, params, t0, t1)
    merged = [ctrl[1], ctrl[2]]
    return np.concatenate([p[: 3 * node - 2], merged, p[3 * node + 3 :]])


def split_at_node(points: np.ndarray, node: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut a stroke in two at inner anchor ``node`` (both parts share that point)."""
    p = np.asarray(points, dtype=np.float64)
    if not 0 < node < _segments(p):
        raise ConfigError("a stroke is split at an inner node")
    return p[: 3 * node + 1], p[3 * node :]


def join_end_to_end(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One stroke: ``first``, a straight bridging segment if the ends differ, then ``second``."""
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if np.allclose(a[-1], b[0]):
        return np.concatenate([a, b[1:]])
    bridge = [a[-1] + (b[0] - a[-1]) / 3, a[-1] + 2 * (b[0] - a[-1]) / 3]
    return np.concatenate([a, bridge, b])
