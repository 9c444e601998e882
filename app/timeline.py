"""The timeline under the canvas: scrub through the recorded frames, branch from one.

Why it only emits intentions: the frames live in :class:`~app.run.history.History`
(recorded on the session's thread), the drawing on the canvas is the window's business.
The panel shows a slider over the frames of one *track* (the main track, or a branch
chosen in the track box) and says which frame the artist wants to see:

* ``frameRequested(frame)`` while scrubbing; ``frameRequested(None)`` means *live*
  (the slider's last position on the main track, the Live button, or Esc): show the
  current drawing again. Scrubbing never pauses or stops a run.
* ``continueRequested(track, index)``: "Continue from here" on the shown frame.
* ``discardRequested(track)``: forget the branch shown.

The shown frame is remembered by its step, so new frames arriving (or the recorder
thinning itself) do not move what the artist is looking at.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.run.history import History, Track
from clipdraw_core.optim.timelapse import Frame

logger = logging.getLogger(__name__)


class TimelinePanel(QWidget):
    frameRequested = Signal(object)  # Frame | None (None: live)
    continueRequested = Signal(int, int)  # track, frame index
    discardRequested = Signal(int)  # track (a branch, >= 1)

    def __init__(self, history: History, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.history = history
        self._tracks: list[Track] = [()]
        self._revision = -1
        self._track = 0
        #: Step of the frame shown, or None when live.
        self._shown_step: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)
        top, bottom = QHBoxLayout(), QHBoxLayout()
        layout.addLayout(top)
        layout.addLayout(bottom)
        self.track_box = QComboBox(self)
        self.track_box.setObjectName("timelineTrack")
        self.track_box.setToolTip("Main: the history of the drawing on the canvas; branches: futures left")
        self.track_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.track_box.currentIndexChanged.connect(self._on_track)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("timelineSlider")
        self.slider.setToolTip("Drag to see the drawing as it was (the run goes on); the right end is live")
        self.slider.setPageStep(10)
        self.slider.setMinimumWidth(60)
        self.slider.valueChanged.connect(self._on_slider)
        self.label = QLabel("No history yet", self)
        self.label.setObjectName("timelineLabel")
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.live = QPushButton("Live", self)
        self.live.setToolTip("Show the current drawing again (Esc)")
        self.live.clicked.connect(self.go_live)
        self.continue_button = QPushButton("Continue from here", self)
        self.continue_button.setObjectName("continueFromHere")
        self.continue_button.setToolTip(
            "Make this frame the drawing (one undo step, Ctrl+Shift+B); the recorded future stays as a branch"
        )
        self.continue_button.clicked.connect(self.request_continue)
        self.discard = QPushButton("Discard branch", self)
        self.discard.setToolTip("Forget the branch shown")
        self.discard.clicked.connect(lambda: self.discardRequested.emit(self._track))
        self.save_history = QCheckBox("Save history in project", self)
        self.save_history.setObjectName("saveHistory")
        self.save_history.setToolTip(
            "Keep these frames and branches in the project file (bigger: ~29 kB per frame)"
        )
        self.save_history.setChecked(bool(settings.read("save_history")))
        self.save_history.toggled.connect(lambda on: settings.write("save_history", bool(on)))
        top.addWidget(self.track_box)
        top.addWidget(self.slider, 1)
        top.addWidget(self.label)
        for w in (self.live, self.continue_button, self.discard):
            bottom.addWidget(w)
        bottom.addStretch(1)
        bottom.addWidget(self.save_history)
        # a narrow window clips the bar's right end rather than growing to fit it
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.refresh(force=True)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, super().minimumSizeHint().height())

    # ------------------------------------------------------------ queries
    def is_live(self) -> bool:
        return self._shown_step is None

    def track(self) -> int:
        return self._track

    def frames(self) -> Track:
        """The frames of the track shown."""
        return self._tracks[self._track] if self._track < len(self._tracks) else ()

    def shown_frame(self) -> Frame | None:
        frames = self.frames()
        index = self._index_of(self._shown_step)
        return None if index is None or index >= len(frames) else frames[index]

    def shown_index(self) -> int | None:
        return self._index_of(self._shown_step)

    # ------------------------------------------------------------ updates
    def refresh(self, force: bool = False) -> None:
        """Re-read the history if it changed (called with every snapshot)."""
        if not force and self.history.revision == self._revision:
            return
        self._revision = self.history.revision
        self._tracks = self.history.tracks()
        if self._track >= len(self._tracks) or (self._shown_step is not None and not self.frames()):
            self._track, self._shown_step = 0, None  # what was shown is gone (Reset, a new run)
            self.frameRequested.emit(None)
        self._fill_track_box()
        self._sync_slider()

    def _fill_track_box(self) -> None:
        box = self.track_box
        box.blockSignals(True)
        box.clear()
        for i, track in enumerate(self._tracks):
            if i == 0:
                box.addItem("Main")
            else:
                first, last = (track[0].step, track[-1].step) if track else (0, 0)
                box.addItem(f"Branch {i}")
                box.setItemData(i, f"steps {first}–{last}", Qt.ItemDataRole.ToolTipRole)
        box.setCurrentIndex(self._track)
        box.setVisible(len(self._tracks) > 1)
        box.blockSignals(False)

    def _index_of(self, step: int | None) -> int | None:
        """Index of the latest frame at or before ``step`` in the track shown."""
        if step is None:
            return None
        frames = self.frames()
        best = None
        for i, frame in enumerate(frames):
            if frame.step <= step:
                best = i
        return best if best is not None else (0 if frames else None)

    def _live_position(self) -> int:
        """The slider value meaning "live": one past the last frame on the main track."""
        return len(self.frames()) if self._track == 0 else len(self.frames()) - 1

    def _sync_slider(self) -> None:
        frames = self.frames()
        slider = self.slider
        slider.blockSignals(True)
        slider.setMaximum(max(0, self._live_position()))
        index = self._index_of(self._shown_step)
        slider.setValue(self._live_position() if index is None else index)
        slider.setEnabled(bool(frames))
        slider.blockSignals(False)
        self._update_label()

    def _update_label(self) -> None:
        frames = self.frames()
        frame = self.shown_frame()
        name = "Main" if self._track == 0 else f"Branch {self._track}"
        if not frames:
            self.label.setText("No history yet")
        elif frame is None:
            self.label.setText(f"Live · {len(frames)} frames")
        else:
            index = self.shown_index() or 0
            self.label.setText(f"{name} · step {frame.step} · {index + 1}/{len(frames)}")
        self.live.setEnabled(not self.is_live())
        self.continue_button.setEnabled(frame is not None)
        self.discard.setVisible(self._track > 0)

    # ------------------------------------------------------------ artist
    def _on_slider(self, value: int) -> None:
        frames = self.frames()
        if self._track == 0 and value >= len(frames):
            self.go_live()
            return
        if not frames:
            return
        frame = frames[min(value, len(frames) - 1)]
        self._shown_step = frame.step
        self._update_label()
        self.frameRequested.emit(frame)

    def _on_track(self, index: int) -> None:
        if index < 0:
            return
        self._track = index
        frames = self.frames()
        if index == 0 or not frames:
            self._shown_step = None
            self._sync_slider()
            self.frameRequested.emit(None)
            return
        self._shown_step = frames[-1].step
        self._sync_slider()
        self.frameRequested.emit(frames[-1])

    def show_index(self, index: int, track: int | None = None) -> None:
        """Scrub to frame ``index`` (of ``track``), as dragging the slider there would."""
        if track is not None and track != self._track:
            self.track_box.setCurrentIndex(track)
        self.slider.setValue(index)

    def step_by(self, delta: int) -> None:
        """Previous / next frame (Alt+Left / Alt+Right); from live, back to the last frame."""
        self.slider.setValue(max(0, min(self.slider.maximum(), self.slider.value() + delta)))

    def go_live(self) -> None:
        """Back to the current drawing (main track, slider at the end)."""
        was_live = self.is_live() and self._track == 0
        self._shown_step = None
        if self._track != 0:
            self._track = 0
            self._fill_track_box()
        self._sync_slider()
        if not was_live:
            self.frameRequested.emit(None)

    def request_continue(self) -> None:
        index = self.shown_index()
        if self.shown_frame() is not None and index is not None:
            self.continueRequested.emit(self._track, index)
