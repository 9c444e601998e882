"""Atomic file writing.

A drawing is the artist's work: a crash or a full disk half-way through a save must
never leave a truncated file where a good one was. We write to a temporary file in
the same folder, fsync it, then ``os.replace`` it over the target (atomic on POSIX
and Windows).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from clipdraw_core.errors import OutputError

logger = logging.getLogger(__name__)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; raise :class:`OutputError` on failure."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except OSError as exc:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    logger.debug("wrote %s (%d bytes)", target, len(data))
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))
