"""Apply engine edit commands to a Drawing when no session is running.

Why: the artist can sketch seed strokes, delete or freeze strokes of an opened
project before pressing Draw, and undo all of it, with the very same command objects
and undo commands used while the engine runs. When no session exists, the window
applies commands here instead of submitting them; the meaning of each command is the
engine's own :func:`clipdraw_core.drawing.commands.apply_to_drawing`, so the two paths behave
alike.
"""

from __future__ import annotations

import logging

from clipdraw_core.drawing.commands import Command, apply_to_drawing
from clipdraw_core.drawing.strokes import Drawing

logger = logging.getLogger(__name__)


def apply_command(drawing: Drawing, cmd: Command) -> Drawing:
    """Return the drawing with ``cmd`` applied (unknown ids are skipped, as the engine does)."""
    new, notes = apply_to_drawing(drawing, cmd)
    for note in notes:
        logger.warning("%s", note)
    return new
