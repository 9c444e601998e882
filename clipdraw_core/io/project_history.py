"""A drawing's recorded history (time-lapse frames and branches) inside a project file.

Why in the project: the window's timeline lets the artist go back to any recorded
frame and continue from there, and a reopened project should keep that possibility.
The frames are the :class:`~clipdraw_core.optim.timelapse.TimelapseRecorder`'s own
exact encoding (base64 little-endian float32/int arrays, see
:func:`~clipdraw_core.optim.timelapse.frame_to_dict`), so a frame restored from a file
gives back bit for bit the drawing it recorded.

A *branch* is a recorded future the artist left by continuing from an earlier frame.
Its first frames are usually the main track's own (the common past), so a branch is
stored as ``shared`` (how many leading frames it has in common with the main track)
plus only its own frames; loading shares the main track's frame objects again, so
memory is not doubled either.

Sizes are bounded here and in :mod:`clipdraw_core.io.project_schema`: at most
:data:`MAX_HISTORY_FRAMES` frames per track and :data:`MAX_BRANCHES` branches.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clipdraw_core.errors import FileFormatError
from clipdraw_core.optim.timelapse import (
    DEFAULT_MAX_FRAMES,
    Frame,
    TimelapseRecorder,
    frame_from_dict,
    frame_to_dict,
)

logger = logging.getLogger(__name__)

#: Frames one track may hold in a file (the recorder's own cap).
MAX_HISTORY_FRAMES = DEFAULT_MAX_FRAMES
#: Branches kept in a file (older ones beyond this are not saved).
MAX_BRANCHES = 16


@dataclass(frozen=True)
class ProjectHistory:
    """The main track (a recorder that can go on recording) and the kept branches."""

    recorder: TimelapseRecorder
    branches: tuple[tuple[Frame, ...], ...] = ()

    @property
    def frame_count(self) -> int:
        return len(self.recorder) + sum(len(b) for b in self.branches)


def _shared_prefix(main: Sequence[Frame], branch: Sequence[Frame]) -> int:
    """Leading frames of ``branch`` that are the main track's (same objects, or same step and data)."""
    n = 0
    for a, b in zip(main, branch, strict=False):
        if a is not b:
            break
        n += 1
    return n


def history_to_dict(history: ProjectHistory) -> dict[str, Any]:
    """JSON-ready data; branches keep only their own frames (see the module docstring)."""
    main = history.recorder.frames
    data = history.recorder.to_dict()
    branches = []
    for branch in history.branches[-MAX_BRANCHES:]:
        shared = _shared_prefix(main, branch)
        own = branch[shared:]
        if own:
            branches.append({"shared": shared, "frames": [frame_to_dict(f) for f in own]})
    data["branches"] = branches
    return data


def history_from_dict(data: Mapping[str, Any], width: int, height: int) -> ProjectHistory:
    """Inverse of :func:`history_to_dict`; frames must fit the drawing's canvas (``width`` x ``height``).

    The data has passed :func:`clipdraw_core.io.project_schema.validate_project_data`;
    anything the schema cannot see (damaged arrays, steps out of order) is one
    :class:`FileFormatError`.
    """
    recorder = TimelapseRecorder.from_dict(data)
    main = recorder.frames
    branches: list[tuple[Frame, ...]] = []
    for k, item in enumerate(data.get("branches", ())):
        shared = int(item["shared"])
        if shared > len(main):
            raise FileFormatError(f"damaged history: branch {k} shares more frames than the main track has")
        frames = list(main[:shared])
        previous = frames[-1] if frames else None
        for raw in item["frames"]:
            frame = frame_from_dict(raw, previous)
            if frames and frame.step <= frames[-1].step:
                raise FileFormatError(f"damaged history: branch {k} has frames out of order")
            frames.append(frame)
            previous = frame
        branches.append(tuple(frames))
    for frame in [*main, *(f for b in branches for f in b)]:
        if (frame.width, frame.height) != (width, height):
            raise FileFormatError("damaged history: a frame's canvas size differs from the drawing's")
    return ProjectHistory(recorder, tuple(branches))
