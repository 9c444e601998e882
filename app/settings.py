"""Persistent settings behind small read/write functions with defaults.

Why functions and not a QSettings object passed around: every key, its default, type
and range are defined once, as a :class:`~clipdraw_core.optim.setting.Setting`: the
session's in :class:`~clipdraw_core.optim.config.SessionConfig`, the window's own in
:class:`GuiSettings` below. Values come back with that type whatever the platform
backend stored (INI files return strings), and a stored value outside the setting's
range (a hand-edited or corrupt file) is replaced by the default instead of reaching
a widget. Tests redirect the whole store to a temporary file with
:func:`use_settings_file` (or the ``CLIPDRAW_SETTINGS`` environment variable) so they
never touch the user's settings.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.setting import Setting, check_value, setting, settings_of

logger = logging.getLogger(__name__)

ORGANIZATION = "CLIPDraw"
APPLICATION = "CLIPDraw Studio"
MAX_RECENT = 8
#: Canvas aspect choices (width:height; "free" types both), landscape then portrait.
ASPECTS = ("free", "1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16")


@dataclass(frozen=True)
class GuiSettings:
    """What the window remembers besides the session's settings."""

    brush_width: float = setting(
        2.0, label="Width", minimum=0.5, maximum=100.0, help="Width of the strokes you draw"
    )
    brush_color: str = setting("#202020", label="Colour", help="Colour of the strokes you draw")
    draw_frozen: bool = setting(
        False,
        label="Draw frozen",
        help="New strokes stay exactly as drawn (hold Shift while drawing for the same)",
    )
    autosave_seconds: int = setting(60, label="Autosave", help="Seconds between autosaves (at least 5)")
    recent_files: list[str] = setting(label="Recent files", factory=list, help="Newest first")
    last_dir: str = setting("", label="Last folder", help="Where file dialogs open")
    window_geometry: QByteArray = setting(label="Window geometry", factory=QByteArray, help="Qt's")
    window_state: QByteArray = setting(label="Window state", factory=QByteArray, help="Qt's")
    compute_server: str = setting("", label="Server", help="clipdraw-server address (Compute: Server…)")
    compute_token: str = setting("", label="Token", help="the server's token (stored in clear text)")
    canvas_aspect: str = setting(
        "1:1", label="Aspect", choices=ASPECTS,
        help="Keep the canvas at this width:height (free: type both)",
    )
    look_presets: str = setting(
        "", label="Own presets", help="The artist's saved look presets (presets.json's format)"
    )
    save_history: bool = setting(
        False,
        label="Save history in project",
        help="keep the timeline's recorded frames in project files (bigger files)",
    )
    variation_count: int = setting(
        4, label="Variations", minimum=2, maximum=9, help="How many variations Variations… runs"
    )


#: Stored keys that differ from the field name (``width`` kept its key from when the
#: window's canvas was square).
_SESSION_KEYS = {"width": "canvas_size", "height": "canvas_height"}
_NOT_STORED = {"extra"}


def key_for(field_name: str) -> str:
    """The stored key of a :class:`SessionConfig` field."""
    return _SESSION_KEYS.get(field_name, field_name)


def _all_settings() -> dict[str, Setting]:
    table = {key_for(s.name): s for s in SessionConfig.settings() if s.name not in _NOT_STORED}
    table.update({s.name: s for s in settings_of(GuiSettings)})
    return table


#: Every stored key with its setting (default, type, range).
SETTINGS: dict[str, Setting] = _all_settings()

_settings_path: str | None = None


def use_settings_file(path: str | os.PathLike[str] | None) -> None:
    """Store settings in this INI file instead of the platform default (tests, portable use)."""
    global _settings_path
    _settings_path = os.fspath(path) if path is not None else None


def qsettings() -> QSettings:
    """The settings store itself, for dialogs that remember their own values (model picker)."""
    return _store()


def _store() -> QSettings:
    path = _settings_path or os.environ.get("CLIPDRAW_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def _one(value: Any, scalar: type) -> Any:
    if scalar is bool:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if scalar is int:
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else int(float(text))
    if scalar is float:
        return float(value)
    if scalar is str:
        return str(value)
    if scalar is QByteArray:
        return value if isinstance(value, QByteArray) else QByteArray(value)
    return value


def _coerce(value: Any, s: Setting) -> Any:
    """Turn what the backend returned into the setting's type."""
    if not s.is_sequence:
        return _one(value, s.scalar)
    if s.scalar is str and s.type != list[str]:
        # Text lists (negative prompts) are stored as one line per item, as typed.
        if isinstance(value, str):
            return tuple(line.strip() for line in value.splitlines() if line.strip())
        return tuple(str(v) for v in value)
    items = [value] if isinstance(value, str) else list(value)
    items = [_one(v, s.scalar) for v in items if not (isinstance(v, str) and not v)]
    return items if s.type == list[str] else tuple(items)


def read(key: str) -> Any:
    """Return the stored value of ``key`` (one of :data:`SETTINGS`), or its default.

    A value of the wrong type or out of the setting's range is logged and replaced by
    the default, so what a widget receives is always one it can hold.
    """
    s = SETTINGS[key]
    value = _store().value(key)
    if value is None:
        return s.default
    try:
        coerced = _coerce(value, s)
        check_value(s, coerced)
    except (TypeError, ValueError, ConfigError) as exc:
        logger.warning("ignoring unreadable setting %s=%r: %s", key, value, exc)
        return s.default
    return coerced


def write(key: str, value: Any) -> None:
    """Store ``value`` under ``key``; unknown keys are a programming error."""
    s = SETTINGS[key]
    if s.is_sequence and s.scalar is str and s.type != list[str]:
        value = "\n".join(value)
    elif isinstance(value, tuple):
        value = list(value)
    store = _store()
    store.setValue(key, value)
    store.sync()


def recent_files() -> list[str]:
    """Recently opened/saved projects, newest first, existing files only."""
    return [p for p in read("recent_files") if os.path.exists(p)]


def add_recent_file(path: str | os.PathLike[str]) -> list[str]:
    """Put ``path`` at the top of the recent-files list and return the new list."""
    path = os.path.abspath(os.fspath(path))
    files = [path] + [p for p in read("recent_files") if p != path]
    files = files[:MAX_RECENT]
    write("recent_files", files)
    return files


def settings_file() -> str:
    """Where settings are stored (shown in the About box, useful for bug reports)."""
    return _store().fileName()
