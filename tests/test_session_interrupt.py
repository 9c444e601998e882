"""A Ctrl-C that lands inside a step's update leaves the last whole step's drawing.

The CLI turns SIGINT/SIGTERM into a KeyboardInterrupt, which Python raises between any
two bytecodes: here it is raised right after Adam's step, before the clamps, where a
colour can be above 1 (a saved project with such a colour would not open again).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session


def drawing_arrays(session: Session) -> list[np.ndarray]:
    return [t.detach().clone().numpy() for t in (session._points, session._widths, session._colors)]


def test_an_interrupt_inside_the_update_puts_the_step_back(tiny_clip, monkeypatch):
    config = SessionConfig(prompt="a red cat", num_paths=6, num_steps=10, num_augs=1, width=48, height=48,
                           seed=3, lr_color=5.0)  # a big colour step: Adam pushes colours past 1
    session = Session(config, tiny_clip)
    session.step()
    session.step()
    before = drawing_arrays(session)
    state_before = {
        id(p): {k: v.clone() for k, v in st.items() if isinstance(v, torch.Tensor)}
        for p, st in session._optimizer.state.items()
    }

    seen: dict[str, float] = {}

    def interrupted(self, *args):
        seen["max_colour"] = float(self._colors.detach().max())  # the raw Adam step, not yet clamped
        raise KeyboardInterrupt

    monkeypatch.setattr(Session, "_first_steps", interrupted)
    with pytest.raises(KeyboardInterrupt):
        session.step()
    assert seen["max_colour"] > 1.0  # the interrupt really caught a half-done update
    after = drawing_arrays(session)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    for p, st in session._optimizer.state.items():
        for key, value in state_before[id(p)].items():
            torch.testing.assert_close(st[key], value, rtol=0, atol=0)
    drawing = session.drawing()
    assert all(0.0 <= c <= 1.0 for s in drawing.strokes for c in s.color)

    monkeypatch.undo()
    session.step()  # and the session goes on
    assert session.step_count == 3
