"""Editing strokes by hand: transform, style, z-order, duplicate; in a drawing and mid-run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.commands import (
    AddStrokes,
    Reorder,
    SetStrokeStyle,
    TransformStrokes,
    apply_to_drawing,
    command_from_plain,
    rotation_about,
    scaling_about,
    translation,
)
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.render import StrokeLayout, render


def line(i: int, x: float, color=(0.0, 0.0, 0.0, 1.0), hw: float = 2.0) -> Stroke:
    pts = np.array([[x, 10], [x + 5, 20], [x + 10, 30], [x + 15, 40]], dtype=np.float64)
    return Stroke(i, pts, hw, color)


def drawing() -> Drawing:
    return Drawing(64, 64, strokes=(line(0, 5), line(1, 20), line(2, 35)))


def test_move_changes_exactly_the_selected_points():
    d = drawing()
    new, notes = apply_to_drawing(d, TransformStrokes((1,), translation(3, -2)))
    assert notes == []
    np.testing.assert_allclose(new.stroke(1).points, d.stroke(1).points + [3, -2], atol=1e-5)
    assert new.stroke(1).half_width == d.stroke(1).half_width
    assert new.strokes[0] is d.strokes[0] and new.strokes[2] is d.strokes[2]
    assert new.ids == d.ids


def test_flip_scale_rotate_numbers():
    d = drawing()
    flipped, _ = apply_to_drawing(d, TransformStrokes((0,), scaling_about(-1, 1, 10, 0)))
    np.testing.assert_allclose(flipped.stroke(0).points[:, 0], 20 - d.stroke(0).points[:, 0], atol=1e-5)
    np.testing.assert_allclose(flipped.stroke(0).points[:, 1], d.stroke(0).points[:, 1], atol=1e-5)
    assert flipped.stroke(0).half_width == pytest.approx(2.0)  # |det| = 1
    scaled, _ = apply_to_drawing(d, TransformStrokes((0,), scaling_about(2, 2, 5, 10)))
    np.testing.assert_allclose(
        scaled.stroke(0).points, (d.stroke(0).points - [5, 10]) * 2 + [5, 10], atol=1e-4
    )
    assert scaled.stroke(0).half_width == pytest.approx(4.0)  # sqrt(|det|) = 2
    kept, _ = apply_to_drawing(d, TransformStrokes((0,), scaling_about(2, 2, 5, 10), scale_widths=False))
    assert kept.stroke(0).half_width == pytest.approx(2.0)
    turned, _ = apply_to_drawing(d, TransformStrokes((2,), rotation_about(math.pi / 2, 0, 0)))
    p = d.stroke(2).points
    np.testing.assert_allclose(turned.stroke(2).points, np.stack([-p[:, 1], p[:, 0]], 1), atol=1e-4)


def test_style_and_bad_values():
    d = drawing()
    new, _ = apply_to_drawing(d, SetStrokeStyle((0, 2), color=(1.0, 0.0, 0.0), opacity=0.5, half_width=3.0))
    assert new.stroke(0).color == (1.0, 0.0, 0.0, 0.5) and new.stroke(0).half_width == 3.0
    assert new.stroke(1) is d.stroke(1)
    np.testing.assert_array_equal(new.stroke(0).points, d.stroke(0).points)
    with pytest.raises(ConfigError):
        SetStrokeStyle((0,), opacity=2.0)
    with pytest.raises(ConfigError):
        Reorder((0,), "sideways")
    with pytest.raises(ConfigError):
        TransformStrokes((0,), (1.0, 0.0, float("nan"), 0.0, 1.0, 0.0))


@pytest.mark.parametrize(
    ("ids", "where", "order"),
    [
        ((0,), "raise", [1, 0, 2]),
        ((0,), "top", [1, 2, 0]),
        ((2,), "lower", [0, 2, 1]),
        ((2, 1), "bottom", [1, 2, 0]),
        ((1, 2), "raise", [0, 1, 2]),  # already on top: stays
        ((2, 0), "exact", [2, 1, 0]),
    ],
)
def test_reorder(ids, where, order):
    new, _ = apply_to_drawing(drawing(), Reorder(ids, where))
    assert new.ids == order


def test_new_commands_round_trip_as_plain_data():
    for cmd in (
        TransformStrokes((1, 2), translation(1, 2), False),
        SetStrokeStyle((1,), color=(0.1, 0.2, 0.3), opacity=None, half_width=2.0),
        Reorder((3, 1), "exact"),
    ):
        assert command_from_plain(cmd.to_plain()) == cmd


def test_z_order_changes_the_pixels():
    red = line(0, 10, (1.0, 0.0, 0.0, 1.0), hw=4.0)
    blue = Stroke(1, red.points, 4.0, (0.0, 0.0, 1.0, 1.0))
    d = Drawing(64, 64, strokes=(red, blue))

    def pixel(dr: Drawing) -> np.ndarray:
        pts = torch.tensor(np.concatenate([s.points for s in dr.strokes]), dtype=torch.float32)
        widths = torch.tensor([s.half_width for s in dr.strokes])
        colors = torch.tensor([s.color for s in dr.strokes])
        layout = StrokeLayout.from_segment_counts([s.num_segments for s in dr.strokes])
        img = render(pts, widths, colors, layout, 64, 64, (1.0, 1.0, 1.0))
        return img[:, 25, 20].numpy()  # on the curve (x=20 at y=25)

    assert pixel(d)[2] > 0.9 and pixel(d)[0] < 0.1  # blue on top
    top_red, _ = apply_to_drawing(d, Reorder((0,), "top"))
    assert pixel(top_red)[0] > 0.9 and pixel(top_red)[2] < 0.1


def small_session(tiny_clip) -> Session:
    cfg = SessionConfig(prompt="a red cat", num_paths=6, num_steps=500, num_augs=1, width=64, height=64)
    return Session(cfg, tiny_clip)


def test_moved_stroke_lands_and_does_not_snap_back(tiny_clip):
    session = small_session(tiny_clip)
    for _ in range(3):
        session.step()
    # As late in a run (step 1000): zeroed moments bias-corrected as old would jump ~3x lr.
    for state in session._optimizer.state.values():
        state["step"].fill_(1000)
    before = session.drawing()
    target = before.strokes[2]
    session.submit(TransformStrokes((target.id,), translation(10, 5)))
    snap = session.step()
    placed = target.points + np.array([10, 5], dtype=np.float32)
    after = snap.drawing.stroke(target.id)
    lr = session.config.lr_points
    assert np.abs(after.points - placed).max() <= lr * 1.001
    assert snap.drawing.ids == before.ids  # ids and order kept


def test_edit_resets_moments_only_for_edited_strokes(tiny_clip):
    session = small_session(tiny_clip)
    for _ in range(3):
        session.step()
    state = session._optimizer.state[session._points]
    before = state["exp_avg"].clone()
    d = session.drawing()
    edited = d.strokes[1]
    session.submit(SetStrokeStyle((edited.id,), color=(0.0, 1.0, 0.0)))
    session._drain()
    after = session._optimizer.state[session._points]["exp_avg"]
    counts = [3 * s.num_segments + 1 for s in d.strokes]
    start = sum(counts[:1])
    edited_rows = slice(start, start + counts[1])
    assert torch.count_nonzero(after[edited_rows]) == 0
    keep = torch.ones(after.shape[0], dtype=torch.bool)
    keep[edited_rows] = False
    torch.testing.assert_close(after[keep], before[keep])
    assert session.drawing().stroke(edited.id).color[:3] == (0.0, 1.0, 0.0)


def test_duplicate_is_add_strokes_with_fresh_ids(tiny_clip):
    session = small_session(tiny_clip)
    session.step()
    src = session.drawing().strokes[0]
    (new_id,) = session.allocate_ids(1)
    session.submit(AddStrokes((Stroke(new_id, src.points, src.half_width, src.color),)))
    snap = session.step()
    assert new_id not in [s.id for s in session.drawing().strokes[:-1]]
    assert snap.drawing.ids[-1] == new_id and len(snap.drawing.strokes) == 7


def test_style_fill_recolours_shapes_and_leaves_open_strokes_alone(tiny_clip):
    shape = Stroke(7, np.array([[10, 10], [40, 10], [40, 40]], float), 1.0, (0.0, 0.0, 0.0, 1.0),
                   fill=(0.2, 0.3, 0.4, 0.6))
    d = Drawing(64, 64, strokes=(line(0, 5), shape))
    new, _ = apply_to_drawing(d, SetStrokeStyle((0, 7), color=(1.0, 0.0, 0.0), fill=(0.0, 0.5, 1.0)))
    assert new.stroke(0).fill is None and new.stroke(0).color == (1.0, 0.0, 0.0, 1.0)
    assert new.stroke(7).fill == pytest.approx((0.0, 0.5, 1.0, 0.6))  # fill opacity kept
    assert new.stroke(7).color == (1.0, 0.0, 0.0, 1.0)
    new, _ = apply_to_drawing(d, SetStrokeStyle((7,), fill=(0.0, 0.5, 1.0, 0.25)))
    assert new.stroke(7).fill == pytest.approx((0.0, 0.5, 1.0, 0.25))
    with pytest.raises(ConfigError):
        SetStrokeStyle((7,), fill=(0.0, 1.0))
    # in a running session with shapes: the fill lands in the next snapshot
    session = Session(SessionConfig(prompt="a cat", num_paths=2, num_shapes=2, width=64, height=64,
                                    num_augs=1), tiny_clip)
    session.step()
    target = next(s for s in session.drawing().strokes if s.fill is not None)
    session.submit(SetStrokeStyle((target.id,), fill=(0.0, 1.0, 0.0)))
    session._drain()
    assert session.drawing().stroke(target.id).fill[:3] == pytest.approx((0.0, 1.0, 0.0))
