"""The regions list (each a part of the canvas with its own prompt) and the soft-lock slider.

Why it only emits the new list: regions are engine data
(:class:`~clipdraw_core.drawing.guidance.Region`); the window turns every change
into one undoable :class:`~clipdraw_core.drawing.commands.SetRegions`, and the
panel shows whatever guidance the run controller then holds (:meth:`show`), so
undo, a running session and an opened project all look the same here.

Regions are drawn on the canvas with the Region tool (see
:mod:`app.canvas.region_overlay`); here they are renamed, re-prompted, weighted,
muted and deleted. The new region's prompt is the "New region prompt" box (or the
main prompt when that is empty).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.prompt_panel import WEIGHT_MAX
from app.score_column import refresh_scores, score_text
from clipdraw_core.drawing.guidance import Region
from clipdraw_core.errors import ClipDrawError

logger = logging.getLogger(__name__)

COL_ON, COL_NAME, COL_PROMPT, COL_WEIGHT, COL_SCORE = range(5)


class RegionPanel(QWidget):
    """Regions table + "show regions" + the Respect slider (see the module docstring)."""

    #: The artist changed the list: the new regions (the window makes it one undo step).
    regionsEdited = Signal(tuple)
    #: Show or hide the regions overlay.
    overlayToggled = Signal(bool)
    #: The Respect slider was let go: strength 0..1 for the selected strokes.
    respectRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("regionPanel")
        self._regions: tuple[Region, ...] = ()
        self._scores: dict[str, float] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        top = QHBoxLayout()
        self.new_prompt = QLineEdit(self)
        self.new_prompt.setObjectName("newRegionPrompt")
        self.new_prompt.setPlaceholderText("New region prompt (empty: the main prompt)")
        self.new_prompt.setToolTip("The prompt a region drawn with the Region tool (G) starts with")
        self.new_weight = QDoubleSpinBox(self)
        self.new_weight.setRange(0.0, WEIGHT_MAX)
        self.new_weight.setSingleStep(0.1)
        self.new_weight.setValue(1.0)
        self.new_weight.setToolTip("The weight a new region starts with")
        top.addWidget(self.new_prompt, 1)
        top.addWidget(self.new_weight)
        layout.addLayout(top)

        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("regionTable")
        self.table.setHorizontalHeaderLabels(["On", "Name", "Prompt", "Weight", "Score"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_PROMPT, QHeaderView.ResizeMode.Stretch)
        for col in (COL_ON, COL_NAME, COL_WEIGHT, COL_SCORE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip(
            "Regions of the canvas with their own prompt (draw them with the Region tool, G).\n"
            "Untick to mute; double-click a name or prompt to edit it; undoable, also while drawing."
        )
        self.table.itemChanged.connect(self._on_item_changed)
        layout.addWidget(self.table)

        row = QHBoxLayout()
        self.delete = QToolButton(self)
        self.delete.setText("Delete")
        self.delete.setToolTip("Delete the selected regions (undoable)")
        self.delete.clicked.connect(self.delete_selected)
        self.show_overlay = QCheckBox("Show regions", self)
        self.show_overlay.setChecked(True)
        self.show_overlay.setToolTip("Draw the regions over the canvas")
        self.show_overlay.toggled.connect(self.overlayToggled)
        row.addWidget(self.delete)
        row.addStretch(1)
        row.addWidget(self.show_overlay)
        layout.addLayout(row)

        respect = QFormLayout()
        line = QHBoxLayout()
        self.respect = QSlider(Qt.Orientation.Horizontal, self)
        self.respect.setObjectName("respectSlider")
        self.respect.setRange(0, 100)
        self.respect.setToolTip(
            "Soft lock for the selected strokes: 0 free, 1 held where they are now "
            "(points, widths and colours are pulled back). Freeze (F) is the exact lock."
        )
        self.respect_value = QLabel("0.00", self)
        self.respect.valueChanged.connect(lambda v: self.respect_value.setText(f"{v / 100:.2f}"))
        self.respect.sliderReleased.connect(self._respect_released)
        line.addWidget(self.respect, 1)
        line.addWidget(self.respect_value)
        respect.addRow("Respect", line)
        layout.addLayout(respect)

    # ------------------------------------------------------------ showing
    def regions(self) -> tuple[Region, ...]:
        return self._regions

    def show(self, regions: tuple[Region, ...]) -> None:  # type: ignore[override]
        """Show these regions (the controller's guidance); emits nothing."""
        self._regions = tuple(regions)
        table = self.table
        table.blockSignals(True)
        try:
            table.setRowCount(len(self._regions))
            for r, region in enumerate(self._regions):
                on = QTableWidgetItem()
                on.setFlags(
                    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
                )
                on.setCheckState(Qt.CheckState.Unchecked if region.muted else Qt.CheckState.Checked)
                editable = (
                    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
                )
                name = QTableWidgetItem(region.name or str(region.id))
                name.setFlags(editable)
                prompt = QTableWidgetItem(region.prompt)
                prompt.setFlags(editable)
                weight = QTableWidgetItem(f"{region.weight:g}")
                weight.setFlags(editable)
                score = QTableWidgetItem(score_text(self._scores, region.label))
                score.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                for col, item in zip(range(5), (on, name, prompt, weight, score), strict=True):
                    table.setItem(r, col, item)
        finally:
            table.blockSignals(False)

    def update_scores(self, scores: Mapping[str, float]) -> None:
        self._scores = dict(scores)
        refresh_scores(self.table, COL_SCORE, [region.label for region in self._regions], self._scores)

    # ------------------------------------------------------------ edits
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        r, col = item.row(), item.column()
        if not 0 <= r < len(self._regions):
            return
        region = self._regions[r]
        try:
            if col == COL_ON:
                new = replace(region, muted=item.checkState() != Qt.CheckState.Checked)
            elif col == COL_NAME:
                text = item.text().strip()
                new = replace(region, name="" if text == str(region.id) else text)
            elif col == COL_PROMPT:
                new = replace(region, prompt=item.text().strip())
            elif col == COL_WEIGHT:
                new = replace(region, weight=float(item.text()))
            else:
                return
        except (ClipDrawError, ValueError) as exc:
            logger.info("region edit refused: %s", exc)
            self.show(self._regions)  # put the old text back
            return
        if new != region:
            regions = list(self._regions)
            regions[r] = new
            self.regionsEdited.emit(tuple(regions))

    def delete_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if rows:
            self.regionsEdited.emit(tuple(g for r, g in enumerate(self._regions) if r not in rows))

    def _respect_released(self) -> None:
        self.respectRequested.emit(self.respect.value() / 100)
