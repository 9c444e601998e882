"""Time-lapse recording: the drawing every K steps, in bounded memory, restorable exactly.

A run of thousands of steps must not grow memory without bound, and a frame must give
back *exactly* the drawing it recorded so that "continue from here" (branching) starts
from that very drawing. So a :class:`Frame` stores the drawing as packed numpy arrays:
per frame the control points, half-widths, RGBA colours and the closed shapes' fill
colours (float32, the values the engine holds, so :meth:`Frame.to_drawing` is
bit-exact); in a shared :class:`_Structure` what only structural edits change -- stroke
ids (int32), segments per stroke (uint16), the frozen / closed / outlined / even-odd
flags (bool) and the compound shapes' contour segment counts (uint16). Consecutive
frames whose structure did not change share one structure, so in a plain run only the
float arrays cost memory per frame: for the default 256 strokes (~2 segments each) that
is about 20 KB, i.e. ~20 MB per 1000 frames; a filled shape adds its fill colour (16
bytes) per frame, so the shapes scene (64 shapes of ~4 segments under 128 strokes) takes
about 18 KB, ~18 MB per 1000 frames (measured by :meth:`TimelapseRecorder.nbytes`,
see the README).

The :class:`TimelapseRecorder` keeps at most ``max_frames`` frames and at most
``max_bytes`` bytes: when a new frame would exceed either, every other frame is
dropped and the interval K doubles, so the frames stay evenly spaced over the whole
run and any run, however long, keeps a bounded number of them.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from clipdraw_core.drawing.commands import AddStrokes, Command, DeleteStrokes
from clipdraw_core.drawing.strokes import Drawing, Stroke, trusted_stroke
from clipdraw_core.errors import ClipDrawError, ConfigError, FileFormatError

logger = logging.getLogger(__name__)

#: A 1000-step run (the original's length) keeps ~200 frames.
DEFAULT_EVERY = 5
DEFAULT_MAX_FRAMES = 1000
#: 256 MB: ~12000 frames of the default scene, ~600 frames of 5000 strokes.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


_NO_CONTOURS = _readonly(np.zeros(0, np.uint16))


@dataclass(frozen=True, eq=False)
class _Structure:
    """What changes only on structural edits (shared between frames).

    Ids, segment counts and frozen flags of every stroke; ``closed`` (a filled shape),
    ``outlined`` and ``evenodd`` (its fill rule) flags; ``contours[i]``, how many
    contours stroke ``i`` has when it is a compound shape (0 for one contour or an open
    stroke), and ``subpaths``, those contours' segment counts one stroke after the other.
    Frames recorded before shapes were kept have no shape arrays: all open, outlined.
    """

    ids: np.ndarray
    segments: np.ndarray
    frozen: np.ndarray
    closed: np.ndarray
    outlined: np.ndarray
    evenodd: np.ndarray
    contours: np.ndarray
    subpaths: np.ndarray

    @classmethod
    def open_strokes(cls, ids: np.ndarray, segments: np.ndarray, frozen: np.ndarray) -> _Structure:
        """The structure of open strokes only (a frame of a file written before shapes)."""
        n = ids.shape[0]
        return cls(
            ids,
            segments,
            frozen,
            _readonly(np.zeros(n, bool)),
            _readonly(np.ones(n, bool)),
            _readonly(np.zeros(n, bool)),
            _readonly(np.zeros(n, np.uint16)),
            _NO_CONTOURS,
        )

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.ids,
            self.segments,
            self.frozen,
            self.closed,
            self.outlined,
            self.evenodd,
            self.contours,
            self.subpaths,
        )

    @property
    def has_shapes(self) -> bool:
        return bool(self.closed.any())

    @property
    def point_counts(self) -> np.ndarray:
        """Control points per stroke: ``3k + 1`` open, ``3k`` closed (int64)."""
        return 3 * self.segments.astype(np.int64) + 1 - self.closed.astype(np.int64)

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays))

    def same_as(self, other: _Structure) -> bool:
        return all(np.array_equal(a, b) for a, b in zip(self.arrays, other.arrays, strict=True))


@dataclass(frozen=True, eq=False)
class Frame:
    """One recorded drawing at ``step``, with the score the run had then."""

    step: int
    score: float | None
    width: int
    height: int
    background: tuple[float, float, float]
    structure: _Structure
    points: np.ndarray
    half_widths: np.ndarray
    colors: np.ndarray
    #: Fill colours (RGBA) of the closed shapes only, in paint order: ``[closed.sum(), 4]``.
    fills: np.ndarray = field(default_factory=lambda: _readonly(np.zeros((0, 4), np.float32)))

    @classmethod
    def from_drawing(
        cls, drawing: Drawing, step: int, score: float | None = None, previous: Frame | None = None
    ) -> Frame:
        """Pack ``drawing``; share ``previous``'s structure arrays when they are equal."""
        strokes = drawing.strokes
        subpaths = [k for s in strokes for k in s.subpaths]
        structure = _Structure(
            _readonly(np.array([s.id for s in strokes], dtype=np.int32)),
            _readonly(np.array([s.num_segments for s in strokes], dtype=np.uint16)),
            _readonly(np.array([s.frozen for s in strokes], dtype=bool)),
            _readonly(np.array([s.fill is not None for s in strokes], dtype=bool)),
            _readonly(np.array([s.outlined for s in strokes], dtype=bool)),
            _readonly(np.array([s.fill_rule == "evenodd" for s in strokes], dtype=bool)),
            _readonly(np.array([len(s.subpaths) for s in strokes], dtype=np.uint16)),
            _readonly(np.array(subpaths, dtype=np.uint16)) if subpaths else _NO_CONTOURS,
        )
        if previous is not None and previous.structure.same_as(structure):
            structure = previous.structure
        if strokes:
            points = np.concatenate([s.points for s in strokes]).astype(np.float32, copy=False)
        else:
            points = np.zeros((0, 2), np.float32)
        return cls(
            step=int(step),
            score=None if score is None else float(score),
            width=drawing.width,
            height=drawing.height,
            background=tuple(drawing.background),  # type: ignore[arg-type]
            structure=structure,
            points=_readonly(points),
            half_widths=_readonly(np.array([s.half_width for s in strokes], dtype=np.float32)),
            colors=_readonly(np.array([s.color for s in strokes], dtype=np.float32).reshape(-1, 4)),
            fills=_readonly(
                np.array([s.fill for s in strokes if s.fill is not None], dtype=np.float32).reshape(-1, 4)
            ),
        )

    @property
    def num_strokes(self) -> int:
        return int(self.structure.ids.shape[0])

    @property
    def own_nbytes(self) -> int:
        """Bytes of the per-frame arrays (the shared structure is counted by the recorder)."""
        return int(self.points.nbytes + self.half_widths.nbytes + self.colors.nbytes + self.fills.nbytes)

    def to_drawing(self) -> Drawing:
        """The recorded drawing, exactly (same ids, order, float32 values, flags, fills, contours).

        The strokes are built unchecked (:func:`trusted_stroke`): a frame holds only values a
        checked drawing had (:meth:`from_drawing`) or that :func:`frame_from_dict` checked,
        and a video export unpacks every frame, where checking each stroke again cost
        ~5.5 ms a frame of 256 strokes, unchecked 0.6 ms (rendering it at 448 px: ~27 ms).
        """
        return self._drawing(checked=False)

    def _drawing(self, *, checked: bool) -> Drawing:
        make = Stroke if checked else trusted_stroke
        s = self.structure
        counts = s.point_counts
        ends = np.cumsum(counts)
        widths = self.half_widths.tolist()
        colors = self.colors.tolist()
        frozen = s.frozen.tolist()
        closed = s.closed.tolist()
        fills = iter(self.fills.tolist())
        contour_ends = np.cumsum(s.contours.astype(np.int64)).tolist()
        subpaths = s.subpaths.tolist()
        strokes = []
        for i, (n, end) in enumerate(zip(counts.tolist(), ends.tolist(), strict=True)):
            shape: dict[str, Any] = {}
            points = self.points[end - n : end]
            if closed[i]:
                stop = contour_ends[i]
                shape = {
                    "fill": tuple(next(fills)),
                    "outlined": bool(s.outlined[i]),
                    "fill_rule": "evenodd" if s.evenodd[i] else "nonzero",
                    "subpaths": tuple(subpaths[stop - int(s.contours[i]) : stop]),
                }
            strokes.append(make(int(s.ids[i]), points, widths[i], tuple(colors[i]), frozen[i], **shape))
        return Drawing(self.width, self.height, self.background, tuple(strokes))


