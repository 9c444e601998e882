"""Auto-stop on a plateau of the score, and the time left at the current speed.

The CLIP score of one step is measured on random augmentations, so it is noisy: the
:class:`PlateauDetector` compares the *mean of the last few scores* (a short window)
with the best such mean so far, and calls a plateau when that best has not been beaten
by more than ``tolerance`` for ``patience`` steps (pixray offers a similar
``auto_stop``). It is reset when the drawing changes structurally (a new stage, a
prune), since new strokes start a new climb.

The :class:`EtaEstimator` smooths the wall-clock time per step (an exponential moving
average, so a slow first step or a paused minute does not dominate) and multiplies by
the steps left.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

from clipdraw_core.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_PATIENCE = 100
DEFAULT_TOLERANCE = 1e-3
#: Scores averaged before comparing (at most; fewer for a small patience).
DEFAULT_SMOOTHING = 10


class PlateauDetector:
    """``update(score)`` after each step; ``True`` once the score stopped improving."""

    def __init__(
        self,
        patience: int = DEFAULT_PATIENCE,
        tolerance: float = DEFAULT_TOLERANCE,
        smoothing: int | None = None,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"patience must be a whole number of steps >= 1, got {patience!r}")
        if not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) or tolerance < 0:
            raise ConfigError(f"the auto-stop tolerance must be a number >= 0, got {tolerance!r}")
        self.patience = patience
        self.tolerance = float(tolerance)
        self.smoothing = smoothing or max(1, min(DEFAULT_SMOOTHING, patience // 2))
        self.reset()

    def reset(self) -> None:
        self._window: deque[float] = deque(maxlen=self.smoothing)
        self._best = -math.inf
        self._stalled = 0
        self.stopped = False

    @property
    def best(self) -> float | None:
        return None if self._best == -math.inf else self._best

    @property
    def steps_without_improvement(self) -> int:
        return self._stalled

    def update(self, score: float | None) -> bool:
        """Feed one step's score (``None``/NaN counts as no improvement); returns ``stopped``."""
        if score is not None and math.isfinite(score):
            self._window.append(float(score))
        mean = sum(self._window) / len(self._window) if self._window else -math.inf
        if mean > self._best + self.tolerance or (self._best == -math.inf and self._window):
            self._best = mean
            self._stalled = 0
        else:
            self._stalled += 1
        if self._stalled >= self.patience and not self.stopped:
            self.stopped = True
            logger.info("score plateau: no gain above %g for %d steps", self.tolerance, self.patience)
        return self.stopped


class EtaEstimator:
    """Time left at the current speed; ``update(steps_done)`` after each step."""

    def __init__(self, smoothing: float = 0.1, clock: Callable[[], float] = time.perf_counter) -> None:
        self._alpha = float(smoothing)
        self._clock = clock
        self._last: tuple[float, int] | None = None
        self.seconds_per_step: float | None = None

    def reset(self) -> None:
        """Forget the last time stamp (call on resume, so a pause does not count)."""
        self._last = None

    def update(self, steps_done: int) -> None:
        now = self._clock()
        if self._last is not None and steps_done > self._last[1]:
            per_step = (now - self._last[0]) / (steps_done - self._last[1])
            if self.seconds_per_step is None:
                self.seconds_per_step = per_step
            else:
                self.seconds_per_step += self._alpha * (per_step - self.seconds_per_step)
        self._last = (now, steps_done)

    def remaining(self, steps_done: int, total_steps: int) -> float | None:
        """Seconds left, or ``None`` before the speed is known."""
        if self.seconds_per_step is None:
            return None
        return max(0, total_steps - steps_done) * self.seconds_per_step


def format_duration(seconds: float | None) -> str:
    """``"1 h 02 min"``, ``"3 min 05 s"``, ``"42 s"``; ``"…"`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "…"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"
