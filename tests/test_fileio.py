"""The output writer and the input reader (issue 15, defects 2, 7, 8, 11).

Temp paths only: a FIFO, a symlink, permission bits and the umask; never a real
device node.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

from clipdraw_core.errors import FileFormatError, OutputError
from clipdraw_core.io import fileio

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o664])
def test_an_existing_file_keeps_its_permission_bits(tmp_path, mode):
    target = tmp_path / "shared.svg"
    target.write_text("old")
    target.chmod(mode)
    fileio.atomic_write_text(target, "new")
    assert target.read_text() == "new" and _mode(target) == mode


@posix_only
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_follows_the_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        fileio.atomic_write_text(tmp_path / "new.svg", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.svg") == expected


@posix_only
def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real_folder = tmp_path / "real"
    real_folder.mkdir()
    real = real_folder / "drawing.svg"
    real.write_text("old")
    real.chmod(0o644)
    link = tmp_path / "link.svg"
    link.symlink_to(real)
    assert fileio.atomic_write_text(link, "new") == link
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and _mode(real) == 0o644
    assert _leftovers(tmp_path) == [] and _leftovers(real_folder) == []


@posix_only
def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.svg"
    link.symlink_to(tmp_path / "target.svg")
    fileio.atomic_write_text(link, "made")
    assert link.is_symlink() and (tmp_path / "target.svg").read_text() == "made"


@posix_only
def test_a_fifo_with_a_reader_is_written_directly_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader)
    thread.start()
    deadline = time.monotonic() + 10
    while True:  # the reader must have opened its end before the writer may write
        try:
            fileio.atomic_write_bytes(fifo, b"<svg/>")
            break
        except OutputError as exc:
            assert "nobody is reading" in str(exc)
            assert time.monotonic() < deadline
            time.sleep(0.01)
    thread.join(10)
    assert received == [b"<svg/>"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and _leftovers(tmp_path) == []


@posix_only
def test_a_fifo_nobody_reads_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(OutputError, match="nobody is reading"):
        fileio.atomic_write_bytes(fifo, b"data")
    assert time.monotonic() - start < 2
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and _leftovers(tmp_path) == []


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "out.svg").mkdir()
    with pytest.raises(OutputError, match="it is a folder"):
        fileio.atomic_write_bytes(tmp_path / "out.svg", b"data")
    with pytest.raises(OutputError, match="it is a folder"):
        fileio.check_writable(tmp_path / "out.svg")
    with pytest.raises(OutputError, match="does not exist"):
        fileio.atomic_write_bytes(tmp_path / "missing" / "out.svg", b"data")


def test_a_full_disk_leaves_the_old_file_no_temp_file_and_says_why(tmp_path, monkeypatch):
    target = tmp_path / "keep.svg"
    target.write_text("old")
    real_write = os.write

    def full_after_some(fd, data):
        real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "write", full_after_some)
    with pytest.raises(OutputError, match="disk is full"):
        fileio.atomic_write_text(target, "new content, long enough to need two writes")
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_an_interrupt_during_the_write_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.svg"
    target.write_text("old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fileio.atomic_write_text(target, "new")
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


@posix_only
def test_stale_temp_files_of_ours_are_cleaned_on_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".a.svg.clipdraw-{dead_pid}-0123abcd.tmp"
    live = tmp_path / f".b.svg.clipdraw-{os.getpid()}-89abcdef.tmp"
    foreign = tmp_path / ".c.svg.x1y2z3.tmp"  # not our naming: never touched
    old_live = tmp_path / f".d.svg.clipdraw-{os.getpid()}-00000000.tmp"
    for path in (stale, live, foreign, old_live):
        path.write_text("partial")
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old_live, (week_ago, week_ago))
    fileio.atomic_write_text(tmp_path / "e.svg", "new")
    assert not stale.exists() and not old_live.exists()
    assert live.exists() and foreign.exists()


def test_read_regular_file_is_bounded(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 1000)
    assert fileio.read_regular_file(path, 1000) == b"x" * 1000
    with pytest.raises(FileFormatError, match="too large"):
        fileio.read_regular_file(path, 999, "project")
    with pytest.raises(FileFormatError, match="cannot read"):
        fileio.read_regular_file(tmp_path / "missing.json", 10)
    with pytest.raises(FileFormatError, match="a folder, not a project file"):
        fileio.read_regular_file(tmp_path, 10, "project")


@posix_only
def test_a_fifo_is_not_read_and_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(FileFormatError, match="FIFO"):
        fileio.read_regular_file(fifo, 1000, "project")
    assert time.monotonic() - start < 2
