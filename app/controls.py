"""The control panel: prompts, run buttons, run options and the brush.

Why it only builds configs and emits signals: the panel is a view of a
:class:`~clipdraw_core.optim.config.SessionConfig`. ``config()`` turns the widgets into one,
``set_config()`` shows one (an opened project), and the buttons emit intentions the
window wires to the controller. Values persist through :mod:`app.settings`.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QEvent, QObject, Qt, Signal, SignalInstance
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.canvas_shape import CanvasShape
from app.settings import GuiSettings
from clipdraw_core.drawing.commands import SetPrompt
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import DEFAULT_NEGATIVE_PROMPTS, SessionConfig
from clipdraw_core.optim.run_state import RunState
from clipdraw_core.optim.setting import Setting, setting_named
from clipdraw_core.render import RENDERERS


class _SubmitOnCtrlEnter(QObject):
    """Turns Ctrl+Enter in a text box into ``signal`` instead of a new line or a shortcut."""

    def __init__(self, signal: SignalInstance, parent: QObject) -> None:
        super().__init__(parent)
        self._signal = signal

    @staticmethod
    def _is_submit(event: QEvent) -> bool:
        return (
            isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._is_submit(event):
            event.accept()  # the key goes to the text box, not to the window's Draw shortcut
            return True
        if event.type() == QEvent.Type.KeyPress and self._is_submit(event):
            self._signal.emit()
            return True
        return super().eventFilter(watched, event)


logger = logging.getLogger(__name__)

#: Suggestions of the editable model and weights boxes (any open_clip name / file works).
MODELS = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "RN50", "RN101")
WEIGHTS = ("openai", "random")
#: QSpinBox holds a C int; wider integer ranges (the seed) use a double spin box with
#: no decimals, which is exact up to 2**53.
_INT_MAX = 2**31 - 1


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


WidgetKind = Literal["text", "lines", "int", "float", "combo", "editable", "check", "color"]


def _tooltip(s: Setting, view: FieldView | None = None) -> str:
    text = s.help[:1].upper() + s.help[1:]
    if view is None:
        return text
    original = f" (CLIPDraw: {s.default})" if view.original_default else ""
    return f"{text}{original}{view.tooltip}"


@dataclass(frozen=True)
class FieldView:
    """How the panel shows one setting: the widget kind and its cosmetics.

    Range, default, label and help come from the setting itself, so the window accepts
    exactly what the CLI and the project files accept.
    """

    #: The :class:`SessionConfig` or :class:`~app.settings.GuiSettings` field.
    name: str
    #: The panel attribute holding the widget (the window and tests use these names).
    attr: str
    kind: WidgetKind
    step: float = 1.0
    decimals: int = 2
    suffix: str = ""
    suggestions: tuple[str, ...] = ()
    #: Fixed while a session runs (only the prompts and weights can be steered).
    fixed_while_running: bool = True
    #: The tooltip says the default is the original CLIPDraw's.
    original_default: bool = False
    #: Appended to the setting's help in the tooltip.
    tooltip: str = ""


#: The settings the panel shows; the Run box lists the fixed ones in this order.
SESSION_VIEWS: tuple[FieldView, ...] = (
    FieldView(
        "prompt",
        "prompt",
        "text",
        fixed_while_running=False,
        tooltip="\nWhile drawing, press Ctrl+Enter (or Apply) to steer with a new prompt.",
    ),
    FieldView("negative_prompts", "negatives", "lines", fixed_while_running=False, tooltip="; one per line"),
    FieldView(
        "negative_weight",
        "negative_weight",
        "float",
        step=0.05,
        fixed_while_running=False,
        original_default=True,
    ),
    FieldView("num_paths", "num_paths", "int", original_default=True, tooltip="; yours come on top"),
    FieldView("num_steps", "num_steps", "int", step=50, original_default=True),
    FieldView("seed", "seed", "int"),
    FieldView("width", "canvas_size", "int", step=32, suffix=" px", original_default=True),
    FieldView("height", "canvas_height", "int", step=32, suffix=" px", original_default=True),
    FieldView("model_name", "model", "editable", suggestions=MODELS),
    FieldView("weights", "weights", "editable", suggestions=WEIGHTS),
    FieldView("device", "device", "combo"),
    FieldView("renderer", "renderer", "combo", suggestions=RENDERERS,
              tooltip="; for comparison with the original CLIPDraw's rasteriser (slower)"),
    FieldView("precision", "precision", "combo", tooltip="; the status bar says what runs and why"),
    # the Time box (issue 13): recording, stages, prune, auto-stop
    FieldView("timelapse_every", "timelapse_every", "int", suffix=" steps",
              tooltip="; the timeline under the canvas shows these frames"),
    FieldView("stages", "stages", "int"),
    FieldView("stage_freeze", "stage_freeze", "check"),
    FieldView("prune_alpha", "prune_alpha", "float", step=0.05, decimals=2),
    FieldView("prune_every", "prune_every", "int", step=50, suffix=" steps"),
    FieldView("auto_stop", "auto_stop", "check"),
    FieldView("patience", "patience", "int", step=10, suffix=" steps"),
)
#: Settings of SESSION_VIEWS shown in the Time box instead of the Run box.
TIME_FIELDS = (
    "timelapse_every", "stages", "stage_freeze", "prune_alpha", "prune_every", "auto_stop", "patience"
)
GUI_VIEWS: tuple[FieldView, ...] = (
    FieldView("brush_color", "brush_color_button", "color"),
    FieldView("brush_width", "brush_width", "float", step=0.5, decimals=2, suffix=" px"),
    FieldView("draw_frozen", "draw_frozen", "check"),
)


class _Editor:
    """A widget seen as one setting's value: ``value()`` reads it, ``set_value()`` shows one."""

    def __init__(self, widget: QWidget) -> None:
        self.widget = widget

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError


class _TextEditor(_Editor):
    widget: QPlainTextEdit

    def value(self) -> str:
        return self.widget.toPlainText().strip()

    def set_value(self, value: Any) -> None:
        self.widget.setPlainText(str(value))


class _LinesEditor(_TextEditor):
    def value(self) -> tuple[str, ...]:  # type: ignore[override]
        return _lines(self.widget.toPlainText())

    def set_value(self, value: Any) -> None:
        self.widget.setPlainText("\n".join(value))


class _NumberEditor(_Editor):
    widget: QSpinBox | QDoubleSpinBox

    def __init__(self, widget: QSpinBox | QDoubleSpinBox, integer: bool, decimals: int) -> None:
        super().__init__(widget)
        self._integer = integer
        self._decimals = decimals

    def value(self) -> int | float:
        v = self.widget.value()
        return round(v) if self._integer else round(v, self._decimals + 2)

    def set_value(self, value: Any) -> None:
        w = self.widget
        if not w.minimum() <= value <= w.maximum():
            raise ConfigError(f"{value!r} is outside {w.minimum()}..{w.maximum()}")
        w.setValue(value)  # type: ignore[arg-type]


class _ComboEditor(_Editor):
    widget: QComboBox

    def value(self) -> str:
        return self.widget.currentText().strip()

    def set_value(self, value: Any) -> None:
        text = str(value)
        if not self.widget.isEditable() and self.widget.findText(text) < 0:
            self.widget.addItem(text)  # an accepted value beyond the usual ones ("cuda:1")
        self.widget.setCurrentText(text)


class _CheckEditor(_Editor):
    widget: QCheckBox

    def value(self) -> bool:
        return self.widget.isChecked()

    def set_value(self, value: Any) -> None:
        self.widget.setChecked(bool(value))


