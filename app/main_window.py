"""The main window: assembles canvas, controls, status bar, banner and actions.

Assembly only: drawing logic lives in :mod:`app.canvas.canvas`, the run in
:mod:`app.run.controller` / :mod:`app.run.worker`, edits in :mod:`app.commands_undo`, files
in :mod:`app.files`, menus in :mod:`app.actions`. The few methods here translate a
user intention (canvas signal, button) into an undoable command or controller call.
"""

from __future__ import annotations

import importlib.util
import logging
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

import clipdraw_core
from app import settings
from app.actions import Actions, Targets
from app.canvas.canvas import Canvas
from app.canvas.region_overlay import RegionOverlay
from app.commands_undo import (
    AddStrokesCommand,
    DeleteCommand,
    DrawStrokeCommand,
    FreezeCommand,
    GuidanceCommand,
    PromptCommand,
    RespectCommand,
)
from app.connection_banner import ConnectionBanner
from app.controls import ControlPanel
from app.editing import SELECTION_ACTIONS, StrokeEditor
from app.errors import ErrorBanner
from app.files import FileActions
from app.history_commands import ContinueFromFrameCommand, EngineEditCommand
from app.image_prompt_panel import ImagePromptPanel
from app.look_actions import LookActions
from app.look_panel import LookPanel
from app.prompt_panel import PromptListPanel, command_of, prompt_key
from app.region_panel import RegionPanel
from app.run.controller import RunController
from app.state import AppState
from app.status import StatusPanel
from app.timeline import TimelinePanel
from app.variations.launcher import VariationLauncher
from app.variations.panel import VariationsPanel
from clipdraw_core.drawing.commands import SetImagePrompts, SetPrompt, SetRegions, SetStyle
from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, Region, StyleImage
from clipdraw_core.drawing.strokes import Drawing, Stroke, random_walk_strokes
from clipdraw_core.errors import RemoteError, WeightsError
from clipdraw_core.io.project_history import ProjectHistory
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.run_state import RunState

logger = logging.getLogger(__name__)

APP_TITLE = "CLIPDraw Studio"
README = Path(__file__).resolve().parent.parent / "README.md"


