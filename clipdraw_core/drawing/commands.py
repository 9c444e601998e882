"""Edit commands that front ends send to a running :class:`~clipdraw_core.optim.session.Session`.

Commands are small immutable objects put on the session's ``queue.Queue`` from any
thread (``Session.submit``); the engine applies all pending commands, in order, at the
start of the next step, so an edit lands within one step and none is lost. A command
that refers to an unknown stroke id is skipped and reported in the next snapshot's
``messages``; it never stops the run. :func:`apply_to_drawing` defines what each
command does to a drawing.

Every command has a plain-data form (:meth:`to_plain` / :meth:`from_plain`, and
:func:`command_from_plain` for any of them): a dict of lists, numbers, text and numpy
arrays with its ``"type"``, so edits can cross a process or network boundary (a remote
GPU worker) without pickling Python objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, TypeVar

import numpy as np

from clipdraw_core.drawing.guidance import ImagePrompt, Region, StyleImage
from clipdraw_core.drawing.strokes import MAX_STROKES, Anchor, Drawing, Stroke
from clipdraw_core.errors import ConfigError
from clipdraw_core.validation import MAX_HALF_WIDTH

_C = TypeVar("_C", bound="_Plain")


class _Plain:
    """``to_plain``/``from_plain`` for the command dataclasses below, field by field.

    Strokes become :meth:`Stroke.to_plain` dicts, arrays stay (copied) numpy arrays,
    guidance items (image prompts, style, regions, anchors) their ``to_dict`` form,
    tuples become lists; ``from_plain`` undoes that using the class's field lists.
    """

    _STROKES: ClassVar[frozenset[str]] = frozenset({"strokes"})
    _ARRAYS: ClassVar[frozenset[str]] = frozenset({"polyline", "pressure"})
    #: Fields holding guidance items (one, or a tuple of them, ``None`` allowed), and their class.
    _ITEMS: ClassVar[dict[str, Any]] = {}

    @classmethod
    def _item_from(cls, name: str, value: Any) -> Any:
        return None if value is None else cls._ITEMS[name].from_dict(value)

    def to_plain(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None:
                out[f.name] = None
            elif f.name in self._STROKES:
                out[f.name] = [s.to_plain() for s in value]
            elif f.name in self._ARRAYS:
                out[f.name] = np.array(value)
            elif f.name in self._ITEMS:
                out[f.name] = (
                    [None if v is None else v.to_dict() for v in value]
                    if isinstance(value, tuple)
                    else value.to_dict()
                )
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_plain(cls: type[_C], data: Mapping[str, Any]) -> _C:
        if data.get("type") != cls.__name__:
            raise ConfigError(f"not a {cls.__name__} command: {data.get('type')!r}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - names - {"type"}
        if unknown:
            raise ConfigError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {}
        for name in names & set(data):
            value = data[name]
            if value is None:
                kwargs[name] = None
            elif name in cls._STROKES:
                kwargs[name] = tuple(Stroke.from_plain(s) for s in value)
            elif name in cls._ARRAYS:
                kwargs[name] = np.array(value)
            elif name in cls._ITEMS:
                kwargs[name] = (
                    tuple(cls._item_from(name, v) for v in value)
                    if isinstance(value, list)
                    else cls._item_from(name, value)
                )
            elif isinstance(value, list):
                kwargs[name] = tuple(value)
            else:
                kwargs[name] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"invalid {cls.__name__} command: {exc}") from exc


@dataclass(frozen=True)
class SetFrozen(_Plain):
    """Freeze (or unfreeze) strokes: frozen strokes are rendered but never change."""

    ids: tuple[int, ...]
    frozen: bool = True


@dataclass(frozen=True)
class DeleteStrokes(_Plain):
    """Remove strokes by id."""

    ids: tuple[int, ...]


@dataclass(frozen=True)
class AddStrokes(_Plain):
    """Insert strokes (each with an id from ``Session.allocate_ids`` or a previous delete).

    ``positions`` optionally gives each stroke's index in paint order (used by undo of a
    delete to put a stroke back where it was); by default strokes go on top.
    """

    strokes: tuple[Stroke, ...]
    positions: tuple[int, ...] | None = None


@dataclass(frozen=True)
class AddFreehand(_Plain):
    """A freehand polyline (canvas pixels) to be fitted to cubic Béziers and added on top.

    ``pressure`` (0..1 per sample, optional) modulates the width; ``stroke_id`` comes
    from ``Session.allocate_ids`` so the caller can later undo it by id.
    """

    stroke_id: int
    polyline: np.ndarray
    half_width: float = 1.0
    color: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    frozen: bool = False
    pressure: np.ndarray | None = None
    tolerance: float = 1.0


@dataclass(frozen=True)
class UpdateStrokes(_Plain):
    """Replace the geometry/colour/width/frozen flag of existing strokes (same ids)."""

    strokes: tuple[Stroke, ...]


@dataclass(frozen=True)
class SetPrompt(_Plain):
    """Change the text prompt(s) mid-run; the drawing continues from where it is."""

    prompt: str
    negative_prompts: tuple[str, ...] = ()
    prompt_weights: tuple[float, ...] | None = None
    extra_prompts: tuple[str, ...] = field(default_factory=tuple)
    #: Weight of the main prompt and the push-away strength of each negative
    #: (``None``: the settings' ``negative_weight`` each).
    prompt_weight: float = 1.0
    negative_weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SetImagePrompts(_Plain):
    """Replace the image prompts (each a picture with a weight) mid-run."""

    _ITEMS: ClassVar[dict[str, Any]] = {"images": ImagePrompt}

    images: tuple[ImagePrompt, ...]


@dataclass(frozen=True)
class SetStyle(_Plain):
    """Set, change or (``None``) remove the style image mid-run."""

    _ITEMS: ClassVar[dict[str, Any]] = {"style": StyleImage}

    style: StyleImage | None


@dataclass(frozen=True)
class SetRegions(_Plain):
    """Replace the list of regions (add, move, resize, rename, mute, delete are all this)."""

    _ITEMS: ClassVar[dict[str, Any]] = {"regions": Region}

    regions: tuple[Region, ...]
    #: Extra CLIP views per step shared by all regions (``None``: half the canvas views).
    region_views: int | None = None


@dataclass(frozen=True)
class SetRespect(_Plain):
    """Soft-lock strokes: ``strength`` 0 (free) .. 1 (held); the anchor is where they are now.

    ``anchors`` (one per id, optional) gives the anchors explicitly instead, which is
    how undo puts back an earlier soft lock exactly. The optimiser state of other
    strokes is untouched.
    """

    _ITEMS: ClassVar[dict[str, Any]] = {"anchors": Anchor}

    ids: tuple[int, ...]
    strength: float
    anchors: tuple[Anchor | None, ...] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.strength) <= 1.0:
            raise ConfigError(f"respect (soft lock) must be between 0 and 1, got {self.strength!r}")
        if self.anchors is not None and len(self.anchors) != len(self.ids):
            raise ConfigError("SetRespect needs one anchor per stroke id")


def respect_commands(strokes: Sequence[Stroke]) -> list[SetRespect]:
    """Commands that put the soft locks of ``strokes`` back as they are (for undo)."""
    return [SetRespect((s.id,), s.respect, (s.anchor,)) for s in strokes]


def anchor_of(stroke: Stroke) -> Anchor:
    """The stroke's current points, width and colour as an anchor."""
    return Anchor(stroke.points, stroke.half_width, stroke.color)


