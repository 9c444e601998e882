"""Status bar: step, loss / CLIP score, iterations per second, time left, device, a live score plot.

Why a small plot: the score curve tells the artist at a glance whether the drawing
still improves (keep going), has plateaued (stop or steer), or collapsed after an
edit. It is painted with a few QPainter lines from a bounded history, so it costs
nothing next to the canvas.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

logger = logging.getLogger(__name__)

MAX_PLOT_POINTS = 2000


class ScorePlot(QWidget):
    """A sparkline of the CLIP score over steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("CLIP score (similarity to the prompt) over the optimisation steps")
        self._points: list[tuple[int, float]] = []

    def sizeHint(self) -> QSize:
        return QSize(160, 22)

    def clear(self) -> None:
        self._points = []
        self.update()

    def add_points(self, points: list[tuple[int, float | None, float | None]]) -> None:
        for step, loss, score in points:
            value = score if score is not None else (-loss if loss is not None else None)
            if value is not None and math.isfinite(value):
                self._points.append((step, value))
        if len(self._points) > MAX_PLOT_POINTS:  # keep every other point of the old half
            half = len(self._points) // 2
            self._points = self._points[:half:2] + self._points[half:]
        self.update()

    def points(self) -> list[tuple[int, float]]:
        return list(self._points)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = self.rect().adjusted(1, 2, -1, -2)
        pal = self.palette()
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(rect)
        if len(self._points) >= 2:
            steps = [p[0] for p in self._points]
            vals = [p[1] for p in self._points]
            s0, s1 = min(steps), max(steps)
            v0, v1 = min(vals), max(vals)
            sw = max(s1 - s0, 1)
            vh = (v1 - v0) or 1.0
            path = QPainterPath()
            for i, (s, v) in enumerate(self._points):
                pt = QPointF(
                    rect.left() + (s - s0) / sw * rect.width(), rect.bottom() - (v - v0) / vh * rect.height()
                )
                path.moveTo(pt) if i == 0 else path.lineTo(pt)
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 1.5))
            painter.drawPath(path)
        painter.end()


class StatusPanel(QWidget):
    """Permanent widgets of the status bar; ``update_snapshot`` fills them in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setToolTip("Loading the CLIP model in the background")
        self.busy.hide()
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setToolTip("Stop waiting for the model (the window stays usable)")
        self.cancel.hide()
        self.step = QLabel("Step –", self)
        self.step.setToolTip("Optimisation step / total steps")
        self.score = QLabel("Score –", self)
        self.score.setToolTip("Mean CLIP cosine similarity to the prompt (higher is better) and the loss")
        self.speed = QLabel("– it/s", self)
        self.speed.setToolTip("Optimisation steps per second")
        self.eta = QLabel("", self)
        self.eta.setObjectName("etaLabel")
        self.eta.setToolTip("Time left at the current speed (auto-stop may end the run sooner)")
        self.device = QLabel("", self)
        self.device.setToolTip("Where the optimisation runs (cpu, cuda, mps) and CLIP's precision")
        self.plot = ScorePlot(self)
        shown = (self.busy, self.cancel, self.step, self.score, self.speed, self.eta, self.device, self.plot)
        for w in shown:
            layout.addWidget(w)
        for label in (self.step, self.score, self.speed):
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance("Score 0.0000 (loss -0.000)") // 2)
        self.score.setMinimumWidth(self.score.fontMetrics().horizontalAdvance("Score 0.0000 · loss -00.000"))
        self.step.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def set_busy(self, busy: bool, text: str = "Loading CLIP model…") -> None:
        self.busy.setFormat(text)
        self.busy.setToolTip(f"{text.rstrip('…')} in the background")
        self.busy.setVisible(busy)
        self.cancel.setVisible(busy)

    def update_snapshot(self, snap: Any) -> None:
        self.step.setText(f"Step {snap.step}/{snap.total_steps}")
        parts = []
        if snap.score is not None:
            parts.append(f"Score {snap.score:.4f}")
        if snap.loss is not None:
            parts.append(f"loss {snap.loss:.3f}")
        self.score.setText(" · ".join(parts) or "Score –")
        ips = snap.iterations_per_second
        self.speed.setText(f"{ips:.1f} it/s" if ips else "– it/s")
        # Which precision CLIP's image pass runs in, and why ("bf16: AMX, 3.9x faster, ...").
        precision = getattr(snap, "precision", "")
        self.device.setText(f"{snap.device} · CLIP {precision}" if precision else str(snap.device))

    def set_eta(self, seconds: float | None) -> None:
        """``~2 min 05 s left`` while a run's speed is known; empty otherwise."""
        from clipdraw_core.optim.autostop import format_duration

        self.eta.setText("" if seconds is None else f"~{format_duration(seconds)} left")

    def clear(self) -> None:
        self.eta.setText("")
        self.step.setText("Step –")
        self.score.setText("Score –")
        self.speed.setText("– it/s")
        self.plot.clear()
