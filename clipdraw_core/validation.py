"""The checks every number and every piece of text passes where it enters the engine.

Numbers. The engine computes in float32, so a value is checked *after* the conversion
to float32: ``1e300`` is a finite Python float but becomes ``inf`` in float32, and an
``inf`` width used to slip past a check made before the conversion, get exported as
``stroke-width="inf"`` and make every later project save fail. Coordinates and widths
are also bounded far beyond any canvas (which is at most 4096 px), so squares and sums
in the renderer stay finite too. The SVG and image importers, the project loader and
the :class:`~clipdraw_core.drawing.strokes.Stroke`/``Drawing`` constructors all use
these functions; nothing else decides what a valid number is.

Text. Prompts end up in UTF-8 files (SVG, project). A command-line argument that is
not valid UTF-8 reaches Python as lone surrogates (``surrogateescape``), and a JSON
file can spell a lone surrogate as ``"\\ud800"``; either used to survive the whole run
and then kill the SVG writer. :func:`check_text` rejects such text at the door.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clipdraw_core.errors import ConfigError

#: Largest absolute control-point coordinate accepted (canvas px; canvases are <= 4096 px).
MAX_COORDINATE = 1e6
#: Largest stroke half-width accepted (canvas px).
MAX_HALF_WIDTH = 1e4
#: Stroke ids must fit the GUI toolkit's 32-bit integers.
MAX_STROKE_ID = 2**31 - 1

_REAL_KINDS = "iuf"


def float32_value(value: Any, what: str, *, low: float | None = None, high: float | None = None) -> float:
    """``value`` rounded to float32 (as a Python float), or :class:`ConfigError`.

    Accepts ints, floats and numpy scalars (not bools, not strings); the result must be
    finite in float32 and within ``[low, high]`` where given.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{what} must be a number, got {_show(value)}")
    try:
        wide = float(value)
    except OverflowError:
        raise ConfigError(f"{what} is too large ({_show(value)})") from None
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = float(np.float32(wide))
    if not math.isfinite(narrow):
        detail = " (too large for single precision)" if math.isfinite(wide) else ""
        raise ConfigError(f"{what} must be a finite number (not NaN or infinity), got {_show(value)}{detail}")
    if low is not None and narrow < low:
        raise ConfigError(f"{what} must be at least {low:g}, got {_show(value)}")
    if high is not None and narrow > high:
        raise ConfigError(f"{what} must be at most {high:g}, got {_show(value)}")
    return narrow


def float32_array(values: Any, what: str, *, bound: float) -> np.ndarray:
    """A float32 copy of ``values`` (real numbers only), finite and within ``[-bound, bound]``."""
    try:
        raw = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} must be an array of numbers ({exc})") from None
    if raw.dtype.kind not in _REAL_KINDS:
        raise ConfigError(f"{what} must contain only numbers")
    with np.errstate(over="ignore", invalid="ignore"):
        arr = np.array(raw, dtype=np.float32, copy=True)
    if not np.isfinite(arr).all():
        raise ConfigError(f"{what} contain NaN or infinity (after conversion to single precision)")
    if arr.size and float(np.abs(arr).max()) > bound:
        raise ConfigError(f"{what} lie too far outside the canvas (beyond {bound:g} px)")
    return arr


def int_value(value: Any, what: str, *, low: int, high: int) -> int:
    """An integer (not a bool, not a float) within ``[low, high]``, or :class:`ConfigError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{what} must be an integer, got {_show(value)}")
    number = int(value)
    if not low <= number <= high:
        raise ConfigError(f"{what} must be between {low} and {high}, got {_show(number)}")
    return number


def bool_value(value: Any, what: str) -> bool:
    """``True``/``False`` only (a string ``"false"`` is not false, it is an error)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise ConfigError(f"{what} must be true or false, got {_show(value)}")


def check_text(value: Any, what: str) -> str:
    """``value`` if it is a string that can be written as UTF-8, else :class:`ConfigError`."""
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be text, got {_show(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        code = ord(bad)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte carried by surrogateescape
            detail = f"byte 0x{code - 0xDC00:02x}, which is not UTF-8"
        else:
            detail = f"a lone surrogate U+{code:04X}"
        raise ConfigError(
            f"{what} is not valid text: character {exc.start + 1} is {detail}; "
            "retype it (or set your terminal to UTF-8)"
        ) from None
    return value


def _show(value: Any) -> str:
    """A short rendering of a bad value for a one-line message (huge ints are not spelled out)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
        return f"a {len(str(abs(value)))}-digit number" if abs(value) < 10**4000 else "a huge number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
