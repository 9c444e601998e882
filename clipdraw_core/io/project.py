"""Project files: a session saved as JSON so it can be reopened exactly.

A project holds the settings (text prompts and their weights included), the drawing
(stroke ids, control points, widths, colours, frozen flags, soft locks with their
anchors), the guidance (image prompts, style image, regions) and the step reached;
optionally the recorded history (time-lapse frames and branches,
:mod:`clipdraw_core.io.project_history`), which makes the file bigger (about 29 kB per
frame of 256 strokes) and is therefore the artist's choice.

Image and style prompts are **embedded** as base64 PNG (reduced to at most 512 px on
load, so a few hundred kB each), not stored as paths: a project then opens on another
machine, or after the original file was moved or edited, exactly as it was saved. The file is plain,
versioned JSON so it diffs well and survives app upgrades; saving is atomic and
deterministic (save -> load -> save gives the same bytes). Optimiser moments are not
saved: a reopened project continues with fresh Adam state.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipdraw_core import __version__
from clipdraw_core.drawing.guidance import Guidance
from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.errors import ClipDrawError, FileFormatError
from clipdraw_core.io.fileio import atomic_write_text, read_regular_file
from clipdraw_core.io.project_history import ProjectHistory, history_from_dict, history_to_dict
from clipdraw_core.io.project_schema import (
    FORMAT_NAME,
    GUIDANCE_FORMAT_VERSION,
    HISTORY_FORMAT_VERSION,
    MAX_PROJECT_BYTES,
    parse_json,
    precheck_bytes,
    validate_project_data,
)
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.timelapse import TimelapseRecorder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Project:
    """What a project file holds."""

    config: SessionConfig
    drawing: Drawing
    step: int = 0
    guidance: Guidance = field(default_factory=Guidance)
    #: The recorded frames and branches, when the project was saved with its history.
    history: ProjectHistory | None = None


def project_to_json(
    config: SessionConfig,
    drawing: Drawing,
    step: int = 0,
    guidance: Guidance | None = None,
    history: ProjectHistory | None = None,
) -> str:
    """Serialise deterministically (no timestamps) so identical projects give identical files.

    A project without guidance, soft locks or history is written as format 1 (with
    guidance or soft locks but no history as format 2), so older versions of the app
    keep opening what they can read.
    """
    guidance = guidance or Guidance()
    new_features = not guidance.empty or any(s.respect or s.anchor is not None for s in drawing.strokes)
    with_history = history is not None and len(history.recorder) > 0
    version = HISTORY_FORMAT_VERSION if with_history else (GUIDANCE_FORMAT_VERSION if new_features else 1)
    data: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": version,
        "app_version": __version__,
        "step": int(step),
        "config": config.to_dict(),
        "drawing": drawing.to_dict(),
    }
    if not guidance.empty:
        data["guidance"] = guidance.to_dict()
    if with_history:
        assert history is not None
        data["history"] = history_to_dict(history)
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def _thinned(history: ProjectHistory) -> ProjectHistory | None:
    """Every other frame of each track (``None`` once nothing is left to drop)."""
    frames = history.recorder.frames
    if len(frames) < 2:
        return None
    recorder = TimelapseRecorder(history.recorder.initial_every, max_frames=max(2, len(frames)))
    recorder.reset_to(frames[::2] if frames[-1] in frames[::2] else [*frames[:-1:2], frames[-1]])
    return ProjectHistory(recorder, tuple(b[::2] for b in history.branches if len(b) > 1))


def save_project(
    path: str | os.PathLike[str],
    config: SessionConfig,
    drawing: Drawing,
    step: int = 0,
    guidance: Guidance | None = None,
    history: ProjectHistory | None = None,
) -> Path:
    """Write a project file atomically; raise :class:`~clipdraw_core.errors.OutputError` on failure.

    A history that would make the file larger than a project may be
    (:data:`~clipdraw_core.io.project_schema.MAX_PROJECT_BYTES`) is thinned (every other
    frame) until it fits, so a saved project always opens again.
    """
    text = project_to_json(config, drawing, step, guidance, history)
    while history is not None and len(text.encode()) > MAX_PROJECT_BYTES:
        history = _thinned(history)
        logger.warning("history thinned to fit the project size limit")
        text = project_to_json(config, drawing, step, guidance, history)
    out = atomic_write_text(path, text)
    logger.info("saved project %s (%d strokes, step %d)", out, len(drawing.strokes), step)
    return out


def project_from_json(text: str, source: str = "project") -> Project:
    """Parse and check a project; any problem becomes one :class:`FileFormatError` line.

    The parsed JSON is checked against :mod:`clipdraw_core.io.project_schema` before
    anything is built from it.
    """
    precheck_bytes(text, source)
    data = parse_json(text, source)
    validate_project_data(data, source)
    try:
        config = SessionConfig.from_dict(dict(data.get("config", {}))).validate()
        drawing = Drawing.from_dict(data["drawing"])
        guidance = Guidance.from_dict(data.get("guidance"))
        raw_history = data.get("history")
        history = (
            history_from_dict(raw_history, drawing.width, drawing.height) if raw_history is not None else None
        )
    except ClipDrawError as exc:
        raise FileFormatError(f"{source} is damaged: {exc}") from exc
    if (drawing.width, drawing.height) != (config.width, config.height):
        raise FileFormatError(f"{source} is damaged: canvas size disagrees with the settings")
    return Project(config, drawing, int(data.get("step", 0)), guidance, history)


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project file written by :func:`save_project` (regular files only, size-bounded)."""
    file = Path(path)
    data = read_regular_file(file, MAX_PROJECT_BYTES, "project")
    precheck_bytes(data, str(file))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{file} is not a CLIPDraw Studio project (not UTF-8 text)") from exc
    return project_from_json(text, str(file))
