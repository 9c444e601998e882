"""The wire format between ``clipdraw-server`` and its clients, and its validation.

Messages are JSON objects in WebSocket text frames, each with a ``"type"``. The plain
data of snapshots, strokes and commands (``to_plain()``) contains numpy arrays; those
travel as ``{"__nd__": dtype, "shape": [...], "b64": raw bytes}`` so numbers cross the
wire bit for bit (a remote run gives exactly the local run's drawing) and a snapshot
costs its raw float32 bytes plus a third, not a decimal text per number.

Why JSON and not pickle or msgpack: ``pickle.loads`` on a client's bytes runs the
client's code; JSON can only build dicts, lists, strings and numbers, and the array
decoder accepts a short list of numeric dtypes with a size check. No new dependency.

Everything a client sends is checked here before it reaches the engine
(:func:`parse_client_message`): the message's shape and types, the settings through
:meth:`SessionConfig.validate`, strokes through :meth:`Stroke.from_plain`, commands
through :func:`check_command` (one check per command type in ``_COMMAND_CHECKS``:
stroke counts, id lists, prompt lengths, array shapes, finite numbers, transform
matrices, look values through :meth:`SessionConfig.check_look`), then
:func:`command_from_plain`. A failure is a :class:`ProtocolError`, which the server turns
into closing that one connection with the reason.

Image prompts, a style image and regions travel as data too (:func:`check_guidance`):
pictures as base64 PNG, as project files embed them, each capped in encoded bytes
(:data:`MAX_IMAGE_BYTES`) and in pixels a side (:data:`MAX_IMAGE_SIDE`, the size the
app and the CLI shrink them to anyway), their header read before any pixel is decoded;
counts, names, prompts and polygons are capped too. The server never opens a path.
Snapshots carry the guidance in force only when it changed since the last snapshot
on that connection (``"guidance_same": true`` otherwise), so a 300 kB style image is
not resent with every step.

Client → server: ``start`` (config, strokes, guidance, paused, and ``plan``: run the
settings' stages, prunes and auto-stop on the server as the CLI does locally, with
``record`` for a time-lapse), ``resume`` (session id), ``command`` (seq, command),
``control`` (action: pause, run, stop; ``run`` may carry ``lease_s``: pause unless
renewed within that time), ``frames`` (the time-lapse recorded so far), ``ping``.
Server → client: ``welcome`` (server info), ``started`` / ``resumed`` (session id,
last acknowledged command seq, snapshot), ``snapshot``, ``frames``, ``pong``, ``error``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clipdraw_core.drawing.commands import (
    MID_RUN_LOOK,
    REORDER_WHERE,
    AddFreehand,
    Command,
    SetPrompt,
    command_from_plain,
)
from clipdraw_core.drawing.guidance import (
    MAX_IMAGE_SIDE,
    MAX_ITEMS,
    MAX_REGION_VERTICES,
    Guidance,
)
from clipdraw_core.drawing.palette import MAX_COLORS
from clipdraw_core.drawing.strokes import MAX_STROKES, Stroke
from clipdraw_core.errors import ClipDrawError, RemoteError
from clipdraw_core.optim.config import MAX_PROMPT_CHARS, SessionConfig
from clipdraw_core.validation import MAX_COORDINATE, MAX_HALF_WIDTH

PROTOCOL_VERSION = 1
#: Largest message a server accepts by default (bytes): a 5000-stroke seed fits.
DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Points in one freehand polyline.
MAX_POLYLINE_POINTS = 100_000
MAX_PROMPTS = 32
#: Longest session id (they are ``secrets.token_urlsafe(16)``).
MAX_SESSION_ID = 64
#: Longest model or weights name a client may ask for.
MAX_NAME = 300
_DTYPES = frozenset({"float32", "float64", "int32", "int64", "uint8", "bool"})
CONTROL_ACTIONS = ("pause", "run", "stop")
#: Encoded PNG bytes of one image prompt or style image (a 512 px photo is ~0.5 MB).
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: Image prompts in one message (each is one CLIP embedding, computed once).
MAX_IMAGE_PROMPTS = 16
#: Regions in one message, and vertices of one region (the engine's own caps).
MAX_REGIONS = MAX_ITEMS
#: Longest name of an image prompt, a style image or a region.
MAX_LABEL = 200
#: Entries of a palette in a ``SetLook`` (duplicates are allowed and dropped, so more than
#: the 32 distinct colours a palette holds, but bounded).
MAX_PALETTE_ENTRIES = 8 * MAX_COLORS
#: Longest text of a look value (a ``#rrggbb`` colour, a palette mode).
MAX_SETTING_TEXT = 32
#: Largest scale or rotation entry of a ``TransformStrokes`` matrix (a thousandfold
#: enlargement is far beyond any drag), and the largest translation: such a scale
#: about any point within the coordinate bounds.
MAX_TRANSFORM_SCALE = 1e3
MAX_TRANSLATION = (MAX_TRANSFORM_SCALE + 1) * MAX_COORDINATE
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLIENT_TYPES = ("start", "resume", "command", "control", "frames", "ping")


class ProtocolError(RemoteError):
    """A message that does not follow the protocol; the connection is closed with this reason."""


# ---------------------------------------------------------------------- encoding
def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {
            "__nd__": str(array.dtype),
            "shape": list(array.shape),
            "b64": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__nd__" in value:
            return _decode_array(value)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _decode_array(value: dict[str, Any]) -> np.ndarray:
    dtype, shape, data = value.get("__nd__"), value.get("shape"), value.get("b64")
    if dtype not in _DTYPES:
        raise ProtocolError(f"arrays of type {dtype!r} are not accepted")
    if (
        not isinstance(shape, list)
        or len(shape) > 4
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        or not isinstance(data, str)
    ):
        raise ProtocolError("an array needs a shape (at most 4 whole numbers) and base64 data")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError as exc:
        raise ProtocolError("an array's data is not base64") from exc
    array = np.frombuffer(raw, dtype=np.dtype(dtype))
    if array.size != math.prod(shape):
        raise ProtocolError("an array's data does not match its shape")
    out: np.ndarray = array.reshape(shape).copy()
    return out


def encode_message(message: Mapping[str, Any]) -> str:
    """One message as the text of a WebSocket frame."""
    return json.dumps(_encode(message), separators=(",", ":"), allow_nan=False)


def decode_message(text: str | bytes) -> dict[str, Any]:
    """A frame's text as a message dict (arrays decoded); :class:`ProtocolError` if malformed."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("the message is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("a message must be a JSON object with a 'type'")
    decoded: dict[str, Any] = _decode(data)
    return decoded


