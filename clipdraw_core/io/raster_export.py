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
    drawing: Drawing,
    width: int | None = None,
    *,
    samples: int = 2,
    backend: str = "auto",
    transparent: bool = False,
) -> np.ndarray:
    """RGB pixels (H x W x 3, uint8) of ``drawing``, ``width`` px wide (its own width if None).

    The height keeps the aspect ratio; ``samples`` is the supersampling per axis and
    ``backend`` the renderer (see :func:`clipdraw_core.render.render_drawing`).
    ``transparent=True``: RGBA (H x W x 4) without the paper, alpha 0 where nothing is drawn.
    """
    from clipdraw_core.render import render_drawing, render_drawing_rgba

    target = drawing
    if width is not None and int(width) != drawing.width:
        height = max(1, round(drawing.height * int(width) / drawing.width))
        target = drawing.scaled(int(width), height)
    if transparent:
        return np.ascontiguousarray(render_drawing_rgba(target, samples=samples, backend=backend))
    pixels = render_drawing(target, samples=samples, backend=backend)
    return np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)


def png_bytes(
    drawing: Drawing,
    width: int | None = None,
    *,
    samples: int = 2,
    backend: str = "auto",
    transparent: bool = False,
) -> bytes:
    """The drawing as an encoded PNG file (see :func:`render_png`)."""
    from PIL import Image

    pixels = render_png(drawing, width, samples=samples, backend=backend, transparent=transparent)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(
    path: str | os.PathLike[str],
    drawing: Drawing,
    width: int | None = None,
    *,
    samples: int = 2,
    backend: str = "auto",
    transparent: bool = False,
) -> Path:
    """Render and write a PNG atomically; :class:`~clipdraw_core.errors.OutputError` says why not."""
    data = png_bytes(drawing, width, samples=samples, backend=backend, transparent=transparent)
    target = fileio.atomic_write_bytes(path, data)
    logger.info("exported %s", target)
    return target
