"""What a project file may contain, checked before anything is built from it.

A project can come from anywhere (a download, a hand edit, a fuzzer), so the loader
checks the parsed JSON against this schema first and reports every problem as one line
that names where it is (``drawing.strokes[3].frozen must be true or false, got 'false'``).
Only a document that passes is handed to ``SessionConfig``/``Drawing``, so no raw
``OverflowError``/``TypeError``/``RecursionError`` can come out of them, and no wrong
value (a string ``"false"`` that Python would take as true, a point ``"12"``, a seed of
10^30, an unknown renderer) is silently accepted and fails much later.

Two checks run on the raw bytes, before parsing, because parsing itself is the cost
they bound: the file size (:data:`MAX_PROJECT_BYTES`) and the number of strokes (a count
of ``"points"`` keys, a cheap upper bound; a 10^6-stroke file is refused in milliseconds
instead of being parsed into a gigabyte of Python objects). Integers longer than
:data:`MAX_INT_DIGITS` digits are refused by the parser hook, and nesting deeper than
Python's recursion limit is a clear error; the walk below only descends where the
schema allows, so its depth is bounded by the schema (free-form ``config.extra`` is
bounded by :data:`MAX_EXTRA_DEPTH`).

The settings part is derived from ``SessionConfig``'s own field types (``str``,
``int``, ``float``, ``bool``, tuples of those, ``X | None``), so a new setting is
checked without editing this file; ranges are then checked by
``SessionConfig.validate``. Why not a JSON-Schema library: the rules that matter here
(float32 finiteness, unique ids, 3k+1 points, size bounds before parsing) are not
expressible in JSON Schema, and the rest is a few lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from typing import Any

from clipdraw_core.drawing.strokes import FILL_RULES, MAX_SEGMENTS_PER_STROKE, MAX_STROKES
from clipdraw_core.errors import ClipDrawError, FileFormatError
from clipdraw_core.io.project_history import MAX_BRANCHES, MAX_HISTORY_FRAMES
from clipdraw_core.optim.config import MAX_STEPS, SessionConfig
from clipdraw_core.optim.setting import check_value
from clipdraw_core.optim.timelapse import SHAPE_ARRAYS
from clipdraw_core.validation import (
    MAX_COORDINATE,
    MAX_HALF_WIDTH,
    MAX_STROKE_ID,
    bool_value,
    check_text,
    float32_value,
    int_value,
)

FORMAT_NAME = "clipdraw-studio-project"
#: 2 added guidance (image prompts, style image, regions) and per-stroke soft locks;
#: 3 added the recorded history (time-lapse frames and branches).
FORMAT_VERSION = 3
GUIDANCE_FORMAT_VERSION = 2
HISTORY_FORMAT_VERSION = 3
#: Room for the largest drawings the app can make and save (5000 strokes of 100 segments are
#: 98 MB, loaded in 12 s of CPU); anything larger is refused unread.
MAX_PROJECT_BYTES = 128 * 1024 * 1024
#: Integers in a project are ids, counts and seeds; none needs more digits than this.
MAX_INT_DIGITS = 100
#: Longest string accepted (prompts are limited to 1000 characters; paths may be long).
MAX_STRING_CHARS = 8192
#: Nesting and size of the free-form ``config.extra`` settings.
MAX_EXTRA_DEPTH = 4
MAX_EXTRA_ITEMS = 256
#: Problems reported before the check gives up (the first is the one shown in one line).
MAX_PROBLEMS = 20

_DEVICE = re.compile(r"auto|cpu|mps|cuda(?::\d{1,3})?")
_MAX_POINTS = 3 * MAX_SEGMENTS_PER_STROKE + 1


class ProjectSchemaError(FileFormatError):
    """A project breaks the schema; ``problems`` lists every problem found, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = list(problems)
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        super().__init__(f"{source} is damaged: {problems[0]}" + (more if len(problems) > 1 else ""))


