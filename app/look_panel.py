"""The Look panel: palette (with swatches), ink mode, stroke width range, paper, shapes.

Why a panel of its own: these settings shape what the drawing may look like rather
than how the run goes, and most of them can change mid-run (the engine's
``SetLook``, :data:`~clipdraw_core.drawing.commands.MID_RUN_LOOK`). Like the control
panel it is a view of :class:`~clipdraw_core.optim.config.SessionConfig` fields: the
simple ones are built from the settings' metadata with the control panel's
:class:`~app.controls.FieldView` (label, range, tooltip from the setting), the rest
are small editors with the same ``value()`` / ``set_value()`` pair (palette, ink,
widths shown as full px, paper colour). ``values()`` / ``set_config()`` /
``load_settings()`` / ``save_settings()`` loop over them.

The panel never talks to the engine: a change the artist makes to a mid-run field is
emitted as ``lookEdited(old, new)`` (field -> value) and the window turns it into one
undoable ``SetLook`` while a run is active (:mod:`app.look_actions`); before a run the
values simply go into the config at Draw. ``show_values()`` (undo, presets) shows
values without emitting anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.background import Task, start_task
from app.controls import FieldView, _make_editor, _tooltip
from app.palette_swatches import PaletteSwatches
from clipdraw_core.drawing.commands import MID_RUN_LOOK
from clipdraw_core.drawing.palette import (
    MIN_COLORS,
    PRESET_PALETTES,
    check_palette,
    hex_to_rgb,
    palette_from_colors,
    palette_from_image,
    parse_hex,
    parse_hex_list,
    rgb_to_hex,
)
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.errors import ClipDrawError, ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.run_state import RunState
from clipdraw_core.optim.setting import Setting, setting_named
from clipdraw_core.validation import MAX_HALF_WIDTH

logger = logging.getLogger(__name__)

#: The look settings shown with a plain widget built from their metadata.
LOOK_VIEWS: tuple[FieldView, ...] = (
    FieldView("num_shapes", "num_shapes", "int", step=8, tooltip="; fixed once a run starts"),
    FieldView("palette_colors", "palette_colors", "int", fixed_while_running=False),
    FieldView("palette_mode", "palette_mode", "combo", fixed_while_running=False),
    FieldView("palette_strength", "palette_strength", "float", step=0.5, fixed_while_running=False),
    FieldView("palette_opaque", "palette_opaque", "check", fixed_while_running=False),
    FieldView("transparent", "transparent", "check", fixed_while_running=False),
)
#: Every field the panel shows (the plain ones and the small editors below).
LOOK_FIELDS: tuple[str, ...] = (
    "num_shapes", "palette", "palette_colors", "palette_mode", "palette_strength", "palette_opaque",
    "ink", "min_half_width", "max_half_width", "background", "transparent",
)  # fmt: skip
#: The palette source box: no palette, the built-in palettes, or typed / picked colours.
FREE = "Free colours"
CUSTOM = "Custom"
DEFAULT_INK = "#000000"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp);;All files (*)"


def _setting(name: str) -> Setting:
    return setting_named(SessionConfig, name)


class ColourButton(QPushButton):
    """A button showing a colour; clicking opens a colour dialog. ``changed`` on a new colour."""

    changed = Signal()

    def __init__(self, colour: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._colour = parse_hex(colour)
        self.clicked.connect(self.choose)
        self._show()

    def colour(self) -> str:
        return self._colour

    def set_colour(self, colour: str, *, notify: bool = False) -> None:
        colour = parse_hex(colour)
        if colour != self._colour:
            self._colour = colour
            self._show()
            if notify:
                self.changed.emit()

    def choose(self) -> None:
        picked = QColorDialog.getColor(QColor(self._colour), self, self._title)
        if picked.isValid():
            self.set_colour(picked.name(), notify=True)

    def _show(self) -> None:
        text = "#000000" if QColor(self._colour).lightness() > 140 else "#ffffff"
        self.setText(self._colour)
        self.setStyleSheet(f"background-color: {self._colour}; color: {text};")


class _PaletteEditor(QWidget):
    """The palette: a source box (free, a built-in palette, custom) and the hex values as text.

    ``changed`` when the artist chose other entries; ``failed(message)`` for typed
    values that are not a palette (the entries stay as they were).
    """

    changed = Signal()
    failed = Signal(str, object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._entries: tuple[str, ...] = ()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.source = QComboBox(self)
        self.source.setObjectName("palette_source")
        self.source.addItems([FREE, *PRESET_PALETTES, CUSTOM])
        self.source.setToolTip(_tooltip(_setting("palette")))
        self.source.activated.connect(self._source_chosen)
        self.hex = QLineEdit(self)
        self.hex.setObjectName("palette_hex")
        self.hex.setPlaceholderText("#rrggbb, #rrggbb, … (2 to 32 colours)")
        self.hex.setToolTip("Type the palette's colours as hex values and press Enter; empty: free colours")
        self.hex.editingFinished.connect(self._typed)
        layout.addWidget(self.source)
        layout.addWidget(self.hex)

    def value(self) -> tuple[str, ...]:
        return self._entries

    def set_value(self, value: Any) -> None:
        self._entries = check_palette(value) if value else ()
        name = next((n for n, e in PRESET_PALETTES.items() if e == self._entries), None)
        with QSignalBlocker(self.source):
            self.source.setCurrentText(name or (CUSTOM if self._entries else FREE))
        self.hex.setText(", ".join(self._entries))
        self.hex.setCursorPosition(0)  # show the first colours, not the end

    def choose(self, entries: tuple[str, ...]) -> None:
        """Entries the artist picked (a file, the sketch, a source): shown, then ``changed``."""
        old = self._entries
        self.set_value(entries)
        if self._entries != old:
            self.changed.emit()

    def _source_chosen(self, _index: int) -> None:
        text = self.source.currentText()
        if text == FREE:
            self.choose(())
        elif text in PRESET_PALETTES:
            self.choose(PRESET_PALETTES[text])
        else:  # Custom: type (or pick) the colours
            self.hex.setFocus(Qt.FocusReason.OtherFocusReason)
            self.hex.selectAll()

    def _typed(self) -> None:
        text = self.hex.text().strip()
        if text == ", ".join(self._entries):
            return
        try:
            entries = check_palette(parse_hex_list(text)) if text else ()
        except ClipDrawError as exc:
            self.hex.setText(", ".join(self._entries))
            self.failed.emit(f"Palette not changed: {exc}", exc)
            return
        self.choose(entries)


class _InkEditor(QWidget):
    """Ink mode on/off and the ink colour; the value is the colour, or None when off."""

    changed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        s = _setting("ink")
        self.check = QCheckBox("Ink mode", self)
        self.check.setObjectName("ink_mode")
        self.check.setToolTip(_tooltip(s))
        self.colour = ColourButton(DEFAULT_INK, "Ink colour", self)
        self.colour.setObjectName("ink_colour")
        self.colour.setToolTip("The ink's colour (every stroke is drawn in it, opaque)")
        layout.addWidget(self.check)
        layout.addWidget(self.colour, 1)
        self.check.toggled.connect(self.changed)
        self.colour.changed.connect(self._colour_changed)

    def _colour_changed(self) -> None:
        if self.check.isChecked():
            self.changed.emit()

    def value(self) -> str | None:
        return self.colour.colour() if self.check.isChecked() else None

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.check), QSignalBlocker(self.colour):
            if value is not None:
                self.colour.set_colour(str(value))
            self.check.setChecked(value is not None)


class _WidthEditor:
    """A half-width setting shown as the full stroke width in px (as the SVG and ``--width-range``)."""

    def __init__(self, name: str, parent: QWidget) -> None:
        s = _setting(name)
        self.widget = QDoubleSpinBox(parent)
        self.widget.setObjectName(name)
        self.widget.setDecimals(1)
        self.widget.setSingleStep(0.5)
        self.widget.setSuffix(" px")
        self.widget.setRange(2 * float(s.minimum or 0.0), 2 * MAX_HALF_WIDTH)
        self.widget.setToolTip(f"{_tooltip(s)} (shown as the full width, twice the half-width)")
        self.changed = self.widget.valueChanged

    def value(self) -> float:
        return round(self.widget.value() / 2, 4)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.widget):
            self.widget.setValue(2 * float(value))


class _PaperEditor:
    """The paper colour; the value is the setting's RGB floats, kept exactly as given."""

    def __init__(self, parent: QWidget) -> None:
        self.widget = ColourButton("#ffffff", "Paper colour", parent)
        self.widget.setObjectName("paper_colour")
        self.widget.setToolTip("Paper colour: what CLIP sees behind the strokes and the exports show")
        self._rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)
        self.changed = self.widget.changed
        self.widget.changed.connect(self._picked)

    def _picked(self) -> None:
        self._rgb = hex_to_rgb(self.widget.colour())

    def value(self) -> tuple[float, float, float]:
        return self._rgb

    def set_value(self, value: Any) -> None:
        self._rgb = tuple(float(v) for v in value)  # type: ignore[assignment]
        with QSignalBlocker(self.widget):
            self.widget.set_colour(rgb_to_hex(self._rgb))


