"""Entry point: ``clipdraw`` (gui-script) and ``python -m app``.

Qt is imported inside :func:`main` so ``clipdraw --version`` and ``--help`` answer
instantly and work on machines without a display.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipdraw", description="CLIPDraw Studio: steer a drawing while CLIP draws it."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--model", help="open_clip model name, or a model-config JSON path (e.g. ViT-B-32)")
    parser.add_argument("--weights", help="pretrained tag, checkpoint path, or 'random' (offline test mode)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where to optimise")
    parser.add_argument("--prompt", help="start with this prompt in the prompt box")
    parser.add_argument("--settings", help="use this settings file (INI) instead of the user's")
    parser.add_argument("--no-recover", action="store_true", help="do not offer to recover an autosave")
    parser.add_argument("--draw", action="store_true", help="press Draw at start-up")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("CLIPDRAW_LOG", "WARNING"),
        help="logging level (DEBUG, INFO, WARNING)",
    )
    parser.add_argument("project", nargs="?", help="a project file to open")
    return parser


def display_problem(env: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why a window cannot open here, or None.

    Without a display Qt aborts the process with a message about platform plugins that
    says nothing useful to an artist; on Linux we check first and say what to do.
    """
    env = dict(os.environ if env is None else env)
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set). Start it from a "
        "desktop session, use clipdraw-cli for headless runs, or set QT_QPA_PLATFORM=offscreen."
    )


def main(argv: list[str] | None = None) -> int:
    """Run the window; returns the process exit status."""
    args, qt_args = build_parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        import clipdraw_core

        print(f"CLIPDraw Studio {clipdraw_core.__version__}")
        return 0
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Environment overrides for test mode (e.g. CLIPDRAW_WEIGHTS=random clipdraw)
    model = args.model or os.environ.get("CLIPDRAW_MODEL")
    weights = args.weights or os.environ.get("CLIPDRAW_WEIGHTS")

    problem = display_problem()
    if problem:
        print(f"clipdraw: {problem}", file=sys.stderr)
        return 1

    from PySide6.QtCore import QCoreApplication, Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app import settings

    if args.settings:
        settings.use_settings_file(args.settings)
    # Qt 6 is high-DPI aware by default; keep fractional scale factors crisp (e.g. 150 %).
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QCoreApplication.setOrganizationName(settings.ORGANIZATION)
    QCoreApplication.setApplicationName(settings.APPLICATION)
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationDisplayName(settings.APPLICATION)
    app.setDesktopFileName("clipdraw-studio")

    from app.main_window import MainWindow

    window = MainWindow(
        model_name=model, weights=weights, device=args.device, offer_recovery=not args.no_recover
    )
    app.aboutToQuit.connect(window.shutdown)
    from app.background import TASKS

    app.aboutToQuit.connect(TASKS.shutdown)  # and whatever else still runs in the background
    # Ctrl+C (or SIGTERM) in the terminal quits at once, even mid-run or with a dialog
    # open, and keeps the work in the autosave that the next start offers to recover.
    # Python only sees signals between bytecodes, so a cheap timer gives it a chance
    # while Qt's loop runs.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda num, _frame: _quit_from_terminal(window, num))
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    if args.prompt:
        window.controls.prompt.setPlainText(args.prompt)
    window.show()
    if args.project:
        window.files.open_project(args.project)
    if args.draw:
        window.start_drawing()
    return int(app.exec())


def _quit_from_terminal(window: Any, signum: int) -> None:
    """A signal from the terminal: keep the work, close without asking, exit 128 + signum."""
    from PySide6.QtWidgets import QApplication

    kept = window.quit_keeping_work()
    where = f"; the drawing is kept in the autosave {kept} and offered at the next start" if kept else ""
    print(f"clipdraw: interrupted{where}", file=sys.stderr)
    QApplication.exit(128 + signum)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
