"""The drawing as plain data: strokes with stable ids, and CLIPDraw's random init.

A :class:`Stroke` is one open path of ``k`` cubic Bézier segments, stored as
``3k + 1`` control points in canvas pixel units (x right, y down, pixel ``(i, j)``
covering ``[i, i+1] x [j, j+1]``, the SVG convention). Widths are *half*-widths, as in
diffvg and the original CLIPDraw code (a half-width of 1.0 is a 2 px line); the SVG
exporter writes the full width. Colours are straight (non-premultiplied) RGBA in [0, 1].

A stroke with a ``fill`` colour is a *closed shape*: ``3k`` control points whose last
segment returns to the first point (so the optimiser cannot open the loop), filled by
its ``fill_rule`` (``"nonzero"`` winding, the default, or ``"evenodd"``, as SVG), with
its outline (``color``/``half_width``) drawn on top only when ``outlined`` is set.
A *compound* shape (a letter "O", a donut) has several closed contours filled as one:
``subpaths`` holds each contour's segment count (``(k1, k2, ...)``, summing to the
shape's segments) and the points are the contours' ``3k1 + 3k2 + ...`` points one after
the other, each contour's last segment returning to its own first point. The holes are
where the fill rule leaves the winding number out (a contour drawn the other way round
cuts a hole under either rule, one drawn the same way only under ``"evenodd"``).

Everything here is immutable (frozen dataclasses, read-only numpy arrays) so a
:class:`Drawing` can be handed across threads (engine -> GUI) without copies or locks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from clipdraw_core.errors import ConfigError, FileFormatError
from clipdraw_core.validation import (
    MAX_COORDINATE,
    MAX_HALF_WIDTH,
    MAX_STROKE_ID,
    bool_value,
    float32_array,
    float32_value,
    int_value,
)

#: Upper bound on strokes in one drawing: beyond this the optimisation is useless
#: and memory grows without bound; the front ends report it as a clear error.
MAX_STROKES = 5000
#: Upper bound on cubic segments in one stroke (fitted freehand strokes included).
MAX_SEGMENTS_PER_STROKE = 512
#: How a closed shape's interior is decided from the winding number ``w`` of a point:
#: ``w != 0`` ("nonzero") or ``w`` odd ("evenodd"), SVG's ``fill-rule`` values.
FILL_RULES: tuple[str, ...] = ("nonzero", "evenodd")
#: Canvas sizes (px per side) that render sensibly.
MIN_CANVAS = 16
MAX_CANVAS = 4096


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def as_points(points: Any, closed: bool = False) -> np.ndarray:
    """Validate control points: ``(3k+1, 2)`` (``(3k, 2)`` if closed), finite; a read-only float32 copy."""
    arr = float32_array(points, "stroke points", bound=MAX_COORDINATE)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ConfigError(f"stroke points must have shape (3k+1, 2), got {arr.shape}")
    n = arr.shape[0]
    if closed:
        if n < 3 or n % 3 != 0:
            raise ConfigError(f"a closed cubic shape needs 3k control points (k >= 1), got {n}")
    elif n < 4 or (n - 1) % 3 != 0:
        raise ConfigError(f"a cubic stroke needs 3k+1 control points (k >= 1), got {n}")
    if n // 3 > MAX_SEGMENTS_PER_STROKE:
        raise ConfigError(f"a stroke may have at most {MAX_SEGMENTS_PER_STROKE} segments")
    return _readonly(arr)


def _as_subpaths(subpaths: Any, num_points: int) -> tuple[int, ...]:
    """Validate a compound shape's contour segment counts; ``()`` for a single contour."""
    if subpaths is None:
        return ()
    if isinstance(subpaths, (str, bytes)) or not isinstance(subpaths, Iterable):
        raise ConfigError(f"a shape's subpaths must be a list of segment counts, got {subpaths!r}")
    what = "a subpath's segment count"
    counts = tuple(int_value(k, what, low=1, high=MAX_SEGMENTS_PER_STROKE) for k in subpaths)
    if counts and 3 * sum(counts) != num_points:
        raise ConfigError(
            f"a compound shape's subpaths ({', '.join(map(str, counts))} segments) must add up to its "
            f"{num_points // 3} segments"
        )
    return counts if len(counts) > 1 else ()  # one contour: the plain closed shape


