"""PyInstaller entry script for CLIPDraw Studio, with a smoke-test hook.

PyInstaller needs a script file, while the application's real entry point is the
function ``app.main.main`` (also used by the ``clipdraw`` gui-script and by
``python -m app``). This shim calls that function so all three start the same way.

Smoke test: with ``CLIPDRAW_SMOKE_TEST=SECONDS`` in the environment, the app starts as
usual and, SECONDS after its event loop begins, checks that the main window is shown,
prints one line ``SMOKE-TEST OK ...`` (or ``SMOKE-TEST FAIL ...``) and ends the event
loop with ``QApplication.exit(0)``: ``aboutToQuit`` and the app's shutdown handlers run
(worker threads must stop cleanly), but no window is asked to close, so an "unsaved
changes?" question cannot block an unattended test. That is how
tests/test_packaging.py checks a built bundle without a display (QT_QPA_PLATFORM=offscreen)
and without any change to the app itself.

With ``CLIPDRAW_SMOKE_TEST_EXPECT=REGEX`` as well, the hook instead polls the status bar's
texts until the regex matches (OK) or SECONDS pass (FAIL, exit status 4): e.g. start with
``--draw`` and expect ``Step [1-9]`` to prove torch, open_clip and the renderer all work
inside the bundle. The OK/FAIL line lists the status-bar texts.
"""

import os
import sys


def _install_smoke_test(seconds: float, expect: str | None) -> None:
    import re
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    real_exec = QApplication.exec
    deadline = time.monotonic() + seconds
    pattern = re.compile(expect) if expect else None

    def report(ok: bool, app: QApplication, window: QMainWindow | None, why: str = "") -> None:
        status = []
        if window is not None:
            status = [label.text() for label in window.statusBar().findChildren(QLabel) if label.text()]
        title = window.windowTitle() if window is not None else None
        size = f"{window.width()}x{window.height()}" if window is not None else "-"
        word = "OK" if ok else "FAIL"
        sys.stdout.write(
            f"SMOKE-TEST {word} window={title!r} size={size} platform={app.platformName()} "
            f"status={status!r} {why}\n"
        )
        sys.stdout.flush()

    def check() -> None:
        app = QApplication.instance()
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
        window = windows[0] if windows else None
        if pattern is None:
            if window is None:
                report(False, app, None, "no visible main window")
                app.exit(3)
            else:
                report(True, app, window)
                app.exit(0)
            return
        texts = []
        if window is not None:
            texts = [label.text() for label in window.statusBar().findChildren(QLabel)]
        if window is not None and any(pattern.search(t) for t in texts):
            report(True, app, window, f"matched {pattern.pattern!r}")
            app.exit(0)
        elif time.monotonic() > deadline:
            report(False, app, window, f"no status text matched {pattern.pattern!r}")
            app.exit(4)
        else:
            QTimer.singleShot(200, check)

    def exec_with_timer(*_args):  # QApplication.exec is static: app.exec() passes nothing
        QTimer.singleShot(200 if pattern is not None else int(seconds * 1000), check)
        return real_exec()

    QApplication.exec = exec_with_timer


def run() -> int:
    smoke = os.environ.get("CLIPDRAW_SMOKE_TEST")
    if smoke:
        _install_smoke_test(float(smoke), os.environ.get("CLIPDRAW_SMOKE_TEST_EXPECT"))
    from app.main import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
