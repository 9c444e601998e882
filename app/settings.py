"""Persistent settings behind small read/write functions with defaults.

Why functions and not a QSettings object passed around: every read names its default
in one table (:data:`DEFAULTS`), values come back with the default's type whatever
the platform backend stored (INI files return strings), and tests redirect the whole
store to a temporary file with :func:`use_settings_file` (or the
``CLIPDRAW_SETTINGS`` environment variable) so they never touch the user's settings.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

logger = logging.getLogger(__name__)

ORGANIZATION = "CLIPDraw"
APPLICATION = "CLIPDraw Studio"
MAX_RECENT = 8

#: Every setting with its default; the default's type is the value's type.
DEFAULTS: dict[str, Any] = {
    "prompt": "Watercolor painting of an underwater submarine.",
    "negative_prompts": "",
    "negative_weight": 0.3,
    "num_paths": 256,
    "num_steps": 1000,
    "seed": 0,
    "canvas_size": 224,
    "model_name": "ViT-B-32",
    "weights": "openai",
    "device": "auto",
    "brush_width": 2.0,
    "brush_color": "#202020",
    "draw_frozen": False,
    "autosave_seconds": 60,
    "recent_files": [],
    "last_dir": "",
    "window_geometry": QByteArray(),
    "window_state": QByteArray(),
}

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


def _coerce(value: Any, default: Any) -> Any:
    """Turn what the backend returned into the default's type; fall back to the default."""
    if value is None:
        return default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if isinstance(default, int):
            return int(float(value))
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list):
            if isinstance(value, str):
                return [value] if value else []
            return [str(v) for v in value]
        if isinstance(default, QByteArray):
            return value if isinstance(value, QByteArray) else QByteArray(value)
        if isinstance(default, str):
            return str(value)
    except (TypeError, ValueError):
        logger.warning("ignoring unreadable setting value %r", value)
        return default
    return value


def read(key: str) -> Any:
    """Return the stored value of ``key`` (one of :data:`DEFAULTS`), or its default."""
    default = DEFAULTS[key]
    return _coerce(_store().value(key, default), default)


def write(key: str, value: Any) -> None:
    """Store ``value`` under ``key``; unknown keys are a programming error."""
    if key not in DEFAULTS:
        raise KeyError(key)
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