@dataclass(frozen=True)
class SetStrokeCount(_Plain):
    """Grow the drawing with random strokes, or shrink it by removing the newest free ones."""

    count: int


#: Look settings that may change while a run goes on (the canvas shape and the
#: stroke/shape mix are fixed once it starts).
MID_RUN_LOOK = (
    "palette",
    "palette_mode",
    "palette_strength",
    "palette_opaque",
    "ink",
    "min_half_width",
    "max_half_width",
    "background",
    "transparent",
)


@dataclass(frozen=True)
class SetLook(_Plain):
    """Change look settings mid-run: ``changes`` holds ``(SessionConfig field, value)`` pairs.

    Only :data:`MID_RUN_LOOK` fields.  Undo is the same command with the old values
    (``SetLook.of(**{k: getattr(old_config, k) for k in new.fields})``): a hard
    palette or ink mode only changes how the free colours are *shown*, so switching
    it off brings the previous colours back.
    """

    changes: tuple[tuple[str, object], ...]

    def __post_init__(self) -> None:
        # pairs as tuples, list values as tuples: equal after a trip through plain data
        pairs = tuple((str(k), tuple(v) if isinstance(v, list) else v) for k, v in self.changes)
        object.__setattr__(self, "changes", pairs)

    @classmethod
    def of(cls, **changes: object) -> SetLook:
        bad = sorted(set(changes) - set(MID_RUN_LOOK))
        if bad:
            raise ConfigError(f"cannot change {', '.join(bad)} during a run (only {', '.join(MID_RUN_LOOK)})")
        return cls(tuple(changes.items()))

    @property
    def fields(self) -> dict[str, object]:
        return dict(self.changes)

    def to_plain(self) -> dict[str, Any]:
        """``{"type": "SetLook", "changes": {field: value}}`` with tuples as lists."""
        return {
            "type": type(self).__name__,
            "changes": {k: list(v) if isinstance(v, tuple) else v for k, v in self.changes},
        }

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> SetLook:
        if data.get("type") != cls.__name__ or set(data) - {"type", "changes"}:
            raise ConfigError(f"not a {cls.__name__} command: {dict(data)!r}")
        changes = data.get("changes") or {}
        if not isinstance(changes, Mapping):
            raise ConfigError("SetLook changes must be a mapping of setting names to values")
        return cls.of(**{str(k): v for k, v in changes.items()})


