"""Apply engine edit commands to a Drawing when no session is running.

Why: the artist can sketch seed strokes, delete or freeze strokes of an opened
project before pressing Draw, and undo all of it, with the very same command objects
and undo commands used while the engine runs. When no session exists, the window
applies commands here instead of submitting them, so the two paths behave alike.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from clipdraw_core.commands import (
    AddFreehand,
    AddStrokes,
    DeleteStrokes,
    SetFrozen,
    SetPrompt,
    SetStrokeCount,
    UpdateStrokes,
)
from clipdraw_core.fitting import fit_freehand
from clipdraw_core.strokes import Drawing, Stroke

logger = logging.getLogger(__name__)


def apply_command(drawing: Drawing, cmd: object) -> Drawing:
    """Return the drawing with ``cmd`` applied (unknown ids are skipped, as the engine does)."""
    strokes = list(drawing.strokes)
    if isinstance(cmd, SetFrozen):
        ids = set(cmd.ids)
        strokes = [replace(s, frozen=cmd.frozen) if s.id in ids else s for s in strokes]
    elif isinstance(cmd, DeleteStrokes):
        ids = set(cmd.ids)
        strokes = [s for s in strokes if s.id not in ids]
    elif isinstance(cmd, AddStrokes):
        present = {s.id for s in strokes}
        positions = cmd.positions or (None,) * len(cmd.strokes)
        for stroke, pos in zip(cmd.strokes, positions, strict=True):
            if stroke.id in present:
                logger.warning("stroke id %d already present; not added again", stroke.id)
                continue
            strokes.insert(len(strokes) if pos is None else min(max(int(pos), 0), len(strokes)), stroke)
            present.add(stroke.id)
    elif isinstance(cmd, AddFreehand):
        points, hw = fit_freehand(
            cmd.polyline, cmd.pressure, tolerance=cmd.tolerance, half_width=cmd.half_width
        )
        strokes.append(Stroke(cmd.stroke_id, points, hw, cmd.color, cmd.frozen))
    elif isinstance(cmd, UpdateStrokes):
        by_id = {s.id: s for s in cmd.strokes}
        strokes = [by_id.get(s.id, s) for s in strokes]
    elif isinstance(cmd, (SetPrompt, SetStrokeCount)):
        pass  # only meaningful to a running session; the controls keep the values
    else:
        raise TypeError(f"unknown command {cmd!r}")
    return drawing.with_strokes(strokes)
