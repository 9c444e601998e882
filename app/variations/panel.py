"""The Variations panel: the ranked grid plus Pause/Resume and Stop, driving one batch runner.

The panel owns the runner's lifetime (start, pause, stop, join) and turns the grid's
buttons into runner requests; it knows nothing of the main canvas. What the artist
decides leaves as signals: ``picked(session, seed)`` when a member was detached to
continue in the canvas, ``ended()`` when the batch ended without a pick (Stop, or it
could not start). The window's launcher (:mod:`app.variations.launcher`) listens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.variations.grid import VariationGrid
from app.variations.runner import Batch, BatchRunner, BatchUpdate, RunnerHandle
from clipdraw_core.drawing.commands import Command
from clipdraw_core.optim.run_state import RunState

logger = logging.getLogger(__name__)


class VariationsPanel(QWidget):
    """Shows one batch at a time; :meth:`start` it with a factory that builds the batch."""

    picked = Signal(object, int, int)  # Session, member index, seed
    ended = Signal()
    errorOccurred = Signal(str, object)
    stateChanged = Signal(object)  # RunState
    updateShown = Signal(object)  # BatchUpdate

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("variationsPanel")
        self.grid = VariationGrid(self)
        self.status = QLabel("", self)
        self.status.setObjectName("variationsStatus")
        self.status.setWordWrap(True)  # a long line would widen the dock and squeeze the canvas
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setToolTip("Pause or resume every variation")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("End the variations; the canvas keeps the drawing it had")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.grid.pickRequested.connect(self.pick)
        self.grid.dropRequested.connect(self.drop)
        top = QHBoxLayout()
        top.addWidget(self.pause_button)
        top.addWidget(self.stop_button)
        top.addStretch(1)
        self.scroll = scroll = QScrollArea(self)
        scroll.setWidget(self.grid)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows wrap instead
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)
        self._handle: RunnerHandle | None = None
        self._count = 0
        self._picking = False
        self._state = RunState.IDLE
        self._last: BatchUpdate | None = None
        self._set_controls()

    # ------------------------------------------------------------ queries
    def is_active(self) -> bool:
        """True from :meth:`start` until the batch ended (picked, stopped or failed to start)."""
        return self._handle is not None

    def runner(self) -> BatchRunner | None:
        return self._handle.runner if self._handle is not None else None

    def state(self) -> RunState:
        return self._state

    def last_update(self) -> BatchUpdate | None:
        """The newest update shown (steps, scores, ranking)."""
        return self._last

    # ------------------------------------------------------------ control
    def start(self, factory: Callable[[], Batch], count: int, *, rank_every: int | None = None) -> None:
        """Run a new batch of ``count`` members, built by ``factory`` on the runner's thread."""
        self.stop()
        kwargs = {} if rank_every is None else {"rank_every": rank_every}
        runner = BatchRunner(factory, **kwargs)
        runner.updated.connect(self._on_updated)
        runner.stateChanged.connect(self._on_state)
        runner.errorOccurred.connect(self.errorOccurred)
        runner.picked.connect(self._on_picked)
        runner.finished.connect(self._on_finished)
        self._handle = RunnerHandle(runner, self)
        self._count, self._picking, self._last = count, False, None
        self.grid.clear()
        self._state = RunState.STARTING
        self._set_controls()
        self._handle.start()

    def submit(self, command: Command) -> None:
        """An edit for every alive member (ignored when no batch runs)."""
        if (runner := self.runner()) is not None:
            runner.submit(command)

    def pause(self) -> None:
        if (runner := self.runner()) is not None:
            runner.pause()

    def resume(self) -> None:
        if (runner := self.runner()) is not None:
            runner.resume()

    def toggle_pause(self) -> None:
        if (runner := self.runner()) is not None:
            runner.resume() if runner.is_paused() else runner.pause()
            self._set_controls()

    def is_paused(self) -> bool:
        runner = self.runner()
        return runner is not None and runner.is_paused()

    def drop(self, index: int) -> None:
        """Stop optimising member ``index``; its tile goes when the runner has dropped it."""
        runner = self.runner()
        if runner is None or self._picking:
            return
        if self._last is not None and len(self._last.ranked) <= 1:
            return  # the last one: pick it or stop instead
        runner.drop(index)
        self.grid.tile(index).set_enabled_buttons(False)

    def pick(self, index: int) -> None:
        """Continue member ``index`` alone in the canvas (``picked`` follows)."""
        runner = self.runner()
        if runner is None or self._picking:
            return
        self._picking = True
        self.grid.set_buttons_enabled(False)
        runner.pick(index)

    def stop(self) -> None:
        """End the batch after its current step and join its thread; ``ended`` follows."""
        handle = self._finish()
        if handle is not None:
            self.ended.emit()

    def shutdown(self) -> None:
        """Join the runner and the thumbnail painters (window close)."""
        self._finish()
        self.grid.shutdown()

    # ------------------------------------------------------------ runner events
    def _finish(self) -> RunnerHandle | None:
        handle, self._handle = self._handle, None
        if handle is None:
            return None
        handle.runner.updated.disconnect(self._on_updated)
        handle.stop()
        handle.deleteLater()
        self.grid.clear()
        self._state = RunState.STOPPED
        self._set_controls()
        return handle

    def _on_updated(self) -> None:
        runner = self.sender()
        if not isinstance(runner, BatchRunner) or runner is not self.runner():
            return
        update = runner.take_latest()
        if update is None:
            return
        if self._last is None:
            self.grid.set_members(update.seeds)
            if self._picking:
                self.grid.set_buttons_enabled(False)
        self._last = update
        drawings = {i: snap.drawing for i, snap in update.snapshots.items()}
        self.grid.show_members(drawings, update.ranked, update.scores)
        self._show_status()
        self.updateShown.emit(update)

    def _on_state(self, state: RunState) -> None:
        if self.sender() is self.runner():
            self._state = RunState(state)
            self._set_controls()

    def _on_picked(self, index: int, session: object) -> None:
        if self.sender() is not self.runner():
            return
        seeds = self._last.seeds if self._last is not None else ()
        seed = seeds[index] if index < len(seeds) else -1
        self._finish()  # the loop has returned after take(): this join is immediate
        self.picked.emit(session, index, seed)

    def _on_finished(self) -> None:
        """The loop ended on its own (the batch could not be created)."""
        if self.sender() is self.runner():
            self.stop()

    # ------------------------------------------------------------ looks
    def _set_controls(self) -> None:
        active = self._handle is not None
        self.pause_button.setEnabled(active)
        self.stop_button.setEnabled(active)
        self.pause_button.setText("Resume" if self.is_paused() else "Pause")
        self._show_status()

    def _show_status(self) -> None:
        if self._handle is None:
            self.status.setText("")
            return
        update = self._last
        if update is None:
            self.status.setText(f"Starting {self._count} variations…")
            return
        total = next(iter(update.snapshots.values())).total_steps if update.snapshots else 0
        word = {
            RunState.PAUSED: "Paused",
            RunState.DONE: "Finished",
            RunState.RUNNING: "Running",
        }.get(self._state, "Starting")
        ranked = f", ranked at step {update.scored_step}" if update.scores else ""
        self.status.setText(
            f"{word}: {len(update.ranked)} variations, step {update.step} of {total}{ranked}. "
            "Pick one (or double-click it) to continue it alone in the canvas."
        )
