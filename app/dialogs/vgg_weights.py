"""The style image's first use: get the VGG-16 weights, visibly and cancellably.

The style loss needs torchvision's ImageNet VGG-16 (about 528 MB, once). Downloaded
silently in the background the artist would see only a busy message for minutes,
with no way to stop it and, offline, no way forward but a file path in a banner. So
this works like the CLIP weights' first run (:mod:`app.dialogs.first_run`, whose
dialog classes it reuses): a progress dialog with bytes, speed and Cancel around
:func:`clipdraw_core.optim.style.download_vgg`; when that fails, a dialog offering
"Load a file…" (a VGG-16 checkpoint you already have, checked and copied into the
torch hub cache by :func:`~clipdraw_core.optim.style.install_vgg_file`), Retry and
Cancel. There is no "random weights" choice here: test mode (``--weights random``)
never asks for VGG-16 in the first place.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from app.dialogs.first_run import (
    CHOICE_FILE,
    CHOICE_RETRY,
    ProgressDownloadDialog,
    ask_missing_weights,
)
from clipdraw_core.errors import ClipDrawError
from clipdraw_core.optim import style as style_module

logger = logging.getLogger(__name__)

VGG_FILE_FILTER = "PyTorch checkpoints (*.pth *.pt *.bin);;All files (*)"
VGG_APPROX_SIZE = "about 528 MB"


def download_dialog(
    parent: QWidget | None, source: style_module.VggSource | None = None
) -> ProgressDownloadDialog:
    """The progress dialog for the VGG-16 file (not yet shown)."""

    def download(progress, cancel) -> str:  # type: ignore[no-untyped-def]
        # Looked up at call time so tests can stub the engine's download function.
        return str(style_module.download_vgg(source, progress=progress, cancel=cancel, timeout=30))

    return ProgressDownloadDialog(
        parent,
        "Downloading VGG-16 for the style loss",
        f"<b>The style image needs torchvision's VGG-16 network ({VGG_APPROX_SIZE}).</b><br>"
        "This happens once; the file is kept in the torch hub cache.",
        download,
        "clipdraw-vgg-download",
    )


def ask_what_to_do(parent: QWidget | None, message: str) -> str:
    """The offline/failed dialog: CHOICE_FILE, CHOICE_RETRY or CHOICE_CANCEL."""
    return ask_missing_weights(
        parent,
        object_name="clipdraw-vgg-missing",
        title="VGG-16 weights missing",
        text="The VGG-16 network for the style loss is not on this computer and could not be downloaded.",
        informative=(
            f"{message}\n\nYou can load a VGG-16 checkpoint file you already have "
            "(torchvision's vgg16-397923af.pth), retry the download, or cancel (no style is set)."
        ),
        file_label="Load a file…",
        file_tip="Pick a VGG-16 checkpoint (.pth); it is checked and copied into the torch hub cache",
    )


def pick_file(parent: QWidget | None) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Load VGG-16 weights", str(Path.home()), VGG_FILE_FILTER)
    return path or None


def ensure_vgg(
    parent: QWidget | None, source: style_module.VggSource | None = None, *, max_attempts: int = 20
) -> bool:
    """Make sure the VGG-16 file is in the cache; True when it is, False when the user gave up.

    Progress dialog (Cancel -> False); on failure the offline dialog: "Load a file…"
    installs the picked checkpoint (a bad file says why and asks again), Retry
    downloads again, Cancel returns False.
    """
    if style_module.vgg_cache_path(source).is_file():
        return True
    for _attempt in range(max_attempts):
        dialog = download_dialog(parent, source)
        dialog.exec()
        dialog.wait_for_worker()
        path, error, cancelled = dialog.path, dialog.error, dialog.was_cancelled
        dialog.deleteLater()
        if path is not None:
            logger.info("VGG-16 weights ready at %s", path)
            return True
        if cancelled and error is None:
            return False
        message = error or "The download failed."
        while True:
            choice = ask_what_to_do(parent, message)
            if choice == CHOICE_FILE:
                picked = pick_file(parent)
                if not picked:
                    continue
                try:
                    style_module.install_vgg_file(picked, source)
                except ClipDrawError as exc:
                    message = str(exc)
                    continue
                return True
            if choice == CHOICE_RETRY:
                break
            return False
    return False