@dataclass(frozen=True)
class TransformStrokes(_Plain):
    """Apply an affine map to the points of strokes (move, scale, rotate, flip by hand).

    ``matrix`` is ``(a, b, c, d, e, f)``: ``x' = a x + b y + c``, ``y' = d x + e y + f``
    in canvas pixels. With ``scale_widths`` (the default) half-widths are multiplied by
    ``sqrt(|ad - bc|)``, the map's mean scale, so a move, rotation or flip (``|det| = 1``)
    keeps widths exactly and scaling a stroke thickens it like Inkscape's "scale stroke
    width" option. A soft-locked stroke's anchor moves with it (the lock holds it where
    the artist put it). The strokes keep their ids.
    """

    ids: tuple[int, ...]
    matrix: tuple[float, float, float, float, float, float]
    scale_widths: bool = True

    def __post_init__(self) -> None:
        if len(self.matrix) != 6 or not all(np.isfinite(float(v)) for v in self.matrix):
            raise ConfigError("a transform needs six finite numbers (a, b, c, d, e, f)")


def translation(dx: float, dy: float) -> tuple[float, float, float, float, float, float]:
    """The matrix of a move by ``(dx, dy)`` pixels."""
    return (1.0, 0.0, float(dx), 0.0, 1.0, float(dy))


def scaling_about(
    sx: float, sy: float, cx: float, cy: float
) -> tuple[float, float, float, float, float, float]:
    """Scale by ``(sx, sy)`` about ``(cx, cy)`` (a flip is a scale by -1 on one axis)."""
    return (float(sx), 0.0, cx - sx * cx, 0.0, float(sy), cy - sy * cy)


def rotation_about(angle: float, cx: float, cy: float) -> tuple[float, float, float, float, float, float]:
    """Rotate by ``angle`` radians (clockwise on screen, y down) about ``(cx, cy)``."""
    c, s = float(np.cos(angle)), float(np.sin(angle))
    return (c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy)


def _transform_points(points: np.ndarray, m: Sequence[float]) -> np.ndarray:
    a, b, c, d, e, f = (float(v) for v in m)
    p = np.asarray(points, dtype=np.float64)
    return np.stack([a * p[:, 0] + b * p[:, 1] + c, d * p[:, 0] + e * p[:, 1] + f], axis=1)


@dataclass(frozen=True)
class SetStrokeStyle(_Plain):
    """Set the colour (RGB), opacity (alpha) and/or half-width of strokes; ``None`` keeps it.

    ``fill`` (RGB or RGBA) sets the fill of closed shapes and leaves open strokes alone,
    so one command can give a mixed selection one palette entry (outline and fill).
    """

    ids: tuple[int, ...]
    color: tuple[float, ...] | None = None
    opacity: float | None = None
    half_width: float | None = None
    fill: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.color is not None and len(self.color) not in (3, 4):
            raise ConfigError("a stroke colour needs 3 (RGB) or 4 (RGBA) numbers")
        if self.fill is not None and len(self.fill) not in (3, 4):
            raise ConfigError("a fill colour needs 3 (RGB) or 4 (RGBA) numbers")
        if self.opacity is not None and not 0.0 <= float(self.opacity) <= 1.0:
            raise ConfigError(f"opacity must be between 0 and 1, got {self.opacity!r}")
        if self.half_width is not None and not float(self.half_width) > 0.0:
            raise ConfigError(f"a stroke width must be positive, got {self.half_width!r}")


#: Where :class:`Reorder` moves strokes.
REORDER_WHERE = ("raise", "lower", "top", "bottom", "exact")


