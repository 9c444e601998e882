"""Reading and writing the files a user names, safely.

Writing. A drawing is the artist's work: a crash, a signal or a full disk half-way
through a save must never leave a truncated file where a good one was. For a regular
file (or a new one) we write a temporary file in the same folder, fsync it, then
``os.replace`` it over the target (atomic on POSIX and Windows). Around that one rule:

* the path is resolved first, so a symlink is written *through* (its target is
  replaced; the link stays a link);
* an existing file keeps its permission bits (and, where allowed, its owner); a new
  file gets ``0666`` minus the umask, like any editor's (the kernel applies the umask
  because the temp file is created with mode ``0666``; ``mkstemp``'s ``0600`` would
  make exported SVGs unreadable to a web server);
* something that is not a regular file is never replaced: a character device (say
  ``/dev/null`` or a terminal) or a FIFO with a reader is written directly, the way a
  shell redirection writes it; a FIFO nobody reads, a block device, a folder or a
  socket is refused with a clear error;
* whatever goes wrong - ``ENOSPC``, a signal (``KeyboardInterrupt``) - the temp file is
  removed and the error says why;
* temp files are named ``.NAME.clipdraw-PID-RANDOM.tmp``; a write into a folder first
  removes such files whose process is gone (left by ``kill -9`` or a power cut), so
  they do not pile up. Files of other programs are never touched.

Reading. :func:`read_regular_file` opens without blocking, refuses anything that is not
a regular file (``/dev/zero`` would be read until memory runs out, a FIFO would hang the
caller) and reads at most ``limit + 1`` bytes whatever the file claims its size is.
Every loader (project, SVG, image) uses it.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import stat
import time
from pathlib import Path

from clipdraw_core.errors import FileFormatError, OutputError

logger = logging.getLogger(__name__)

_TMP_TAG = "clipdraw"
_TMP_NAME = re.compile(rf"^\..+\.{_TMP_TAG}-(\d+)-[0-9a-f]{{8}}\.tmp$")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: A temp file of a live process is still removed when it is this old (a PID reused
#: by another program must not protect a leftover forever).
STALE_TMP_SECONDS = 24 * 3600


def _describe(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full (No space left on device)"
    elif exc.errno == errno.EDQUOT:
        reason = "the disk quota is exceeded"
    return reason


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    return "not a regular file"


def resolve_output(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result | None]:
    """Where a write to ``path`` lands (symlinks followed) and what stands there now.

    Raises :class:`OutputError` when the folder is missing or the thing there is one we
    will not write (folder, block device, socket). Used by the writer and by front ends
    that check their outputs before a long run.
    """
    given = Path(path)
    target = Path(os.path.realpath(given))
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {given}: folder {given.parent} does not exist")
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {given}: {_describe(exc)}") from exc
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
            raise OutputError(f"cannot write {given}: it is {_kind(st.st_mode)}")
    return target, st


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail early (before a long run) if :func:`atomic_write_bytes` surely cannot write ``path``."""
    target, st = resolve_output(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {path}: {_kind(st.st_mode)} that is not writable")
        return
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: folder {Path(path).parent} is not writable")
    if st is not None and not os.access(target, os.W_OK) and _euid() != 0:
        # os.replace would succeed (the folder is writable) but the user protected the file
        raise OutputError(f"cannot write {path}: the file is read-only")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name one file: same resolved path (symlinks followed) or hard links."""
    real_a, real_b = os.path.realpath(a), os.path.realpath(b)
    if os.path.normcase(real_a) == os.path.normcase(real_b):
        return True
    try:
        return os.path.samefile(real_a, real_b)
    except OSError:
        return False


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else -1


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill(pid, 0) would kill it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def clean_stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove our own leftover temp files in ``folder`` (see the module docstring)."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if m is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            if _pid_alive(int(m.group(1))) and now - st.st_mtime < STALE_TMP_SECONDS:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    if removed:
        logger.info("removed %d stale temporary file(s) in %s", len(removed), folder)
    return removed


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_special(given: Path, target: Path, st: os.stat_result, data: bytes) -> Path:
    """Write a character device or a FIFO in place (never replace it)."""
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0)
    if stat.S_ISFIFO(st.st_mode):
        flags |= os.O_NONBLOCK  # opening a FIFO nobody reads would block forever
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"cannot write {given}: it is a FIFO (named pipe) nobody is reading") from exc
        raise OutputError(f"cannot write {given}: {_describe(exc)}") from exc
    try:
        if stat.S_ISFIFO(st.st_mode):
            os.set_blocking(fd, True)
        _write_all(fd, data)
    except OSError as exc:
        raise OutputError(f"cannot write {given}: {_describe(exc)}") from exc
    finally:
        os.close(fd)
    logger.debug("wrote %d bytes into %s (%s)", len(data), given, _kind(st.st_mode))
    return given


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` (see the module docstring); raise :class:`OutputError` on failure.

    Returns ``path`` as given (a symlink's own path, not its target).
    """
    given = Path(path)
    target, st = resolve_output(given)
    if st is not None and not stat.S_ISREG(st.st_mode):
        return _write_special(given, target, st, data)
    folder = target.parent
    clean_stale_temp_files(folder)
    tmp = folder / f".{target.name}.{_TMP_TAG}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        if st is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            if hasattr(os, "fchown") and (st.st_uid != _euid() or st.st_gid != os.getegid()):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except OSError:
                    logger.debug("cannot keep the owner of %s", target)
        _write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except BaseException as exc:  # also KeyboardInterrupt/SystemExit: never leave the temp file
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {given}: {_describe(exc)}") from exc
        raise
    _sync_folder(folder)
    logger.debug("wrote %s (%d bytes)", given, len(data))
    return given


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); harmless where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically.

    Text that cannot be encoded (a lone surrogate from undecodable input) is written
    with U+FFFD in its place rather than losing the whole file at the last moment.
    """
    return atomic_write_bytes(path, _SURROGATE.sub("\ufffd", text).encode("utf-8"))


def read_regular_file(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """Read at most ``limit`` bytes of a regular file; anything else is a :class:`FileFormatError`.

    ``what`` names the kind of file in messages ("project", "SVG", "image").
    """
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileFormatError(f"cannot read {name}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileFormatError(f"cannot read {name}: it is {_kind(st.st_mode)}, not a {what} file")
        if st.st_size > limit:
            raise FileFormatError(
                f"{name}: the {what} file is too large ({st.st_size / 1e6:.1f} MB > {limit / 1e6:.0f} MB)"
            )
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise FileFormatError(f"cannot read {name}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileFormatError(f"{name}: the {what} file is too large (> {limit / 1e6:.0f} MB)")
    return data
