"""Soft lock ("respect") per stroke (issue 12): 0 is free, 1 is frozen, between holds back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.commands import SetFrozen, SetRespect, apply_to_drawing, respect_commands
from clipdraw_core.drawing.strokes import Anchor, Drawing, Stroke, default_scene
from clipdraw_core.errors import ConfigError
from clipdraw_core.io.project import project_from_json, project_to_json
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session

LOCKED = tuple(range(0, 24, 2))


def cfg(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 24, "num_steps": 100, "num_augs": 1, "seed": 4}
    base.update(kw)
    return SessionConfig(**base)


def run(tiny_clip, command=None, steps=50):
    session = Session(cfg(), tiny_clip)
    start = session.drawing()
    if command is not None:
        session.submit(command)
    for _ in range(steps):
        session.step()
    return start, session.drawing()


def drift(start: Drawing, end: Drawing, ids=LOCKED) -> float:
    a, b = {s.id: s for s in start.strokes}, {s.id: s for s in end.strokes}
    return float(np.mean([np.abs(b[i].points - a[i].points).mean() for i in ids]))


def test_strength_one_equals_frozen(tiny_clip):
    start, held = run(tiny_clip, SetRespect(LOCKED, 1.0))
    _, frozen = run(tiny_clip, SetFrozen(LOCKED))
    for a, b in zip(held.strokes, frozen.strokes, strict=True):
        np.testing.assert_allclose(a.points, b.points, atol=1e-6, rtol=0)
        np.testing.assert_allclose(a.color, b.color, atol=1e-6, rtol=0)
        assert a.half_width == pytest.approx(b.half_width, abs=1e-6)
    assert drift(start, held) < 1e-6
    assert all(s.respect == 1.0 and not s.frozen for s in held.strokes if s.id in LOCKED)


def test_strength_zero_is_free_and_half_moves_less(tiny_clip):
    start, free = run(tiny_clip)
    _, zero = run(tiny_clip, SetRespect(LOCKED, 0.0))
    for a, b in zip(free.strokes, zero.strokes, strict=True):
        assert np.array_equal(a.points, b.points) and a.color == b.color
    _, half = run(tiny_clip, SetRespect(LOCKED, 0.5))
    _, strong = run(tiny_clip, SetRespect(LOCKED, 0.9))
    free_drift, half_drift, strong_drift = drift(start, free), drift(start, half), drift(start, strong)
    assert free_drift > 1.0  # the free strokes do move (pixels)
    assert half_drift < 0.7 * free_drift, (free_drift, half_drift)
    assert strong_drift < half_drift, (half_drift, strong_drift)
    # Unlocked strokes stay free.
    others = tuple(i for i in range(24) if i not in LOCKED)
    assert drift(start, half, others) > 0.5 * drift(start, free, others)


def test_soft_lock_mid_run_keeps_adam_state_of_other_strokes(tiny_clip):
    session = Session(cfg(), tiny_clip)
    for _ in range(5):
        session.step()
    optimizer = session._optimizer
    points = session._points
    before = {k: v.clone() for k, v in optimizer.state[points].items() if torch.is_tensor(v)}
    session.submit(SetRespect((3,), 0.5))
    snap = session.apply_pending()
    assert session._optimizer is optimizer and session._points is points  # no repack
    for key, value in before.items():
        assert torch.equal(optimizer.state[points][key], value)
    stroke = snap.drawing.stroke(3)
    assert stroke.respect == 0.5 and np.array_equal(stroke.anchor.points, stroke.points)


def test_soft_lock_is_undoable_and_saved(tiny_clip):
    session = Session(cfg(), tiny_clip)
    session.step()
    old = [session.drawing().stroke(i) for i in (1, 2)]
    session.submit(SetRespect((1, 2), 0.7))
    session.step()
    locked = session.drawing()
    anchors = {i: locked.stroke(i).anchor for i in (1, 2)}
    text = project_to_json(session.config, locked, session.step_count)
    reopened = project_from_json(text).drawing
    assert reopened.stroke(1).respect == 0.7 and reopened.stroke(1).anchor == anchors[1]
    assert project_to_json(session.config, reopened, session.step_count) == text
    for command in respect_commands(old):  # undo
        session.submit(command)
    undone = session.apply_pending().drawing
    assert all(undone.stroke(i).respect == 0.0 and undone.stroke(i).anchor is None for i in (1, 2))
    # Redo with the very anchors recorded then, not where the strokes are now.
    session.submit(SetRespect((1, 2), 0.7, (anchors[1], anchors[2])))
    redone = session.apply_pending().drawing
    assert redone.stroke(1).anchor == anchors[1] and redone.stroke(2).anchor == anchors[2]


def test_soft_lock_on_plain_drawings_and_bad_values():
    drawing = default_scene(num_paths=3)
    new, notes = apply_to_drawing(drawing, SetRespect((0, 9), 0.5))
    assert notes and "9" in notes[0]
    assert new.stroke(0).respect == 0.5 and np.array_equal(
        new.stroke(0).anchor.points, drawing.stroke(0).points
    )
    assert new.stroke(1) is drawing.stroke(1)
    with pytest.raises(ConfigError):
        SetRespect((0,), 1.5)
    with pytest.raises(ConfigError, match="anchor"):
        Stroke(0, np.zeros((4, 2)), anchor=Anchor(np.zeros((7, 2)), 1.0, (0, 0, 0, 1)))