# ---------------------------------------------------------------------- validation
@dataclass(frozen=True)
class ClientMessage:
    """A validated message from a client (only the fields of its type are set)."""

    type: str
    config: SessionConfig | None = None
    strokes: tuple[Stroke, ...] = ()
    paused: bool = False
    session_id: str = ""
    seq: int = 0
    command: Command | None = None
    action: str = ""
    payload: Any = None
    guidance: Guidance = field(default_factory=Guidance)
    #: ``start``: run the settings' plan (stages, prunes, auto-stop) on the server...
    run_plan: bool = False
    #: ...and record its time-lapse frames.
    record: bool = False


def _int(value: Any, name: str, low: int = 0, high: int = 2**53) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f"{name} must be a whole number between {low} and {high}")
    return value


def _ids(value: Any) -> None:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_STROKES:
        raise ProtocolError(f"ids must be a list of at most {MAX_STROKES} stroke ids")
    for i in value:
        _int(i, "a stroke id", 0, 2**31 - 1)


def _prompt(value: Any) -> None:
    if not isinstance(value, str) or len(value) > MAX_PROMPT_CHARS:
        raise ProtocolError(f"a prompt must be text of at most {MAX_PROMPT_CHARS} characters")


def _strokes(value: Any) -> tuple[Stroke, ...]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_STROKES:
        raise ProtocolError(f"strokes must be a list of at most {MAX_STROKES}")
    out = []
    for s in value:
        if not isinstance(s, dict):
            raise ProtocolError("a stroke must be an object")
        if not isinstance(s.get("points"), np.ndarray) or s["points"].dtype.kind != "f":
            raise ProtocolError("a stroke's points must be a float array")
        try:
            out.append(Stroke.from_plain(s))
        except ClipDrawError as exc:
            raise ProtocolError(f"invalid stroke: {exc}") from exc
    return tuple(out)


