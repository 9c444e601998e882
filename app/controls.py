"""The control panel: prompts, run buttons, run options and the brush.

Why it only builds configs and emits signals: the panel is a view of a
:class:`~clipdraw_core.optim.config.SessionConfig`. ``config()`` turns the widgets into one,
``set_config()`` shows one (an opened project), and the buttons emit intentions the
window wires to the controller. Values persist through :mod:`app.settings`.
"""

from __future__ import annotations

import importlib.util
import logging

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
from clipdraw_core.drawing.commands import SetPrompt
from clipdraw_core.optim.config import DEFAULT_NEGATIVE_PROMPTS, SessionConfig


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

MODELS = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "RN50", "RN101")
WEIGHTS = ("openai", "random")
DEVICES = ("auto", "cpu", "cuda", "mps")


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


class ControlPanel(QWidget):
    drawRequested = Signal()
    pauseRequested = Signal()
    stopRequested = Signal()
    resetRequested = Signal()
    applyPromptRequested = Signal()
    #: Ctrl+Enter in a prompt box: Draw before a run, Apply during one.
    submitRequested = Signal()
    brushChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)

        outer.addWidget(QLabel("<b>Prompt</b>", self))
        self.prompt = QPlainTextEdit(self)
        self.prompt.setObjectName("prompt")
        self.prompt.setPlaceholderText("Describe what to draw, e.g. “a red bicycle by the sea”")
        self.prompt.setToolTip(
            "What the drawing should look like to CLIP.\n"
            "While drawing, press Ctrl+Enter (or Apply) to steer with a new prompt."
        )
        self.prompt.setTabChangesFocus(True)
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
        self.negatives = QPlainTextEdit(self)
        self.negatives.setObjectName("negatives")
        self.negatives.setPlaceholderText("Negative prompts, e.g. “A badly drawn sketch.”")
        self.negatives.setToolTip("Things the drawing should NOT look like; one prompt per line")
        self.negatives.setTabChangesFocus(True)
        self.negatives.setFixedHeight(self.negatives.fontMetrics().lineSpacing() * 2 + 14)
        outer.addWidget(self.negatives)
        weight_row = QHBoxLayout()
        weight_row.addWidget(QLabel("Negative weight", self))
        self.negative_weight = QDoubleSpinBox(self)
        self.negative_weight.setRange(0.0, 5.0)
        self.negative_weight.setSingleStep(0.05)
        self.negative_weight.setDecimals(2)
        self.negative_weight.setToolTip("How strongly to push away from the negative prompts (CLIPDraw: 0.3)")
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

        run = QGroupBox("Run", self)
        form = QFormLayout(run)
        self.num_paths = QSpinBox(run)
        self.num_paths.setRange(0, 5000)
        self.num_paths.setToolTip(
            "Random strokes to start from (CLIPDraw: 256); your own strokes come on top"
        )
        form.addRow("Strokes", self.num_paths)
        self.num_steps = QSpinBox(run)
        self.num_steps.setRange(0, 1_000_000)
        self.num_steps.setSingleStep(50)
        self.num_steps.setToolTip("Optimisation steps (CLIPDraw: 1000)")
        form.addRow("Steps", self.num_steps)
        self.seed = QSpinBox(run)
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Random seed: the same seed and settings give the same starting strokes")
        form.addRow("Seed", self.seed)
        self.canvas_size = QSpinBox(run)
        self.canvas_size.setRange(16, 4096)
        self.canvas_size.setSingleStep(32)
        self.canvas_size.setSuffix(" px")
        self.canvas_size.setToolTip("Canvas width and height in pixels (CLIPDraw: 224)")
        form.addRow("Canvas", self.canvas_size)
        self.model = QComboBox(run)
        self.model.setEditable(True)
        self.model.addItems(MODELS)
        self.model.setToolTip("The open_clip model that judges the drawing")
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        self.pick_model = QToolButton(run)
        self.pick_model.setText("…")
        self.pick_model.setToolTip("Choose a model and weights, with download size and speed hints")
        self.pick_model.clicked.connect(self.choose_model)
        self.pick_model.setVisible(importlib.util.find_spec("app.dialogs.first_run") is not None)
        model_row.addWidget(self.pick_model)
        form.addRow("CLIP model", model_row)
        weights_row = QHBoxLayout()
        self.weights = QComboBox(run)
        self.weights.setEditable(True)
        self.weights.addItems(WEIGHTS)
        self.weights.setToolTip(
            "Pretrained tag (e.g. openai), a local checkpoint file, "
            "or 'random' (test mode: meaningless drawings, works offline)"
        )
        weights_row.addWidget(self.weights, 1)
        browse = QToolButton(run)
        browse.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        browse.setToolTip("Choose a local weights file")
        browse.clicked.connect(self.browse_weights)
        weights_row.addWidget(browse)
        form.addRow("Weights", weights_row)
        self.device = QComboBox(run)
        self.device.addItems(DEVICES)
        self.device.setToolTip("Where to optimise: auto picks CUDA or Apple MPS when available")
        form.addRow("Device", self.device)
        outer.addWidget(run)

        brush = QGroupBox("Brush", self)
        bform = QFormLayout(brush)
        self.brush_color_button = QPushButton(brush)
        self.brush_color_button.setToolTip("Colour of the strokes you draw")
        self.brush_color_button.clicked.connect(self.choose_brush_color)
        bform.addRow("Colour", self.brush_color_button)
        self.brush_width = QDoubleSpinBox(brush)
        self.brush_width.setRange(0.5, 100.0)
        self.brush_width.setSingleStep(0.5)
        self.brush_width.setSuffix(" px")
        self.brush_width.setToolTip("Width of the strokes you draw")
        self.brush_width.valueChanged.connect(self.brushChanged)
        bform.addRow("Width", self.brush_width)
        self.draw_frozen = QCheckBox("Draw frozen", brush)
        self.draw_frozen.setToolTip(
            "New strokes stay exactly as drawn (hold Shift while drawing for the same)"
        )
        self.draw_frozen.toggled.connect(self.brushChanged)
        bform.addRow(self.draw_frozen)
        outer.addWidget(brush)
        outer.addStretch(1)
        self._brush_color = QColor("#202020")
        self._update_color_button()
        self.set_state("idle")

    # ------------------------------------------------------------ brush
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
        size = self.canvas_size.value()
        return base.replace(
            prompt=self.prompt.toPlainText().strip(),
            negative_prompts=_lines(self.negatives.toPlainText()),
            negative_weight=round(self.negative_weight.value(), 4),
            num_paths=self.num_paths.value(),
            num_steps=self.num_steps.value(),
            seed=self.seed.value(),
            width=size,
            height=size,
            model_name=self.model.currentText().strip(),
            weights=self.weights.currentText().strip(),
            device=self.device.currentText(),
        )

    def set_config(self, cfg: SessionConfig) -> None:
        self.prompt.setPlainText(cfg.prompt)
        self.negatives.setPlainText("\n".join(cfg.negative_prompts))
        self.negative_weight.setValue(cfg.negative_weight)
        self.num_paths.setValue(cfg.num_paths)
        self.num_steps.setValue(cfg.num_steps)
        self.seed.setValue(cfg.seed)
        self.canvas_size.setValue(max(cfg.width, cfg.height))
        self.model.setCurrentText(cfg.model_name)
        self.weights.setCurrentText(cfg.weights)
        self.device.setCurrentText(cfg.device)

    def prompt_command(self) -> SetPrompt:
        return SetPrompt(self.prompt.toPlainText().strip(), _lines(self.negatives.toPlainText()))

    def show_prompt(self, cmd: SetPrompt) -> None:
        self.prompt.setPlainText(cmd.prompt)
        self.negatives.setPlainText("\n".join(cmd.negative_prompts))

    def set_state(self, state: str) -> None:
        """Enable what makes sense: options are fixed while a session runs."""
        active = state in ("starting", "running", "paused", "done")
        self.draw.setEnabled(state not in ("loading", "starting", "running", "paused"))
        self.pause.setEnabled(state in ("running", "paused"))
        self.pause.setText("Resume" if state == "paused" else "Pause")
        self.pause.setIcon(
            self.style().standardIcon(
                QStyle.StandardPixmap.SP_MediaPlay
                if state == "paused"
                else QStyle.StandardPixmap.SP_MediaPause
            )
        )
        self.stop.setEnabled(active or state == "loading")
        self.apply_prompt.setEnabled(active)
        for w in (
            self.num_paths,
            self.seed,
            self.canvas_size,
            self.model,
            self.weights,
            self.device,
            self.num_steps,
        ):
            w.setEnabled(not active and state != "loading")

    # ------------------------------------------------------------ persistence
    def load_settings(self) -> None:
        self.prompt.setPlainText(settings.read("prompt"))
        self.negatives.setPlainText(settings.read("negative_prompts"))
        self.negative_weight.setValue(settings.read("negative_weight"))
        self.num_paths.setValue(settings.read("num_paths"))
        self.num_steps.setValue(settings.read("num_steps"))
        self.seed.setValue(settings.read("seed"))
        self.canvas_size.setValue(settings.read("canvas_size"))
        self.model.setCurrentText(settings.read("model_name"))
        self.weights.setCurrentText(settings.read("weights"))
        self.device.setCurrentText(settings.read("device"))
        self.brush_width.setValue(settings.read("brush_width"))
        self.set_brush_color(QColor(settings.read("brush_color")))
        self.draw_frozen.setChecked(settings.read("draw_frozen"))

    def save_settings(self) -> None:
        settings.write("prompt", self.prompt.toPlainText())
        settings.write("negative_prompts", self.negatives.toPlainText())
        settings.write("negative_weight", self.negative_weight.value())
        settings.write("num_paths", self.num_paths.value())
        settings.write("num_steps", self.num_steps.value())
        settings.write("seed", self.seed.value())
        settings.write("canvas_size", self.canvas_size.value())
        settings.write("model_name", self.model.currentText())
        settings.write("weights", self.weights.currentText())
        settings.write("device", self.device.currentText())
        settings.write("brush_width", self.brush_width.value())
        settings.write("brush_color", self._brush_color.name(QColor.NameFormat.HexArgb))
        settings.write("draw_frozen", self.draw_frozen.isChecked())
