"""A constant-score stub of the loss for auto-stop tests (the CLIP model itself still runs).

The step's loss is computed by ``Steering.loss`` from the encoded views (a session
reaches it through ``Steering.objective``, a batch of variations directly); the stub
calls the real one (after the real render, augment and encode) and then replaces its
score by a constant and its loss by zero, so the run sees a perfect plateau.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from clipdraw_core.optim import steering


def stub_constant_score(monkeypatch: pytest.MonkeyPatch, score: float) -> itertools.count:
    """Patch the objective; returns a counter whose next value is the number of calls so far."""
    calls = itertools.count()
    real = steering.Steering.loss

    def loss(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        next(calls)
        values = out.values.clone()
        values[0] = score  # the main prompt's score (see StepObjective.has_score)
        return dataclasses.replace(out, loss=out.loss * 0.0, values=values)

    monkeypatch.setattr(steering.Steering, "loss", loss)
    return calls
