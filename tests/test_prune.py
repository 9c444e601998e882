"""Pruning: faded and hidden strokes go, frozen ones stay, refill lands on empty canvas, one undo."""

from __future__ import annotations

import random

import numpy as np
import pytest

from clipdraw_core.drawing.commands import apply_to_drawing
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.prune import empty_pixels, prune, visible_fractions
from clipdraw_core.optim.session import Session


def bar(stroke_id, x, alpha=1.0, hw=2.0, y0=8.0, y1=56.0, rgb=(0.2, 0.3, 0.8), frozen=False) -> Stroke:
    ys = np.linspace(y0, y1, 4)
    return Stroke(stroke_id, [[x, y] for y in ys], hw, (*rgb, alpha), frozen)


def apply_all(drawing, commands):
    for command in commands:
        drawing, notes = apply_to_drawing(drawing, command)
        assert notes == []
    return drawing


def test_prune_removes_exactly_the_strokes_under_the_threshold():
    alphas = [0.9, 0.05, 0.31, 0.29, 0.0, 0.6, 0.1]
    strokes = [bar(i, 6 + 8 * i, a) for i, a in enumerate(alphas)]
    strokes.append(bar(7, 62, 0.01, frozen=True))  # faded but frozen: the artist's, kept
    drawing = Drawing(64, 64, (1, 1, 1), tuple(strokes))
    result = prune(drawing, min_opacity=0.3, max_covered=2.0)
    assert result.faded == (1, 3, 4, 6) and result.covered == () and result.added == ()
    pruned = apply_all(drawing, result.commands)
    assert pruned.ids == [0, 2, 5, 7]
    assert all(a is b for a, b in zip(pruned.strokes, [strokes[i] for i in (0, 2, 5, 7)], strict=True))
    assert apply_all(pruned, result.undo) == drawing  # one undo puts every stroke back in place
    assert prune(drawing, min_opacity=0.0, max_covered=2.0).commands == ()


def test_hidden_strokes_are_measured_with_the_renderer():
    under = bar(0, 20, 1.0, hw=1.5)  # entirely under the wide bar
    half = bar(1, 34, 1.0, hw=3.0)  # its left half is under the wide bar
    wide = bar(2, 24, 1.0, hw=10.0, rgb=(0.9, 0.1, 0.1))
    faint_top = bar(3, 50, 0.5, hw=3.0)  # on top of nothing: fully visible though faint
    off_canvas = Stroke(4, [[-40, -40], [-35, -40], [-30, -40], [-25, -40]], 1.0, (0, 0, 0, 1))
    drawing = Drawing(64, 64, (1, 1, 1), (under, half, wide, faint_top, off_canvas))
    fractions = visible_fractions(drawing)
    assert fractions[0] == pytest.approx(0.0, abs=0.02)
    assert fractions[1] == pytest.approx(0.5, abs=0.1)
    assert fractions[2] == pytest.approx(1.0, abs=1e-4)
    assert fractions[3] == pytest.approx(1.0, abs=1e-4)
    assert fractions[4] == 0.0
    result = prune(drawing, min_opacity=0.1)
    assert result.faded == () and set(result.covered) == {0, 4}


def test_refill_keeps_the_budget_and_starts_on_empty_canvas():
    strokes = [bar(i, 4 + 4 * i, 0.02 if i % 2 else 1.0, hw=1.0, y0=4, y1=28) for i in range(8)]
    drawing = Drawing(64, 64, (1, 1, 1), tuple(strokes))
    result = prune(
        drawing,
        min_opacity=0.5,
        refill=True,
        rng=random.Random(3),
        allocate_ids=lambda n: range(100, 100 + n),
    )
    assert result.faded == (1, 3, 5, 7)
    assert [s.id for s in result.added] == [100, 101, 102, 103]
    after = apply_all(drawing, result.commands)
    assert len(after.strokes) == 8
    kept = Drawing(64, 64, (1, 1, 1), tuple(s for s in strokes if s.id not in result.removed))
    empty = empty_pixels(kept)
    assert not empty[4:28, 3:34].all() and empty[40:, :].all()
    for stroke in result.added:
        x, y = stroke.points[0]
        assert empty[int(y), int(x)]
    assert apply_all(after, result.undo) == drawing


def test_a_prune_lands_in_a_running_session(tiny_clip):
    config = SessionConfig(prompt="a cat", num_paths=10, num_steps=5, num_augs=1, width=64, height=64)
    session = Session(config, tiny_clip)
    session.step()
    drawing = session.drawing()
    threshold = sorted(s.color[3] for s in drawing.strokes)[3]  # the three faintest go
    result = prune(
        drawing, min_opacity=threshold, max_covered=2.0, refill=True, allocate_ids=session.allocate_ids
    )
    assert len(result.faded) == 3 and len(result.added) == 3
    for command in result.commands:
        session.submit(command)
    assert session.apply_pending().drawing == apply_all(drawing, result.commands)
    session.step()  # and the run goes on


def test_bad_thresholds_are_clear_errors():
    with pytest.raises(ConfigError, match="between 0 and 1"):
        prune(Drawing(32, 32), min_opacity=1.5)


def square(stroke_id, x0, y0, size, fill_alpha, *, outlined=False, line_alpha=1.0) -> Stroke:
    """A closed square shape: four straight cubic segments, filled."""
    corners = [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)]
    points = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        dx, dy = (bx - ax) / 3, (by - ay) / 3
        points += [[ax, ay], [ax + dx, ay + dy], [ax + 2 * dx, ay + 2 * dy]]
    return Stroke(
        stroke_id, points, 1.0, (0.1, 0.1, 0.1, line_alpha),
        fill=(0.9, 0.2, 0.1, fill_alpha), outlined=outlined,
    )


def test_filled_shapes_are_pruned_by_their_fill_and_hide_what_is_under_them():
    """Shapes count by what they paint: their fill's alpha fades them, and an opaque fill covers."""
    under = bar(0, 20, 1.0, hw=1.5, y0=20.0, y1=40.0)  # entirely under the opaque square
    opaque = square(1, 10, 10, 40, 1.0)
    faded = square(2, 52, 4, 8, 0.05)  # fill nearly clear, no outline: faded
    outlined = square(3, 52, 40, 8, 0.05, outlined=True, line_alpha=0.9)  # its outline keeps it
    drawing = Drawing(64, 64, (1, 1, 1), (under, opaque, faded, outlined))
    fractions = visible_fractions(drawing)
    assert fractions[0] == pytest.approx(0.0, abs=0.02)
    assert fractions[1] == pytest.approx(1.0, abs=1e-3)
    assert fractions[2] == pytest.approx(1.0, abs=1e-3)
    result = prune(drawing, min_opacity=0.1)
    assert result.faded == (2,) and result.covered == (0,)
    pruned = apply_all(drawing, result.commands)
    assert pruned.ids == [1, 3]
    assert apply_all(pruned, result.undo) == drawing
    refilled = prune(drawing, min_opacity=0.1, refill=True, rng=random.Random(1))
    assert len(refilled.added) == 2
