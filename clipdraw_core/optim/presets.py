"""Looks as data: named presets that fill in the look settings of a session.

The built-in presets live in ``presets.json`` next to this module (data, not code, so
a preset can be added or tuned without touching Python, and user presets can use the
same format).  A preset sets *values* of ordinary :class:`SessionConfig` fields and
never hides a setting: applying one and then changing any field is an ordinary
config.  Fields a preset does not mention keep their value (the prompt, steps,
canvas size, model...).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from clipdraw_core.errors import ConfigError, FileFormatError
from clipdraw_core.optim.config import SessionConfig

logger = logging.getLogger(__name__)

PRESETS_FILE = Path(__file__).with_name("presets.json")
FORMAT_NAME = "clipdraw-studio-presets"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    settings: dict[str, Any]

    def apply(self, config: SessionConfig) -> SessionConfig:
        """``config`` with this preset's values (validated)."""
        return config.replace(**self.settings).validate()


def parse_presets(text: str, source: str = "presets") -> list[Preset]:
    """Presets from the JSON format of ``presets.json``; unknown settings are errors."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{source} is not a presets file (invalid JSON: {exc.msg})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise FileFormatError(f"{source} is not a CLIPDraw Studio presets file")
    known = {f.name for f in fields(SessionConfig)}
    out = []
    for item in data.get("presets", []):
        try:
            name, settings = str(item["name"]), dict(item["settings"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"{source}: a preset needs a name and settings") from exc
        unknown = sorted(set(settings) - known)
        if unknown:
            raise FileFormatError(f"{source}: preset {name!r} has unknown settings {', '.join(unknown)}")
        preset = Preset(name, str(item.get("description", "")), settings)
        try:
            preset.apply(SessionConfig())
        except ConfigError as exc:
            raise FileFormatError(f"{source}: preset {name!r} is invalid: {exc}") from exc
        out.append(preset)
    return out


@lru_cache(maxsize=1)
def builtin_presets() -> tuple[Preset, ...]:
    return tuple(parse_presets(PRESETS_FILE.read_text(encoding="utf-8"), str(PRESETS_FILE)))


def preset_names() -> list[str]:
    return [p.name for p in builtin_presets()]


def find_preset(name: str) -> Preset:
    """A built-in preset by name (case and punctuation-insensitive: "ink sketch", "poster")."""

    def norm(text: str) -> str:
        return "".join(c for c in text.lower() if c.isalnum())

    wanted = norm(name)
    presets = builtin_presets()
    for p in presets:
        if norm(p.name) == wanted:
            return p
    prefix = [p for p in presets if norm(p.name).startswith(wanted)] if wanted else []
    if len(prefix) == 1:
        return prefix[0]
    names = ", ".join(repr(p.name) for p in presets)
    raise ConfigError(f"unknown preset {name!r}: choose one of {names}")


def apply_preset(config: SessionConfig, name: str) -> SessionConfig:
    return find_preset(name).apply(config)
