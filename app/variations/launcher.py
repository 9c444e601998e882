"""Ties the Variations panel to the main canvas: what a batch starts from and where a pick goes.

* **Start**: the batch runs the current settings from the drawing on the canvas (its
  strokes are seed strokes shared by every member, frozen ones stay frozen) with the
  model the run controller uses (loaded in the background first if need be, behind
  the status bar's busy bar with Cancel). A main run is stopped first: both would
  compete for the same CPU or GPU.
* **While it runs**: a freeze or unfreeze on the main canvas is sent to every member
  too ("freezes apply to all"); starting a main run stops the batch.
* **Pick**: the detached member's ``Session`` becomes the main run through
  :meth:`RunController.continue_session`, as one undo step
  (:class:`~app.variations.pick.PickVariationCommand`): undo brings back the drawing
  the canvas showed before.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from app.background import error_message
from app.variations.pick import PickVariationCommand
from app.variations.runner import Batch
from clipdraw_core.drawing.commands import SetFrozen
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.run_state import RunState

if TYPE_CHECKING:
    from app.run.controller import RunController
    from app.variations.panel import VariationsPanel
    from clipdraw_core.clip.clip_model import ClipModel
    from clipdraw_core.optim.session import Session

logger = logging.getLogger(__name__)

MIN_VARIATIONS, MAX_VARIATIONS = 2, 9


class VariationLauncher(QObject):
    """Starts batches for the window and turns a pick into the main run."""

    launched = Signal(int)  # count: the panel runs a new batch
    errorOccurred = Signal(str, object)

    def __init__(
        self,
        controller: RunController,
        panel: VariationsPanel,
        undo_stack: QUndoStack,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller, self.panel, self.undo_stack = controller, panel, undo_stack
        #: Steps between two rankings (None: the runner's default); tests rank every step.
        self.rank_every: int | None = None
        self._pending: tuple[SessionConfig, int] | None = None  # waiting for the model
        controller.localEditApplied.connect(self._forward_edit)
        controller.stateChanged.connect(self._on_main_state)
        controller.loader.loaded.connect(self._on_model_loaded)
        controller.loader.busyChanged.connect(self._on_loader_busy)
        panel.picked.connect(self._on_picked)

    def is_pending(self) -> bool:
        """True while the model loads for a batch about to start."""
        return self._pending is not None

    # ------------------------------------------------------------ start
    def start(self, config: SessionConfig, count: int) -> bool:
        """Run ``count`` variations of ``config`` from the canvas; False (and an error) if it cannot."""
        try:
            if isinstance(count, bool) or not MIN_VARIATIONS <= int(count) <= MAX_VARIATIONS:
                raise ConfigError(f"variations: choose between {MIN_VARIATIONS} and {MAX_VARIATIONS}")
            config = config.validate()
            if self.controller.compute is not None:
                raise ConfigError(
                    "variations run on this computer for now: choose Run > Compute: This Computer"
                )
        except Exception as exc:
            self.errorOccurred.emit(error_message(exc), exc)
            return False
        self.panel.stop()
        self.controller.cancel_loading()
        self.controller.stop()  # a main run ends here; its drawing is where the variations start
        clip = self.controller.model_for(config)
        if clip is None:
            self._pending = (config, int(count))
            self.controller.loader.load(config.model_name, config.weights, config.device)
            return True
        self._launch(config, int(count), clip)
        return True

    def _on_model_loaded(self, clip: ClipModel) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._launch(*pending, clip)

    def _on_loader_busy(self, busy: bool) -> None:
        """A load that ends without ``loaded`` (cancelled, failed, replaced by Draw's) drops the request."""
        if not busy:  # ``loaded`` comes right after this, in the same call: look once it has
            QTimer.singleShot(0, self._forget_unloaded)

    def _forget_unloaded(self) -> None:
        if self._pending is not None and not self.controller.loader.is_busy():
            logger.info("variations not started: the model load ended without a model")
            self._pending = None

    def _launch(self, config: SessionConfig, count: int, clip: ClipModel) -> None:
        drawing = self.controller.drawing()
        start = drawing if drawing is not None and drawing.strokes else None
        if start is not None:
            config = config.replace(width=start.width, height=start.height, background=start.background)
        guidance = self.controller.guidance  # image prompts, style and regions steer every member

        def factory() -> Batch:
            from clipdraw_core.optim.variation_batch import VariationBatch

            return VariationBatch(clip, config, count, drawing=start, guidance=guidance)

        self.panel.start(factory, count, rank_every=self.rank_every)
        self.launched.emit(count)

    # ------------------------------------------------------------ while it runs
    def _forward_edit(self, command: object) -> None:
        if isinstance(command, SetFrozen) and self.panel.is_active():
            self.panel.submit(command)

    def _on_main_state(self, state: RunState) -> None:
        """Draw while variations run (or load for them): the main run wins."""
        if RunState(state) in (RunState.LOADING, RunState.STARTING):  # a pick's run: the panel has ended
            self._pending = None
            self.panel.stop()

    # ------------------------------------------------------------ pick
    def _on_picked(self, session: Session, index: int, seed: int) -> None:
        before = self.controller.checkpoint()  # the canvas now, edits made meanwhile included
        self.undo_stack.push(PickVariationCommand(self.controller, session, before, seed))
        logger.info(
            "variation %d (seed %d) continues in the canvas at step %d", index, seed, session.step_count
        )