def _as_color(color: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        items = list(color)
    except TypeError:
        raise ConfigError(f"colour must be 3 or 4 finite numbers, got {color!r}") from None
    if len(items) not in (3, 4):
        raise ConfigError(f"colour must be 3 or 4 finite numbers, got {len(items)} values")
    values = [float32_value(c, "a colour component") for c in items]
    if len(values) == 3:
        values.append(1.0)
    # Stored at float32 precision, the precision of the engine's tensors, so a stroke
    # compares equal after a trip through a session, a project file or a snapshot.
    return tuple(float(np.float32(min(1.0, max(0.0, v)))) for v in values)  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Anchor:
    """Where a soft-locked stroke was when its strength was set (points, width, colour)."""

    points: np.ndarray
    half_width: float
    color: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", as_points(self.points))
        object.__setattr__(self, "color", _as_color(self.color))
        hw = float32_value(self.half_width, "an anchor's half-width", low=0.0, high=MAX_HALF_WIDTH)
        object.__setattr__(self, "half_width", hw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Anchor):
            return NotImplemented
        return (
            self.half_width == other.half_width
            and self.color == other.color
            and np.array_equal(self.points, other.points)
        )

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return {
            # Not "points": a project's raw-bytes precheck counts those as strokes.
            "at_points": [[float(x), float(y)] for x, y in self.points],
            "half_width": self.half_width,
            "color": list(self.color),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Anchor:
        return cls(data["at_points"], data["half_width"], data["color"])


@dataclass(frozen=True, eq=False)
class Stroke:
    """One cubic Bézier path with colour and width; with ``fill``, a closed shape (see module docstring).

    ``respect`` (0..1) is the soft lock: between 0 (free) and 1 (held like a frozen
    stroke) a penalty keeps the stroke near ``anchor`` (see
    :mod:`clipdraw_core.optim.softlock`).
    """

    id: int
    points: np.ndarray
    half_width: float = 1.0
    color: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    frozen: bool = False
    respect: float = 0.0
    anchor: Anchor | None = None
    #: Fill colour (straight RGBA, alpha = fill opacity) of a closed shape; None = open stroke.
    fill: tuple[float, float, float, float] | None = None
    #: Whether the path's stroke is drawn (always for open strokes; optional for shapes).
    outlined: bool = True
    #: How a shape is filled: one of :data:`FILL_RULES` (always "nonzero" for open strokes).
    fill_rule: str = "nonzero"
    #: Segment counts of a compound shape's closed contours, in point order; ``()`` = one contour.
    subpaths: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.fill is not None:
            object.__setattr__(self, "fill", _as_color(self.fill))
        outlined = bool_value(self.outlined, "a shape's outlined flag")
        object.__setattr__(self, "outlined", outlined or self.fill is None)
        object.__setattr__(self, "points", as_points(self.points, self.fill is not None))
        if self.fill_rule not in FILL_RULES:
            rules = ", ".join(FILL_RULES)
            raise ConfigError(f"a shape's fill rule must be one of {rules}, got {self.fill_rule!r}")
        if self.fill is None:
            if self.subpaths is not None and len(self.subpaths) > 1:
                raise ConfigError("only a filled shape can have several subpaths")
            object.__setattr__(self, "fill_rule", "nonzero")  # nothing to fill
            object.__setattr__(self, "subpaths", ())
        else:
            object.__setattr__(self, "subpaths", _as_subpaths(self.subpaths, int(self.points.shape[0])))
        object.__setattr__(self, "color", _as_color(self.color))
        hw = float32_value(self.half_width, "stroke half-width", low=0.0, high=MAX_HALF_WIDTH)
        object.__setattr__(self, "half_width", hw)
        object.__setattr__(self, "id", int_value(self.id, "stroke id", low=0, high=MAX_STROKE_ID))
        object.__setattr__(self, "frozen", bool_value(self.frozen, "a stroke's frozen flag"))
        respect = self.respect
        if isinstance(respect, bool) or not isinstance(respect, (int, float, np.integer, np.floating)):
            raise ConfigError(f"a stroke's respect (soft lock) must be a number, got {respect!r}")
        if not 0.0 <= float(respect) <= 1.0:  # NaN fails too
            raise ConfigError(f"a stroke's respect (soft lock) must be between 0 and 1, got {respect!r}")
        object.__setattr__(self, "respect", float(respect))
        if self.anchor is not None and self.anchor.points.shape != self.points.shape:
            raise ConfigError("a stroke's anchor must have as many points as the stroke")

    @property
    def closed(self) -> bool:
        """A filled closed shape (``3k`` points) rather than an open stroke (``3k + 1``)."""
        return self.fill is not None

    @property
    def num_segments(self) -> int:
        n = int(self.points.shape[0])
        return n // 3 if self.fill is not None else (n - 1) // 3

    @property
    def contours(self) -> tuple[int, ...]:
        """Segment counts of the closed contours (one entry unless compound); ``()`` for open strokes."""
        if self.fill is None:
            return ()
        return self.subpaths or (self.num_segments,)

    def contour_points(self) -> list[np.ndarray]:
        """Each closed contour's ``3k`` points (views), in order; ``[points]`` for an open stroke."""
        if self.fill is None:
            return [self.points]
        out, start = [], 0
        for k in self.contours:
            out.append(self.points[start : start + 3 * k])
            start += 3 * k
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stroke):
            return NotImplemented
        return (
            self.id == other.id
            and self.half_width == other.half_width
            and self.color == other.color
            and self.frozen == other.frozen
            and self.respect == other.respect
            and self.anchor == other.anchor
            and self.fill == other.fill
            and self.outlined == other.outlined
            and self.fill_rule == other.fill_rule
            and self.subpaths == other.subpaths
            and np.array_equal(self.points, other.points)
        )

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "points": [[float(x), float(y)] for x, y in self.points],
            "half_width": self.half_width,
            "color": list(self.color),
            "frozen": self.frozen,
        }
        if self.respect:
            data["respect"] = self.respect
        if self.anchor is not None:
            data["anchor"] = self.anchor.to_dict()
        if self.fill is not None:  # open strokes keep the old record (older apps read it)
            data["fill"] = list(self.fill)
            data["outlined"] = self.outlined
            data.update(self._shape_extras())
        return data

    def _shape_extras(self) -> dict[str, Any]:
        """The fill rule and subpaths when not the defaults (so a plain shape's record is unchanged)."""
        extras: dict[str, Any] = {}
        if self.fill_rule != "nonzero":
            extras["fill_rule"] = self.fill_rule
        if self.subpaths:
            extras["subpaths"] = list(self.subpaths)
        return extras

    def to_plain(self) -> dict[str, Any]:
        """Plain data for another process: like :meth:`to_dict` but points stay a numpy array."""
        data: dict[str, Any] = {
            "id": self.id,
            "points": np.array(self.points),
            "half_width": self.half_width,
            "color": list(self.color),
            "frozen": self.frozen,
            **({"respect": self.respect} if self.respect else {}),
            **({"anchor": self.anchor.to_dict()} if self.anchor is not None else {}),
        }
        if self.fill is not None:
            data["fill"] = list(self.fill)
            data["outlined"] = self.outlined
            data.update(self._shape_extras())
        return data

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> Stroke:
        """Inverse of :meth:`to_plain` (values are validated as for any stroke)."""
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stroke:
        try:
            return cls(
                id=data["id"],
                points=data["points"],
                half_width=data.get("half_width", 1.0),
                color=data.get("color", (0, 0, 0, 1)),
                frozen=data.get("frozen", False),
                respect=data.get("respect", 0.0),
                anchor=Anchor.from_dict(data["anchor"]) if data.get("anchor") else None,
                fill=None if data.get("fill") is None else tuple(data["fill"]),
                outlined=data.get("outlined", True),
                fill_rule=data.get("fill_rule", "nonzero"),
                subpaths=data.get("subpaths") or (),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise FileFormatError(f"invalid stroke record: {exc}") from exc


@dataclass(frozen=True)
class Drawing:
    """A canvas size, a background colour and strokes in paint order (first = bottom)."""

    width: int = 224
    height: int = 224
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    strokes: tuple[Stroke, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strokes", tuple(self.strokes))
        bg = _as_color(self.background)[:3]
        object.__setattr__(self, "background", bg)
        check_canvas_size(self.width, self.height)
        ids = [s.id for s in self.strokes]
        if len(set(ids)) != len(ids):
            raise ConfigError("stroke ids must be unique within a drawing")

    @property
    def ids(self) -> list[int]:
        return [s.id for s in self.strokes]

    def stroke(self, stroke_id: int) -> Stroke:
        for s in self.strokes:
            if s.id == stroke_id:
                return s
        raise KeyError(stroke_id)

    def with_strokes(self, strokes: Iterable[Stroke]) -> Drawing:
        return replace(self, strokes=tuple(strokes))

    def next_id(self) -> int:
        return max((s.id for s in self.strokes), default=-1) + 1

    def scaled(self, width: int, height: int) -> Drawing:
        """The same drawing at another pixel size: points scaled per axis, widths by the mean.

        Ids, colours, fills, frozen flags and paint order are kept (a PNG export at any width).
        """
        sx, sy = width / self.width, height / self.height
        factor = np.array([sx, sy], dtype=np.float64)
        mean = (sx + sy) / 2
        strokes = [
            replace(s, points=s.points.astype(np.float64) * factor, half_width=s.half_width * mean)
            for s in self.strokes
        ]
        return Drawing(width, height, self.background, tuple(strokes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "background": list(self.background),
            "strokes": [s.to_dict() for s in self.strokes],
        }

    def to_plain(self) -> dict[str, Any]:
        """Plain data for another process (stroke points as numpy arrays, no lists of lists)."""
        return {
            "width": self.width,
            "height": self.height,
            "background": list(self.background),
            "strokes": [s.to_plain() for s in self.strokes],
        }

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> Drawing:
        """Inverse of :meth:`to_plain`."""
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Drawing:
        try:
            strokes = data.get("strokes", [])
            if not isinstance(strokes, list):
                raise TypeError("'strokes' must be a list")
            if len(strokes) > MAX_STROKES:
                raise ConfigError(f"too many strokes ({len(strokes)} > {MAX_STROKES})")
            return cls(
                width=data["width"],
                height=data["height"],
                background=tuple(data.get("background", (1.0, 1.0, 1.0))),
                strokes=tuple(Stroke.from_dict(s) for s in strokes),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, FileFormatError):
                raise
            raise FileFormatError(f"invalid drawing record: {exc}") from exc


def check_canvas_size(width: int, height: int) -> None:
    """Reject canvas sizes that cannot be rendered sensibly."""
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise ConfigError(f"canvas {name} must be an integer, got {v!r}")
        if not MIN_CANVAS <= int(v) <= MAX_CANVAS:
            raise ConfigError(f"canvas {name} must be between {MIN_CANVAS} and {MAX_CANVAS} px, got {v}")


def check_stroke_count(n: int, *, allow_zero: bool = False) -> int:
    """Validate a requested number of strokes (``--paths``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ConfigError(f"stroke count must be an integer, got {n!r}")
    low = 0 if allow_zero else 1
    if not low <= int(n) <= MAX_STROKES:
        raise ConfigError(f"stroke count must be between {low} and {MAX_STROKES}, got {n}")
    return int(n)


def random_walk_strokes(
    count: int,
    width: int,
    height: int,
    rng: random.Random,
    *,
    first_id: int = 0,
    min_segments: int = 1,
    max_segments: int = 3,
    half_width: float = 1.0,
    radius: float = 0.1,
) -> list[Stroke]:
    """CLIPDraw's initial strokes, drawn exactly as the original notebook draws them.

    Each path gets ``randint(min_segments, max_segments)`` cubic segments; ``p0`` is
    uniform in the unit square and every next control point is the previous one plus
    ``radius * (rand() - 0.5)`` per coordinate; the points are then scaled to the
    canvas. Colours are four uniform randoms (RGBA). Python's ``random`` module is
    used, in the original's call order, so a seed reproduces the original scene.
    """
    strokes: list[Stroke] = []
    for i in range(count):
        num_segments = rng.randint(min_segments, max_segments)
        p0 = (rng.random(), rng.random())
        pts = [p0]
        for _ in range(num_segments):
            p1 = (p0[0] + radius * (rng.random() - 0.5), p0[1] + radius * (rng.random() - 0.5))
            p2 = (p1[0] + radius * (rng.random() - 0.5), p1[1] + radius * (rng.random() - 0.5))
            p3 = (p2[0] + radius * (rng.random() - 0.5), p2[1] + radius * (rng.random() - 0.5))
            pts += [p1, p2, p3]
            p0 = p3
        arr = np.asarray(pts, dtype=np.float64) * np.array([width, height], dtype=np.float64)
        color = (rng.random(), rng.random(), rng.random(), rng.random())
        strokes.append(Stroke(first_id + i, arr, half_width, color))
    return strokes


def random_shapes(
    count: int,
    width: int,
    height: int,
    rng: random.Random,
    *,
    first_id: int = 0,
    min_segments: int = 3,
    max_segments: int = 5,
    radius: float = 0.1,
    outline: bool = False,
    half_width: float = 1.0,
) -> list[Stroke]:
    """Random closed filled shapes, the fill counterpart of :func:`random_walk_strokes`.

    Each shape is a star-shaped blob: ``k = randint(min_segments, max_segments)``
    anchors at increasing angles around a uniform centre, at distances
    ``radius * (0.5 + rand())`` of the canvas (per axis), joined by cubics whose handles
    lie a third of the way along the chords, so it starts as a simple (non
    self-intersecting) polygon-like blob the optimiser can bend.  Colours are four
    uniform randoms (RGBA, the alpha being the fill opacity), like the strokes'.
    """
    shapes: list[Stroke] = []
    for i in range(count):
        k = rng.randint(min_segments, max_segments)
        cx, cy = rng.random(), rng.random()
        phase = rng.random() * 2.0 * math.pi
        anchors = []
        for j in range(k):
            angle = phase + 2.0 * math.pi * (j + 0.8 * (rng.random() - 0.5)) / k
            dist = radius * (0.5 + rng.random())
            anchors.append((cx + dist * math.cos(angle), cy + dist * math.sin(angle)))
        pts: list[tuple[float, float]] = []
        for j in range(k):
            a, b = anchors[j], anchors[(j + 1) % k]
            pts += [a, (a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3)]
            pts.append((a[0] + 2 * (b[0] - a[0]) / 3, a[1] + 2 * (b[1] - a[1]) / 3))
        arr = np.asarray(pts, dtype=np.float64) * np.array([width, height], dtype=np.float64)
        fill = (rng.random(), rng.random(), rng.random(), rng.random())
        shapes.append(Stroke(first_id + i, arr, half_width, (*fill[:3], 1.0), fill=fill, outlined=outline))
    return shapes


def default_scene(seed: int = 0, num_paths: int = 256, size: int = 224) -> Drawing:
    """The default CLIPDraw scene (used by tests and benchmarks)."""
    rng = random.Random(seed)
    return Drawing(size, size, (1.0, 1.0, 1.0), tuple(random_walk_strokes(num_paths, size, size, rng)))


def shapes_scene(seed: int = 0, num_shapes: int = 64, num_paths: int = 128, size: int = 224) -> Drawing:
    """Filled semi-transparent shapes under random strokes (the shapes' tests and benchmark)."""
    rng = random.Random(seed)
    shapes = random_shapes(num_shapes, size, size, rng, radius=0.15)
    strokes = random_walk_strokes(num_paths, size, size, rng, first_id=num_shapes)
    return Drawing(size, size, (1.0, 1.0, 1.0), (*shapes, *strokes))


def trusted_stroke(
    stroke_id: int,
    points: np.ndarray,
    half_width: float,
    color: tuple[float, ...],
    frozen: bool,
    respect: float = 0.0,
    anchor: Anchor | None = None,
    fill: tuple[float, ...] | None = None,
    outlined: bool = True,
    fill_rule: str = "nonzero",
    subpaths: tuple[int, ...] = (),
) -> Stroke:
    """Build a :class:`Stroke` from values the engine already validated (no copies, no checks).

    The session makes a snapshot of every stroke after every step; validating
    thousands of strokes each time would cost more than the step's bookkeeping is
    worth. ``points`` must be a fresh float32 ``(3k+1, 2)`` array nobody else holds.
    """
    stroke = object.__new__(Stroke)
    object.__setattr__(stroke, "id", stroke_id)
    object.__setattr__(stroke, "points", _readonly(points))
    object.__setattr__(stroke, "half_width", half_width)
    object.__setattr__(stroke, "color", color)
    object.__setattr__(stroke, "frozen", frozen)
    object.__setattr__(stroke, "respect", respect)
    object.__setattr__(stroke, "anchor", anchor)
    object.__setattr__(stroke, "fill", fill)
    object.__setattr__(stroke, "outlined", outlined or fill is None)
    object.__setattr__(stroke, "fill_rule", fill_rule)
    object.__setattr__(stroke, "subpaths", subpaths)
    return stroke
