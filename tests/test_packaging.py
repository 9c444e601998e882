"""Packaging checks: desktop file, AppStream metainfo, icons, and the built app starting up.

The fast tests always run: they validate packaging/clipdraw-studio.desktop and the
AppStream metainfo (with desktop-file-validate / appstreamcli when installed, else by
parsing), the icon set, and start the app through the PyInstaller launcher script
offscreen (the same code the bundle runs, unfrozen).

The bundle tests run when a build exists (dist/clipdraw-studio/, made by
packaging/build_linux.sh, ~5 min) or when CLIPDRAW_TEST_PACKAGING=1 (which builds it
first if missing). They start the frozen app offscreen: ``--version``, then the window
opens and quits cleanly through the launcher's smoke-test hook.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / "clipdraw-studio.desktop"
METAINFO = PACKAGING / "io.github.clipdraw.Studio.metainfo.xml"
ICONS = ROOT / "resources" / "icons"
DIST = Path(os.environ.get("CLIPDRAW_DIST_DIR", ROOT / "dist"))
FROZEN = DIST / "clipdraw-studio" / ("clipdraw-studio.exe" if sys.platform == "win32" else "clipdraw-studio")


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        pytest.skip("tomllib needs Python 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _version() -> str:
    import clipdraw_core

    return clipdraw_core.__version__


# ------------------------------------------------------------------------------ desktop file


def test_desktop_file_is_valid() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "error" not in (result.stdout + result.stderr).lower()
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "CLIPDraw Studio"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"].split(";")
    assert (ICONS / f"{entry['Icon']}.svg").is_file()
    assert (ICONS / f"{entry['Icon']}-48.png").is_file()
    command = entry["Exec"].split()[0]
    assert command == entry["TryExec"]
    gui_scripts = _pyproject().get("project", {}).get("gui-scripts", {})
    assert command in gui_scripts, f"Exec={command} is not a [project.gui-scripts] entry"


# ------------------------------------------------------------------------------ metainfo


def test_metainfo_is_valid_appstream() -> None:
    cli = shutil.which("appstreamcli")
    if cli:
        result = subprocess.run(
            [cli, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == "io.github.clipdraw.Studio"
    assert root.findtext("name") == "CLIPDraw Studio"
    assert root.findtext("summary")
    assert root.find("description/p") is not None
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("metadata_license") == "CC0-1.0"
    license_ = _pyproject()["project"].get("license", {})
    assert root.findtext("project_license") == (
        license_.get("text") if isinstance(license_, dict) else license_
    )
    releases = [r.get("version") for r in root.iter("release")]
    assert releases and releases[0] == _version(), "newest <release> must match clipdraw_core.__version__"


# ------------------------------------------------------------------------------ icons


def test_icon_set_sizes() -> None:
    from PIL import Image

    pngs = sorted(ICONS.glob("clipdraw-studio-*.png"))
    sizes = {int(re.search(r"-(\d+)\.png$", p.name).group(1)) for p in pngs}
    assert {16, 32, 48, 64, 128, 256, 512} <= sizes
    for p in pngs:
        with Image.open(p) as im:
            size = int(re.search(r"-(\d+)\.png$", p.name).group(1))
            assert im.size == (size, size) and im.mode == "RGBA"
            assert im.getpixel((size // 2, size // 2))[3] == 255, "icon centre is opaque"
            assert im.getpixel((0, 0))[3] == 0, "rounded corners are transparent"
    ET.parse(ICONS / "clipdraw-studio.svg")
    assert (ICONS / "clipdraw-studio.ico").stat().st_size > 0
    assert (ICONS / "clipdraw-studio.icns").stat().st_size > 0


def test_spec_collects_open_clip_runtime_data() -> None:
    """open_clip needs its model configs and BPE vocabulary as files at run time."""
    pytest.importorskip("PyInstaller")
    from PyInstaller.utils.hooks import collect_data_files

    dests = [Path(src).name for src, _ in collect_data_files("open_clip")]
    assert "bpe_simple_vocab_16e6.txt.gz" in dests
    assert "ViT-B-32.json" in dests
    spec = (PACKAGING / "clipdraw_studio.spec").read_text(encoding="utf-8")
    assert 'collect_data_files("open_clip")' in spec and "launch_clipdraw.py" in spec


# ------------------------------------------------------------------------------ start-up


def _smoke_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        CLIPDRAW_SMOKE_TEST="2",
        CLIPDRAW_WEIGHTS="random",
        HF_HUB_OFFLINE="1",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    (tmp_path / "runtime").mkdir(mode=0o700, exist_ok=True)
    return env


def _assert_smoke_ok(result: subprocess.CompletedProcess) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "SMOKE-TEST OK" in result.stdout, out[-3000:]
    assert "CLIPDraw Studio" in result.stdout
    assert "Traceback" not in out, out[-3000:]


def test_launcher_starts_the_window_and_quits_cleanly(tmp_path: Path) -> None:
    """The bundle's entry script, run unfrozen: window shown offscreen, clean exit 0."""
    result = subprocess.run(
        [
            sys.executable,
            str(PACKAGING / "launch_clipdraw.py"),
            "--settings",
            str(tmp_path / "s.ini"),
            "--no-recover",
        ],
        cwd=tmp_path,
        env={**_smoke_env(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    _assert_smoke_ok(result)


#: Seconds the app may take to start, load the model and show a step (its own deadline, the
#: launcher's CLIPDRAW_SMOKE_TEST): ~10 s on a quiet machine, far more on a shared one.
DRAW_START_LIMIT = 480
#: Seconds from the launcher's SMOKE-TEST line (it then quits with the run active) to the
#: process's exit: stopping the run, joining its threads, interpreter teardown.
SHUTDOWN_LIMIT = 120


def _run_until_quit(
    cmd: list[str], cwd: Path, env: dict[str, str], start_limit: float, shutdown_limit: float
) -> subprocess.CompletedProcess:
    """Run the app, timing its two phases apart: start-up until the SMOKE-TEST line, then the quit.

    Why not one overall timeout: under load a slow start-up (imports, model, first step)
    used up the time of a healthy quit and read as a hang (a failure once, the start-up
    limit being the shorter one). Start-up is bounded by the app's own deadline (it
    prints a FAIL line and exits 4 when no step shows in time) plus a margin; the quit
    has its own limit, counted from the SMOKE-TEST line, so a shutdown that never joins
    its threads still fails whatever the load.
    """
    import threading
    import time

    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    err: list[str] = []
    reported = threading.Event()
    quit_at: list[float] = []

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line)
            if line.startswith("SMOKE-TEST "):
                quit_at.append(time.monotonic())
                reported.set()

    def read_stderr() -> None:
        assert proc.stderr is not None
        err.extend(proc.stderr)

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
    for reader in readers:
        reader.start()

    def fail(why: str) -> None:
        proc.kill()
        proc.wait()
        pytest.fail(f"{why}\nstdout: {''.join(out)[-2000:]}\nstderr: {''.join(err)[-2000:]}")

    started = time.monotonic()
    while not reported.is_set() and proc.poll() is None:
        if time.monotonic() - started > start_limit:
            fail(f"the app neither showed a step nor gave up within {start_limit:.0f} s")
        reported.wait(0.2)
    if reported.is_set():
        try:
            proc.wait(timeout=max(0.0, quit_at[0] + shutdown_limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            fail(f"the app did not exit within {shutdown_limit:.0f} s of quitting (a hang on shutdown?)")
    for reader in readers:
        reader.join(timeout=30)
    return subprocess.CompletedProcess(cmd, proc.wait(), "".join(out), "".join(err))


def test_quit_timer_fails_a_hang_on_shutdown_and_a_start_that_never_reports(tmp_path: Path) -> None:
    """The two limits of :func:`_run_until_quit` fail what they should (scripts standing in for the app)."""

    def script(code: str, start: float, shutdown: float) -> subprocess.CompletedProcess:
        return _run_until_quit([sys.executable, "-c", code], tmp_path, dict(os.environ), start, shutdown)

    report = "import sys, time; print('SMOKE-TEST OK window=x', flush=True); "
    quick = script(report + "sys.exit(0)", 60, 30)
    assert quick.returncode == 0 and "SMOKE-TEST OK" in quick.stdout
    # a slow start is not a slow quit: 3 s before the line, a 1 s quit limit
    assert script("import time; time.sleep(3); print('SMOKE-TEST OK', flush=True)", 60, 1).returncode == 0
    with pytest.raises(pytest.fail.Exception, match="within 1 s of quitting"):
        script(report + "time.sleep(60)", 60, 1)
    with pytest.raises(pytest.fail.Exception, match="neither showed a step"):
        script("import time; time.sleep(60)", 1, 30)


def _draw_settings(tmp_path: Path) -> Path:
    """A settings file for a tiny run: 16 strokes, 3 steps, one view (ViT-B-32, random weights, CPU)."""
    ini = tmp_path / "draw.ini"
    ini.write_text("[General]\nnum_paths=16\nnum_steps=3\nnum_augs=1\n", encoding="utf-8")
    return ini


def _draw_env(tmp_path: Path) -> dict[str, str]:
    return {
        **_smoke_env(tmp_path),
        "CLIPDRAW_SMOKE_TEST": str(DRAW_START_LIMIT),
        "CLIPDRAW_SMOKE_TEST_EXPECT": r"Step [1-9]",
    }


@pytest.mark.slow
def test_launcher_draws_a_step_and_exits_cleanly(tmp_path: Path) -> None:
    """Unfrozen: press Draw at start-up, wait for step 1 in the status bar, quit with the run active."""
    cmd = [sys.executable, str(PACKAGING / "launch_clipdraw.py"), "--settings", str(_draw_settings(tmp_path))]
    cmd += ["--no-recover", "--draw", "--device", "cpu"]
    env = {**_draw_env(tmp_path), "PYTHONPATH": str(ROOT)}
    result = _run_until_quit(cmd, tmp_path, env, DRAW_START_LIMIT + 60, SHUTDOWN_LIMIT)
    _assert_smoke_ok(result)
    assert "matched" in result.stdout


def _frozen_app() -> Path:
    if not FROZEN.exists():
        if os.environ.get("CLIPDRAW_TEST_PACKAGING") != "1":
            pytest.skip("no built app (run packaging/build_linux.sh, or set CLIPDRAW_TEST_PACKAGING=1)")
        subprocess.run(["bash", str(PACKAGING / "build_linux.sh")], check=True, timeout=3600)
    return FROZEN


@pytest.mark.slow
def test_frozen_app_version(tmp_path: Path) -> None:
    app = _frozen_app()
    result = subprocess.run(
        [str(app), "--version"], env=_smoke_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"CLIPDraw Studio {_version()}"


@pytest.mark.slow
def test_frozen_app_opens_window_and_quits_cleanly(tmp_path: Path) -> None:
    app = _frozen_app()
    result = subprocess.run(
        [str(app), "--settings", str(tmp_path / "s.ini"), "--no-recover"],
        cwd=tmp_path,
        env=_smoke_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    _assert_smoke_ok(result)


@pytest.mark.slow
def test_frozen_app_has_open_clip_data_and_icons() -> None:
    app = _frozen_app()
    internal = app.parent / "_internal"
    assert (internal / "open_clip" / "bpe_simple_vocab_16e6.txt.gz").is_file()
    assert (internal / "open_clip" / "model_configs" / "ViT-B-32.json").is_file()
    assert (internal / "resources" / "icons" / "clipdraw-studio-256.png").is_file()


@pytest.mark.slow
def test_frozen_app_draws_with_torch_and_open_clip(tmp_path: Path) -> None:
    """Inside the bundle: torch, open_clip (configs + BPE vocab), the renderer and the worker all run."""
    app = _frozen_app()
    cmd = [str(app), "--settings", str(_draw_settings(tmp_path)), "--no-recover", "--draw", "--device", "cpu"]
    result = _run_until_quit(cmd, tmp_path, _draw_env(tmp_path), DRAW_START_LIMIT + 60, SHUTDOWN_LIMIT)
    _assert_smoke_ok(result)
    assert "matched" in result.stdout