class _TooLongInt(Exception):
    pass


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(message)

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_PROBLEMS

    def check(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one of the shared checks; a failure becomes a problem line (and None)."""
        try:
            return func(*args, **kwargs)
        except ClipDrawError as exc:
            self.add(str(exc))
            return None


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooLongInt(text[:12])
    return int(text)


def precheck_bytes(data: bytes | str, source: str) -> None:
    """Bounds checked on the raw file (or its text), before any parsing (see the module docstring)."""
    if len(data) > MAX_PROJECT_BYTES:
        raise FileFormatError(
            f"{source} is too large to be a project "
            f"({len(data) / 1e6:.1f} MB > {MAX_PROJECT_BYTES / 1e6:.0f} MB)"
        )
    # History frames hold their points as one base64 string ("points": "..."), never a
    # list, so they are not counted as strokes.
    if isinstance(data, bytes):
        strokes = data.count(b'"points"') - data.count(b'"points": "')
    else:
        strokes = data.count('"points"') - data.count('"points": "')
    if strokes > MAX_STROKES:
        raise FileFormatError(f"{source} has too many strokes (about {strokes}; at most {MAX_STROKES})")


def parse_json(text: str, source: str) -> Any:
    """``json.loads`` with every failure as one :class:`FileFormatError` line."""
    try:
        return json.loads(text, parse_int=_parse_int)
    except _TooLongInt as exc:
        raise FileFormatError(
            f"{source} is damaged: an integer ({exc}...) has more than {MAX_INT_DIGITS} digits"
        ) from None
    except RecursionError:
        raise FileFormatError(f"{source} is damaged: its JSON is nested far too deeply") from None
    except json.JSONDecodeError as exc:
        message = f"{source} is not a CLIPDraw Studio project (invalid JSON: {exc.msg})"
        raise FileFormatError(message) from None
    except ValueError as exc:  # e.g. a float literal Python cannot convert
        raise FileFormatError(f"{source} is not a CLIPDraw Studio project (invalid JSON: {exc})") from None


# ------------------------------------------------------------------ settings
def _scalar_checker(kind: str) -> Any:
    if kind == "str":
        return lambda v, where: _text(v, where)
    if kind == "int":  # the type only: ranges come from each setting's metadata
        return lambda v, where: int_value(v, where, low=-(10**MAX_INT_DIGITS), high=10**MAX_INT_DIGITS)
    if kind == "float":
        return lambda v, where: float32_value(v, where)
    if kind == "bool":
        return lambda v, where: bool_value(v, where)
    return None


def _text(value: Any, where: str) -> str:
    text = check_text(value, where)
    if len(text) > MAX_STRING_CHARS:
        raise FileFormatError(f"{where} is too long ({len(text)} characters > {MAX_STRING_CHARS})")
    return text


def _check_annotated(value: Any, annotation: str, where: str, problems: _Problems) -> None:
    """Check ``value`` against a ``SessionConfig`` field annotation (as written in the source)."""
    annotation = annotation.replace(" ", "")
    if annotation.endswith("|None"):
        if value is None:
            return
        annotation = annotation[: -len("|None")]
    scalar = _scalar_checker(annotation)
    if scalar is not None:
        problems.check(scalar, value, where)
        return
    m = re.fullmatch(r"tuple\[(\w+),\.\.\.\]", annotation)
    if m or annotation.startswith("tuple["):
        items = [m.group(1)] if m else annotation[len("tuple[") : -1].split(",")
        if not isinstance(value, list):
            problems.add(f"{where} must be a list, got {type(value).__name__}")
            return
        if m is None and len(value) != len(items):
            problems.add(f"{where} must have {len(items)} values, got {len(value)}")
            return
        if len(value) > MAX_EXTRA_ITEMS:
            problems.add(f"{where} has too many values ({len(value)} > {MAX_EXTRA_ITEMS})")
            return
        for k, item in enumerate(value):
            kind = items[0] if m else items[k]
            checker = _scalar_checker(kind)
            if checker is not None:
                problems.check(checker, item, f"{where}[{k}]")
        return
    if annotation.startswith("dict["):
        _check_free(value, where, problems, 0)
        return
    _check_free(value, where, problems, 0)  # an annotation this file does not know: bound it


def _check_free(value: Any, where: str, problems: _Problems, depth: int) -> None:
    """Free-form JSON (``config.extra``): bounded depth and size, finite numbers, valid text."""
    if depth > MAX_EXTRA_DEPTH:
        problems.add(f"{where} is nested too deeply (more than {MAX_EXTRA_DEPTH} levels)")
        return
    if isinstance(value, dict):
        if len(value) > MAX_EXTRA_ITEMS:
            problems.add(f"{where} has too many entries ({len(value)} > {MAX_EXTRA_ITEMS})")
            return
        for key, item in value.items():
            problems.check(_text, key, f"a key in {where}")
            _check_free(item, f"{where}.{key}", problems, depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_EXTRA_ITEMS:
            problems.add(f"{where} has too many values ({len(value)} > {MAX_EXTRA_ITEMS})")
            return
        for k, item in enumerate(value):
            _check_free(item, f"{where}[{k}]", problems, depth + 1)
    elif isinstance(value, str):
        problems.check(_text, value, where)
    elif isinstance(value, float):
        problems.check(float32_value, value, where)
    elif isinstance(value, int) and not isinstance(value, bool):
        problems.check(int_value, value, where, low=-(2**63), high=2**64 - 1)


def _check_config(config: Any, problems: _Problems) -> None:
    if not isinstance(config, dict):
        problems.add(f"config must be an object, got {type(config).__name__}")
        return
    known = {f.name: f for f in fields(SessionConfig)}
    settings = {s.name: s for s in SessionConfig.settings()}
    for key, value in config.items():
        if problems.full:
            return
        field = known.get(key)
        if field is None:
            continue  # a newer app's setting: ignored, as SessionConfig.from_dict does
        before = len(problems.items)
        annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
        _check_annotated(value, annotation, f"config.{key}", problems)
        meta = settings.get(key)
        if meta is not None and len(problems.items) == before:
            try:  # the setting's own range and choices (what the CLI and the window accept)
                check_value(meta, tuple(value) if isinstance(value, list) else value)
            except ClipDrawError as exc:
                problems.add(f"config.{key}: {exc}")
    renderer = config.get("renderer", "auto")
    if isinstance(renderer, str) and renderer != "auto":
        # The render room owns the names; imported only here because it imports torch.
        from clipdraw_core.render import RENDERERS
    if isinstance(renderer, str) and renderer != "auto" and renderer not in RENDERERS:
        problems.add(f"config.renderer must be one of {', '.join(RENDERERS)}, got {renderer[:40]!r}")
    device = config.get("device", "auto")
    if isinstance(device, str) and not _DEVICE.fullmatch(device.strip().lower()):
        problems.add(f"config.device must be auto, cpu, cuda, cuda:N or mps, got {device[:40]!r}")


# ------------------------------------------------------------------ drawing
def _check_point(point: Any, where: str, problems: _Problems) -> None:
    if not isinstance(point, list) or len(point) != 2:
        problems.add(f"{where} must be a pair [x, y]")
        return
    for axis, value in zip("xy", point, strict=True):
        problems.check(float32_value, value, f"{where}.{axis}", low=-MAX_COORDINATE, high=MAX_COORDINATE)


def _check_stroke(stroke: Any, where: str, problems: _Problems, ids: set[int]) -> None:
    if not isinstance(stroke, dict):
        problems.add(f"{where} must be an object, got {type(stroke).__name__}")
        return
    if "id" not in stroke or "points" not in stroke:
        problems.add(f"{where} needs an 'id' and 'points'")
        return
    sid = problems.check(int_value, stroke["id"], f"{where}.id", low=0, high=MAX_STROKE_ID)
    if sid is not None:
        if sid in ids:
            problems.add(f"{where}.id {sid} is used by another stroke")
        ids.add(sid)
    points = stroke["points"]
    closed = stroke.get("fill") is not None  # a filled closed shape: 3k points (issue 11)
    if not isinstance(points, list):
        problems.add(f"{where}.points must be a list, got {type(points).__name__}")
    elif closed and (len(points) < 3 or len(points) > _MAX_POINTS - 1 or len(points) % 3):
        problems.add(
            f"{where}.points of a filled shape must hold 3k points (3 to {_MAX_POINTS - 1}) for k cubic "
            f"segments, got {len(points)}"
        )
    elif not closed and (len(points) < 4 or len(points) > _MAX_POINTS or (len(points) - 1) % 3):
        problems.add(
            f"{where}.points must hold 3k+1 points (4 to {_MAX_POINTS}) for k cubic segments, "
            f"got {len(points)}"
        )
    else:
        for k, point in enumerate(points):
            if problems.full:
                return
            _check_point(point, f"{where}.points[{k}]", problems)
    if "half_width" in stroke:
        width = stroke["half_width"]
        problems.check(float32_value, width, f"{where}.half_width", low=0.0, high=MAX_HALF_WIDTH)
    if "color" in stroke:
        _check_colour(stroke["color"], f"{where}.color", problems, (3, 4))
    if "frozen" in stroke:
        problems.check(bool_value, stroke["frozen"], f"{where}.frozen")
    if "respect" in stroke:
        problems.check(float32_value, stroke["respect"], f"{where}.respect", low=0.0, high=1.0)
    if stroke.get("anchor") is not None:
        _check_anchor(stroke["anchor"], f"{where}.anchor", problems, points)
    if closed:
        _check_colour(stroke["fill"], f"{where}.fill", problems, (3, 4))
    if "outlined" in stroke:
        problems.check(bool_value, stroke["outlined"], f"{where}.outlined")
    if "fill_rule" in stroke and stroke["fill_rule"] not in FILL_RULES:
        rule = stroke["fill_rule"]
        shown = repr(rule) if isinstance(rule, str) and len(rule) <= 40 else type(rule).__name__
        problems.add(f"{where}.fill_rule must be one of {', '.join(FILL_RULES)}, got {shown}")
    if stroke.get("subpaths") is not None:
        _check_subpaths(stroke["subpaths"], f"{where}.subpaths", problems, points if closed else None)


def _check_subpaths(subpaths: Any, where: str, problems: _Problems, points: Any) -> None:
    """A compound shape's contour segment counts: whole numbers >= 1 adding up to its segments."""
    if points is None:
        problems.add(f"{where}: only a filled shape can have subpaths")
        return
    if not isinstance(subpaths, list) or len(subpaths) > MAX_SEGMENTS_PER_STROKE:
        problems.add(f"{where} must be a list of at most {MAX_SEGMENTS_PER_STROKE} segment counts")
        return
    counts = [
        problems.check(int_value, k, f"{where}[{i}]", low=1, high=MAX_SEGMENTS_PER_STROKE)
        for i, k in enumerate(subpaths)
    ]
    total = sum(k for k in counts if k is not None)
    if None in counts or not isinstance(points, list):
        return
    if subpaths and 3 * total != len(points):
        problems.add(f"{where} must add up to the shape's {len(points) // 3} segments, got {total}")


def _check_anchor(anchor: Any, where: str, problems: _Problems, points: Any) -> None:
    if not isinstance(anchor, dict) or not isinstance(anchor.get("at_points"), list):
        problems.add(f"{where} must be an object with 'at_points', 'half_width' and 'color'")
        return
    at = anchor["at_points"]
    if not isinstance(points, list) or len(at) != len(points):
        problems.add(f"{where}.at_points must hold as many points as the stroke")
        return
    for k, point in enumerate(at):
        if problems.full:
            return
        _check_point(point, f"{where}.at_points[{k}]", problems)
    problems.check(
        float32_value, anchor.get("half_width"), f"{where}.half_width", low=0.0, high=MAX_HALF_WIDTH
    )
    _check_colour(anchor.get("color"), f"{where}.color", problems, (3, 4))


def _check_guidance(guidance: Any, problems: _Problems) -> None:
    """The shape of the guidance record; its values are checked as it is built (Guidance.from_dict)."""
    if not isinstance(guidance, dict):
        problems.add(f"guidance must be an object, got {type(guidance).__name__}")
        return
    for key in ("images", "regions"):
        items = guidance.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            problems.add(f"guidance.{key} must be a list of objects")
        elif len(items) > 64:
            problems.add(f"guidance.{key} has too many entries ({len(items)} > 64)")
    style = guidance.get("style")
    if style is not None and not isinstance(style, dict):
        problems.add(f"guidance.style must be an object or null, got {type(style).__name__}")


def _check_colour(colour: Any, where: str, problems: _Problems, lengths: tuple[int, ...]) -> None:
    if not isinstance(colour, list) or len(colour) not in lengths:
        problems.add(f"{where} must be a list of {' or '.join(map(str, lengths))} numbers in [0, 1]")
        return
    for k, value in enumerate(colour):
        problems.check(float32_value, value, f"{where}[{k}]", low=0.0, high=1.0)


def _check_drawing(drawing: Any, problems: _Problems) -> None:
    if not isinstance(drawing, dict):
        problems.add(f"drawing must be an object, got {type(drawing).__name__}")
        return
    for key in ("width", "height"):
        if key not in drawing:
            problems.add(f"drawing.{key} is missing")
        else:
            problems.check(int_value, drawing[key], f"drawing.{key}", low=16, high=4096)
    if "background" in drawing:
        _check_colour(drawing["background"], "drawing.background", problems, (3,))
    strokes = drawing.get("strokes", [])
    if not isinstance(strokes, list):
        problems.add(f"drawing.strokes must be a list, got {type(strokes).__name__}")
        return
    if len(strokes) > MAX_STROKES:
        problems.add(f"drawing.strokes has too many strokes ({len(strokes)} > {MAX_STROKES})")
        return
    ids: set[int] = set()
    for k, stroke in enumerate(strokes):
        if problems.full:
            return
        _check_stroke(stroke, f"drawing.strokes[{k}]", problems, ids)


# ------------------------------------------------------------------ history
#: Base64 text of one frame array: at most MAX_STROKES strokes of the longest stroke's
#: points (2 float32 each), 4/3 for base64, plus padding.
_MAX_FRAME_FIELD_CHARS = (MAX_STROKES * _MAX_POINTS * 8 * 4) // 3 + 8
_FRAME_ARRAYS = ("ids", "segments", "frozen", "points", "half_widths", "colors")
#: Written only by frames holding filled shapes (all or none of them; older frames have none).
_FRAME_SHAPE_ARRAYS = SHAPE_ARRAYS


def _check_frame(frame: Any, where: str, problems: _Problems) -> None:
    """A frame's shape and scalars; its arrays are decoded and checked when it is built."""
    if not isinstance(frame, dict):
        problems.add(f"{where} must be an object, got {type(frame).__name__}")
        return
    if "step" not in frame:
        problems.add(f"{where}.step is missing")
    else:
        problems.check(int_value, frame["step"], f"{where}.step", low=0, high=MAX_STEPS)
    score = frame.get("score")
    if score is not None:
        problems.check(float32_value, score, f"{where}.score", low=-1e6, high=1e6)
    for key in ("width", "height"):
        if key not in frame:
            problems.add(f"{where}.{key} is missing")
        else:
            problems.check(int_value, frame[key], f"{where}.{key}", low=16, high=4096)
    _check_colour(frame.get("background"), f"{where}.background", problems, (3,))
    shape_keys = [key for key in _FRAME_SHAPE_ARRAYS if key in frame]
    if shape_keys and len(shape_keys) != len(_FRAME_SHAPE_ARRAYS):
        missing = ", ".join(key for key in _FRAME_SHAPE_ARRAYS if key not in frame)
        problems.add(f"{where} has filled shapes but lacks {missing}")
    for key in (*_FRAME_ARRAYS, *shape_keys):
        value = frame.get(key)
        if not isinstance(value, str):
            problems.add(f"{where}.{key} must be base64 text, got {type(value).__name__}")
        elif len(value) > _MAX_FRAME_FIELD_CHARS:
            problems.add(f"{where}.{key} is too long ({len(value)} characters)")


def _check_frames(frames: Any, where: str, problems: _Problems) -> None:
    if not isinstance(frames, list):
        problems.add(f"{where} must be a list, got {type(frames).__name__}")
        return
    if len(frames) > MAX_HISTORY_FRAMES:
        problems.add(f"{where} has too many frames ({len(frames)} > {MAX_HISTORY_FRAMES})")
        return
    for k, frame in enumerate(frames):
        if problems.full:
            return
        _check_frame(frame, f"{where}[{k}]", problems)


def _check_history(history: Any, problems: _Problems) -> None:
    """The recorded frames and branches (see :mod:`clipdraw_core.io.project_history`)."""
    if not isinstance(history, dict):
        problems.add(f"history must be an object, got {type(history).__name__}")
        return
    for key in ("every", "initial_every"):
        if key in history:
            problems.check(int_value, history[key], f"history.{key}", low=1, high=MAX_STEPS)
    if "every" not in history:
        problems.add("history.every is missing")
    origin = history.get("origin")
    if origin is not None:
        problems.check(int_value, origin, "history.origin", low=0, high=MAX_STEPS)
    _check_frames(history.get("frames"), "history.frames", problems)
    branches = history.get("branches", [])
    if not isinstance(branches, list):
        problems.add(f"history.branches must be a list, got {type(branches).__name__}")
        return
    if len(branches) > MAX_BRANCHES:
        problems.add(f"history.branches has too many branches ({len(branches)} > {MAX_BRANCHES})")
        return
    for k, branch in enumerate(branches):
        where = f"history.branches[{k}]"
        if not isinstance(branch, dict):
            problems.add(f"{where} must be an object, got {type(branch).__name__}")
            continue
        problems.check(int_value, branch.get("shared"), f"{where}.shared", low=0, high=MAX_HISTORY_FRAMES)
        _check_frames(branch.get("frames"), f"{where}.frames", problems)


# ------------------------------------------------------------------ document
def check_header(data: Any, source: str) -> None:
    """Is it a project at all, and one this version can read? (:class:`FileFormatError`)"""
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise FileFormatError(f"{source} is not a CLIPDraw Studio project")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        shown = repr(version) if not isinstance(version, int) or abs(version) < 10**6 else "a huge number"
        raise FileFormatError(f"{source} is damaged: format_version must be a whole number >= 1, got {shown}")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"{source} was saved by a newer CLIPDraw Studio (format {version}); please update the app"
        )


def validate_project_data(data: Any, source: str = "project") -> None:
    """Raise :class:`ProjectSchemaError` listing every problem, or return if ``data`` is sound."""
    check_header(data, source)
    problems = _Problems()
    if "app_version" in data:
        problems.check(_text, data["app_version"], "app_version")
    if "step" in data:
        problems.check(int_value, data["step"], "step", low=0, high=MAX_STEPS)
    _check_config(data.get("config", {}), problems)
    if "drawing" not in data:
        problems.add("drawing is missing")
    else:
        _check_drawing(data["drawing"], problems)
    if "guidance" in data:
        _check_guidance(data["guidance"], problems)
    if "history" in data:
        _check_history(data["history"], problems)
    if problems.items:
        raise ProjectSchemaError(source, problems.items)