def _number(value: Any, name: str, low: float = -1e6, high: float = 1e6) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ProtocolError(f"{name} must be a number between {low:g} and {high:g}")
    return float(value)


def _label(value: Any, name: str) -> None:
    if not isinstance(value, str) or len(value) > MAX_LABEL:
        raise ProtocolError(f"{name} must be text of at most {MAX_LABEL} characters")


def _fields(data: Any, allowed: set[str], what: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} must be an object")
    unknown = set(data) - allowed
    if unknown:
        raise ProtocolError(f"{what} has no field {', '.join(sorted(map(str, unknown)))}")
    return data


def check_png(text: Any, what: str) -> None:
    """Base64 PNG data within the byte and pixel caps; only the header is read."""
    limit = 4 * ((MAX_IMAGE_BYTES + 2) // 3)
    if not isinstance(text, str) or not text or len(text) > limit:
        raise ProtocolError(f"{what} must be a base64 PNG of at most {MAX_IMAGE_BYTES} bytes")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ProtocolError(f"{what}: the image data is not base64") from exc
    if not raw.startswith(_PNG_SIGNATURE):
        raise ProtocolError(f"{what} must be a PNG")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as im:
            width, height = im.size
    except Exception as exc:  # whatever a hostile header trips
        raise ProtocolError(f"{what} is not a readable PNG") from exc
    if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE):
        raise ProtocolError(f"{what} is {width}x{height} px; at most {MAX_IMAGE_SIDE} px a side")


def _check_image(data: Any, what: str) -> None:
    item = _fields(data, {"name", "weight", "png_base64"}, what)
    _label(item.get("name", ""), f"{what}'s name")
    _number(item.get("weight", 1.0), f"{what}'s weight")
    check_png(item.get("png_base64"), what)


def _check_style(data: Any) -> None:
    if data is None:
        return
    item = _fields(data, {"name", "strength", "every", "png_base64"}, "the style image")
    _label(item.get("name", ""), "the style image's name")
    _number(item.get("strength", 50.0), "the style strength", 0, 100)
    _int(item.get("every", 1), "style every", 1, 1000)
    check_png(item.get("png_base64"), "the style image")


