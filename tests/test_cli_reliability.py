"""clipdraw-cli under hostile conditions (issue 15): signals, collisions, partial outputs,
undecodable prompts, --resume and hostile projects through it.

The signal tests run the real CLI in a subprocess with the tiny random model.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from test_cli import svg_paths, tiny_args

from clipdraw_core import cli
from clipdraw_core.io import fileio
from clipdraw_core.io.project import load_project

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and FIFOs")


def hidden_temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


# ------------------------------------------------------------------ signals (real subprocess)
class Cli:
    """A clipdraw-cli subprocess whose stderr is collected by a thread."""

    def __init__(self, argv: list[str]) -> None:
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clipdraw_core.cli", *argv],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.proc.stderr.fileno(), 4096):
            self.err += chunk

    def wait_for(self, pattern: str, timeout: float = 120) -> None:
        """Wait until stderr matches the regular expression ``pattern``."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern.encode(), self.err):
            assert self.proc.poll() is None, f"exited early: {self.err.decode(errors='replace')}"
            assert time.monotonic() < deadline, f"no {pattern!r} in {self.err.decode(errors='replace')}"
            time.sleep(0.05)

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code, self.err.decode(errors="replace")


def long_run(tmp_path: Path, tiny_clip_files, output: Path, *extra: str) -> list[str]:
    return [
        "a cat",
        "-o",
        str(output),
        "--png",
        str(tmp_path / "x.png"),
        "--project",
        str(tmp_path / "x.json"),
        "--steps",
        "100000",
        "--size",
        "64",
        *extra,
        *[a for a in tiny_args(tiny_clip_files) if a != "--quiet"],  # the progress bar says "running"
    ]


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_and_sigterm_both_save_the_drawing_so_far(tmp_path, tiny_clip_files, signum, status):
    run = Cli(long_run(tmp_path, tiny_clip_files, tmp_path / "x.svg", "--paths", "8"))
    run.wait_for(r"[1-9][0-9]*/100000")
    run.proc.send_signal(signum)
    code, err = run.finish()
    assert code == status, err
    name = signal.Signals(signum).name
    assert f"({name}); wrote {tmp_path / 'x.svg'}, {tmp_path / 'x.png'}, {tmp_path / 'x.json'}" in err
    assert "Traceback" not in err
    step = load_project(tmp_path / "x.json").step
    assert step >= 1 and f"interrupted at step {step}" in err
    assert len(svg_paths(tmp_path / "x.svg")) == 8 and hidden_temp_files(tmp_path) == []


def _pipe_bytes(fd: int) -> int:
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, sys.byteorder)


@posix_only
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIONREAD on a FIFO")
def test_a_second_ctrl_c_during_the_final_write(tmp_path, tiny_clip_files):
    """The SVG goes to a FIFO nobody drains, so the final write is caught blocking.

    The second Ctrl-C is deferred: every file gets written and the message says so.
    (A third abandons the writes: see test_abandoned_writes_say_what_was_written.)
    """
    presses = 2
    fifo = tmp_path / "x.svg"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader exists, but does not read yet
    try:
        run = Cli(long_run(tmp_path, tiny_clip_files, fifo, "--paths", "1500"))
        run.wait_for(r"[1-9][0-9]*/100000")
        run.proc.send_signal(signal.SIGINT)
        deadline, last = time.monotonic() + 120, -1
        while _pipe_bytes(reader) < 4096 or _pipe_bytes(reader) != last:  # full and no longer growing
            assert time.monotonic() < deadline and run.proc.poll() is None, run.err
            last = _pipe_bytes(reader)
            time.sleep(0.3)
        run.proc.send_signal(signal.SIGINT)
        run.wait_for("press Ctrl-C again to abandon")
        received = b""
        os.set_blocking(reader, True)
        while chunk := os.read(reader, 1 << 16):
            received += chunk
        code, err = run.finish()
    finally:
        os.close(reader)
    assert code == 130 and "Traceback" not in err and presses == 2
    assert received.endswith(b"</svg>\n")
    assert f"wrote {fifo}, {tmp_path / 'x.png'}, {tmp_path / 'x.json'} (the drawing so far)" in err
    assert load_project(tmp_path / "x.json").step >= 1
    assert hidden_temp_files(tmp_path) == []


