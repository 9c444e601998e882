"""PyInstaller entry script for CLIPDraw Studio, with a smoke-test hook.

PyInstaller needs a script file, while the application's real entry point is the
function ``app.main.main`` (also used by the ``clipdraw`` gui-script and by
``python -m app``). This shim calls that function so all three start the same way.

Smoke test: with ``CLIPDRAW_SMOKE_TEST=SECONDS`` in the environment, the app starts as
usual and, SECONDS after its event loop begins, checks that the main window is shown,
prints one line ``SMOKE-TEST OK ...`` (or ``SMOKE-TEST FAIL ...``) and quits through
the normal ``QApplication.quit()`` path, so shutdown handlers run. That is how
tests/test_packaging.py checks a built bundle without a display (QT_QPA_PLATFORM=offscreen)
and without any change to the app itself.
"""

import os
import sys


def _install_smoke_test(seconds: float) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    real_exec = QApplication.exec

    def check_and_quit() -> None:
        app = QApplication.instance()
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
        if windows:
            w = windows[0]
            sys.stdout.write(
                f"SMOKE-TEST OK window={w.windowTitle()!r} size={w.width()}x{w.height()} "
                f"platform={app.platformName()}\n"
            )
            sys.stdout.flush()
            app.quit()
        else:
            sys.stdout.write("SMOKE-TEST FAIL no visible main window\n")
            sys.stdout.flush()
            app.exit(3)

    def exec_with_timer(*_args):  # QApplication.exec is static: app.exec() passes nothing
        QTimer.singleShot(int(seconds * 1000), check_and_quit)
        return real_exec()

    QApplication.exec = exec_with_timer


def run() -> int:
    smoke = os.environ.get("CLIPDRAW_SMOKE_TEST")
    if smoke:
        _install_smoke_test(float(smoke))
    from app.main import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