@dataclass(frozen=True)
class Reorder(_Plain):
    """Change paint order (z-order): ``raise``/``lower`` one place, to ``top``/``bottom``.

    ``exact`` puts the listed strokes, in the listed order, into the places they occupy
    together (undo of any reorder). Strokes keep their ids and their optimiser state.
    """

    ids: tuple[int, ...]
    where: str

    def __post_init__(self) -> None:
        if self.where not in REORDER_WHERE:
            raise ConfigError(f"reorder must be one of {', '.join(REORDER_WHERE)}, got {self.where!r}")
        if len(set(self.ids)) != len(self.ids):  # "exact" puts each listed stroke in one place
            raise ConfigError("a reorder lists each stroke id once")


def _reordered(strokes: list[Stroke], ids: Sequence[int], where: str) -> list[Stroke]:
    chosen = set(ids)
    if where == "top":
        return [s for s in strokes if s.id not in chosen] + [s for s in strokes if s.id in chosen]
    if where == "bottom":
        return [s for s in strokes if s.id in chosen] + [s for s in strokes if s.id not in chosen]
    if where == "exact":
        slots = [k for k, s in enumerate(strokes) if s.id in chosen]
        by_id = {s.id: s for s in strokes}
        wanted = [by_id[i] for i in ids if i in by_id]
        out = list(strokes)
        for k, s in zip(slots, wanted, strict=True):
            out[k] = s
        return out
    out = list(strokes)
    # One place up (or down) past an unselected neighbour; a block of selected strokes moves together.
    indices = range(len(out) - 2, -1, -1) if where == "raise" else range(1, len(out))
    step = 1 if where == "raise" else -1
    for k in indices:
        if out[k].id in chosen and out[k + step].id not in chosen:
            out[k], out[k + step] = out[k + step], out[k]
    return out


Command = (
    SetFrozen
    | DeleteStrokes
    | AddStrokes
    | AddFreehand
    | UpdateStrokes
    | SetPrompt
    | SetStrokeCount
    | SetImagePrompts
    | SetStyle
    | SetRegions
    | SetRespect
    | SetLook
    | TransformStrokes
    | SetStrokeStyle
    | Reorder
)
#: Commands about what steers the drawing, not about its strokes.
GUIDANCE_COMMANDS = (SetPrompt, SetStrokeCount, SetImagePrompts, SetStyle, SetRegions)
COMMAND_TYPES: tuple[type[Command], ...] = (
    SetFrozen,
    DeleteStrokes,
    AddStrokes,
    AddFreehand,
    UpdateStrokes,
    SetPrompt,
    SetStrokeCount,
    SetImagePrompts,
    SetStyle,
    SetRegions,
    SetRespect,
    SetLook,
    TransformStrokes,
    SetStrokeStyle,
    Reorder,
)


def command_from_plain(data: Mapping[str, Any]) -> Command:
    """Any command from its :meth:`to_plain` form (the ``"type"`` key says which)."""
    by_name = {cls.__name__: cls for cls in COMMAND_TYPES}
    cls = by_name.get(str(data.get("type")))
    if cls is None:
        raise ConfigError(f"unknown command type {data.get('type')!r}")
    return cls.from_plain(data)


def ids_tuple(ids: Sequence[int] | int) -> tuple[int, ...]:
    """Normalise one id or a sequence of ids to a tuple of ints."""
    if isinstance(ids, (int, np.integer)):
        return (int(ids),)
    return tuple(int(i) for i in ids)


