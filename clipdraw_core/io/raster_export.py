"""PNG export: the engine's renderer (what CLIP saw) at any width, written atomically.

One function for the CLI's ``--png`` and the app's File > Export PNG, so both give the
same pixels and neither can leave a half-written image behind.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np

from clipdraw_core.drawing.strokes import Drawing
from clipdraw_core.io import fileio

logger = logging.getLogger(__name__)


def render_png(
    drawing: Drawing, width: int | None = None, *, samples: int = 2, backend: str = "auto"
) -> np.ndarray:
    """RGB pixels (H x W x 3, uint8) of ``drawing``, ``width`` px wide (its own width if None).

    The height keeps the aspect ratio; ``samples`` is the supersampling per axis and
    ``backend`` the renderer (see :func:`clipdraw_core.render.render_drawing`).
    """
    from clipdraw_core.render import render_drawing

    target = drawing
    if width is not None and int(width) != drawing.width:
        height = max(1, round(drawing.height * int(width) / drawing.width))
        target = drawing.scaled(int(width), height)
    pixels = render_drawing(target, samples=samples, backend=backend)
    return np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)


def png_bytes(
    drawing: Drawing, width: int | None = None, *, samples: int = 2, backend: str = "auto"
) -> bytes:
    """The drawing as an encoded PNG file (see :func:`render_png`)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(render_png(drawing, width, samples=samples, backend=backend)).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(
    path: str | os.PathLike[str],
    drawing: Drawing,
    width: int | None = None,
    *,
    samples: int = 2,
    backend: str = "auto",
) -> Path:
    """Render and write a PNG atomically; :class:`~clipdraw_core.errors.OutputError` says why not."""
    target = fileio.atomic_write_bytes(path, png_bytes(drawing, width, samples=samples, backend=backend))
    logger.info("exported %s", target)
    return target
