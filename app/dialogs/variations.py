"""Variations…: how many seeds of the current settings to run side by side (2-9).

The count is remembered for the next time (``variation_count`` in the settings file).
The dialog says which seeds will run (the settings' seed S gives S, S+1, ...), so
any variation can be re-run alone later with that seed.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from app import settings

SETTING = "variation_count"


def remembered_count() -> int:
    return int(settings.read(SETTING))


class VariationsDialog(QDialog):
    """Asks for the number of variations; :meth:`count` once accepted."""

    def __init__(self, seed: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Variations")
        self.setObjectName("variationsDialog")
        self._seed = int(seed)
        self.spin = QSpinBox(self)
        self.spin.setObjectName("variationCount")
        spec = settings.SETTINGS[SETTING]  # range and help from the one declaration (GuiSettings)
        self.spin.setRange(int(spec.minimum), int(spec.maximum))
        self.spin.setValue(remembered_count())
        self.spin.setToolTip(f"{spec.help}: runs of the same settings, each with its own seed")
        self.seeds = QLabel(self)
        self.seeds.setWordWrap(True)
        self.spin.valueChanged.connect(self._show_seeds)
        intro = QLabel(
            "Runs the current settings several times at once, each with its own seed, from the "
            "drawing on the canvas (its strokes are shared seed strokes; frozen strokes stay frozen). "
            "The grid ranks them by CLIP score; pick one to continue it in the canvas.",
            self,
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Variations", self.spin)
        form.addRow("Seeds", self.seeds)
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        self.buttons = QDialogButtonBox(ok | cancel, self)
        self.buttons.button(ok).setText("Start")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._show_seeds()

    def count(self) -> int:
        return int(self.spin.value())

    def _show_seeds(self) -> None:
        from clipdraw_core.optim.variations import variation_seeds

        seeds = variation_seeds(self._seed, self.count())
        self.seeds.setText(", ".join(str(s) for s in seeds))

    def accept(self) -> None:
        settings.write(SETTING, self.count())
        super().accept()


def ask_variation_count(parent: QWidget | None, seed: int) -> int | None:
    """The number of variations the artist asked for, or None if cancelled."""
    dialog = VariationsDialog(seed, parent)
    return dialog.count() if dialog.exec() == QDialog.DialogCode.Accepted else None