def apply_to_drawing(drawing: Drawing, command: Command) -> tuple[Drawing, list[str]]:
    """The meaning of a command on plain data: the new drawing and notes on what was skipped.

    This is the single definition of what the stroke commands do. A running
    :class:`~clipdraw_core.optim.session.Session` maps the result back onto its tensors
    (strokes it returns unchanged, as the same objects, keep their optimiser state);
    the GUI uses it directly to edit a drawing before any session exists, so both
    paths behave alike. Prompt, guidance and stroke-count commands only concern a
    session and leave the drawing as it is; a look change only changes its paper colour.
    """
    strokes = list(drawing.strokes)
    notes: list[str] = []
    present = {s.id for s in strokes}

    def unknown(ids: Sequence[int]) -> None:
        missing = [str(i) for i in ids if i not in present]
        if missing:
            notes.append(f"no stroke with id {', '.join(missing)} (already deleted?)")

    if isinstance(command, SetFrozen):
        unknown(command.ids)
        ids = set(command.ids)
        strokes = [
            replace(s, frozen=command.frozen) if s.id in ids and s.frozen != command.frozen else s
            for s in strokes
        ]
    elif isinstance(command, DeleteStrokes):
        unknown(command.ids)
        ids = set(command.ids)
        strokes = [s for s in strokes if s.id not in ids]
    elif isinstance(command, (AddStrokes, AddFreehand)):
        if isinstance(command, AddFreehand):
            new, positions = [freehand_stroke(command)], None
        else:
            new, positions = list(command.strokes), command.positions
            if positions is not None and len(positions) != len(new):
                raise ConfigError("AddStrokes needs one position per stroke")
        if len(strokes) + len(new) > MAX_STROKES:
            raise ConfigError(f"at most {MAX_STROKES} strokes")
        placed: list[tuple[int, Stroke]] = []
        for k, stroke in enumerate(new):
            if stroke.id in present:
                notes.append(f"a stroke with id {stroke.id} already exists; not added again")
                continue
            present.add(stroke.id)
            placed.append((len(strokes) + k if positions is None else int(positions[k]), stroke))
        # Insert in increasing position so each stroke lands at its requested index
        # (undo of a multi-stroke delete puts every stroke back where it was).
        for pos, stroke in sorted(placed, key=lambda item: item[0]):
            strokes.insert(max(0, min(pos, len(strokes))), stroke)
    elif isinstance(command, UpdateStrokes):
        unknown([s.id for s in command.strokes])
        by_id = {s.id: s for s in command.strokes}
        strokes = [by_id.get(s.id, s) for s in strokes]
    elif isinstance(command, SetRespect):
        unknown(command.ids)
        anchors = dict(zip(command.ids, command.anchors or [None] * len(command.ids), strict=True))
        strength = float(command.strength)
        strokes = [
            replace(s, respect=strength, anchor=(anchors[s.id] or anchor_of(s)) if strength > 0 else None)
            if s.id in anchors
            else s
            for s in strokes
        ]
    elif isinstance(command, SetLook):
        if "background" in command.fields:
            drawing = replace(drawing, background=tuple(command.fields["background"]))  # type: ignore[arg-type]
    elif isinstance(command, TransformStrokes):
        unknown(command.ids)
        ids = set(command.ids)
        det = command.matrix[0] * command.matrix[4] - command.matrix[1] * command.matrix[3]
        factor = float(np.sqrt(abs(det))) if command.scale_widths else 1.0

        def moved(s: Stroke) -> Stroke:
            anchor = s.anchor
            if anchor is not None:
                anchor = Anchor(
                    _transform_points(anchor.points, command.matrix), anchor.half_width * factor, anchor.color
                )
            return replace(
                s,
                points=_transform_points(s.points, command.matrix),
                half_width=min(s.half_width * factor, MAX_HALF_WIDTH),
                anchor=anchor,
            )

        strokes = [moved(s) if s.id in ids else s for s in strokes]
    elif isinstance(command, SetStrokeStyle):
        unknown(command.ids)
        ids = set(command.ids)

        def styled(s: Stroke) -> Stroke:
            r, g, b, a = s.color
            if command.color is not None:
                r, g, b = (float(v) for v in command.color[:3])
                if len(command.color) == 4:
                    a = float(command.color[3])
            if command.opacity is not None:
                a = float(command.opacity)
            hw = s.half_width if command.half_width is None else float(command.half_width)
            fill = s.fill
            if command.fill is not None and fill is not None:
                alpha = float(command.fill[3]) if len(command.fill) == 4 else fill[3]
                fill = (*(float(v) for v in command.fill[:3]), alpha)  # type: ignore[assignment]
            return replace(s, color=(r, g, b, a), half_width=hw, fill=fill)

        strokes = [styled(s) if s.id in ids else s for s in strokes]
    elif isinstance(command, Reorder):
        unknown(command.ids)
        strokes = _reordered(strokes, command.ids, command.where)
    elif not isinstance(command, GUIDANCE_COMMANDS):
        raise ConfigError(f"unknown command {command!r}")
    return drawing.with_strokes(strokes), notes


def freehand_stroke(command: AddFreehand) -> Stroke:
    """Fit a freehand polyline to cubic Béziers (see :mod:`clipdraw_core.drawing.fitting`)."""
    from clipdraw_core.drawing.fitting import fit_freehand

    polyline = np.asarray(command.polyline, dtype=np.float64)
    if polyline.ndim != 2 or polyline.shape[1] != 2 or polyline.shape[0] < 1:
        raise ConfigError("a freehand stroke needs at least one (x, y) point")
    if not np.isfinite(polyline).all():
        raise ConfigError("a freehand stroke contains NaN or infinity")
    points, half_width = fit_freehand(
        polyline, command.pressure, tolerance=command.tolerance, half_width=command.half_width
    )
    return Stroke(command.stroke_id, points, half_width, command.color, command.frozen)
