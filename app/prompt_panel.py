"""The prompt list: every text prompt of the drawing, each with a weight and its CLIP score.

Why the prompt box and the "Avoid" box stay: the simple case (one prompt, a few
things to avoid) is typed as before. They are the first rows of the table - the
prompt box is row one, each "Avoid" line one negative row - and the table adds
more prompts and negatives after them, each with a weight (slider and number).
Rows that mirror the boxes take their text from the boxes; only their weight is
edited here.

The panel is a view of the prompt fields of a
:class:`~clipdraw_core.optim.config.SessionConfig` (``prompt``, ``prompt_weight``,
``extra_prompts``/``extra_weights``, ``negative_prompts``/``negative_weights``):
:meth:`PromptListPanel.command` turns it into one
:class:`~clipdraw_core.drawing.commands.SetPrompt`, :meth:`show` shows one.
``edited`` is emitted once per finished change (a weight let go, a row added,
removed or moved), so the window sends one command - one undo step - per change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.score_column import refresh_scores, score_text
from clipdraw_core.drawing.commands import SetPrompt
from clipdraw_core.optim.config import SessionConfig

logger = logging.getLogger(__name__)

#: Weights the number boxes accept (a prompt's down to -WEIGHT_MAX: pushes away); the
#: slider covers the usual 0..SLIDER_MAX.
WEIGHT_MAX = 10.0
SLIDER_MAX = 3.0
_SLIDER_STEPS = 100  # slider ticks per unit of weight

COL_KIND, COL_TEXT, COL_WEIGHT, COL_SCORE = range(4)


@dataclass
class PromptEntry:
    """One row: a prompt, its weight (push-away strength for negatives) and where it comes from."""

    text: str
    weight: float
    negative: bool = False
    #: Mirrors the prompt box or an "Avoid" line (text edited there, not in the table).
    from_box: bool = False


class WeightEditor(QWidget):
    """A slider and a number showing one weight; ``committed`` when a change is finished."""

    committed = Signal(float)

    def __init__(self, value: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, int(SLIDER_MAX * _SLIDER_STEPS))
        self.spin = QDoubleSpinBox(self)
        self.spin.setRange(-WEIGHT_MAX, WEIGHT_MAX)
        self.spin.setDecimals(2)
        self.spin.setSingleStep(0.1)
        self.spin.setKeyboardTracking(False)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.set_value(value)
        self.slider.valueChanged.connect(self._from_slider)
        self.slider.sliderReleased.connect(self._commit)
        self.spin.valueChanged.connect(self._from_spin)

    def value(self) -> float:
        return round(self.spin.value(), 4)

    def set_negative_row(self, negative: bool) -> None:
        """An "Avoid" row's weight is a push-away strength (0..max); a prompt's may be < 0."""
        self.spin.blockSignals(True)
        self.spin.setMinimum(0.0 if negative else -WEIGHT_MAX)
        self.spin.blockSignals(False)
        self.setToolTip("Push-away strength" if negative else "Weight (0: no pull; below 0 pushes away)")

    def set_value(self, value: float) -> None:
        self.spin.blockSignals(True)
        self.slider.blockSignals(True)
        self.spin.setValue(float(value))
        self.slider.setValue(round(min(max(float(value), 0.0), SLIDER_MAX) * _SLIDER_STEPS))
        self.spin.blockSignals(False)
        self.slider.blockSignals(False)

    def _from_slider(self, ticks: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(ticks / _SLIDER_STEPS)
        self.spin.blockSignals(False)
        if not self.slider.isSliderDown():  # keyboard or click on the groove: finished at once
            self._commit()

    def _from_spin(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(min(max(value, 0.0), SLIDER_MAX) * _SLIDER_STEPS))
        self.slider.blockSignals(False)
        self._commit()

    def _commit(self) -> None:
        self.committed.emit(self.value())


class PromptListPanel(QWidget):
    """The weighted prompt table beside the prompt and "Avoid" boxes (see the module docstring)."""

    #: One finished change of the list (send it to a running drawing).
    edited = Signal()

    def __init__(
        self, prompt_box: QPlainTextEdit, avoid_box: QPlainTextEdit, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("promptList")
        self.prompt_box, self.avoid_box = prompt_box, avoid_box
        self._entries: list[PromptEntry] = []
        self._default_negative_weight = 0.3
        self._scores: dict[str, float] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("promptTable")
        self.table.setHorizontalHeaderLabels(["", "Prompt", "Weight", "Score"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_TEXT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_WEIGHT, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_WEIGHT, 150)
        for col in (COL_KIND, COL_SCORE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip(
            "Every prompt with its weight and its current CLIP score (mean cosine of the views).\n"
            "The first rows are the prompt box and the Avoid lines; edit their text there."
        )
        self.table.itemChanged.connect(self._on_item_changed)
        layout.addWidget(self.table)

        add_row = QHBoxLayout()
        self.new_text = QLineEdit(self)
        self.new_text.setObjectName("newPrompt")
        self.new_text.setPlaceholderText("Another prompt, e.g. “golden light”")
        self.new_weight = QDoubleSpinBox(self)
        self.new_weight.setRange(0.0, WEIGHT_MAX)
        self.new_weight.setSingleStep(0.1)
        self.new_weight.setValue(1.0)
        self.new_weight.setToolTip("Weight of the prompt to add")
        self.add_positive = QPushButton("Add", self)
        self.add_positive.setToolTip("Add it as a prompt to draw towards (undoable, also while drawing)")
        self.add_negative = QPushButton("Avoid", self)
        self.add_negative.setToolTip("Add it as a prompt to push away from (undoable, also while drawing)")
        self.add_positive.clicked.connect(lambda: self._add_typed(False))
        self.add_negative.clicked.connect(lambda: self._add_typed(True))
        self.new_text.returnPressed.connect(lambda: self._add_typed(False))
        for w in (self.new_text, self.new_weight, self.add_positive, self.add_negative):
            add_row.addWidget(w, 1 if w is self.new_text else 0)
        layout.addLayout(add_row)

        edit_row = QHBoxLayout()
        self.remove = QToolButton(self)
        self.remove.setText("Remove")
        self.up = QToolButton(self)
        self.up.setText("Up")
        self.down = QToolButton(self)
        self.down.setText("Down")
        self.remove.setToolTip("Remove the selected prompt (the boxes' rows are edited in the boxes)")
        self.up.setToolTip("Move the selected prompt up")
        self.down.setToolTip("Move the selected prompt down")
        self.remove.clicked.connect(self.remove_selected)
        self.up.clicked.connect(lambda: self.move_selected(-1))
        self.down.clicked.connect(lambda: self.move_selected(1))
        for b in (self.remove, self.up, self.down):
            edit_row.addWidget(b)
        edit_row.addStretch(1)
        layout.addLayout(edit_row)

        prompt_box.textChanged.connect(self._sync_boxes)
        avoid_box.textChanged.connect(self._sync_boxes)
        self._sync_boxes()

    # ------------------------------------------------------------ the model
    def entries(self) -> list[PromptEntry]:
        return [PromptEntry(e.text, e.weight, e.negative, e.from_box) for e in self._entries]

    def _box_lines(self) -> tuple[str, list[str]]:
        text = self.prompt_box.toPlainText().strip()
        lines = [ln.strip() for ln in self.avoid_box.toPlainText().splitlines() if ln.strip()]
        return text, lines

    def _sync_boxes(self) -> None:
        """Rebuild the rows that mirror the boxes, keeping their weights by position."""
        text, lines = self._box_lines()
        old_main = [e for e in self._entries if e.from_box and not e.negative]
        old_neg = [e for e in self._entries if e.from_box and e.negative]
        main = PromptEntry(text, old_main[0].weight if old_main else 1.0, False, True)
        negs = [
            PromptEntry(
                ln, old_neg[i].weight if i < len(old_neg) else self._default_negative_weight, True, True
            )
            for i, ln in enumerate(lines)
        ]
        extras = [e for e in self._entries if not e.from_box]
        self._entries = [main, *negs, *extras]
        self._rebuild()

    def fields(self) -> dict[str, object]:
        """The prompt fields of a SessionConfig that the list stands for."""
        positives = [e for e in self._entries[1:] if not e.negative]
        negatives = [e for e in self._entries if e.negative]
        return {
            "prompt": self._entries[0].text,
            "prompt_weight": self._entries[0].weight,
            "extra_prompts": tuple(e.text for e in positives),
            "extra_weights": tuple(e.weight for e in positives),
            "negative_prompts": tuple(e.text for e in negatives),
            "negative_weights": tuple(e.weight for e in negatives),
        }

    def apply_to(self, config: SessionConfig) -> SessionConfig:
        """``config`` with the list's prompts and weights (not validated)."""
        return config.replace(**self.fields())

    def command(self) -> SetPrompt:
        f = self.fields()
        return SetPrompt(
            str(f["prompt"]),
            f["negative_prompts"],  # type: ignore[arg-type]
            prompt_weights=f["extra_weights"] or None,  # type: ignore[arg-type]
            extra_prompts=f["extra_prompts"],  # type: ignore[arg-type]
            prompt_weight=float(f["prompt_weight"]),  # type: ignore[arg-type]
            negative_weights=f["negative_weights"] or None,  # type: ignore[arg-type]
        )

    def show(self, cmd: SetPrompt, default_negative_weight: float | None = None) -> None:
        """Show a prompt change (undo/redo, an opened project) in the boxes and the table.

        Negatives that start with the present "Avoid" lines stay in the box; the rest
        become table rows. Nothing is emitted.
        """
        if default_negative_weight is not None:
            self._default_negative_weight = float(default_negative_weight)
        negs = list(cmd.negative_prompts)
        nw = list(cmd.negative_weights or [self._default_negative_weight] * len(negs))
        _, lines = self._box_lines()
        in_box = len(lines) if negs[: len(lines)] == lines else len(negs)
        extras = list(cmd.extra_prompts)
        ew = list(cmd.prompt_weights or [1.0] * len(extras))
        self.blockSignals(True)
        try:
            self.prompt_box.blockSignals(True)
            self.avoid_box.blockSignals(True)
            self.prompt_box.setPlainText(cmd.prompt)
            self.avoid_box.setPlainText("\n".join(negs[:in_box]))
        finally:
            self.prompt_box.blockSignals(False)
            self.avoid_box.blockSignals(False)
            self.blockSignals(False)
        self._entries = [
            PromptEntry(cmd.prompt, float(cmd.prompt_weight), False, True),
            *(PromptEntry(t, float(w), True, True) for t, w in zip(negs[:in_box], nw[:in_box], strict=True)),
            *(PromptEntry(t, float(w), False) for t, w in zip(extras, ew, strict=True)),
            *(PromptEntry(t, float(w), True) for t, w in zip(negs[in_box:], nw[in_box:], strict=True)),
        ]
        self._rebuild()

    def set_default_negative_weight(self, weight: float) -> None:
        """The "Avoid" weight spin box changed: box negatives still at the old default follow it."""
        old, self._default_negative_weight = self._default_negative_weight, float(weight)
        for entry in self._entries:
            if entry.from_box and entry.negative and entry.weight == old:
                entry.weight = self._default_negative_weight
        self._rebuild()

    def set_config(self, config: SessionConfig) -> None:
        self.show(command_of(config), config.negative_weight)

    # ------------------------------------------------------------ scores
    def update_scores(self, scores: Mapping[str, float]) -> None:
        """Show each prompt's current score (Snapshot.scores: prompt text -> mean cosine)."""
        self._scores = dict(scores)
        refresh_scores(self.table, COL_SCORE, [entry.text for entry in self._entries], self._scores)

    # ------------------------------------------------------------ edits
    def _add_typed(self, negative: bool) -> None:
        text = self.new_text.text().strip()
        if not text:
            return
        self.add_entry(text, self.new_weight.value(), negative)
        self.new_text.clear()

    def add_entry(self, text: str, weight: float, negative: bool = False) -> None:
        self._entries.append(PromptEntry(text.strip(), round(float(weight), 4), negative))
        self._rebuild()
        self.table.selectRow(len(self._entries) - 1)
        self.edited.emit()

    def _selected_extra(self) -> int | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return row if 0 <= row < len(self._entries) and not self._entries[row].from_box else None

    def remove_selected(self) -> None:
        row = self._selected_extra()
        if row is None:
            return
        del self._entries[row]
        self._rebuild()
        self.edited.emit()

    def move_selected(self, delta: int) -> None:
        row = self._selected_extra()
        if row is None:
            return
        target = row + delta
        if not 0 <= target < len(self._entries) or self._entries[target].from_box:
            return
        self._entries[row], self._entries[target] = self._entries[target], self._entries[row]
        self._rebuild()
        self.table.selectRow(target)
        self.edited.emit()

    def set_weight(self, row: int, weight: float) -> None:
        if self._entries[row].weight == weight:
            return
        self._entries[row].weight = weight
        self.edited.emit()

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        row = item.row()
        if item.column() != COL_TEXT or not 0 <= row < len(self._entries):
            return
        entry = self._entries[row]
        text = item.text().strip()
        if entry.from_box or not text or text == entry.text:
            self.table.blockSignals(True)
            item.setText(entry.text)
            self.table.blockSignals(False)
            return
        entry.text = text
        self.edited.emit()

    # ------------------------------------------------------------ the table
    def _rebuild(self) -> None:
        table = self.table
        table.blockSignals(True)
        try:
            table.setRowCount(len(self._entries))
            for row, entry in enumerate(self._entries):
                kind = QTableWidgetItem("Avoid" if entry.negative else "Draw")
                kind.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                text = QTableWidgetItem(entry.text or "(prompt box)")
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if not entry.from_box:
                    flags |= Qt.ItemFlag.ItemIsEditable
                text.setFlags(flags)
                if entry.from_box:
                    text.setToolTip("Edit this text in the box above")
                score = QTableWidgetItem(score_text(self._scores, entry.text))
                score.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                score.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, COL_KIND, kind)
                table.setItem(row, COL_TEXT, text)
                table.setItem(row, COL_SCORE, score)
                editor = table.cellWidget(row, COL_WEIGHT)
                if isinstance(editor, WeightEditor):
                    editor.set_value(entry.weight)
                else:
                    editor = WeightEditor(entry.weight, table)
                    editor.committed.connect(lambda w, ed=editor: self._weight_committed(ed, w))
                    table.setCellWidget(row, COL_WEIGHT, editor)
                editor.set_negative_row(entry.negative)
                editor.set_value(entry.weight)
        finally:
            table.blockSignals(False)

    def _weight_committed(self, editor: WeightEditor, weight: float) -> None:
        for row in range(self.table.rowCount()):
            if self.table.cellWidget(row, COL_WEIGHT) is editor:
                self.set_weight(row, weight)
                return

    def weight_editor(self, row: int) -> WeightEditor:
        editor = self.table.cellWidget(row, COL_WEIGHT)
        assert isinstance(editor, WeightEditor)
        return editor


def command_of(config: SessionConfig) -> SetPrompt:
    """The SetPrompt that states ``config``'s prompt fields (the "old" side of an undo step)."""
    negs = tuple(config.negative_prompts)
    return SetPrompt(
        config.prompt,
        negs,
        prompt_weights=tuple(config.extra_weights) or None,
        extra_prompts=tuple(config.extra_prompts),
        prompt_weight=float(config.prompt_weight),
        negative_weights=tuple(config.negative_weights) or None,
    )


def prompt_key(cmd: SetPrompt, default_negative_weight: float) -> tuple[object, ...]:
    """What a SetPrompt means, with defaults filled in (to tell whether a change changes anything)."""
    extras = tuple(cmd.extra_prompts)
    negs = tuple(cmd.negative_prompts)
    return (
        cmd.prompt,
        float(cmd.prompt_weight),
        extras,
        tuple(float(w) for w in (cmd.prompt_weights or (1.0,) * len(extras))),
        negs,
        tuple(float(w) for w in (cmd.negative_weights or (default_negative_weight,) * len(negs))),
    )