def _changed_signal(editor: Any) -> Any:
    """The signal that says the artist changed this editor's value."""
    widget = editor.widget
    if hasattr(editor, "changed"):
        return editor.changed
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return widget.valueChanged
    if isinstance(widget, QComboBox):
        return widget.currentTextChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    raise TypeError(f"no change signal for {widget!r}")


class _Wrapped:
    """A QWidget editor (palette, ink) seen through the ``widget`` / ``value`` / ``set_value`` trio."""

    def __init__(self, widget: _PaletteEditor | _InkEditor) -> None:
        self.widget = widget
        self.changed = widget.changed

    def value(self) -> Any:
        return self.widget.value()

    def set_value(self, value: Any) -> None:
        self.widget.set_value(value)


class LookPanel(QWidget):
    """See the module docstring. ``drawing`` gives the canvas's drawing (for its colours)."""

    #: (old, new): field -> value of a mid-run look field the artist changed.
    lookEdited = Signal(dict, dict)
    #: A swatch was clicked: recolour the selection to this ``#rrggbb``.
    swatchClicked = Signal(str)
    failed = Signal(str, object)

    num_shapes: QSpinBox
    palette_colors: QSpinBox
    palette_mode: QComboBox
    palette_strength: QDoubleSpinBox
    palette_opaque: QCheckBox
    transparent: QCheckBox

    def __init__(
        self, parent: QWidget | None = None, drawing: Callable[[], Drawing | None] | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("lookPanel")
        self._drawing = drawing or (lambda: None)
        self._showing = False
        self._image_task: Task | None = None
        self._editors: dict[str, Any] = {}
        for view in LOOK_VIEWS:
            editor = _make_editor(view, _setting(view.name), self)
            editor.widget.setObjectName(view.attr)
            setattr(self, view.attr, editor.widget)
            self._editors[view.name] = editor
        self.palette = _PaletteEditor(self)
        self.ink = _InkEditor(self)
        self._editors["palette"] = _Wrapped(self.palette)
        self._editors["ink"] = _Wrapped(self.ink)
        for name in ("min_half_width", "max_half_width"):
            self._editors[name] = _WidthEditor(name, self)
        self._editors["background"] = _PaperEditor(self)
        for editor in self._editors.values():  # typed numbers count when finished (Enter, focus out)
            if isinstance(editor.widget, (QSpinBox, QDoubleSpinBox)):
                editor.widget.setKeyboardTracking(False)
        self.min_width: QDoubleSpinBox = self._editors["min_half_width"].widget
        self.max_width: QDoubleSpinBox = self._editors["max_half_width"].widget
        self.paper: ColourButton = self._editors["background"].widget
        self.swatches = PaletteSwatches(self)
        self.swatches.swatchClicked.connect(self.swatchClicked)
        self.palette.failed.connect(self.failed)
        self._build()
        self.set_config(SessionConfig())
        for name in LOOK_FIELDS:
            _changed_signal(self._editors[name]).connect(lambda *_a, n=name: self._edited(n))

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        form = QFormLayout(self)
        form.setContentsMargins(8, 8, 8, 8)
        head = QHBoxLayout()
        self.presets_button = QToolButton(self)
        self.presets_button.setObjectName("presetsButton")
        self.presets_button.setText("Presets")
        self.presets_button.setToolTip("Fill the look settings from a preset, or save yours")
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        head.addStretch(1)
        head.addWidget(self.presets_button)
        form.addRow(head)
        form.addRow(_setting("num_shapes").label, self.num_shapes)
        form.addRow(_setting("palette").label, self.palette)
        picks = QHBoxLayout()
        self.from_image = QPushButton("From image…", self)
        self.from_image.setObjectName("palette_from_image")
        self.from_image.setToolTip("Pick the palette's colours from a picture (its main colours)")
        self.from_image.clicked.connect(lambda: self.pick_image_palette())
        self.from_sketch = QPushButton("From sketch", self)
        self.from_sketch.setObjectName("palette_from_sketch")
        self.from_sketch.setToolTip("Use the colours of the strokes on the canvas (your seed sketch)")
        self.from_sketch.clicked.connect(self.pick_sketch_palette)
        picks.addWidget(self.from_image)
        picks.addWidget(self.from_sketch)
        picks.addWidget(self.palette_colors)
        form.addRow("", picks)
        form.addRow("", self.swatches)
        mode = QHBoxLayout()
        mode.addWidget(self.palette_mode)
        mode.addWidget(QLabel(_setting("palette_strength").label, self))
        mode.addWidget(self.palette_strength)
        form.addRow(_setting("palette_mode").label, mode)
        form.addRow("", self.palette_opaque)
        form.addRow(_setting("ink").label, self.ink)
        widths = QHBoxLayout()
        widths.addWidget(self.min_width, 1)
        widths.addWidget(QLabel("to", self))
        widths.addWidget(self.max_width, 1)
        form.addRow("Stroke width", widths)
        paper = QHBoxLayout()
        paper.addWidget(self.paper, 1)
        paper.addWidget(self.transparent)
        self.transparent.setText("Transparent")
        form.addRow("Paper", paper)

    def set_presets_menu(self, menu: QMenu) -> None:
        self.presets_button.setMenu(menu)

    # ------------------------------------------------------------ values
    def values(self) -> dict[str, Any]:
        """Every look field as the widgets show it."""
        return {name: self._editors[name].value() for name in LOOK_FIELDS}

    def apply_to(self, config: SessionConfig) -> SessionConfig:
        """``config`` with the look shown here (not validated)."""
        return config.replace(**self.values())

    def set_config(self, config: SessionConfig) -> None:
        """Show ``config``'s look (validated first, so a bad file changes nothing)."""
        config.validate()
        self.show_values({name: getattr(config, name) for name in LOOK_FIELDS})

    def show_values(self, values: dict[str, Any]) -> None:
        """Show these field values without emitting ``lookEdited`` (undo, presets, projects)."""
        self._showing = True
        try:
            for name, value in values.items():
                editor = self._editors.get(name)
                shown = value if not isinstance(value, list) else tuple(value)
                if editor is not None and editor.value() != shown:  # leave a box being typed in alone
                    editor.set_value(value)
        finally:
            self._showing = False
        self._last = self.values()
        self._show_swatches()

    def _edited(self, name: str) -> None:
        if self._showing:
            return
        old = {name: self._last.get(name)}
        new = {name: self._editors[name].value()}
        low, high = self._editors["min_half_width"].value(), self._editors["max_half_width"].value()
        if low > high:  # keep min <= max: the other end follows
            other = "max_half_width" if name == "min_half_width" else "min_half_width"
            old[other] = self._last.get(other)
            new[other] = new[name]
            self.show_values({other: new[name]})
        self._last.update(new)
        self._show_swatches()
        if name in MID_RUN_LOOK and new != old:
            self.lookEdited.emit(old, new)

    def _show_swatches(self) -> None:
        ink = self._editors["ink"].value()
        if ink is not None:
            self.swatches.set_entries((ink,), " (the ink)")
        else:
            self.swatches.set_entries(self._editors["palette"].value())

    def set_state(self, state: RunState | str) -> None:
        """The stroke/shape mix is fixed once a run starts; the rest stays editable."""
        state = RunState(state)
        editable = not state.is_active and state is not RunState.LOADING
        for view in LOOK_VIEWS:
            if view.fixed_while_running:
                self._editors[view.name].widget.setEnabled(editable)

    # ------------------------------------------------------------ picking colours
    def pick_image_palette(self, path: str | None = None) -> Task | None:
        """The main colours of a picture (read and reduced off the GUI thread) become the palette."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Pick the palette from an image", settings.read("last_dir"), IMAGE_FILTER
            )
            if not path:
                return None
        count = self.palette_colors.value()
        name = Path(path).name

        def done(entries: tuple[str, ...]) -> None:
            self.palette.choose(entries)

        def finished() -> None:
            self._image_task = None

        self._image_task = start_task(
            lambda _task: check_palette(palette_from_image(path, count)),
            "clipdraw-palette-image",
            on_result=done,
            on_error=lambda message, exc: self.failed.emit(f"No palette from {name}: {message}", exc),
            on_finished=finished,
        )
        return self._image_task

    def pick_sketch_palette(self) -> None:
        """The colours of the strokes and fills on the canvas (median cut when there are many)."""
        drawing = self._drawing()
        colours = []
        for stroke in drawing.strokes if drawing is not None else ():
            if stroke.outlined:
                colours.append(stroke.color[:3])
            if stroke.fill is not None:
                colours.append(stroke.fill[:3])
        try:
            entries = palette_from_colors(colours, self.palette_colors.value()) if colours else ()
            if len(entries) < MIN_COLORS:
                raise ConfigError(f"the canvas has fewer than {MIN_COLORS} stroke colours to make a palette")
            self.palette.choose(check_palette(entries))
        except ClipDrawError as exc:
            self.failed.emit(f"No palette from the sketch: {exc}", exc)

    def wait(self) -> None:
        """Let a running image read finish (window close)."""
        task = self._image_task
        if task is not None:
            task.wait()

    # ------------------------------------------------------------ persistence
    def load_settings(self) -> None:
        values = {}
        for name in LOOK_FIELDS:
            values[name] = settings.read(settings.key_for(name))
        try:
            self.set_config(SessionConfig().replace(**values))
        except ConfigError as exc:  # e.g. min width above max: keep the defaults
            logger.warning("look settings not shown: %s", exc)

    def save_settings(self) -> None:
        for name, value in self.values().items():
            settings.write(settings.key_for(name), value)