class _ColorEditor(_Editor):
    """The brush colour button; the value is ``#AARRGGBB`` text."""

    def __init__(self, panel: ControlPanel) -> None:
        super().__init__(panel.brush_color_button)
        self._panel = panel

    def value(self) -> str:
        return self._panel.brush_qcolor().name(QColor.NameFormat.HexArgb)

    def set_value(self, value: Any) -> None:
        self._panel.set_brush_color(QColor(str(value)))


def _make_editor(view: FieldView, s: Setting, parent: QWidget) -> _Editor:
    """The widget of one setting, its range, steps and tooltip taken from the setting."""
    tip = _tooltip(s, view)
    editor: _Editor
    if view.kind in ("text", "lines"):
        box = QPlainTextEdit(parent)
        box.setObjectName(view.attr)
        box.setTabChangesFocus(True)
        editor = _TextEditor(box) if view.kind == "text" else _LinesEditor(box)
    elif view.kind in ("int", "float"):
        if s.minimum is None or s.maximum is None:
            raise TypeError(f"{s.name} needs a range to be shown in a spin box")
        integer = view.kind == "int"
        spin: QSpinBox | QDoubleSpinBox
        if integer and s.maximum <= _INT_MAX and s.minimum >= -_INT_MAX - 1:
            spin = QSpinBox(parent)
            spin.setRange(int(s.minimum), int(s.maximum))
            spin.setSingleStep(int(view.step))
        else:
            spin = QDoubleSpinBox(parent)
            spin.setDecimals(0 if integer else view.decimals)
            spin.setRange(float(s.minimum), float(s.maximum))
            spin.setSingleStep(view.step)
        spin.setSuffix(view.suffix)
        editor = _NumberEditor(spin, integer, view.decimals)
    elif view.kind in ("combo", "editable"):
        combo = QComboBox(parent)
        combo.setEditable(view.kind == "editable")
        combo.addItems(list(view.suggestions or s.choices))
        editor = _ComboEditor(combo)
    elif view.kind == "check":
        editor = _CheckEditor(QCheckBox(s.label, parent))
    else:
        raise ValueError(f"unknown widget kind {view.kind!r}")
    editor.widget.setToolTip(tip)
    return editor


