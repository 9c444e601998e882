"""Fixtures for the window tests (pytest-qt, offscreen, tiny random CLIP model).

* Qt runs offscreen, settings go to a temporary INI file and autosaves to a
  temporary folder, so tests never touch the user's files.
* ``no_thread_leaks`` fails any test that leaves a QThread or a background task
  (app.background) running (napari's idea): a window that does not join its workers
  would hang or crash the app at quit.
* ``gui_clip`` is the lead's ``tiny_clip`` fixture when tests/conftest.py provides it,
  else an equivalent tiny random open_clip model built here (no downloads).
"""

from __future__ import annotations

import json
import os
import sys
import weakref
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # running from a checkout that is not pip-installed
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402
from PySide6.QtCore import QThread  # noqa: E402

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


@pytest.fixture(autouse=True)
def no_thread_leaks():
    """Fail the test if a QThread or a background task started during it still runs at the end."""
    started: list[weakref.ref] = []
    original = QThread.start

    def tracking_start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original(self, *args, **kwargs)

    QThread.start = tracking_start
    try:
        yield
    finally:
        QThread.start = original
    running = []
    for ref in started:
        thread = ref()
        try:
            if thread is not None and thread.isRunning():
                running.append(thread.objectName() or repr(thread))
        except RuntimeError:  # C++ object already deleted: not running
            pass
    from app.background import TASKS

    tasks = TASKS.running()
    running += [task.name for task in tasks]
    if running:
        TASKS.shutdown(5000)
        for ref in started:  # join them so the next tests are not disturbed
            thread = ref()
            try:
                if thread is not None:
                    thread.quit()
                    thread.wait(5000)
            except RuntimeError:
                pass
        pytest.fail(f"test left QThreads running: {running}")


@pytest.fixture(autouse=True)
def empty_clipboard_after_test():
    """Leave the clipboard empty: Qt's offscreen platform segfaults at exit while the
    application still owns clipboard data (copied strokes), which would fail the run."""
    yield
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        QApplication.clipboard().clear()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Settings in a temp INI file; autosaves in a temp data folder."""
    from app import settings

    settings.use_settings_file(tmp_path / "settings.ini")
    monkeypatch.setenv("CLIPDRAW_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("CLIPDRAW_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "settings.ini"
    settings.use_settings_file(None)


@pytest.fixture(scope="session")
def gui_clip(request, tmp_path_factory):
    """A tiny random-initialised CLIP model on CPU (the lead's ``tiny_clip`` if present)."""
    try:
        return request.getfixturevalue("tiny_clip")
    except Exception:
        pass
    from clipdraw_core.clip.clip_model import load_clip, register_model_config

    folder = tmp_path_factory.mktemp("tiny_clip_gui")
    path = folder / "tiny-clip-gui.json"
    path.write_text(json.dumps(TINY_CONFIG))
    name = register_model_config(path)
    return load_clip(name, "random", "cpu")


@pytest.fixture
def window(qtbot, gui_clip):
    """A shown main window using the tiny model, small fast settings, no dialogs on close."""
    from app.main_window import MainWindow

    win = MainWindow(clip=gui_clip, offer_recovery=False)
    win.confirm_close = False
    qtbot.addWidget(win)
    c = win.controls
    c.num_paths.setValue(12)
    c.num_steps.setValue(10000)
    c.canvas_size.setValue(96)
    c.model.setCurrentText(gui_clip.name)
    c.weights.setCurrentText("random")
    c.device.setCurrentText("cpu")
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    win.shutdown()
