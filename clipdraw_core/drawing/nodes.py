"""Node editing on cubic Bézier strokes: add, remove, split at, and join nodes.

A stroke's nodes are its anchor points ``points[0::3]``; segment ``k`` is
``points[3k : 3k + 4]``. Adding a node is de Casteljau's split, so the curve's shape is
exactly kept; splitting a stroke at a node and joining two strokes end to end keep it
too. Removing a node replaces its two segments by one cubic fitted to them by least
squares (end points and the outer tangent directions kept, Schneider's method from
:mod:`clipdraw_core.drawing.fitting`), so the shape is kept as far as one cubic can hold
it. Written here (a few lines of numpy) rather than taken from a library because they
work on our packed ``3k + 1`` point layout directly.

Filled closed shapes (``Stroke.closed``; a compound shape has several contours, see
:mod:`clipdraw_core.drawing.strokes`) are edited through the Stroke-level functions at
the end (:func:`add_node`, :func:`delete_node`, :func:`split_stroke`,
:func:`join_strokes`), which keep every contour closed and its segment count in
``subpaths`` right, as Inkscape does: a closed contour's start/end node is one node.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from clipdraw_core.drawing.fitting import _bezier, _chord_params, _generate_bezier, _reparameterize
from clipdraw_core.drawing.strokes import Stroke
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


# --------------------------------------------------------------------------- strokes and shapes
# The functions below take a whole Stroke, so they know whether it is an open path or a
# filled closed shape (one contour, or several for a compound shape such as a donut).
# A closed contour of ``k`` segments stores ``3k`` points and its last segment returns
# to its own first point, so its start/end node is stored once and is one node here.
# Nodes are numbered as for open strokes, anchors ``points[0::3]`` of the whole stroke
# (contour after contour); segments likewise, contour after contour.

#: Fewest nodes a closed contour keeps when a node is deleted (two make a lens or a
#: circle; one would leave a loop on a single point).
MIN_CONTOUR_NODES = 2


def _contour_spans(stroke: Stroke) -> list[tuple[int, int]]:
    """``(first point, segment count)`` of each closed contour, in point order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for k in stroke.contours:
        spans.append((start, k))
        start += 3 * k
    return spans


def _locate(stroke: Stroke, index: int) -> tuple[int, int, int]:
    """Contour number, its first point and its segment count for node/segment ``index``."""
    first = 0
    for c, (start, k) in enumerate(_contour_spans(stroke)):
        if index < first + k:
            return c, start, k
        first += k
    raise ConfigError(f"the shape has no node or segment {index}")


def _edited(stroke: Stroke, points: np.ndarray, contours: list[int] | None = None) -> Stroke:
    """The stroke with new geometry; a node edit drops the soft lock (its anchor no longer fits)."""
    subpaths = tuple(contours) if contours is not None and len(contours) > 1 else ()
    return replace(stroke, points=points, subpaths=subpaths, anchor=None, respect=0.0)


def segment_controls(stroke: Stroke) -> list[np.ndarray]:
    """Each segment's four control points, contour after contour (closing segments included)."""
    p = np.asarray(stroke.points, dtype=np.float64)
    if not stroke.closed:
        return [p[3 * k : 3 * k + 4] for k in range(_segments(p))]
    out: list[np.ndarray] = []
    for start, k in _contour_spans(stroke):
        ring = np.concatenate([p[start : start + 3 * k], p[start : start + 1]])
        out.extend(ring[3 * j : 3 * j + 4] for j in range(k))
    return out


def anchor_handles(stroke: Stroke, point: int) -> list[int]:
    """Indices of the handles next to anchor ``point`` (a point index, multiple of 3).

    On a closed contour the start node's handles are its second point and the contour's
    last point (the closing segment's second handle), not a neighbouring contour's.
    """
    n = int(stroke.points.shape[0])
    if not stroke.closed:
        return [i for i in (point - 1, point + 1) if 0 <= i < n]
    _, start, k = _locate(stroke, point // 3)
    local = point - start
    return [start + (local - 1) % (3 * k), start + (local + 1) % (3 * k)]


def add_node(stroke: Stroke, segment: int, t: float = 0.5) -> Stroke:
    """Add a node at ``t`` of ``segment`` (any contour's, closing segments too); the curve is kept."""
    if not stroke.closed:
        return _edited(stroke, split_segment(stroke.points, segment, t))
    if not 0 <= segment < stroke.num_segments:
        raise ConfigError(f"the shape has no segment {segment}")
    c, start, k = _locate(stroke, segment)
    p = np.asarray(stroke.points, dtype=np.float64)
    ring = np.concatenate([p[start : start + 3 * k], p[start : start + 1]])  # opened at its start
    local = segment - start // 3
    ring = split_segment(ring, local, t)[:-1]  # closed again: 3(k + 1) points
    contours = list(stroke.contours)
    contours[c] += 1
    return _edited(stroke, np.concatenate([p[:start], ring, p[start + 3 * k :]]), contours)


def delete_node(stroke: Stroke, node: int) -> Stroke:
    """Remove node ``node``; on a closed contour its two segments become one and the contour stays closed."""
    if not stroke.closed:
        return _edited(stroke, remove_node(stroke.points, node))
    if not 0 <= node < stroke.num_segments:
        raise ConfigError(f"the shape has no node {node}")
    c, start, k = _locate(stroke, node)
    if k <= MIN_CONTOUR_NODES:
        raise ConfigError(f"a closed contour keeps at least {MIN_CONTOUR_NODES} nodes")
    p = np.asarray(stroke.points, dtype=np.float64)
    contour, local = p[start : start + 3 * k], node - start // 3
    if local == 0:  # the start node goes: the next node becomes the contour's start
        contour, local = np.roll(contour, -3, axis=0), k - 1
    ring = remove_node(np.concatenate([contour, contour[:1]]), local)[:-1]
    contours = list(stroke.contours)
    contours[c] -= 1
    return _edited(stroke, np.concatenate([p[:start], ring, p[start + 3 * k :]]), contours)


def split_stroke(stroke: Stroke, node: int) -> tuple[Stroke, np.ndarray | None]:
    """Break a stroke at ``node``: ``(edited stroke, points of the new second stroke or None)``.

    An open stroke is cut in two at an inner node. A one-contour shape is *opened* at the
    node: it becomes an open stroke from that node round to itself (Inkscape's Break Path),
    keeping its outline colour and width (a zero width becomes a visible 1.0 half-width);
    we draw no fill on open strokes, so the fill goes. A compound shape is refused: opening
    one contour of a donut would leave a shape that is half filled, half not.
    """
    if not stroke.closed:
        first, second = split_at_node(stroke.points, node)
        return _edited(stroke, first), second
    if len(stroke.contours) > 1:
        raise ConfigError("cannot split a compound shape (several contours) at a node")
    k = stroke.num_segments
    if not 0 <= node < k:
        raise ConfigError(f"the shape has no node {node}")
    ring = np.roll(np.asarray(stroke.points, dtype=np.float64), -3 * node, axis=0)
    opened = replace(
        stroke,
        points=np.concatenate([ring, ring[:1]]),
        fill=None,
        outlined=True,
        fill_rule="nonzero",
        subpaths=(),
        half_width=stroke.half_width or 1.0,
        anchor=None,
        respect=0.0,
    )
    return opened, None


def join_strokes(first: Stroke, second: Stroke) -> Stroke:
    """``first`` joined end to end with ``second`` (its id and style); closed shapes are refused."""
    if first.closed or second.closed:
        raise ConfigError("closed shapes cannot be joined end to end; only open strokes join")
    return _edited(first, join_end_to_end(first.points, second.points))