class ControlPanel(QWidget):
    drawRequested = Signal()
    pauseRequested = Signal()
    stopRequested = Signal()
    resetRequested = Signal()
    applyPromptRequested = Signal()
    #: Ctrl+Enter in a prompt box: Draw before a run, Apply during one.
    submitRequested = Signal()
    brushChanged = Signal()

    # the widgets built from SESSION_VIEWS and GUI_VIEWS (for readers and type checkers)
    prompt: QPlainTextEdit
    negatives: QPlainTextEdit
    negative_weight: QDoubleSpinBox
    num_paths: QSpinBox
    num_steps: QSpinBox
    seed: QDoubleSpinBox
    canvas_size: QSpinBox
    canvas_height: QSpinBox
    model: QComboBox
    weights: QComboBox
    device: QComboBox
    renderer: QComboBox
    precision: QComboBox
    brush_width: QDoubleSpinBox
    draw_frozen: QCheckBox
    timelapse_every: QSpinBox
    stages: QSpinBox
    stage_freeze: QCheckBox
    prune_alpha: QDoubleSpinBox
    prune_every: QSpinBox
    auto_stop: QCheckBox
    patience: QSpinBox

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        self._brush_color = QColor(GuiSettings().brush_color)
        self.brush_color_button = QPushButton(self)
        self._editors = self._build_editors()
        aspect = FieldView("canvas_aspect", "canvas_aspect", "combo")
        self.canvas_aspect = _make_editor(aspect, setting_named(GuiSettings, aspect.name), self).widget
        self.canvas_shape = CanvasShape(self.canvas_size, self.canvas_height, self.canvas_aspect, self)
        self.canvas_shape.show_aspect(GuiSettings().canvas_aspect)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        self._build_prompts(outer)
        self._build_buttons(outer)
        self._build_run_options(outer)
        self._build_time_options(outer)
        self._build_brush(outer)
        outer.addStretch(1)
        self._update_color_button()
        self.set_state(RunState.IDLE)

    # ------------------------------------------------------------ building
    def _build_editors(self) -> dict[str, _Editor]:
        """One editor per shown setting, showing its default, stored under its panel attribute too."""
        editors: dict[str, _Editor] = {}
        for views, cls in ((SESSION_VIEWS, SessionConfig), (GUI_VIEWS, GuiSettings)):
            for view in views:
                s = setting_named(cls, view.name)
                editor = _ColorEditor(self) if view.kind == "color" else _make_editor(view, s, self)
                if view.kind == "color":
                    editor.widget.setToolTip(_tooltip(s))
                else:
                    setattr(self, view.attr, editor.widget)
                editor.set_value(s.default)
                editors[view.name] = editor
        return editors

    def _build_prompts(self, outer: QVBoxLayout) -> None:
        outer.addWidget(QLabel("<b>Prompt</b>", self))
        self.prompt.setPlaceholderText("Describe what to draw, e.g. “a red bicycle by the sea”")
        self.prompt.setFixedHeight(self.prompt.fontMetrics().lineSpacing() * 3 + 14)
        outer.addWidget(self.prompt)

        neg_row = QHBoxLayout()
        neg_row.addWidget(QLabel("Avoid (one per line)", self))
        neg_row.addStretch(1)
        self.neg_defaults = QToolButton(self)
        self.neg_defaults.setText("CLIPDraw defaults")
        self.neg_defaults.setToolTip("Fill in the original CLIPDraw negative prompts")
        self.neg_defaults.clicked.connect(
            lambda: self.negatives.setPlainText("\n".join(DEFAULT_NEGATIVE_PROMPTS))
        )
        neg_row.addWidget(self.neg_defaults)
        outer.addLayout(neg_row)
        self.negatives.setPlaceholderText("Negative prompts, e.g. “A badly drawn sketch.”")
        self.negatives.setFixedHeight(self.negatives.fontMetrics().lineSpacing() * 2 + 14)
        outer.addWidget(self.negatives)

        weight_row = QHBoxLayout()
        weight_row.addWidget(QLabel(setting_named(SessionConfig, "negative_weight").label, self))
        weight_row.addWidget(self.negative_weight)
        self.apply_prompt = QPushButton("Apply", self)
        self.apply_prompt.setToolTip(
            "Send the edited prompts to the running drawing (Ctrl+Enter in a prompt box); undoable"
        )
        self.apply_prompt.clicked.connect(self.applyPromptRequested)
        weight_row.addWidget(self.apply_prompt)
        outer.addLayout(weight_row)
        # Ctrl+Enter in a prompt box is handled here (an event filter, not a QShortcut:
        # a second Ctrl+Return shortcut would be ambiguous with the window's Draw action).
        self._submit_filter = _SubmitOnCtrlEnter(self.submitRequested, self)
        for editor in (self.prompt, self.negatives):
            editor.installEventFilter(self._submit_filter)

    def _build_buttons(self, outer: QVBoxLayout) -> None:
        style = self.style()
        buttons = QHBoxLayout()
        self.draw = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Draw", self)
        self.draw.setObjectName("drawButton")
        self.draw.setDefault(True)
        self.draw.setToolTip("Start optimising (continues the drawing on the canvas; Reset starts over)")
        self.draw.clicked.connect(self.drawRequested)
        self.pause = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause", self)
        self.pause.setToolTip("Pause / resume the optimisation (Space); edits still apply while paused")
        self.pause.clicked.connect(self.pauseRequested)
        self.stop = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop", self)
        self.stop.setToolTip("Stop optimising and keep the drawing")
        self.stop.clicked.connect(self.stopRequested)
        self.reset = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "Reset", self)
        self.reset.setToolTip("Stop and clear the canvas to start over (Ctrl+N)")
        self.reset.clicked.connect(self.resetRequested)
        for b in (self.draw, self.pause, self.stop, self.reset):
            buttons.addWidget(b)
        outer.addLayout(buttons)

    def _build_run_options(self, outer: QVBoxLayout) -> None:
        """The options fixed during a run, one form row each (label from the setting)."""
        run = QGroupBox("Run", self)
        form = QFormLayout(run)
        extras = {"model_name": self._model_button(run), "weights": self._browse_button(run)}
        for view in SESSION_VIEWS:
            if not view.fixed_while_running or view.name == "height" or view.name in TIME_FIELDS:
                continue
            editor = self._editors[view.name]
            editor.widget.setParent(run)
            label = setting_named(SessionConfig, view.name).label
            if view.name == "width":
                self.canvas_height.setParent(run)
                self.canvas_aspect.setParent(run)
                form.addRow(label, self.canvas_shape.row(run))
                form.addRow(setting_named(GuiSettings, "canvas_aspect").label, self.canvas_aspect)
            elif view.name in extras:
                row = QHBoxLayout()
                row.addWidget(editor.widget, 1)
                row.addWidget(extras[view.name])
                form.addRow(label, row)
            else:
                form.addRow(label, editor.widget)
        outer.addWidget(run)

    def _build_time_options(self, outer: QVBoxLayout) -> None:
        """Recording, stages, prune and auto-stop (the window's run loop applies them, app.run.plan_hooks)."""
        box = QGroupBox("Time", self)
        form = QFormLayout(box)
        for name in TIME_FIELDS:
            widget = self._editors[name].widget
            widget.setParent(box)
            if isinstance(widget, QCheckBox):
                form.addRow(widget)
            else:
                form.addRow(setting_named(SessionConfig, name).label, widget)
        outer.addWidget(box)

    def _model_button(self, parent: QWidget) -> QToolButton:
        self.pick_model = QToolButton(parent)
        self.pick_model.setText("…")
        self.pick_model.setToolTip("Choose a model and weights, with download size and speed hints")
        self.pick_model.clicked.connect(self.choose_model)
        self.pick_model.setVisible(importlib.util.find_spec("app.dialogs.first_run") is not None)
        return self.pick_model

    def _browse_button(self, parent: QWidget) -> QToolButton:
        browse = QToolButton(parent)
        browse.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        browse.setToolTip("Choose a local weights file")
        browse.clicked.connect(self.browse_weights)
        return browse

    def _build_brush(self, outer: QVBoxLayout) -> None:
        brush = QGroupBox("Brush", self)
        bform = QFormLayout(brush)
        for view in GUI_VIEWS:
            widget = self._editors[view.name].widget
            widget.setParent(brush)
            if view.kind == "check":
                bform.addRow(widget)
            else:
                bform.addRow(setting_named(GuiSettings, view.name).label, widget)
        self.brush_color_button.clicked.connect(self.choose_brush_color)
        self.brush_width.valueChanged.connect(self.brushChanged)
        self.draw_frozen.toggled.connect(self.brushChanged)
        outer.addWidget(brush)

    # ------------------------------------------------------------ brush
    def brush_qcolor(self) -> QColor:
        return QColor(self._brush_color)

    def brush_rgba(self) -> tuple[float, float, float, float]:
        c = self._brush_color
        return (c.redF(), c.greenF(), c.blueF(), c.alphaF())

    def set_brush_color(self, color: QColor) -> None:
        if color.isValid():
            self._brush_color = QColor(color)
            self._update_color_button()
            self.brushChanged.emit()

    def choose_brush_color(self) -> None:
        color = QColorDialog.getColor(
            self._brush_color, self, "Brush colour", QColorDialog.ColorDialogOption.ShowAlphaChannel
        )
        self.set_brush_color(color)

    def _update_color_button(self) -> None:
        c = self._brush_color
        self.brush_color_button.setText(c.name())
        text = "#000000" if c.lightness() > 140 else "#ffffff"
        self.brush_color_button.setStyleSheet(f"background-color: {c.name()}; color: {text};")

    def choose_model(self) -> None:
        """The first-run model picker (app.dialogs.first_run), which also remembers the choice."""
        from app.dialogs.first_run import ModelPickerDialog

        dialog = ModelPickerDialog(self.window(), settings.qsettings())
        if dialog.exec():
            self.model.setCurrentText(dialog.model_name)
            self.weights.setCurrentText(dialog.pretrained)

    def browse_weights(self) -> str | None:
        """Ask for a local open_clip checkpoint; put it in the Weights box and return it."""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose CLIP weights",
            settings.read("last_dir"),
            "Checkpoints (*.pt *.pth *.bin *.safetensors *.ckpt);;All files (*)",
        )
        if path:
            self.weights.setCurrentText(path)
        return path or None

    # ------------------------------------------------------------ config
    def config(self, base: SessionConfig | None = None) -> SessionConfig:
        """The widgets as a SessionConfig (other fields from ``base``); not validated."""
        base = base or SessionConfig()
        values = {view.name: self._editors[view.name].value() for view in SESSION_VIEWS}
        return base.replace(**values)

    def set_config(self, cfg: SessionConfig) -> None:
        """Show ``cfg`` (an opened project); a value no widget could hold is a ConfigError.

        The config is validated before any widget changes, so a bad file leaves the
        panel as it was; the widgets' ranges are the settings' own, so a valid config
        always fits.
        """
        cfg.validate()
        self.show_values(cfg, [view.name for view in SESSION_VIEWS])

    def show_values(self, cfg: SessionConfig, names: list[str]) -> None:
        """Show only these fields of ``cfg`` (a look preset sets the stroke count, nothing else here)."""
        shown = {view.name for view in SESSION_VIEWS}
        with self.canvas_shape.unlinked():
            for name in names:
                if name in shown:
                    self._editors[name].set_value(getattr(cfg, name))

    def prompt_command(self) -> SetPrompt:
        return SetPrompt(self.prompt.toPlainText().strip(), _lines(self.negatives.toPlainText()))

    def show_prompt(self, cmd: SetPrompt) -> None:
        self.prompt.setPlainText(cmd.prompt)
        self.negatives.setPlainText("\n".join(cmd.negative_prompts))

    def set_state(self, state: RunState | str) -> None:
        """Enable what makes sense: options are fixed while a session runs."""
        state = RunState(state)
        self.draw.setEnabled(not state.is_busy)
        self.pause.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        self.pause.setText("Resume" if state is RunState.PAUSED else "Pause")
        self.pause.setIcon(
            self.style().standardIcon(
                QStyle.StandardPixmap.SP_MediaPlay
                if state is RunState.PAUSED
                else QStyle.StandardPixmap.SP_MediaPause
            )
        )
        self.stop.setEnabled(state.is_active or state is RunState.LOADING)
        self.apply_prompt.setEnabled(state.is_active)
        editable = not state.is_active and state is not RunState.LOADING
        for view in SESSION_VIEWS:
            if view.fixed_while_running:
                self._editors[view.name].widget.setEnabled(editable)
        self.canvas_aspect.setEnabled(editable)

    # ------------------------------------------------------------ persistence
    def load_settings(self) -> None:
        """Show the remembered values (each checked against its setting's range on reading)."""
        with self.canvas_shape.unlinked():
            for view in (*SESSION_VIEWS, *GUI_VIEWS):
                key = settings.key_for(view.name)
                try:
                    self._editors[view.name].set_value(settings.read(key))
                except ConfigError as exc:  # cannot happen for values read() checked; keep the default
                    logger.warning("setting %s not shown: %s", key, exc)
        self.canvas_shape.load()

    def save_settings(self) -> None:
        for view in (*SESSION_VIEWS, *GUI_VIEWS):
            settings.write(settings.key_for(view.name), self._editors[view.name].value())
        self.canvas_shape.save()