def test_abandoned_writes_say_what_was_written(tmp_path, tiny_clip_files, capsys, monkeypatch):
    """Signals past the deferred one abort the writes; the writer leaves no temp file."""
    real_fsync = os.fsync

    def third_ctrl_c_on_the_png(fd):
        if any(p.name.startswith(".a.png.") for p in tmp_path.iterdir()):
            raise KeyboardInterrupt
        return real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", third_ctrl_c_on_the_png)
    out, png, proj = tmp_path / "a.svg", tmp_path / "a.png", tmp_path / "a.json"
    argv = quick(tiny_clip_files, "a cat", "-o", str(out), "--png", str(png), "--project", str(proj))
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert f"interrupted while writing the files; wrote {out}; not written: {png}, {proj}" in err
    assert out.exists() and not png.exists() and not proj.exists()
    assert hidden_temp_files(tmp_path) == []


# ------------------------------------------------------------------ in-process checks
def quick(tiny_clip_files, *argv: str) -> list[str]:
    return [*argv, "--steps", "1", "--paths", "4", "--size", "64", *tiny_args(tiny_clip_files)]


def make_sketch(path: Path) -> Path:
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        '<path d="M 5 5 L 60 60" stroke="black"/></svg>'
    )
    return path


@pytest.mark.parametrize(
    "layout, fragment",
    [
        (["-o", "a.svg", "--png", "a.svg"], "-o and --png name the same file"),
        (["-o", "a.svg", "--project", "./a.svg"], "-o and --project name the same file"),
        (["-o", "a.svg", "--png", "b.png", "--project", "b.png"], "--png and --project name the same file"),
        (["-o", "seed.svg", "--seed-svg", "seed.svg"], "-o seed.svg would overwrite the --seed-svg input"),
        (["-o", "link.svg", "--seed-svg", "seed.svg"], "would overwrite the --seed-svg input"),
        (["-o", "a.svg", "--png", "hard.svg", "--seed-svg", "seed.svg"], "--png hard.svg would overwrite"),
    ],
)
def test_outputs_that_collide_are_refused_before_the_run(
    tmp_path, tiny_clip_files, capsys, monkeypatch, layout, fragment
):
    monkeypatch.chdir(tmp_path)
    seed = make_sketch(tmp_path / "seed.svg")
    before = seed.read_bytes()
    (tmp_path / "link.svg").symlink_to(seed)
    os.link(seed, tmp_path / "hard.svg")
    assert cli.main(["a cat", *layout, "--steps", "1", *tiny_args(tiny_clip_files)]) == 1
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert seed.read_bytes() == before and not (tmp_path / "a.svg").exists()


def test_a_failed_output_says_which_files_were_written(tmp_path, tiny_clip_files, capsys, monkeypatch):
    real = fileio.atomic_write_bytes

    def png_disk_full(path, data):
        if str(path).endswith(".png"):
            raise fileio.OutputError(f"cannot write {path}: the disk is full (No space left on device)")
        return real(path, data)

    monkeypatch.setattr(fileio, "atomic_write_bytes", png_disk_full)
    out, png, proj = tmp_path / "a.svg", tmp_path / "a.png", tmp_path / "a.json"
    argv = quick(tiny_clip_files, "a cat", "-o", str(out), "--png", str(png), "--project", str(proj))
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"cannot write {png}: the disk is full" in err
    assert f"(wrote {out}, {proj}; not written: {png})" in err
    assert out.exists() and proj.exists() and not png.exists()


