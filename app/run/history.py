"""The drawing's recorded history: the main track being recorded, and the branches left behind.

Why a class of its own, shared by two threads: the session's worker thread records a
frame every K steps (:class:`~clipdraw_core.optim.timelapse.TimelapseRecorder`) while
the GUI thread scrubs through the same frames, branches from one of them, discards a
branch or saves them with the project. Every access goes through one lock, and
:attr:`History.revision` grows with every change, so the timeline widget re-reads the
frames only when something changed.

Tracks: track 0 is the *main* track (the past of the drawing on the canvas, which goes
on recording); tracks 1.. are *branches*, recorded futures the artist left by
"Continue from here" on an earlier frame. Frames are immutable and shared between
tracks, so a branch's common past costs no memory.
"""

from __future__ import annotations

import logging
import threading

from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.io.project_history import MAX_BRANCHES, ProjectHistory
from clipdraw_core.optim.snapshot import Snapshot
from clipdraw_core.optim.timelapse import Frame, TimelapseRecorder

logger = logging.getLogger(__name__)

Track = tuple[Frame, ...]


class History:
    """Main track + branches, thread-safe (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recorder: TimelapseRecorder | None = None
        self._branches: list[Track] = []
        self._revision = 0

    # ------------------------------------------------------------ any thread
    @property
    def revision(self) -> int:
        return self._revision

    def _changed(self) -> None:
        self._revision += 1

    def tracks(self) -> list[Track]:
        """The main track first, then the branches (oldest first)."""
        with self._lock:
            main = tuple(self._recorder.frames) if self._recorder is not None else ()
            return [main, *self._branches]

    def main(self) -> Track:
        return self.tracks()[0]

    def frame_count(self) -> int:
        with self._lock:
            return len(self._recorder) if self._recorder is not None else 0

    # ------------------------------------------------------------ recording (worker thread)
    def start_recording(self, every: int) -> None:
        """A run starts: keep recording into the existing track, or start one every ``every`` steps."""
        with self._lock:
            if self._recorder is None:
                self._recorder = TimelapseRecorder(every)
                self._changed()

    def offer(self, drawing: Drawing, step: int, score: float | None) -> None:
        with self._lock:
            if self._recorder is not None and self._recorder.offer(drawing, step, score):
                self._changed()

    def offer_snapshot(self, snap: Snapshot) -> None:
        """Record a step's snapshot if its step is due; its drawing is read (off a GPU) only then."""
        with self._lock:
            if self._recorder is None:
                return
            self._recorder.tick(snap.step)
            if self._recorder.due(snap.step) and self._recorder.offer(snap.drawing, snap.step, snap.score):
                self._changed()

    def finish(self, drawing: Drawing, step: int, score: float | None) -> None:
        with self._lock:
            if self._recorder is not None:
                self._recorder.finish(drawing, step, score)
                self._changed()

    # ------------------------------------------------------------ editing (GUI thread)
    def clear(self) -> None:
        with self._lock:
            self._recorder = None
            self._branches = []
            self._changed()

    def continue_from(self, track: int, index: int) -> Frame:
        """Make frame ``index`` of ``track`` the end of the main track; keep every other future as a branch.

        The main track becomes that track's frames up to the chosen one; the old main
        track (and the chosen branch, if it went further) are kept as branches unless
        they hold nothing the new main track lacks. Returns the chosen frame.
        """
        with self._lock:
            recorder = self._recorder
            main = tuple(recorder.frames) if recorder is not None else ()
            tracks = [main, *self._branches]
            source = tracks[track]
            frame = source[index]
            new_main = source[: index + 1]
            if recorder is None:  # a branch without a main track cannot happen; be safe
                recorder = self._recorder = TimelapseRecorder(max(1, frame.step or 1))
            kept_ids = {id(f) for f in new_main}
            branches = [t for t in tracks if t and not all(id(f) in kept_ids for f in t)]
            recorder.reset_to(list(new_main))
            self._branches = branches[-MAX_BRANCHES:]
            self._changed()
            logger.info("continue from step %d; %d branch(es) kept", frame.step, len(self._branches))
            return frame

    def discard_branch(self, branch: int) -> None:
        """Forget branch ``branch`` (1-based, as its track number)."""
        with self._lock:
            if 1 <= branch <= len(self._branches):
                del self._branches[branch - 1]
                self._changed()

    # ------------------------------------------------------------ projects
    def to_project(self) -> ProjectHistory | None:
        """A copy for saving (``None`` when nothing was recorded)."""
        with self._lock:
            if self._recorder is None or not len(self._recorder):
                return None
            copy = self._recorder.copy()
            return ProjectHistory(copy, tuple(self._branches))

    def load(self, history: ProjectHistory | None) -> None:
        """Show a reopened project's history (``None``: nothing recorded yet)."""
        with self._lock:
            self._recorder = history.recorder if history is not None else None
            self._branches = list(history.branches) if history is not None else []
            self._changed()
