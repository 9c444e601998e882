"""The run controller: one place that knows whether a session runs and what is shown.

It owns the model loader and the session worker thread, holds the drawing on the
canvas (the latest snapshot's, or a locally edited one when no session runs) and is
the :class:`~app.commands_undo.EditTarget` of every undoable edit. Widgets talk to
it with plain calls and listen to its signals; it never touches a widget, so it can
be driven from tests without a window.

"Draw" continues the drawing on the canvas when it came from the engine or from a
project (the artist stopped, or reopened yesterday's work); on an empty canvas the
strokes the artist sketched become seed strokes next to the random ones. Reset / New
clears the canvas.

Every run carries the engine's RunPlan (:mod:`app.run.plan_hooks`): the time-lapse
frames go to :attr:`RunController.history` (the timeline's tracks, kept from one run
to the next until Reset / New), stages and prunes come back as ``engineEdited`` for the
undo history, auto-stop as ``autoStopped``, and :meth:`RunController.seconds_left` is
the status bar's ETA.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.run.history import History
from app.run.loader import ModelLoader
from app.run.local_edits import apply_command
from app.run.plan_hooks import PlanHooks, plan_for
from app.run.remote import ConnectionWatch, RemoteCompute
from app.run.worker import SessionWorker, SteppableSession, WorkerHandle, error_message
from clipdraw_core.drawing.commands import Command, SetImagePrompts, SetPrompt, SetRegions, SetStyle
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.run_state import RunState
from clipdraw_core.remote.proxy import RemoteSessionProxy

if TYPE_CHECKING:
    from clipdraw_core.clip.clip_model import ClipModel
    from clipdraw_core.optim.session import Session
    from clipdraw_core.optim.snapshot import Snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    """What the canvas shows when no run is active, so an undo can bring it back (a picked variation)."""

    drawing: Drawing | None
    snapshot: Snapshot | None
    step: int
    continuable: bool
    config: SessionConfig | None
    state: RunState


class RunController(QObject):
    drawingChanged = Signal(object)  # Drawing | None
    snapshotApplied = Signal(object)  # Snapshot (GUI thread, coalesced)
    historyAppended = Signal(list)  # [(step, loss, score)]
    historyReset = Signal()
    stateChanged = Signal(object)  # RunState
    errorOccurred = Signal(str, object)  # message, exception (or None)
    guidanceChanged = Signal(object)  # Guidance (image prompts, style, regions)
    engineEdited = Signal(object)  # EngineEdit: a stage or prune the run's plan made
    autoStopped = Signal(int)  # step at which the score stopped improving
    localEditApplied = Signal(object)  # Command applied to the drawing while no session runs

    def __init__(
        self, parent: QObject | None = None, *, clip: ClipModel | None = None, min_step_interval: float = 0.0
    ) -> None:
        super().__init__(parent)
        self.loader = ModelLoader(self)
        self.loader.loaded.connect(self._on_model_loaded)
        self.loader.failed.connect(self._on_model_failed)
        self._preloaded = clip
        self._handle: WorkerHandle | None = None
        self._old_handles: list[WorkerHandle] = []
        self._drawing: Drawing | None = None
        #: Image prompts, style image and regions of the drawing (from a project or the
        #: guidance commands sent): handed to every session and saved with the project.
        self.guidance = Guidance()
        self._snapshot: Snapshot | None = None
        self._step = 0
        self._continuable = False
        self._pending_config: SessionConfig | None = None
        self._config: SessionConfig | None = None
        self._prompts_in_flight: list[SetPrompt] = []  # sent, not yet shown by a snapshot
        self._state = RunState.IDLE
        self._local_next_id = 0
        self.min_step_interval = min_step_interval
        self._gc_frozen: set[int] = set()
        #: Where runs compute: ``None`` = this computer, else a ``clipdraw-server``.
        self.compute: RemoteCompute | None = None
        #: The remote run's connection (lost / back / gone), for the connection banner.
        self.connection = ConnectionWatch(self)
        #: The recorded frames (timeline tracks), shared with the worker thread.
        self.history = History()

    # ------------------------------------------------------------ queries
    def drawing(self) -> Drawing | None:
        return self._drawing

    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    def step(self) -> int:
        return self._step

    def state(self) -> RunState:
        return self._state

    def config(self) -> SessionConfig | None:
        """The config of the drawing shown (prompt changes included), else the last one used.

        Never the live session's: only ``submit`` and ``allocate_ids`` of a session are
        thread-safe. While a session runs: the newest snapshot's config, with the prompt
        changes sent since then that it does not show yet (as the session will apply
        them). Otherwise the config the controller started or loaded with, updated by
        the prompt changes it sent.
        """
        snapshot_config = getattr(self._snapshot, "config", None) if self.is_active() else None
        if snapshot_config is None:
            return self._config
        return self._with_prompts(snapshot_config, self._prompts_in_flight)

    def has_preloaded_model(self) -> bool:
        """True when the window was given a loaded model (tests, embedding): no loading, no download."""
        return self._preloaded is not None

    def worker(self) -> SessionWorker | None:
        return self._handle.worker if self._handle is not None else None

    def is_active(self) -> bool:
        """True while a session thread runs (running, paused or finished but steerable)."""
        return self._handle is not None and self._handle.is_running()

    # ------------------------------------------------------------ edits (EditTarget)
    def submit(self, cmd: Command) -> None:
        """Send an edit to the session, or apply it locally when none runs."""
        if isinstance(cmd, (SetImagePrompts, SetStyle, SetRegions)):
            self._set_guidance(cmd)
        worker = self.worker()
        if worker is not None and self.is_active() and self._state != RunState.STOPPED:
            if isinstance(cmd, SetPrompt):
                self._config = self._with_prompts(self._config, [cmd])
                self._prompts_in_flight.append(cmd)
            worker.submit(cmd)
            return
        base = self._drawing
        if base is None:
            cfg = self._config or SessionConfig()
            base = Drawing(cfg.width, cfg.height, cfg.background, ())
        try:
            self._drawing = apply_command(base, cmd)
        except Exception as exc:
            self.errorOccurred.emit(error_message(exc), exc)
            return
        self.drawingChanged.emit(self._drawing)
        self.localEditApplied.emit(cmd)

    def _set_guidance(self, cmd: SetImagePrompts | SetStyle | SetRegions) -> None:
        """Keep the guidance the artist asked for (the session applies the same command)."""
        if isinstance(cmd, SetImagePrompts):
            self.guidance = self.guidance.replace(images=tuple(cmd.images))
        elif isinstance(cmd, SetStyle):
            self.guidance = self.guidance.replace(style=cmd.style)
        else:
            self.guidance = self.guidance.replace(regions=tuple(cmd.regions), region_views=cmd.region_views)
        self.guidanceChanged.emit(self.guidance)

    @staticmethod
    def _with_prompts(config: SessionConfig | None, commands: list[SetPrompt]) -> SessionConfig | None:
        """``config`` after these prompt changes, by the session's own rule (config_with_prompt)."""
        from clipdraw_core.optim.session import config_with_prompt

        for cmd in commands:
            if config is None:
                break
            try:
                config = config_with_prompt(config, cmd)
            except Exception as exc:  # the session reports the same problem when it applies it
                logger.debug("prompt change not followed: %s", exc)
        return config

    def _prompts_seen(self, config: SessionConfig) -> None:
        """Forget the prompt changes a snapshot's config shows (up to the last one it matches)."""
        def key(c: SessionConfig) -> tuple[object, ...]:
            return (
                c.prompt,
                tuple(c.negative_prompts),
                tuple(c.extra_prompts),
                tuple(c.extra_weights),
                c.prompt_weight,
                tuple(c.negative_weights),
            )

        shown = key(config)
        for i in range(len(self._prompts_in_flight) - 1, -1, -1):
            cmd = self._prompts_in_flight[i]
            applied = self._with_prompts(config, [cmd])
            if applied is not None and key(applied) == shown:
                del self._prompts_in_flight[: i + 1]
                return

    def allocate_ids(self, n: int = 1) -> list[int]:
        """Fresh stroke ids (the session's when one runs, else unique in the local drawing)."""
        worker = self.worker()
        if worker is not None and self.is_active():
            ids = worker.allocate_ids(n)
            if ids is not None:
                return ids
        start = max(self._local_next_id, self._drawing.next_id() if self._drawing else 0)
        self._local_next_id = start + n
        return list(range(start, start + n))

    # ------------------------------------------------------------ run control
    def _set_state(self, state: RunState) -> None:
        if state != self._state:
            self._state = state
            logger.info("run state: %s", state)
            self.stateChanged.emit(state)

    def set_blank(self, width: int, height: int, background: tuple[float, float, float]) -> None:
        """Show an empty sheet of this size (idle canvas, after Reset / New)."""
        self._drawing = Drawing(width, height, background, ())
        self.drawingChanged.emit(self._drawing)

    def start(self, config: SessionConfig) -> None:
        """Draw: load the model if needed (off-thread), then start the session thread."""
        try:
            config = config.validate()
        except Exception as exc:
            self.errorOccurred.emit(error_message(exc), exc)
            return
        self.stop()
        if self.compute is not None:  # the server loads (and owns) the model
            self._start_session(config, None)
            return
        clip = self._preloaded or self.loader.cached(config.model_name, config.weights, config.device)
        if clip is None:
            self._pending_config = config
            self._set_state(RunState.LOADING)
            self.loader.load(config.model_name, config.weights, config.device)
            return
        self._start_session(config, clip)

    def cancel_loading(self) -> None:
        self.loader.cancel()
        self._pending_config = None
        if self._state == RunState.LOADING:
            self._set_state(RunState.IDLE)

    def _on_model_loaded(self, clip: ClipModel) -> None:
        config, self._pending_config = self._pending_config, None
        if config is not None:
            self._start_session(config, clip)

    def _on_model_failed(self, message: str, exc: object) -> None:
        self._pending_config = None
        self._set_state(RunState.IDLE)
        self.errorOccurred.emit(message, exc)

    def _start_session(self, config: SessionConfig, clip: ClipModel | None) -> None:
        from clipdraw_core.optim.session import Session

        drawing, step = self._drawing, self._step
        resumed = drawing is not None and self._continuable and bool(drawing.strokes)
        if drawing is not None and resumed:
            config = config.replace(width=drawing.width, height=drawing.height, background=drawing.background)
            start = step if step < config.num_steps else 0
            kwargs: dict[str, Any] = {"drawing": drawing, "start_step": start}
        else:
            start = 0
            seeds = drawing.strokes if drawing is not None else ()
            kwargs = {"initial_strokes": tuple(seeds)}
            self.history.clear()
            self.historyReset.emit()
        try:
            hooks = PlanHooks(plan_for(config, resumed=resumed, start_step=start), self.history,
                              config.timelapse_every)
        except Exception as exc:
            self.errorOccurred.emit(error_message(exc), exc)
            self._set_state(RunState.IDLE)
            return
        self._config = config
        session_config = hooks.session_config(config)
        self._prompts_in_flight = []
        guidance = self.guidance

        compute = self.compute
        report = self.connection.reporter() if compute is not None else None

        def factory() -> Session | RemoteSessionProxy:
            if compute is not None:  # guidance travels as data (size-capped PNGs, polygons)
                return compute.open(session_config, guidance=guidance, on_connection=report, **kwargs)
            assert clip is not None
            return Session(session_config, clip, guidance=guidance, **kwargs)

        if clip is not None:
            self._freeze_gc_once(clip)
        self._run_worker(factory, hooks)

    def _run_worker(self, factory: Callable[[], SteppableSession], hooks: PlanHooks) -> None:
        """Start the session thread (the session is made, or handed over, by ``factory``)."""
        worker = SessionWorker(factory, min_step_interval=self.min_step_interval, plan=hooks)
        handle = WorkerHandle(worker, self)
        worker.snapshotReady.connect(self._on_snapshot)
        worker.stateChanged.connect(self._on_worker_state)
        worker.errorOccurred.connect(self.errorOccurred)
        worker.engineEdited.connect(self._on_engine_edit)
        worker.autoStopped.connect(self._on_auto_stop)
        self._handle = handle
        self._continuable = True
        self._set_state(RunState.STARTING)
        handle.start()

    def _freeze_gc_once(self, clip: ClipModel) -> None:
        """Move the (long-lived) model and start-up objects out of the cyclic GC's reach.

        Otherwise every full collection scans the whole model and Qt/torch heap: measured
        60-250 ms pauses that stop every thread, the GUI's included. Done once per loaded
        model, after a collection, so garbage is not frozen along with it.
        """
        if id(clip) in self._gc_frozen:
            return
        self._gc_frozen.add(id(clip))
        gc.collect()
        gc.freeze()

    def _on_worker_state(self, state: RunState) -> None:
        if self.sender() is self.worker():
            self._set_state(state)

    def _on_engine_edit(self, edit: object) -> None:
        if self.sender() is self.worker():
            self.engineEdited.emit(edit)

    def _on_auto_stop(self, step: int) -> None:
        if self.sender() is self.worker():
            self.autoStopped.emit(step)

    def seconds_left(self) -> float | None:
        """The run's time left at its current speed (``None`` when not running or not known yet)."""
        worker = self.worker()
        if worker is None or worker.plan is None or self._state is not RunState.RUNNING:
            return None
        return worker.plan.seconds_left()

    def auto_stopped(self) -> bool:
        """Whether auto-stop ended the current run (the score stopped improving)."""
        worker = self.worker()
        return bool(worker is not None and worker.plan is not None and worker.plan.auto_stopped)

    def set_step(self, step: int) -> None:
        """The step a continued drawing starts from (a timeline frame's) while no session runs."""
        if not self.is_active():
            self._step = max(0, int(step))
            self._continuable = True

    def _on_snapshot(self) -> None:
        worker = self.sender()
        if not isinstance(worker, SessionWorker):
            return
        snap, history = worker.take_latest()
        if snap is None or worker is not self.worker():
            return
        self._snapshot = snap
        self._drawing = snap.drawing
        self._step = snap.step
        if getattr(snap, "config", None) is not None:
            self._prompts_seen(snap.config)
        self.drawingChanged.emit(snap.drawing)
        if history:
            self.historyAppended.emit(history)
        self.snapshotApplied.emit(snap)

    def pause(self) -> None:
        if (w := self.worker()) is not None and self.is_active():
            w.pause()

    def resume(self) -> None:
        if (w := self.worker()) is not None and self.is_active():
            w.resume()

    def toggle_pause(self) -> None:
        w = self.worker()
        if w is None or not self.is_active():
            return
        w.resume() if w.is_paused() else w.pause()

    def is_paused(self) -> bool:
        w = self.worker()
        return bool(w is not None and self.is_active() and w.is_paused())

    def stop(self) -> None:
        """End the session after its current step and join its thread; keep the drawing."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        handle.worker.snapshotReady.disconnect(self._on_snapshot)
        handle.stop()
        session = handle.worker.session()
        snap, _ = handle.worker.take_latest()
        if isinstance(session, RemoteSessionProxy):
            session.close()  # ends the server's session; its last drawing stays here
            # the proxy's drawing is the newest: it includes edits made while offline
            snap = session.snapshot()
            self.connection.close()
        if snap is not None:
            self._snapshot, self._drawing, self._step = snap, snap.drawing, snap.step
            self.drawingChanged.emit(snap.drawing)
        handle.deleteLater()
        self._set_state(RunState.STOPPED)

    def reset(self, config: SessionConfig) -> None:
        """Stop and clear the canvas to an empty sheet (New / Reset)."""
        self.cancel_loading()
        self.stop()
        self._snapshot, self._step, self._continuable = None, 0, False
        self._config = config
        self._prompts_in_flight = []
        self.guidance = Guidance()
        self.guidanceChanged.emit(self.guidance)
        self._local_next_id = 0
        self.history.clear()
        self.historyReset.emit()
        self.set_blank(config.width, config.height, config.background)
        self._set_state(RunState.IDLE)

    def load_drawing(
        self, drawing: Drawing, step: int, config: SessionConfig, guidance: Guidance | None = None
    ) -> None:
        """Show a drawing from a project (with its guidance); Draw will continue it."""
        self.cancel_loading()
        self.stop()
        self._snapshot, self._step, self._continuable = None, int(step), True
        self._config = config
        self._prompts_in_flight = []
        self._drawing = drawing
        self.guidance = guidance or Guidance()
        self.guidanceChanged.emit(self.guidance)
        self.history.clear()
        self.historyReset.emit()
        self.drawingChanged.emit(drawing)
        self._set_state(RunState.IDLE)

    # ------------------------------------------------------------ variations
    def model_for(self, config: SessionConfig) -> ClipModel | None:
        """The loaded model these settings need, if it is at hand (else load it with ``loader``)."""
        return self._preloaded or self.loader.cached(config.model_name, config.weights, config.device)

    def checkpoint(self) -> Checkpoint:
        """The drawing shown and what Draw would do with it (taken while no run is active)."""
        state = self._state if self._state in (RunState.IDLE, RunState.STOPPED) else RunState.STOPPED
        return Checkpoint(self._drawing, self._snapshot, self._step, self._continuable, self._config, state)

    def restore(self, checkpoint: Checkpoint) -> None:
        """Stop any run and show a checkpoint again, exactly as Draw would have found it."""
        self.cancel_loading()
        self.stop()
        self._drawing, self._snapshot, self._step = checkpoint.drawing, checkpoint.snapshot, checkpoint.step
        self._continuable, self._config = checkpoint.continuable, checkpoint.config
        self._prompts_in_flight = []
        self.historyReset.emit()
        self.drawingChanged.emit(self._drawing)
        self._set_state(checkpoint.state)

    def continue_session(self, session: Session) -> None:
        """Run a session made elsewhere (a picked variation) as the main run, from its own step."""
        self.cancel_loading()
        self.stop()
        self._config = session.config
        self._prompts_in_flight = []
        self.history.clear()  # the picked variation's frames start here
        self.historyReset.emit()
        config = session.config
        try:  # the settings' plan goes on around it (time-lapse frames, prunes, auto-stop; no new stages)
            hooks = PlanHooks(plan_for(config, resumed=True, start_step=session.step_count), self.history,
                              config.timelapse_every)
        except Exception as exc:
            self.errorOccurred.emit(error_message(exc), exc)
            self._set_state(RunState.IDLE)
            return
        self._run_worker(lambda: session, hooks)

    def shutdown(self) -> None:
        """Join every thread (window close / app quit)."""
        self.cancel_loading()
        self.stop()
        self.loader.shutdown()
