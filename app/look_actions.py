"""What the window does with the Look panel and the Look menu: look changes, presets, swatches.

Why here and not in :mod:`app.main_window`: it is one small set of user intentions
(each one undo step or one settings change) with one set of collaborators: the run
controller (the edit target), the undo stack, the two panels and the stroke editor.

* A mid-run look change becomes one :class:`~app.commands_undo.LookCommand`
  (the engine's ``SetLook``); undo sends the previous values and shows them in the
  panel. Before a run the panel's values simply go into the config at Draw; a new
  paper colour also repaints the sheet on the canvas at once.
* A preset fills the settings (the stroke count in the control panel, the rest in
  the Look panel). Mid-run only what may change mid-run is applied, as one undo step;
  the stroke/shape counts wait for Reset, and the status bar says so.
* A swatch click recolours the selected strokes (outlines and fills) to that entry,
  one undo step through the editor's recolour path.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from app.commands_undo import LookCommand
from app.controls import ControlPanel
from app.editing import StrokeEditor
from app.look_panel import LookPanel
from app.presets_menu import (
    PresetsMenu,
    check_preset_name,
    delete_own_preset,
    own_presets,
    save_own_preset,
)
from app.run.controller import RunController
from clipdraw_core.drawing.commands import MID_RUN_LOOK, SetLook
from clipdraw_core.drawing.palette import hex_to_rgb
from clipdraw_core.errors import ClipDrawError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.presets import Preset

logger = logging.getLogger(__name__)

#: Fields whose consecutive changes merge into one undo step (spin boxes stepped by clicks).
_MERGEABLE = frozenset({"min_half_width", "max_half_width", "palette_strength"})


class LookHost(Protocol):
    """What the look actions need from the window."""

    undo_stack: QUndoStack
    controller: RunController
    controls: ControlPanel
    look: LookPanel
    editor: StrokeEditor

    def current_config(self) -> SessionConfig: ...
    def show_status(self, message: str, timeout_ms: int = 0) -> None: ...
    def show_error(self, message: str, exc: object = None) -> None: ...


class LookActions:
    def __init__(self, host: LookHost, parent: QWidget) -> None:
        self.host, self.parent = host, parent
        self.menu = PresetsMenu(parent)
        host.look.set_presets_menu(self.menu)
        host.look.lookEdited.connect(self.change)
        host.look.swatchClicked.connect(self.recolour_to)
        host.look.failed.connect(host.show_error)
        self.menu.presetChosen.connect(self.apply_preset)
        self.menu.saveRequested.connect(lambda: self.save_preset())
        self.menu.deleteRequested.connect(lambda name: self.delete_preset(name))

    # ------------------------------------------------------------ look changes
    def change(self, old: dict[str, Any], new: dict[str, Any], text: str = "") -> bool:
        """The artist changed look fields: mid-run one undoable SetLook; before a run, the sheet.

        A combination the engine refuses (a minimum width above the maximum) is
        reported and the panel goes back to the old values. Returns True if applied.
        """
        host = self.host
        try:
            host.look.apply_to(host.controller.config() or SessionConfig()).replace(**new).validate()
            command = SetLook.of(**new)
        except ClipDrawError as exc:
            host.look.show_values(old)
            host.show_error(f"Look not changed: {exc}", exc)
            return False
        if not host.controller.is_active():
            if "background" in new:  # show the new paper at once (Draw starts from this sheet)
                host.controller.submit(SetLook.of(background=new["background"]))
            return True
        name = ", ".join(sorted(new))
        host.undo_stack.push(
            LookCommand(
                host.controller,
                SetLook.of(**old),
                command,
                host.look.show_values,
                text or f"Change {name.replace('_', ' ')}",
                mergeable=set(new) <= _MERGEABLE,
            )
        )
        return True

    # ------------------------------------------------------------ presets
    def apply_preset(self, preset: Preset) -> None:
        """Fill the settings from a preset (never hiding any); mid-run only the mid-run ones."""
        host = self.host
        if host.controller.is_active():
            cfg = host.look.apply_to(host.current_config())  # the panel is ahead of the snapshots
            new_cfg = preset.apply(cfg)
            fields = [k for k in preset.settings if k in MID_RUN_LOOK]
            old = {k: getattr(cfg, k) for k in fields}
            new = {k: getattr(new_cfg, k) for k in fields}
            changed = {k: v for k, v in new.items() if v != old[k]}
            if changed:
                host.look.show_values(changed)
                self.change({k: old[k] for k in changed}, changed, f"Preset {preset.name}")
            fixed = [k for k in preset.settings if k not in MID_RUN_LOOK]
            if any(getattr(new_cfg, k) != getattr(cfg, k) for k in fixed):
                host.show_status(
                    f"{preset.name}: the stroke and shape counts apply after Reset (fixed during a run)", 6000
                )
            return
        try:
            cfg = preset.apply(host.look.apply_to(host.controls.config(host.controller.config())))
        except ClipDrawError as exc:
            host.show_error(f"Preset not applied: {exc}", exc)
            return
        host.controls.show_values(cfg, list(preset.settings))
        old = host.look.values()
        host.look.set_config(cfg)
        if old["background"] != cfg.background:
            self.change({"background": old["background"]}, {"background": cfg.background})
        host.show_status(f"Look: {preset.name}", 4000)

    def save_preset(self, name: str | None = None) -> Preset | None:
        """Save the current look as an own preset (asks for a name when none is given)."""
        host = self.host
        if name is None:
            name, ok = QInputDialog.getText(self.parent, "Save preset", "Name of your preset:")
            if not ok:
                return None
            try:
                name = check_preset_name(name)
            except ClipDrawError as exc:
                host.show_error(f"Preset not saved: {exc}", exc)
                return None
            existing = [p.name for p in own_presets()]
            if name in existing:
                answer = QMessageBox.question(self.parent, "Save preset", f"Replace your preset {name!r}?")
                if answer != QMessageBox.StandardButton.Yes:
                    return None
        try:
            preset = save_own_preset(name, host.look.apply_to(host.controls.config(host.controller.config())))
        except ClipDrawError as exc:
            host.show_error(f"Preset not saved: {exc}", exc)
            return None
        self.menu.rebuild()
        host.show_status(f"Saved preset {preset.name}", 4000)
        return preset

    def delete_preset(self, name: str) -> bool:
        deleted = delete_own_preset(name)
        self.menu.rebuild()
        if deleted:
            self.host.show_status(f"Deleted preset {name}", 4000)
        return deleted

    # ------------------------------------------------------------ swatches
    def recolour_to(self, colour: str) -> None:
        """A swatch: the selected strokes (and shapes' fills) take this palette entry."""
        if not self.host.editor.recolour_to(hex_to_rgb(colour), f"Recolour to {colour}"):
            self.host.show_status("Select strokes first, then click a palette colour", 4000)