def _encode(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(
        np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    ).decode()


def _decode(text: Any, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    raw = base64.b64decode(str(text), validate=True)
    array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    return _readonly(array.reshape(shape))


#: The shape arrays of a frame record, written only when the frame has a filled shape
#: (so a frame of open strokes keeps the record older versions read).
SHAPE_ARRAYS = ("closed", "outlined", "evenodd", "contours", "subpaths", "fills")


def frame_to_dict(frame: Frame) -> dict[str, Any]:
    """A frame as JSON-ready data: the arrays as base64 little-endian bytes (exact, compact)."""
    s = frame.structure
    data = {
        "step": frame.step,
        "score": frame.score,
        "width": frame.width,
        "height": frame.height,
        "background": list(frame.background),
        "ids": _encode(s.ids, "int32"),
        "segments": _encode(s.segments, "uint16"),
        "frozen": _encode(s.frozen, "bool"),
        "points": _encode(frame.points, "float32"),
        "half_widths": _encode(frame.half_widths, "float32"),
        "colors": _encode(frame.colors, "float32"),
    }
    if s.has_shapes:
        data |= {
            "closed": _encode(s.closed, "bool"),
            "outlined": _encode(s.outlined, "bool"),
            "evenodd": _encode(s.evenodd, "bool"),
            "contours": _encode(s.contours, "uint16"),
            "subpaths": _encode(s.subpaths, "uint16"),
            "fills": _encode(frame.fills, "float32"),
        }
    return data


def _structure_from_dict(data: Mapping[str, Any], ids: np.ndarray) -> _Structure:
    n = ids.shape[0]
    segments = _decode(data["segments"], "uint16", (n,))
    frozen = _decode(data["frozen"], "bool", (n,))
    present = [key for key in SHAPE_ARRAYS if key in data]
    if not present:  # written before frames kept shapes: open strokes only
        return _Structure.open_strokes(ids, segments, frozen)
    if len(present) != len(SHAPE_ARRAYS):
        missing = ", ".join(key for key in SHAPE_ARRAYS if key not in data)
        raise ValueError(f"shape arrays missing: {missing}")
    contours = _decode(data["contours"], "uint16", (n,))
    subpaths = _decode(data["subpaths"], "uint16", (-1,))
    if subpaths.shape[0] != int(contours.astype(np.int64).sum()):
        raise ValueError("subpaths do not match the contour counts")
    return _Structure(
        ids,
        segments,
        frozen,
        _decode(data["closed"], "bool", (n,)),
        _decode(data["outlined"], "bool", (n,)),
        _decode(data["evenodd"], "bool", (n,)),
        contours,
        subpaths if subpaths.size else _NO_CONTOURS,
    )


def frame_from_dict(data: Mapping[str, Any], previous: Frame | None = None) -> Frame:
    """Inverse of :func:`frame_to_dict`; damaged data is one :class:`FileFormatError`."""
    try:
        ids = _decode(data["ids"], "int32", (-1,))
        n = ids.shape[0]
        structure = _structure_from_dict(data, ids)
        points = _decode(data["points"], "float32", (-1, 2))
        if points.shape[0] != int(structure.point_counts.sum()):
            raise ValueError("points do not match the segment counts")
        fills = (
            _decode(data["fills"], "float32", (-1, 4))
            if "fills" in data
            else _readonly(np.zeros((0, 4), np.float32))
        )
        if fills.shape[0] != int(structure.closed.sum()):
            raise ValueError("fill colours do not match the closed shapes")
        frame = Frame(
            step=int(data["step"]),
            score=None if data.get("score") is None else float(data["score"]),
            width=int(data["width"]),
            height=int(data["height"]),
            background=tuple(float(c) for c in data["background"]),  # type: ignore[arg-type]
            structure=structure,
            points=points,
            half_widths=_decode(data["half_widths"], "float32", (n,)),
            colors=_decode(data["colors"], "float32", (n, 4)),
            fills=fills,
        )
        # The full validation of strokes and canvas; packing the checked drawing again
        # keeps only canonical values (what to_drawing's unchecked strokes rely on).
        drawing = frame._drawing(checked=True)
    except (KeyError, TypeError, ValueError, ClipDrawError) as exc:
        raise FileFormatError(f"damaged time-lapse frame: {exc}") from exc
    return Frame.from_drawing(drawing, frame.step, frame.score, previous)


class TimelapseRecorder:
    """Keeps a frame every ``every`` steps, thinning itself to stay within its caps.

    Call :meth:`offer` after every step (and once with the initial drawing at the start
    step); it records only the steps that are due. :meth:`finish` adds the final drawing
    when the run ended between two due steps; that closing frame is replaced if the run
    goes on.
    """

    def __init__(
        self,
        every: int = DEFAULT_EVERY,
        *,
        max_frames: int = DEFAULT_MAX_FRAMES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"the time-lapse interval must be a whole number of steps >= 1, got {every!r}")
        if not isinstance(max_frames, int) or max_frames < 2:
            raise ConfigError(f"the time-lapse needs room for at least 2 frames, got {max_frames!r}")
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigError("the time-lapse memory cap must be a positive number of bytes")
        self._every = every
        self.initial_every = every
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._frames: list[Frame] = []
        self._origin: int | None = None
        self._closing: Frame | None = None

    # ------------------------------------------------------------------ state
    @property
    def every(self) -> int:
        """The current interval (doubles each time the recorder thins itself)."""
        return self._every

    @property
    def frames(self) -> list[Frame]:
        """The recorded frames in step order (a copy), the closing frame included."""
        return self._frames + ([self._closing] if self._closing is not None else [])

    def __len__(self) -> int:
        return len(self._frames) + (self._closing is not None)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    def __getitem__(self, index: int) -> Frame:
        return self.frames[index]

    def nbytes(self) -> int:
        """Memory held by the frames' arrays (shared structure arrays counted once)."""
        seen: set[int] = set()
        total = 0
        for frame in self.frames:
            total += frame.own_nbytes
            if id(frame.structure) not in seen:
                seen.add(id(frame.structure))
                total += frame.structure.nbytes
        return total

    def clear(self) -> None:
        self._frames.clear()
        self._closing = None
        self._origin = None
        self._every = self.initial_every

    def copy(self) -> TimelapseRecorder:
        """An independent recorder with the same frames (shared, immutable) and grid."""
        other = TimelapseRecorder(self.initial_every, max_frames=self.max_frames, max_bytes=self.max_bytes)
        other._every, other._origin = self._every, self._origin
        other._frames, other._closing = list(self._frames), self._closing
        return other

    def reset_to(self, frames: list[Frame]) -> None:
        """Keep exactly ``frames`` (in step order), e.g. a history cut at a frame to branch from.

        The recording grid (origin, interval) is kept, so recording goes on where the
        kept frames end; the frames' arrays are shared, not copied.
        """
        steps = [f.step for f in frames]
        if any(b <= a for a, b in pairwise(steps)):
            raise ConfigError("time-lapse frames must be in increasing step order")
        self._frames = list(frames)
        self._closing = None
        if not self._frames:
            self._origin = None
        elif self._origin is None:
            self._origin = self._frames[0].step
        self._enforce_caps()

    def frame_at_or_before(self, step: int) -> Frame | None:
        """The latest frame recorded at or before ``step`` (for a timeline scrubber)."""
        best = None
        for frame in self.frames:
            if frame.step <= step:
                best = frame
        return best

    def to_dict(self) -> dict[str, Any]:
        """The recorder as JSON-ready data (for a project file that keeps its history)."""
        return {
            "every": self._every,
            "initial_every": self.initial_every,
            "origin": self._origin,
            "frames": [frame_to_dict(f) for f in self.frames],
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        max_frames: int = DEFAULT_MAX_FRAMES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> TimelapseRecorder:
        try:
            recorder = cls(
                int(data.get("initial_every", data["every"])), max_frames=max_frames, max_bytes=max_bytes
            )
            recorder._every = max(recorder.initial_every, int(data["every"]))
            origin = data.get("origin")
            recorder._origin = None if origin is None else int(origin)
            previous = None
            for item in data["frames"]:
                previous = frame_from_dict(item, previous)
                if recorder._frames and previous.step <= recorder._frames[-1].step:
                    raise FileFormatError("damaged time-lapse: frames out of order")
                recorder._frames.append(previous)
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"damaged time-lapse: {exc}") from exc
        if recorder._frames and recorder._origin is None:
            recorder._origin = recorder._frames[0].step
        recorder._enforce_caps()
        return recorder

    # ------------------------------------------------------------------ recording
    def due(self, step: int) -> bool:
        """Whether ``step`` falls on the recording grid."""
        if self._origin is None:
            return True
        return step > self.last_step() and (step - self._origin) % self._every == 0

    def last_step(self) -> int:
        return self._frames[-1].step if self._frames else -1

    def tick(self, step: int) -> None:
        """Note that ``step`` was reached (what :meth:`offer` does first, without a drawing).

        A caller holding a snapshot calls this and :meth:`offer` only when :meth:`due`,
        so a step off the grid never reads the snapshot's drawing off the device.
        """
        if self._closing is not None and step > self._closing.step:
            self._closing = None

    def offer(self, drawing: Drawing, step: int, score: float | None = None) -> bool:
        """Record ``drawing`` if ``step`` is due; returns whether a frame was kept."""
        self.tick(step)
        if not self.due(step):
            return False
        if self._origin is None:
            self._origin = int(step)
        previous = self._frames[-1] if self._frames else None
        frame = Frame.from_drawing(drawing, step, score, previous)
        self._frames.append(frame)
        self._enforce_caps()
        return self._frames[-1] is frame

    def finish(self, drawing: Drawing, step: int, score: float | None = None) -> None:
        """Make sure the final drawing is the last frame, even off the grid.

        A frame already recorded at ``step`` is replaced (edits applied after the last
        step, such as a final prune, belong in the clip).
        """
        if self._closing is None and self._frames and self._frames[-1].step == step:
            previous = self._frames[-2] if len(self._frames) > 1 else None
            self._frames[-1] = Frame.from_drawing(drawing, step, score, previous)
            return
        if self._frames and self._frames[-1].step > step:
            return
        if self._closing is not None and self._closing.step >= step:
            return
        if self.due(step):
            self.offer(drawing, step, score)
            return
        previous = self._frames[-1] if self._frames else None
        self._closing = Frame.from_drawing(drawing, step, score, previous)
        self._enforce_caps()

    def _enforce_caps(self) -> None:
        while len(self) > self.max_frames or (self.nbytes() > self.max_bytes and len(self._frames) > 1):
            self._thin()

    def _thin(self) -> None:
        """Drop every other frame (the first is kept) and double the interval."""
        before = len(self._frames)
        assert self._origin is not None
        self._every *= 2
        kept = [f for f in self._frames if (f.step - self._origin) % self._every == 0]
        if len(kept) == before:  # frames not on the new grid (e.g. after a resumed run): halve by index
            kept = self._frames[::2]
        self._frames = kept
        logger.debug(
            "time-lapse thinned from %d to %d frames; now every %d steps", before, len(kept), self._every
        )


def restore_commands(current: Drawing, target: Drawing) -> tuple[Command, ...]:
    """Edit commands that turn ``current`` into exactly ``target`` (branching from a frame).

    Every current stroke is deleted and the target's strokes are added in paint order,
    so ids, order, values and frozen flags all come back as recorded (the strokes
    start with fresh optimiser moments, as the past had its own). A front end wraps
    the pair in one undo step; undo is ``restore_commands(target, current)``.
    """
    if (current.width, current.height) != (target.width, target.height):
        raise ConfigError("the frame's canvas size differs from the drawing's")
    return (DeleteStrokes(tuple(current.ids)), AddStrokes(tuple(target.strokes)))