def test_a_full_disk_leaves_no_temp_file_and_says_why(tmp_path, tiny_clip_files, capsys, monkeypatch):
    def full(fd, data):
        os.write(fd, bytes(data[:100]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio, "_write_all", full)
    out = tmp_path / "a.svg"
    assert cli.main(quick(tiny_clip_files, "a cat", "-o", str(out))) == 1
    err = capsys.readouterr().err
    assert "disk is full" in err and "nothing written" in err
    assert not out.exists() and hidden_temp_files(tmp_path) == []


@posix_only
def test_an_undecodable_prompt_is_refused_before_the_model_loads(tmp_path, tiny_clip_files):
    out = tmp_path / "x.svg"
    argv = [b"caf\xe9", b"-o", os.fsencode(out), b"--steps", b"1", b"--weights", b"no-such-file.pt"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"clipdraw_core.cli", *argv], capture_output=True, env=env
    )
    err = result.stderr.decode(errors="replace")
    assert result.returncode == 1 and err.count("\n") == 1, err
    assert "the prompt is not valid text: character 4 is byte 0xe9" in err  # not the weights error
    assert not out.exists()


# ------------------------------------------------------------------ --resume
def test_resume_continues_a_project_and_options_override(tmp_path, tiny_clip_files, capsys):
    proj = tmp_path / "p.json"
    first = quick(tiny_clip_files, "a red cat", "-o", str(tmp_path / "a.svg"), "--project", str(proj))
    first[first.index("--steps") + 1] = "2"
    assert cli.main(first + ["--negative", "blurry", "--seed", "7"]) == 0
    saved = load_project(proj)
    assert saved.step == 2 and saved.config.num_steps == 2
    out2, proj2 = tmp_path / "b.svg", tmp_path / "b.json"
    argv = ["--resume", str(proj), "-o", str(out2), "--project", str(proj2), "--steps", "4"]
    assert cli.main(argv + tiny_args(tiny_clip_files)) == 0
    resumed = load_project(proj2)
    assert resumed.step == 4 and resumed.config.num_steps == 4
    assert resumed.config.prompt == "a red cat" and resumed.config.negative_prompts == ("blurry",)
    assert resumed.config.seed == 7 and resumed.drawing.ids == saved.drawing.ids
    assert resumed.drawing != saved.drawing  # two more steps moved the strokes
    # an explicit prompt overrides; --project may update the resumed file in place
    argv = ["a blue dog", "--resume", str(proj2), "-o", str(out2), "--project", str(proj2), "--steps", "5"]
    assert cli.main(argv + tiny_args(tiny_clip_files)) == 0
    again = load_project(proj2)
    assert again.step == 5 and again.config.prompt == "a blue dog" and again.config.seed == 7


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda d: d["drawing"]["strokes"][0].update(frozen="false"), "frozen must be true or false"),
        (lambda d: d["config"].update(seed=10**30), "config.seed: "),
        (lambda d: d["config"].update(prompt="\ud800"), "config.prompt is not valid text"),
        (lambda d: d.update(drawing="x"), "drawing must be an object"),
        (lambda d: d.update(format_version=0), "format_version must be a whole number"),
    ],
)
def test_hostile_projects_through_resume_are_one_line(tmp_path, tiny_clip_files, capsys, edit, fragment):
    proj = tmp_path / "p.json"
    cli.main(quick(tiny_clip_files, "a cat", "-o", str(tmp_path / "a.svg"), "--project", str(proj)))
    capsys.readouterr()
    data = json.loads(proj.read_text())
    edit(data)
    proj.write_text(json.dumps(data))
    out = tmp_path / "b.svg"
    assert cli.main(["--resume", str(proj), "-o", str(out), *tiny_args(tiny_clip_files)]) == 1
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and not out.exists()


def test_resume_refuses_options_that_cannot_apply_and_a_missing_prompt(tmp_path, tiny_clip_files, capsys):
    proj = tmp_path / "p.json"
    proj.write_text("{}")
    argv = ["--resume", str(proj), "-o", str(tmp_path / "b.svg"), "--size", "128"]
    argv += tiny_args(tiny_clip_files)
    assert cli.main(argv) == 1
    assert "--size cannot change them" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["-o", str(tmp_path / "b.svg")])
    assert info.value.code == 2 and "required: prompt" in capsys.readouterr().err
