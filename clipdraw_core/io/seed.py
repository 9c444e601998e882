"""Seed sketches: one entry point that turns an SVG or a raster image into strokes.

The CLI (``--seed-svg`` / ``--seed-image``) and the app (drag and drop, File > Import)
both call :func:`load_seed`, so the two front ends agree on which file is read how.
"""

from __future__ import annotations

import os
from pathlib import Path

from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import ConfigError

SEED_SVG = "svg"
SEED_IMAGE = "image"
#: Suffixes read as raster line sketches (anything Pillow opens works; these are listed).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def seed_kind(path: str | os.PathLike[str]) -> str:
    """``"svg"`` for ``.svg`` files, ``"image"`` for everything else (traced as a sketch)."""
    return SEED_SVG if Path(path).suffix.lower() == ".svg" else SEED_IMAGE


def load_seed(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    *,
    first_id: int = 0,
    frozen: bool = False,
    max_strokes: int | None = None,
    kind: str | None = None,
) -> list[Stroke]:
    """Strokes of a seed sketch on a ``width`` x ``height`` canvas, ids from ``first_id``.

    ``kind`` is ``"svg"`` or ``"image"``; by default it follows the file's suffix
    (:func:`seed_kind`). ``max_strokes`` caps the strokes (each importer's own default
    when None). Errors are :class:`~clipdraw_core.errors.FileFormatError` from the
    importers, with the file named.
    """
    kind = kind or seed_kind(path)
    limit = {} if max_strokes is None else {"max_strokes": max_strokes}
    if kind == SEED_SVG:
        from clipdraw_core.io.svg_import import load_svg_strokes

        return list(load_svg_strokes(path, width, height, first_id=first_id, frozen=frozen, **limit))
    if kind == SEED_IMAGE:
        from clipdraw_core.io.raster_import import load_image_strokes

        return list(load_image_strokes(path, width, height, first_id=first_id, frozen=frozen, **limit))
    raise ConfigError(f"unknown seed kind {kind!r} (use 'svg' or 'image')")