class MainWindow(QMainWindow):
    """CLIPDraw Studio's window. ``clip`` (a loaded ClipModel) skips model loading (tests)."""

    snapshotShown = Signal(object)

    def __init__(
        self,
        *,
        clip: Any = None,
        model_name: str | None = None,
        weights: str | None = None,
        device: str | None = None,
        offer_recovery: bool = True,
        threaded_canvas: bool = True,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setObjectName("mainWindow")
        #: Ask to save unsaved work on close (tests turn it off).
        self.confirm_close = True
        self._keep_autosave = False  # set when quitting from the terminal
        self._busy: dict[str, str] = {}  # background work shown in the status bar
        self.undo_stack = QUndoStack(self)
        #: Selection, unsaved-changes flag and project path; views follow its signals.
        self.state = AppState(self)
        self.controller = RunController(self, clip=clip)
        self.canvas = Canvas(self, threaded=threaded_canvas, state=self.state)
        self.banner = ErrorBanner(self)
        self.connection_banner = ConnectionBanner(self)
        self._build_central()
        self.controls = ControlPanel(self)
        self.prompts = PromptListPanel(self.controls.prompt, self.controls.negatives, self)
        self.regions = RegionPanel(self)
        self.images = ImagePromptPanel(self)
        self.look = LookPanel(self, drawing=self.controller.drawing)
        self.region_overlay = RegionOverlay(self.canvas)
        self._build_dock()
        self._build_look_dock()
        self._build_guidance_dock()
        self._build_variations_dock()
        self.status = StatusPanel(self)
        self.statusBar().addPermanentWidget(self.status)
        self.files = FileActions(self, self, self.state)
        self.editor = StrokeEditor(self, self.controller, self.canvas, self)
        targets = Targets(
            window=self, controller=self.controller, files=self.files, canvas=self.canvas, editor=self.editor
        )
        self.actions_ = Actions(self, targets, self.undo_stack)
        self.actions_.by_name["compute_local"].setChecked(True)
        self.look_actions = LookActions(self, self)
        self.menuBar().insertMenu(self.menuBar().actions()[-1], self.look_actions.menu)  # before Help
        self._apply_startup_choices(model_name, weights, device)
        self._apply_brush()
        self._wire()
        self._restore_geometry()
        cfg = self.current_config()
        self.controller.set_blank(cfg.width, cfg.height, cfg.background)
        self.update_recent_menu()
        self.update_title()
        if offer_recovery:
            QTimer.singleShot(0, self.files.offer_recovery)

    # ------------------------------------------------------------ assembly
    def _build_central(self) -> None:
        """Banner above the canvas, the timeline under it."""
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.connection_banner)
        layout.addWidget(self.canvas, 1)
        self.timeline = TimelinePanel(self.controller.history, central)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)

    def _build_dock(self) -> None:
        """The control panel in a scrollable dock on the left."""
        scroll = QScrollArea(self)
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.dock = QDockWidget("Controls", self)
        self.dock.setObjectName("controlsDock")
        self.dock.setWidget(scroll)
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.dock.setMinimumWidth(self.controls.sizeHint().width() + 24)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)

    def _build_look_dock(self) -> None:
        """The Look panel (palette and swatches, ink, widths, paper) in a dock below the controls."""
        scroll = QScrollArea(self)
        scroll.setWidget(self.look)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.look_dock = QDockWidget("Look", self)
        self.look_dock.setObjectName("lookDock")
        self.look_dock.setWidget(scroll)
        self.look_dock.setFeatures(self.dock.features())
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.look_dock)
        self.splitDockWidget(self.dock, self.look_dock, Qt.Orientation.Vertical)

    def _build_guidance_dock(self) -> None:
        """Prompts (weighted list with scores) and regions + soft lock, in a dock on the right."""
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(QLabel("<b>Prompts</b>", body))
        layout.addWidget(self.prompts, 3)
        layout.addWidget(QLabel("<b>Regions</b>", body))
        layout.addWidget(self.regions, 2)
        layout.addWidget(QLabel("<b>Image prompts and style</b>", body))
        layout.addWidget(self.images, 1)
        self.guidance_dock = QDockWidget("Prompts && regions", self)
        self.guidance_dock.setObjectName("guidanceDock")
        self.guidance_dock.setWidget(body)
        self.guidance_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.guidance_dock)

    def _build_variations_dock(self) -> None:
        """Variations…: the live grid in a dock beside the canvas, shown while a batch runs."""
        self.variations = VariationsPanel(self)
        self.variations_dock = QDockWidget("Variations", self)
        self.variations_dock.setObjectName("variationsDock")
        self.variations_dock.setWidget(self.variations)
        self.variations_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        # a tab beside "Prompts & regions": the full height of the window for up to nine tiles
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.variations_dock)
        self.tabifyDockWidget(self.guidance_dock, self.variations_dock)
        self.variations_dock.hide()
        self.variation_launcher = VariationLauncher(self.controller, self.variations, self.undo_stack, self)
        self.variation_launcher.launched.connect(self._show_variations)
        self.variation_launcher.errorOccurred.connect(self.show_error)
        self.variations.errorOccurred.connect(self.show_error)
        self.variations.ended.connect(self.variations_dock.hide)
        self.variations.picked.connect(lambda *_: self.variations_dock.hide())

    def _show_variations(self) -> None:
        self.variations_dock.show()
        self.variations_dock.raise_()  # its tab in front of the prompts while the batch runs

    def _apply_startup_choices(self, model_name: str | None, weights: str | None, device: str | None) -> None:
        """Saved settings first, then what the command line asked for."""
        self.controls.load_settings()
        self.look.load_settings()
        for value, widget in ((model_name, self.controls.model), (weights, self.controls.weights)):
            if value:
                widget.setCurrentText(value)
        if device:
            self.controls.device.setCurrentText(device)

    # ------------------------------------------------------------ wiring
    def _wire(self) -> None:
        c, ctl, cv = self.controller, self.controls, self.canvas
        c.drawingChanged.connect(self._on_drawing)
        c.snapshotApplied.connect(self._on_snapshot)
        c.historyAppended.connect(self.status.plot.add_points)
        c.historyReset.connect(self.status.clear)
        c.historyReset.connect(self.timeline.refresh)
        c.engineEdited.connect(lambda edit: self.undo_stack.push(EngineEditCommand(self.controller, edit)))
        c.autoStopped.connect(self._on_auto_stop)
        self.timeline.frameRequested.connect(self._show_frame)
        self.timeline.continueRequested.connect(self.continue_from_frame)
        self.timeline.discardRequested.connect(self.discard_branch)
        self.actions_.deselect.triggered.connect(self.timeline.go_live)  # Esc: back to the live drawing
        c.stateChanged.connect(self._on_state)
        c.errorOccurred.connect(self.show_error)
        c.connection.changed.connect(self._on_connection)
        self.connection_banner.continueLocally.connect(self.continue_locally)
        self.connection_banner.chooseServer.connect(self.continue_on_another_server)
        c.loader.busyChanged.connect(lambda busy: self._set_busy("model", busy, "Loading CLIP model…"))
        self.files.jobs.busyChanged.connect(lambda busy, text: self._set_busy("file", busy, text))
        self.status.cancel.clicked.connect(c.cancel_loading)
        self.status.cancel.clicked.connect(self.files.jobs.cancel)
        ctl.drawRequested.connect(self.start_drawing)
        ctl.pauseRequested.connect(c.toggle_pause)
        ctl.stopRequested.connect(self._stop)
        ctl.resetRequested.connect(self.new_drawing)
        ctl.applyPromptRequested.connect(self.apply_prompt)
        ctl.submitRequested.connect(self.submit_prompt)
        ctl.brushChanged.connect(self._apply_brush)
        ctl.canvas_size.valueChanged.connect(self._on_canvas_size)
        ctl.canvas_height.valueChanged.connect(self._on_canvas_size)
        cv.freehandFinished.connect(self.add_freehand)
        cv.selectionDragStarted.connect(self.editor.begin_drag)
        cv.nodesEdited.connect(self.editor.set_nodes)
        cv.nodeEditRefused.connect(lambda why: self.show_status(why, 4000))
        cv.selectionMoved.connect(self.editor.end_drag)
        cv.selectionTransformed.connect(self.editor.end_transform)
        cv.colourPicked.connect(self.editor.recolour)
        cv.filesDropped.connect(self.files.import_files)
        self.prompts.edited.connect(self._on_prompt_list_edited)
        ctl.negative_weight.valueChanged.connect(self.prompts.set_default_negative_weight)
        self.prompts.set_default_negative_weight(ctl.negative_weight.value())  # the remembered one
        c.guidanceChanged.connect(self._on_guidance)
        self.regions.regionsEdited.connect(self.set_regions)
        self.regions.overlayToggled.connect(self.region_overlay.set_regions_visible)
        self.regions.respectRequested.connect(self.respect_selected)
        self.region_overlay.regionDrawn.connect(self.add_region)
        self.region_overlay.regionReshaped.connect(self.reshape_region)
        self.images.imagesEdited.connect(self.set_image_prompts)
        self.images.styleEdited.connect(self.set_style)
        self.images.failed.connect(self.show_error)
        self.actions_.tool_region.toggled.connect(self.region_overlay.set_active)
        st = self.state
        st.selectionChanged.connect(self._on_selection)
        st.dirtyChanged.connect(self.update_title)
        st.projectPathChanged.connect(self.update_title)
        st.recentFilesChanged.connect(self.update_recent_menu)
        self.undo_stack.indexChanged.connect(self._mark_dirty)
        self._on_selection([])

    def _set_busy(self, source: str, busy: bool, text: str) -> None:
        """One busy bar with Cancel for whatever runs in the background (model, file)."""
        if busy:
            self._busy[source] = text
        else:
            self._busy.pop(source, None)
        if self._busy:
            self.status.set_busy(True, next(reversed(self._busy.values())))
        else:
            self.status.set_busy(False)

    def _apply_brush(self) -> None:
        self.canvas.brush_color = self.controls.brush_rgba()
        self.canvas.brush_half_width = self.controls.brush_width.value() / 2
        self.canvas.draw_frozen = self.controls.draw_frozen.isChecked()

    def _mark_dirty(self, *_: object) -> None:
        self.state.set_dirty(True)

    def show_status(self, message: str, timeout_ms: int = 0) -> None:
        """A transient message in the status bar (0: until replaced)."""
        self.statusBar().showMessage(message, timeout_ms)

    # ------------------------------------------------------------ state
    def current_config(self) -> SessionConfig:
        """The running session's config if any (prompt edits included), else the controls'."""
        running = self.controller.config() if self.controller.is_active() else None
        return running if running is not None else self._panel_config()

    def _panel_config(self) -> SessionConfig:
        """The controls and the prompt list as a config (other fields from the last one used)."""
        return self.look.apply_to(self.prompts.apply_to(self.controls.config(self.controller.config())))

    def _on_drawing(self, drawing: Drawing | None) -> None:
        if self.timeline.is_live():  # while the artist looks at a past frame, the run goes on unseen
            self.canvas.set_drawing(drawing)

    def _on_snapshot(self, snap: Any) -> None:
        self.status.update_snapshot(snap)
        self.status.set_eta(self.controller.seconds_left())
        self.timeline.refresh()
        scores = getattr(snap, "scores", None) or {}
        self.prompts.update_scores(scores)
        self.regions.update_scores(scores)
        self.images.update_scores(scores)
        for message in snap.messages:
            self.statusBar().showMessage(message, 4000)
        self.snapshotShown.emit(snap)

    def _on_state(self, state: RunState) -> None:
        state = RunState(state)
        self.controls.set_state(state)
        self.look.set_state(state)
        self.actions_.pause.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        self.actions_.stop.setEnabled(state.is_active or state is RunState.LOADING)
        self.actions_.draw.setEnabled(self.controls.draw.isEnabled())
        text = {
            RunState.LOADING: "Loading CLIP model…",
            RunState.STARTING: "Starting…",
            RunState.RUNNING: "Drawing…",
            RunState.PAUSED: "Paused – edits still apply",
            RunState.DONE: "Finished – you can keep editing",
            RunState.STOPPED: "Stopped",
        }.get(state)
        if state is RunState.DONE and self.controller.auto_stopped():
            text = self._auto_stop_text(self.controller.step())
        if text:
            self.statusBar().showMessage(text, 0 if state in (RunState.PAUSED, RunState.LOADING) else 3000)
        if state is RunState.RUNNING:
            self._mark_dirty()
        else:
            self.status.set_eta(None)
        self.timeline.refresh()

    def _on_selection(self, ids: list[int]) -> None:
        has = bool(ids)
        for a in (self.actions_.freeze, self.actions_.unfreeze, self.actions_.delete):
            a.setEnabled(has)
        for name in SELECTION_ACTIONS:  # disabled, their keys (arrows, Home, ...) stay free
            self.actions_.by_name[name].setEnabled(has)
        if has:
            self.statusBar().showMessage(f"{len(ids)} stroke(s) selected", 2000)

    def _on_canvas_size(self, *_: int) -> None:
        d = self.controller.drawing()
        if not self.controller.is_active() and (d is None or not d.strokes):
            cfg = self.current_config()
            self.controller.set_blank(cfg.width, cfg.height, cfg.background)

    def update_title(self, *_: object) -> None:
        path = self.state.project_path
        name = path.name if path else "Untitled"
        self.setWindowTitle(f"{name}{' •' if self.state.dirty else ''} — {APP_TITLE}")

    # ------------------------------------------------------------ run
    def start_drawing(self) -> None:
        """Draw: validate the options, fetch weights if needed, start the run."""
        self.banner.dismiss()
        self.controls.save_settings()
        self.look.save_settings()
        cfg = self._panel_config()
        if not self.controller.has_preloaded_model():
            cfg = self._ensure_weights(cfg)
            if cfg is None:
                return
        self.controller.start(cfg)
        self._warn_if_cpu(cfg)

    def start_variations(self, count: int | None = None) -> None:
        """Variations…: ask how many (unless given), then run them from the canvas (app.variations)."""
        if count is None:
            from app.dialogs.variations import ask_variation_count

            count = ask_variation_count(self, int(self._panel_config().seed))
            if count is None:
                return
        self.banner.dismiss()
        self.controls.save_settings()
        cfg = self._panel_config()
        if not self.controller.has_preloaded_model():
            cfg = self._ensure_weights(cfg)
            if cfg is None:
                return
        self.variation_launcher.start(cfg, count)

    def _warn_if_cpu(self, cfg: SessionConfig) -> None:
        """CPU runs are slow: suggest lighter settings in the status bar (the banner stays for errors)."""
        from clipdraw_core.clip.model_catalog import cpu_warning, resolve_device_choice
        from clipdraw_core.errors import ClipDrawError

        try:
            choice = resolve_device_choice(cfg.device)
        except ClipDrawError:
            return  # the model loader reports an unusable device
        self.status.device.setToolTip(choice.description)
        tip = cpu_warning(cfg.num_paths, cfg.num_augs) if choice.is_cpu else None
        if tip:
            self.statusBar().showMessage(tip, 20000)

    def _ensure_weights(self, cfg: SessionConfig) -> SessionConfig | None:
        """Let app.dialogs.first_run (if present) download pretrained weights with progress first."""
        from clipdraw_core.clip.weights import WEIGHTS_TAG, classify_weights

        w = cfg.weights
        if classify_weights(w, cfg.model_name) != WEIGHTS_TAG:
            return cfg  # random or a file: nothing to download
        if self.controller.loader.cached(cfg.model_name, w, cfg.device) is not None:
            return cfg
        if importlib.util.find_spec("app.dialogs.first_run") is None:
            return cfg
        try:
            from app.dialogs.first_run import ensure_weights

            resolved = ensure_weights(self, cfg.model_name, w)
        except Exception as exc:
            logger.warning("first-run weights check failed: %s", exc)
            return cfg
        return None if resolved is None else cfg.replace(weights=resolved)

    def _stop(self) -> None:
        if self.controller.state() is RunState.LOADING:
            self.controller.cancel_loading()
        else:
            self.controller.stop()

    def new_drawing(self) -> None:
        """New / Reset: stop and clear to an empty sheet; undo history starts over."""
        self.controller.reset(self._panel_config())
        self.undo_stack.clear()
        self.state.set_document(None, dirty=False)
        self.canvas.set_selection([])

    def load_project_data(
        self,
        config: SessionConfig,
        drawing: Drawing,
        step: int,
        guidance: Guidance | None = None,
        history: ProjectHistory | None = None,
    ) -> None:
        self.controls.set_config(config)  # validates first: a bad config changes nothing
        self.look.set_config(config)
        self.prompts.set_config(config)
        self.controller.load_drawing(drawing, step, config, guidance)
        self.controller.history.load(history)
        self.timeline.go_live()
        self.timeline.refresh()
        self.undo_stack.clear()
        self.canvas.set_selection([])
        self.canvas.zoom_fit()

    # ------------------------------------------------------------ edits
    def freeze_selected(self, frozen: bool = True) -> None:
        ids = self.canvas.selected_ids()
        if ids:
            self.undo_stack.push(FreezeCommand(self.controller, ids, frozen))

    def delete_selected(self) -> None:
        if self.canvas.remove_picked_node():  # the node tool: Delete removes the picked node
            return
        ids = self.canvas.selected_ids()
        if ids:
            self.undo_stack.push(DeleteCommand(self.controller, ids))
            self.canvas.set_selection([])

    def add_freehand(self, polyline: np.ndarray, frozen: bool, pressure: np.ndarray | None = None) -> None:
        if self.controller.state() in (RunState.LOADING, RunState.STARTING):
            self.statusBar().showMessage("Wait until the drawing has started", 3000)
            return
        stroke_id = self.controller.allocate_ids(1)[0]
        self.undo_stack.push(
            DrawStrokeCommand(
                self.controller,
                stroke_id,
                polyline,
                self.canvas.brush_half_width,
                self.canvas.brush_color,
                frozen,
                pressure,
            )
        )

    def add_random_strokes(self, count: int | None = None) -> None:
        """More random-walk strokes on top (CLIPDraw's init), e.g. when a drawing needs more ink."""
        if count is None:
            count, ok = QInputDialog.getInt(self, "Add random strokes", "How many strokes:", 32, 1, 1000)
            if not ok:
                return
        cfg = self.controls.config(self.controller.config())
        drawing = self.controller.drawing()
        width, height = (drawing.width, drawing.height) if drawing is not None else (cfg.width, cfg.height)
        ids = self.controller.allocate_ids(count)
        fresh = random_walk_strokes(
            count,
            width,
            height,
            random.Random(),
            min_segments=cfg.min_segments,
            max_segments=cfg.max_segments,
            half_width=cfg.init_half_width,
        )
        strokes = [replace(s, id=i) for s, i in zip(fresh, ids, strict=True)]
        self.add_seed_strokes(strokes, f"Add {count} random strokes")

    def add_seed_strokes(self, strokes: list[Stroke], text: str) -> None:
        self.undo_stack.push(AddStrokesCommand(self.controller, strokes, text))

    def submit_prompt(self) -> None:
        """Ctrl+Enter while typing a prompt: start drawing, or steer the running drawing."""
        if self.controller.is_active():
            self.apply_prompt()
        else:
            self.start_drawing()

    def apply_prompt(self) -> None:
        """Steer with the edited prompts (undoable); before a run they simply apply at Draw."""
        new = self.prompts.command()
        if not new.prompt:
            self.show_error("The prompt is empty: describe what to draw.", None)
            return
        cfg = self.controller.config()
        if not self.controller.is_active() or cfg is None:
            return
        old = command_of(cfg)
        if prompt_key(old, cfg.negative_weight) != prompt_key(new, cfg.negative_weight):
            self.undo_stack.push(PromptCommand(self.controller, old, new, self._show_prompt))

    def _show_prompt(self, cmd: SetPrompt) -> None:
        cfg = self.controller.config()
        self.prompts.show(cmd, None if cfg is None else cfg.negative_weight)

    def _on_prompt_list_edited(self) -> None:
        """A finished change in the prompt table: one SetPrompt (one undo step) while drawing."""
        if self.controller.is_active():
            self.apply_prompt()

    # ------------------------------------------------------------ timeline
    def _show_frame(self, frame: Any) -> None:
        """The timeline asks for a past frame (or ``None``: the live drawing) on the canvas."""
        if frame is None:
            self.canvas.set_drawing(self.controller.drawing())
            return
        self.canvas.set_drawing(frame.to_drawing())
        running = self.controller.state() is RunState.RUNNING
        note = " – the run goes on; Esc or Live to return" if running else " – Esc or Live to return"
        self.statusBar().showMessage(f"Showing step {frame.step}{note}", 4000)

    @staticmethod
    def _auto_stop_text(step: int) -> str:
        return f"Auto-stop at step {step}: the score stopped improving (Draw goes on)"

    def _on_auto_stop(self, step: int) -> None:
        self.statusBar().showMessage(self._auto_stop_text(step), 0)

    def timeline_step(self, delta: int) -> None:
        self.timeline.step_by(delta)

    def timeline_live(self) -> None:
        self.timeline.go_live()

    def continue_from_here(self) -> None:
        """Ctrl+Shift+B: continue from the frame the timeline shows."""
        if self.timeline.shown_frame() is None:
            self.statusBar().showMessage("Drag the timeline to a past frame first", 4000)
            return
        self.timeline.request_continue()

    def continue_from_frame(self, track: int, index: int) -> None:
        """Make frame ``index`` of ``track`` the drawing (one undo step); the old future becomes a branch.

        A finished run is stopped first, so Draw goes on from the frame's own step;
        a running or paused run continues with the frame's drawing.
        """
        tracks = self.controller.history.tracks()
        if not 0 <= track < len(tracks) or not 0 <= index < len(tracks[track]):
            return
        if self.controller.state() is RunState.DONE:
            self.controller.stop()
        frame = self.controller.history.continue_from(track, index)
        active = self.controller.is_active()
        command = ContinueFromFrameCommand(
            self.controller,
            frame.to_drawing(),
            frame.step,
            self.controller.step(),
            None if active else self.controller.set_step,
        )
        self.timeline.go_live()
        self.undo_stack.push(command)
        self.canvas.set_selection([])
        self.timeline.refresh()
        self.statusBar().showMessage(
            f"Continuing from step {frame.step}; the recorded future is kept as a branch", 5000
        )

    def discard_branch(self, track: int) -> None:
        self.controller.history.discard_branch(track)
        self.timeline.go_live()
        self.timeline.refresh()

    def project_history(self) -> ProjectHistory | None:
        """The history to save with the project, when the artist asked for it (the timeline's checkbox)."""
        return self.controller.history.to_project() if self.timeline.save_history.isChecked() else None

    def export_timelapse(self) -> None:
        """File > Export Time-lapse…: the dialog (app.dialogs.timelapse_export) runs the export off-thread."""
        from app.dialogs.timelapse_export import TimelapseExportDialog

        cfg = self.current_config()
        dialog = TimelapseExportDialog(
            self,
            self.timeline.frames() or self.controller.history.main(),
            self.controller.drawing(),
            caption=cfg.prompt,
            on_error=lambda message: self.banner.show_message(message),
        )
        self.timelapse_dialog = dialog
        dialog.open()

    # ------------------------------------------------------------ regions, soft lock
    def use_region_tool(self) -> None:
        self.region_overlay.set_active(True)

    def _on_guidance(self, guidance: Guidance) -> None:
        self.regions.show(guidance.regions)
        self.region_overlay.set_regions(guidance.regions)
        self.images.show(guidance.images, guidance.style)

    def set_image_prompts(self, images: tuple[ImagePrompt, ...]) -> None:
        """Replace the image prompts (one undoable SetImagePrompts, also mid-run)."""
        old = self.controller.guidance.images
        if tuple(images) != old:
            new = SetImagePrompts(tuple(images))
            self.undo_stack.push(GuidanceCommand(self.controller, SetImagePrompts(old), new, "Image prompts"))

    def set_style(self, style: StyleImage | None) -> None:
        """Set, change or remove the style image (one undoable SetStyle, also mid-run).

        With pretrained CLIP weights the style loss needs torchvision's VGG-16 file: if
        it is not cached yet it is fetched first, in the background behind a progress
        dialog with Cancel (the session would otherwise download it on its own thread and
        stall the drawing for minutes), and the style is only set once the file is there;
        offline, a dialog offers a local file, Retry or Cancel (nothing changes).
        """
        old = self.controller.guidance.style
        if style == old:
            return
        text = "Remove style" if style is None else "Style image"
        command = GuidanceCommand(self.controller, SetStyle(old), SetStyle(style), text)
        if style is not None and self._style_needs_download():
            self._fetch_vgg(lambda: self.undo_stack.push(command))
        else:
            self.undo_stack.push(command)

    def _style_needs_download(self) -> bool:
        from clipdraw_core.optim import style as style_module

        if self.current_config().weights.strip().lower() == "random":
            return False  # test mode: a random style network, nothing to download
        return not style_module.vgg_cache_path().is_file()

    def _fetch_vgg(self, then: Any) -> None:
        """Progress / offline dialogs (:mod:`app.dialogs.vgg_weights`); ``then()`` once the file is there."""
        from app.dialogs.vgg_weights import ensure_vgg

        if "vgg" in self._busy:
            return
        self._set_busy("vgg", True, "Getting VGG-16 for the style loss…")
        try:
            ready = ensure_vgg(self)
        finally:
            self._set_busy("vgg", False, "")
        if ready:
            then()

    def set_regions(self, regions: tuple[Region, ...], text: str = "Edit regions") -> None:
        """Replace the regions (one undoable SetRegions, also mid-run)."""
        guidance = self.controller.guidance
        if tuple(regions) == guidance.regions:
            return
        old = SetRegions(guidance.regions, guidance.region_views)
        new = SetRegions(tuple(regions), guidance.region_views)
        self.undo_stack.push(GuidanceCommand(self.controller, old, new, text))

    def add_region(self, polygon: list[tuple[float, float]]) -> None:
        """The Region tool drew a shape: a region with the panel's new-region prompt and weight."""
        prompt = self.regions.new_prompt.text().strip() or self.prompts.fields()["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            self.show_error("Type a prompt for the region (or a main prompt) first.", None)
            return
        existing = self.controller.guidance.regions
        region_id = max((r.id for r in existing), default=0) + 1
        try:
            region = Region(region_id, prompt, tuple(polygon), self.regions.new_weight.value())
        except Exception as exc:
            self.show_error(str(exc), exc)
            return
        self.set_regions((*existing, region), "Add region")

    def reshape_region(self, region_id: int, polygon: list[tuple[float, float]]) -> None:
        """The Region tool moved or resized a region: the same region with the new shape."""
        regions = list(self.controller.guidance.regions)
        for i, region in enumerate(regions):
            if region.id == region_id:
                try:
                    regions[i] = replace(region, polygon=tuple(polygon))
                except Exception as exc:
                    self.show_error(str(exc), exc)
                    return
                self.set_regions(tuple(regions), "Move region")
                return

    def respect_selected(self, strength: float) -> None:
        """Soft-lock the selected strokes with this strength (undoable)."""
        ids = self.canvas.selected_ids()
        if not ids:
            self.statusBar().showMessage("Select strokes first, then set how much to respect them", 4000)
            return
        self.undo_stack.push(RespectCommand(self.controller, ids, strength))
        self.canvas.update()

    # ------------------------------------------------------------ errors
    def show_error(self, message: str, exc: object = None) -> None:
        """Non-modal banner; missing weights get actions to pick a file or random weights."""
        if isinstance(exc, RemoteError) and self.controller.connection.state in ("lost", "gone"):
            # the run's server was lost: one banner with the ways on, not an error per step
            host = self.controller.compute.label if self.controller.compute is not None else ""
            self.connection_banner.show_gone(host, message)
            return
        actions = []
        if isinstance(exc, WeightsError):
            actions = [
                ("Use a weights file…", self._choose_weights_file),
                ("Random weights (test mode)", self._use_random_weights),
            ]
        self.banner.show_message(message, actions=actions)

    def _choose_weights_file(self) -> None:
        if self.controls.browse_weights():
            self.start_drawing()

    def _use_random_weights(self) -> None:
        self.controls.weights.setCurrentText("random")
        self.start_drawing()

    # ------------------------------------------------------------ compute
    def use_local_compute(self) -> None:
        """Compute: This Computer (takes effect at the next Draw)."""
        self.controller.compute = None
        self._show_compute()

    def choose_compute_server(self) -> None:
        """Compute: Server… - ask for the address and token (takes effect at the next Draw)."""
        from app.dialogs.compute_server import ComputeServerDialog

        dialog = ComputeServerDialog(self)
        if dialog.exec() and dialog.compute() is not None:
            self.controller.compute = dialog.compute()
        self._show_compute()

    def _on_connection(self, event: str, text: str) -> None:
        compute = self.controller.compute
        self.connection_banner.on_connection(event, text, compute.label if compute is not None else "")
        if event == "back":
            self.statusBar().showMessage("Connection back: the same session goes on", 4000)

    def continue_locally(self) -> None:
        """The server was lost: go on with the drawing on the canvas here (Compute: This Computer + Draw)."""
        self.use_local_compute()
        self.connection_banner.on_connection("closed", "")
        self.start_drawing()

    def continue_on_another_server(self) -> None:
        """The server was lost: pick another one and go on with the drawing there."""
        before = self.controller.compute
        self.choose_compute_server()
        if self.controller.compute is not None and self.controller.compute != before:
            self.connection_banner.on_connection("closed", "")
            self.start_drawing()

    def _show_compute(self) -> None:
        compute = self.controller.compute
        self.actions_.by_name["compute_local"].setChecked(compute is None)
        self.actions_.by_name["compute_server"].setChecked(compute is not None)
        where = "this computer" if compute is None else f"the server {compute.label}"
        self.statusBar().showMessage(f"Draw computes on {where}", 5000)

    # ------------------------------------------------------------ help
    def open_manual(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(README)))

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_TITLE}",
            f"<h3>{APP_TITLE} {clipdraw_core.__version__}</h3>"
            "<p>Steer a drawing while CLIP draws it: freeze, delete and add strokes, change the prompt.</p>"
            "<p>Based on <i>CLIPDraw: Exploring Text-to-Drawing Synthesis through Language-Image "
            "Encoders</i> by Kevin Frans, L. B. Soros and Olaf Witkowski (NeurIPS 2022).</p>"
            f"<p>Settings: {settings.settings_file()}</p>",
        )

    def update_recent_menu(self) -> None:
        menu = self.actions_.recent_menu
        menu.clear()
        files = settings.recent_files()
        for path in files:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.files.open_project(p))
        menu.setEnabled(bool(files))

    # ------------------------------------------------------------ lifetime
    def _restore_geometry(self) -> None:
        geometry = settings.read("window_geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 780)
        state = settings.read("window_state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        self.variations_dock.hide()  # shown only while a batch runs, whatever the saved layout says

    def shutdown(self) -> None:
        """Stop every thread; safe to call twice (closeEvent and aboutToQuit)."""
        dialog = getattr(self, "timelapse_dialog", None)
        if dialog is not None and dialog.is_exporting():  # a cancelled export leaves no file
            dialog.task.cancel()
            dialog.wait()
        self.variations.shutdown()
        self.controller.shutdown()
        self.canvas.shutdown()
        self.files.shutdown()
        self.look.wait()

    def _confirm_close(self) -> bool:
        """Ask before throwing away unsaved work (skipped when ``confirm_close`` is off)."""
        drawing = self.controller.drawing()
        if not self.confirm_close or not self.state.dirty or drawing is None or not drawing.strokes:
            return True
        answer = QMessageBox.question(
            self,
            APP_TITLE,
            "Save the drawing before closing?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.files.save_project() is not None
        return answer == QMessageBox.StandardButton.Discard

    def quit_keeping_work(self) -> Path | None:
        """Close now without asking (Ctrl-C in the terminal); unsaved work stays in the autosave.

        Returns the autosave's path when there was work to keep.
        """
        self.controller.cancel_loading()
        self.controller.stop()  # after the current step; the drawing so far is kept
        kept = self.files.autosave()
        self._keep_autosave = kept is not None
        self.confirm_close = False
        self.close()
        return kept

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_close():
            event.ignore()
            return
        try:
            settings.write("window_geometry", self.saveGeometry())
            settings.write("window_state", self.saveState())
            self.controls.save_settings()
            self.look.save_settings()
        except Exception:
            logger.exception("could not save settings")
        self.shutdown()
        if not self._keep_autosave:
            self.files.discard_autosave()
        super().closeEvent(event)
