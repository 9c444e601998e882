"""The Look menu: the built-in look presets, the artist's own, "Save Preset…" and delete.

Why the artist's presets are kept in QSettings (the ``look_presets`` setting of
:class:`app.settings.GuiSettings`) in the engine's own presets format
(:func:`clipdraw_core.optim.presets.parse_presets`): they then survive a restart with
the other settings, go wherever ``CLIPDRAW_SETTINGS`` points (tests, portable use),
and are checked by the same code as ``presets.json``, so a hand-edited store cannot
put a bad value into a widget (a broken store is logged and reads as empty). A preset
fills settings and never hides any; the window applies it (:mod:`app.look_actions`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu, QWidget

from app import settings
from clipdraw_core.errors import ClipDrawError, ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.presets import FORMAT_NAME, Preset, builtin_presets, parse_presets
from clipdraw_core.validation import check_text

logger = logging.getLogger(__name__)

#: What an own preset records: the fields the built-in presets set, plus the soft
#: palette's strength (the canvas size, prompt and run options are not a look).
PRESET_FIELDS: tuple[str, ...] = (
    "num_paths", "num_shapes", "palette", "palette_mode", "palette_strength", "palette_opaque",
    "ink", "min_half_width", "max_half_width", "background", "transparent",
)  # fmt: skip
MAX_NAME = 40


def _norm(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def check_preset_name(name: str) -> str:
    """The name stripped, or a ConfigError saying why it cannot name an own preset."""
    name = str(name).strip()
    if not name:
        raise ConfigError("a preset needs a name")
    if len(name) > MAX_NAME:
        raise ConfigError(f"preset names are limited to {MAX_NAME} characters")
    check_text(name, "a preset name")
    if not name.isprintable():
        raise ConfigError("a preset name cannot hold control characters (tabs, new lines)")
    if not _norm(name):
        raise ConfigError("a preset name needs a letter or digit")
    if any(_norm(p.name) == _norm(name) for p in builtin_presets()):
        raise ConfigError(f"{name!r} is a built-in preset: choose another name")
    return name


def own_presets() -> list[Preset]:
    """The artist's presets, in the order saved (empty if the store is missing or broken)."""
    text = settings.read("look_presets")
    if not text:
        return []
    try:
        return parse_presets(text, "the saved presets")
    except ClipDrawError as exc:
        logger.warning("ignoring the saved presets: %s", exc)
        return []


def _store(presets: list[Preset]) -> None:
    data = {
        "format": FORMAT_NAME,
        "format_version": 1,
        "presets": [{"name": p.name, "description": p.description, "settings": p.settings} for p in presets],
    }
    settings.write("look_presets", json.dumps(data))


def save_own_preset(name: str, config: SessionConfig) -> Preset:
    """Save ``config``'s look as an own preset (replacing one of the same name)."""
    name = check_preset_name(name)
    config.validate()
    plain = config.to_dict()
    values: dict[str, Any] = {field: plain[field] for field in PRESET_FIELDS}
    preset = Preset(name, "Your preset", values)
    kept = [p for p in own_presets() if _norm(p.name) != _norm(name)]
    _store([*kept, preset])
    logger.info("saved look preset %r", name)
    return preset


def delete_own_preset(name: str) -> bool:
    """Remove an own preset; False if there was none of that name."""
    presets = own_presets()
    kept = [p for p in presets if p.name != name]
    if len(kept) == len(presets):
        return False
    _store(kept)
    return True


class PresetsMenu(QMenu):
    """Rebuilt each time it opens, so presets saved in another window show up too."""

    presetChosen = Signal(object)  # Preset
    saveRequested = Signal()
    deleteRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Look", parent)
        self.setObjectName("presetsMenu")
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        for preset in builtin_presets():
            self._preset_action(preset)
        own = own_presets()
        if own:
            self.addSeparator()
            for preset in own:
                self._preset_action(preset)
        self.addSeparator()
        save = self.addAction("&Save Preset…")
        save.setObjectName("savePreset")
        save.setToolTip("Save the current look settings as your own preset")
        save.triggered.connect(self.saveRequested)
        delete = self.addMenu("&Delete Preset")
        delete.setObjectName("deletePresetMenu")
        delete.setEnabled(bool(own))
        for preset in own:
            action = delete.addAction(preset.name)
            action.triggered.connect(lambda _=False, n=preset.name: self.deleteRequested.emit(n))

    def _preset_action(self, preset: Preset) -> None:
        action = self.addAction(preset.name)
        action.setToolTip(preset.description or preset.name)
        action.triggered.connect(lambda _=False, p=preset: self.presetChosen.emit(p))

    def action_named(self, name: str) -> Any:
        """The menu entry of a preset (tests, and the window's status messages)."""
        for action in self.actions():
            if action.text() == name:
                return action
        raise KeyError(name)
