"""Settings described once: a :class:`Setting` record attached to each dataclass field.

Why: a setting used to be written four or five times (the config dataclass, the CLI
parser, the app's stored defaults, the control panel's widgets and their ranges), and
the copies drifted apart (the window accepted seeds the CLI did not, and the other way
round). Now a field is declared with :func:`setting`, which keeps its default in the
dataclass and its label, help, range or choices and command-line option in the
field's metadata; :func:`settings_of` lists them for whoever builds a parser, a
settings store or a form, and :func:`check_value` is the one range check they share.

Plain dataclasses and :mod:`dataclasses` metadata rather than a schema library: the
records are small, need no runtime dependency and are checked by mypy like any code.
"""

from __future__ import annotations

import math
import numbers
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any

from clipdraw_core.errors import ConfigError

_KEY = "clipdraw_setting"


@dataclass(frozen=True)
class Setting:
    """What one field means: everything a front end needs to show, parse or store it."""

    name: str
    #: The field's annotation, resolved (``int``, ``float | None``, ``tuple[str, ...]``...).
    type: Any
    default: Any
    #: Short name for a form row and for error messages ("Steps", "Seed").
    label: str
    #: One sentence for a tooltip and the CLI's ``--help``.
    help: str
    #: Inclusive bounds of a number (each element's, for tuples of numbers).
    minimum: float | None = None
    maximum: float | None = None
    #: Allowed values of a text setting (see ``open_choices``).
    choices: tuple[str, ...] = ()
    #: True when ``choices`` are only the usual values (suggested, offered by the CLI)
    #: and others are accepted too (a device "cuda:1").
    open_choices: bool = False
    #: Exact number of elements of a tuple setting (``background`` has 3).
    length: int | None = None
    #: The ``clipdraw-cli`` option that sets it ("--steps"), or None.
    cli: str | None = None
    metavar: str | None = None

    @property
    def optional(self) -> bool:
        """True for ``X | None`` fields (None means "off")."""
        return type(None) in typing.get_args(self.type)

    @property
    def scalar(self) -> type:
        """The type of one value: the element type of a tuple, X of ``X | None``."""
        tp = self.type
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
            origin = typing.get_origin(tp)
        if origin in (tuple, list):
            tp = typing.get_args(tp)[0]
        origin = typing.get_origin(tp)
        return typing.cast(type, origin or tp)

    @property
    def is_sequence(self) -> bool:
        return typing.get_origin(self.type) in (tuple, list)

    @property
    def what(self) -> str:
        """How error messages name it: the label and the CLI option (or field name)."""
        return f"{self.label.lower()} ({self.cli or self.name})"


def setting(
    default: Any = MISSING,
    *,
    label: str,
    help: str,
    factory: Callable[[], Any] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    open_choices: bool = False,
    length: int | None = None,
    cli: str | None = None,
    metavar: str | None = None,
) -> Any:
    """A dataclass field with its :class:`Setting` metadata (name, type and default are filled in later)."""
    meta = {
        _KEY: {
            "label": label,
            "help": help,
            "minimum": minimum,
            "maximum": maximum,
            "choices": tuple(choices),
            "open_choices": open_choices,
            "length": length,
            "cli": cli,
            "metavar": metavar,
        }
    }
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


_cache: dict[type, tuple[Setting, ...]] = {}


def settings_of(cls: type) -> tuple[Setting, ...]:
    """Every field of the dataclass ``cls`` declared with :func:`setting`, in field order."""
    cached = _cache.get(cls)
    if cached is not None:
        return cached
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        meta = f.metadata.get(_KEY)
        if meta is None:
            continue
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"setting {cls.__name__}.{f.name} needs a default")
        out.append(Setting(name=f.name, type=hints[f.name], default=default, **meta))
    _cache[cls] = tuple(out)
    return _cache[cls]


def setting_named(cls: type, name: str) -> Setting:
    for s in settings_of(cls):
        if s.name == name:
            return s
    raise KeyError(name)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e16 else f"{value:g}"


def _check_number(s: Setting, v: Any) -> None:
    lo, hi = s.minimum, s.maximum
    if s.scalar is int:
        ok = isinstance(v, numbers.Integral) and not isinstance(v, bool)
        kind = "an integer"
    else:
        ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        kind = "a finite number"
    in_range = ok and (lo is None or v >= lo) and (hi is None or v <= hi)
    if in_range:
        return
    if lo is not None and hi is not None:
        bounds = f" between {_fmt(lo)} and {_fmt(hi)}"
    elif lo is not None:
        bounds = f" >= {_fmt(lo)}"
    elif hi is not None:
        bounds = f" <= {_fmt(hi)}"
    else:
        bounds = ""
    raise ConfigError(f"{s.what} must be {kind}{bounds}, got {v!r}")


def check_value(s: Setting, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` has the setting's type, range and choices."""
    if value is None and s.optional:
        return
    values: tuple[Any, ...]
    if s.is_sequence:
        if not isinstance(value, (tuple, list)):
            raise ConfigError(f"{s.what} must be a list, got {value!r}")
        if s.length is not None and len(value) != s.length:
            raise ConfigError(f"{s.what} must have {s.length} values, got {len(value)}")
        values = tuple(value)
    else:
        values = (value,)
    scalar = s.scalar
    for v in values:
        if scalar in (int, float):
            _check_number(s, v)
        elif scalar is bool:
            if not isinstance(v, bool):
                raise ConfigError(f"{s.what} must be true or false, got {v!r}")
        elif scalar is str:
            if not isinstance(v, str):
                raise ConfigError(f"{s.what} must be text, got {v!r}")
            if s.choices and not s.open_choices and v not in s.choices:
                raise ConfigError(f"unknown {s.what} {v!r} (choose {', '.join(s.choices)})")
        elif not isinstance(v, scalar):
            raise ConfigError(f"{s.what} must be a {scalar.__name__}, got {v!r}")


def check_all(obj: Any) -> None:
    """:func:`check_value` for every setting of the dataclass instance ``obj``."""
    for s in settings_of(type(obj)):
        check_value(s, getattr(obj, s.name))