def _check_regions(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_REGIONS:
        raise ProtocolError(f"regions must be a list of at most {MAX_REGIONS}")
    for data in value:
        region = _fields(data, {"id", "name", "prompt", "weight", "muted", "polygon"}, "a region")
        _int(region.get("id"), "a region's id", 0, 2**31 - 1)
        _label(region.get("name", ""), "a region's name")
        _prompt(region.get("prompt"))
        _number(region.get("weight", 1.0), "a region's weight")
        if not isinstance(region.get("muted", False), bool):
            raise ProtocolError("a region's muted must be true or false")
        polygon = region.get("polygon")
        if not isinstance(polygon, list) or not 3 <= len(polygon) <= MAX_REGION_VERTICES:
            raise ProtocolError(f"a region's polygon must be a list of 3 to {MAX_REGION_VERTICES} points")
        for point in polygon:
            if not isinstance(point, list) or len(point) != 2:
                raise ProtocolError("a region's points must be [x, y] pairs")
            for v in point:
                _number(v, "a region's coordinate", -1e5, 1e5)


def _check_region_views(value: Any) -> None:
    if value is not None:
        _int(value, "region_views", 1, 64)


def _check_images(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_IMAGE_PROMPTS:
        raise ProtocolError(f"images must be a list of at most {MAX_IMAGE_PROMPTS} image prompts")
    for item in value:
        _check_image(item, "an image prompt")


def check_guidance(data: Any) -> Guidance:
    """Image prompts, style image and regions of a ``start`` message, checked, then built."""
    if data is None:
        return Guidance()
    plain = _fields(data, {"images", "style", "regions", "region_views"}, "guidance")
    _check_images(plain.get("images") or [])
    _check_style(plain.get("style"))
    _check_regions(plain.get("regions") or [])
    _check_region_views(plain.get("region_views"))
    try:
        return Guidance.from_dict(plain)
    except ClipDrawError as exc:
        raise ProtocolError(f"invalid guidance: {exc}") from exc
    except Exception as exc:  # whatever a hostile value trips, it must not reach the engine
        raise ProtocolError(f"invalid guidance: {type(exc).__name__}: {exc}") from exc


def _check_frozen_or_delete(data: Mapping[str, Any]) -> None:
    _ids(data.get("ids"))
    if data.get("type") == "SetFrozen" and not isinstance(data.get("frozen", True), bool):
        raise ProtocolError("frozen must be true or false")


def _check_strokes_command(data: Mapping[str, Any]) -> None:
    _strokes(data.get("strokes"))
    positions = data.get("positions")
    if positions is not None:
        _ids(positions)


def _check_freehand(data: Mapping[str, Any]) -> None:
    _int(data.get("stroke_id"), "stroke_id", 0, 2**31 - 1)
    for name in ("polyline", "pressure"):
        array = data.get(name)
        if array is None and name == "pressure":
            continue
        too_big = isinstance(array, np.ndarray) and array.size > 2 * MAX_POLYLINE_POINTS
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f" or too_big:
            raise ProtocolError(f"{name} must be a float array of at most {MAX_POLYLINE_POINTS} points")
    for name in ("half_width", "tolerance"):
        value = data.get(name, 1.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1e4:
            raise ProtocolError(f"{name} must be a positive number")


def _check_prompt_command(data: Mapping[str, Any]) -> None:
    _prompt(data.get("prompt"))
    weight = data.get("prompt_weight", 1.0)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight):
        raise ProtocolError("prompt_weight must be a number")
    for name in ("negative_prompts", "extra_prompts", "prompt_weights", "negative_weights"):
        value = data.get(name) or []
        if not isinstance(value, list) or len(value) > MAX_PROMPTS:
            raise ProtocolError(f"{name} must be a list of at most {MAX_PROMPTS}")
        for v in value:
            if name in ("prompt_weights", "negative_weights"):
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise ProtocolError("prompt weights must be numbers")
            else:
                _prompt(v)


def _check_count(data: Mapping[str, Any]) -> None:
    _int(data.get("count"), "count", 0, MAX_STROKES)


def _check_respect(data: Mapping[str, Any]) -> None:
    _ids(data.get("ids"))
    strength = data.get("strength")
    if not isinstance(strength, (int, float)) or isinstance(strength, bool) or not 0 <= strength <= 1:
        raise ProtocolError("strength must be a number from 0 to 1")
    anchors = data.get("anchors")
    if anchors is not None and (not isinstance(anchors, list) or len(anchors) > MAX_STROKES):
        raise ProtocolError("anchors must be a list (one per id)")


def _check_image_prompts(data: Mapping[str, Any]) -> None:
    _check_images(data.get("images"))


def _check_style_command(data: Mapping[str, Any]) -> None:
    _check_style(data.get("style"))


def _check_regions_command(data: Mapping[str, Any]) -> None:
    _check_regions(data.get("regions"))
    _check_region_views(data.get("region_views"))


def _check_look(data: Mapping[str, Any]) -> None:
    """Only the mid-run look fields, sizes first, then the settings' own checks."""
    _fields(data, {"type", "changes"}, "a SetLook command")
    changes = data.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise ProtocolError("SetLook needs changes: an object of look settings")
    unknown = sorted(map(str, set(changes) - set(MID_RUN_LOOK)))
    if unknown:
        raise ProtocolError(f"SetLook cannot change {', '.join(unknown)[:MAX_LABEL]} during a run")
    palette = changes.get("palette", [])
    if not isinstance(palette, list) or len(palette) > MAX_PALETTE_ENTRIES:
        raise ProtocolError(f"a palette must be a list of at most {MAX_PALETTE_ENTRIES} hex colours")
    for value in (*palette, changes.get("ink"), changes.get("palette_mode")):
        if isinstance(value, str) and len(value) > MAX_SETTING_TEXT:
            raise ProtocolError(f"look colours and modes are at most {MAX_SETTING_TEXT} characters")
    try:
        SessionConfig.check_look(changes)
    except ClipDrawError as exc:
        raise ProtocolError(f"invalid SetLook command: {exc}") from exc


def _check_transform(data: Mapping[str, Any]) -> None:
    _fields(data, {"type", "ids", "matrix", "scale_widths"}, "a TransformStrokes command")
    _ids(data.get("ids"))
    matrix = data.get("matrix")
    if not isinstance(matrix, (list, tuple)) or len(matrix) != 6:
        raise ProtocolError("a transform's matrix must be a list of six numbers (a, b, c, d, e, f)")
    for k, value in enumerate(matrix):
        if k in (2, 5):
            _number(value, "a transform's translation", -MAX_TRANSLATION, MAX_TRANSLATION)
        else:
            _number(value, "a transform's scale or rotation entry", -MAX_TRANSFORM_SCALE, MAX_TRANSFORM_SCALE)
    if not isinstance(data.get("scale_widths", True), bool):
        raise ProtocolError("scale_widths must be true or false")


def _colour(value: Any, name: str) -> None:
    if value is None:
        return
    if not isinstance(value, (list, tuple)) or len(value) not in (3, 4):
        raise ProtocolError(f"{name} must be 3 (RGB) or 4 (RGBA) numbers from 0 to 1")
    for v in value:
        _number(v, f"{name}'s channels", 0.0, 1.0)


def _check_stroke_style(data: Mapping[str, Any]) -> None:
    _fields(data, {"type", "ids", "color", "opacity", "half_width", "fill"}, "a SetStrokeStyle command")
    _ids(data.get("ids"))
    _colour(data.get("color"), "a stroke colour")
    _colour(data.get("fill"), "a fill colour")
    if data.get("opacity") is not None:
        _number(data.get("opacity"), "opacity", 0.0, 1.0)
    if data.get("half_width") is not None:
        if _number(data.get("half_width"), "a stroke's half-width", 0.0, MAX_HALF_WIDTH) <= 0:
            raise ProtocolError("a stroke's half-width must be positive")


def _check_reorder(data: Mapping[str, Any]) -> None:
    _fields(data, {"type", "ids", "where"}, "a Reorder command")
    _ids(data.get("ids"))
    if data.get("where") not in REORDER_WHERE:
        raise ProtocolError(f"a reorder's where must be one of {', '.join(REORDER_WHERE)}")


#: What the server checks of each command it accepts, by the command's type name.
_COMMAND_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "SetFrozen": _check_frozen_or_delete,
    "DeleteStrokes": _check_frozen_or_delete,
    "AddStrokes": _check_strokes_command,
    "UpdateStrokes": _check_strokes_command,
    "AddFreehand": _check_freehand,
    "SetPrompt": _check_prompt_command,
    "SetStrokeCount": _check_count,
    "SetRespect": _check_respect,
    "SetImagePrompts": _check_image_prompts,
    "SetStyle": _check_style_command,
    "SetRegions": _check_regions_command,
    "SetLook": _check_look,
    "TransformStrokes": _check_transform,
    "SetStrokeStyle": _check_stroke_style,
    "Reorder": _check_reorder,
}
#: Every command a client may send (all of ``commands.COMMAND_TYPES`` today).
SERVER_COMMANDS = frozenset(_COMMAND_CHECKS)
#: Commands the window applies on its own side and never sends to a server. None today:
#: a new command class must go into ``_COMMAND_CHECKS`` or here (a test checks that every
#: class in ``clipdraw_core.drawing.commands`` is in exactly one of them).
CLIENT_ONLY_COMMANDS: frozenset[str] = frozenset()


def check_command(data: Mapping[str, Any]) -> Command:
    """A command from its plain form, with every field's type and size checked first."""
    kind = data.get("type")
    check = _COMMAND_CHECKS.get(kind) if isinstance(kind, str) else None
    if check is None:
        raise ProtocolError(f"unknown command type {str(kind)[:MAX_LABEL]!r}")
    check(data)
    try:
        command = command_from_plain(data)
        if isinstance(command, AddFreehand):
            from clipdraw_core.drawing.commands import freehand_stroke

            freehand_stroke(command)  # the fit must succeed here, not in the engine
        elif isinstance(command, SetPrompt):
            SessionConfig(
                prompt=command.prompt,
                negative_prompts=tuple(command.negative_prompts),
                extra_prompts=tuple(command.extra_prompts),
                extra_weights=tuple(command.prompt_weights or ()) if command.extra_prompts else (),
            ).validate()
    except ClipDrawError as exc:
        raise ProtocolError(f"invalid {kind} command: {exc}") from exc
    except Exception as exc:  # whatever a hostile value trips, it must not reach the engine
        raise ProtocolError(f"invalid {kind} command: {type(exc).__name__}: {exc}") from exc
    return command


def parse_client_message(data: Mapping[str, Any]) -> ClientMessage:
    """Validate a decoded client message; :class:`ProtocolError` says what is wrong."""
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError(f"unknown message type {kind!r}")
    if kind == "start":
        config = data.get("config")
        if not isinstance(config, dict):
            raise ProtocolError("start needs a config object")
        try:
            cfg = SessionConfig.from_dict(config).validate()
        except ClipDrawError as exc:
            raise ProtocolError(f"invalid settings: {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"invalid settings: {exc}") from exc
        strokes = _strokes(data.get("strokes", []))
        if len(strokes) + cfg.num_paths > MAX_STROKES:
            raise ProtocolError(f"at most {MAX_STROKES} strokes in all")
        if len({s.id for s in strokes}) != len(strokes):
            raise ProtocolError("seed strokes must have distinct ids")
        paused = data.get("paused", False)
        if not isinstance(paused, bool):
            raise ProtocolError("paused must be true or false")
        names = []
        for key in ("model", "weights"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= MAX_NAME):
                raise ProtocolError(f"{key} must be a name of at most {MAX_NAME} characters")
            names.append(value)
        step = _int(data.get("step", 0), "step", 0, cfg.num_steps)
        guidance = check_guidance(data.get("guidance"))
        plan = data.get("plan")
        if plan is not None:
            plan = _fields(plan, {"record"}, "plan")
            if not isinstance(plan.get("record", False), bool):
                raise ProtocolError("plan's record must be true or false")
        return ClientMessage(
            "start", config=cfg, strokes=strokes, paused=paused, payload=tuple(names), seq=step,
            guidance=guidance, run_plan=plan is not None, record=bool(plan and plan.get("record")),
        )
    if kind == "resume":
        sid = data.get("session")
        if not isinstance(sid, str) or not 0 < len(sid) <= MAX_SESSION_ID:
            raise ProtocolError("resume needs a session id")
        return ClientMessage("resume", session_id=sid)
    if kind == "command":
        seq = _int(data.get("seq"), "seq", 1)
        command = data.get("command")
        if not isinstance(command, dict):
            raise ProtocolError("command needs a command object")
        return ClientMessage("command", seq=seq, command=check_command(command))
    if kind == "control":
        action = data.get("action")
        if action not in CONTROL_ACTIONS:
            raise ProtocolError(f"control action must be one of {', '.join(CONTROL_ACTIONS)}")
        lease = data.get("lease_s")
        if lease is not None and (
            not isinstance(lease, (int, float)) or isinstance(lease, bool) or not 0 < lease <= 60
        ):
            raise ProtocolError("lease_s must be a number of seconds between 0 and 60")
        return ClientMessage("control", action=str(action), payload=None if lease is None else float(lease))
    if kind == "frames":
        return ClientMessage("frames")
    payload = data.get("t")
    if payload is not None and not isinstance(payload, (int, float)):
        raise ProtocolError("ping's t must be a number")
    return ClientMessage("ping", payload=payload)


# ---------------------------------------------------------------------- addresses
def parse_server_address(address: str) -> str:
    """``HOST:PORT`` or a ``ws://``, ``wss://``, ``http://``, ``https://`` URL → the WebSocket URL.

    ``http`` maps to ``ws`` and ``https`` to ``wss``; a bare address is ``ws://``; the
    path defaults to ``/ws``.
    """
    from urllib.parse import urlsplit

    text = address.strip()
    if "://" not in text:
        text = "ws://" + text
    parts = urlsplit(text)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None:
        raise RemoteError(
            f"server address {address!r}: use HOST:PORT or a ws://, wss://, http:// or https:// URL"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise RemoteError(f"server address {address!r}: the port is not a number") from exc
    if not parts.hostname:
        raise RemoteError(f"server address {address!r} has no host")
    if port is None and scheme == "ws" and "://" not in address:
        raise RemoteError(f"server address {address!r}: give HOST:PORT")
    path = parts.path if parts.path not in ("", "/") else "/ws"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}"
