"""Node editing on filled closed shapes: a one-contour disc and a donut (two contours).

Every edit must leave each contour closed and ``subpaths`` summing to the segments, the
drawing must survive a plain-data round trip (full validation), and the rendered fill
must stay closed: ink at the shape's centre (the disc) or on its ring (the donut), paper
outside and in the donut's hole.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from clipdraw_core.drawing.nodes import (
    add_node,
    anchor_handles,
    delete_node,
    join_strokes,
    segment_controls,
    split_stroke,
)
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ConfigError
from clipdraw_core.render import render_drawing
from tests.test_fill_rules import BLACK, donut, ink
from tests.test_nodes import distance, sample
from tests.test_shapes import circle

SIZE = 64


def disc() -> Stroke:
    return Stroke(0, circle(32, 32, 20), 1.0, (0.0, 0.0, 1.0, 1.0), fill=BLACK, outlined=False)


def ring() -> Stroke:
    return donut(32, 32, 24, 10)


def outline(stroke: Stroke) -> np.ndarray:
    """Dense samples of every contour, closing segments included."""
    return np.concatenate([sample(c) for c in segment_controls(stroke)])


def checked(stroke: Stroke) -> np.ndarray:
    """Assert the shape is sound (counts, full validation) and return its render's ink."""
    if stroke.closed:
        assert sum(stroke.contours) == stroke.num_segments == len(stroke.points) // 3
    drawing = Drawing(SIZE, SIZE, (1, 1, 1), (stroke,))
    assert Drawing.from_dict(drawing.to_dict()) == drawing  # every field validated again
    return ink(render_drawing(drawing))


def assert_disc_filled(stroke: Stroke) -> None:
    img = checked(stroke)
    assert img[32, 32] > 0.95 and img[32, 45] > 0.95  # centre and inside: filled
    assert img[2, 2] < 0.05 and img[32, 60] < 0.05  # outside: paper


def assert_donut_filled(stroke: Stroke) -> None:
    img = checked(stroke)
    assert img[32, 32] < 0.05  # the hole
    assert img[32, 15] > 0.95 and img[32, 49] > 0.95 and img[15, 32] > 0.95  # the ring, all round
    assert img[2, 2] < 0.05


def test_adding_a_node_on_every_segment_of_a_disc_keeps_it_closed_and_the_same():
    s = disc()
    assert_disc_filled(s)
    for seg in range(4):  # seg 3 is the closing segment
        new = add_node(s, seg, 0.3)
        assert new.num_segments == 5 and new.subpaths == () and new.closed
        assert distance(outline(new), outline(s)) < 0.3
        np.testing.assert_allclose(new.points[0], s.points[0])  # the start node stays
        assert_disc_filled(new)


def test_adding_a_node_on_each_donut_contour_updates_that_contours_count():
    s = ring()
    for seg, counts in ((2, (5, 4)), (3, (5, 4)), (4, (4, 5)), (7, (4, 5))):
        new = add_node(s, seg)
        assert new.subpaths == counts
        assert distance(outline(new), outline(s)) < 0.3
        assert_donut_filled(new)
    with pytest.raises(ConfigError):
        add_node(s, 8)


def test_deleting_nodes_keeps_each_contour_closed_down_to_two_nodes():
    s = disc()
    for node in (0, 2):  # the start/end node, and an inner one
        new = delete_node(s, node)
        assert new.num_segments == 3 and new.closed
        assert distance(outline(new), outline(s)) < 3.0  # one cubic for a half-circle's worth
        assert_disc_filled(new)
    two = delete_node(delete_node(s, 0), 0)
    assert two.num_segments == 2
    assert checked(two)[32, 32] > 0.95
    with pytest.raises(ConfigError, match="at least 2 nodes"):
        delete_node(two, 1)
    d = ring()
    for node, counts in ((0, (3, 4)), (4, (4, 3)), (7, (4, 3))):
        new = delete_node(d, node)
        assert new.subpaths == counts
        assert_donut_filled(new)


def test_the_start_node_is_one_node_with_the_closing_handle():
    s, d = disc(), ring()
    assert anchor_handles(s, 0) == [11, 1]  # the closing segment's second handle and its first
    assert anchor_handles(d, 12) == [23, 13]  # the inner contour's start: its own, not the outer's
    assert anchor_handles(d, 9) == [8, 10]


def test_splitting_opens_a_disc_and_refuses_a_donut():
    s = disc()
    opened, second = split_stroke(s, 1)
    assert second is None and not opened.closed and opened.fill is None
    assert len(opened.points) == 13 and opened.color == s.color and opened.half_width == s.half_width
    np.testing.assert_allclose(opened.points[0], s.points[3])
    np.testing.assert_allclose(opened.points[-1], s.points[3])  # opened at that node
    assert distance(sample(opened.points), outline(s)) < 0.3  # the same outline
    img = checked(opened)
    assert img[32, 32] < 0.05 and img[32, 52] > 0.3  # no fill; the outline's colour drawn
    with pytest.raises(ConfigError, match="compound"):
        split_stroke(ring(), 0)


def test_joining_a_shape_is_refused():
    line = Stroke(1, [[0, 0], [1, 1], [2, 2], [3, 3]])
    with pytest.raises(ConfigError, match="closed shapes cannot be joined"):
        join_strokes(line, disc())
    with pytest.raises(ConfigError, match="closed shapes cannot be joined"):
        join_strokes(disc(), line)
    after = Stroke(2, np.asarray(line.points) + [3, 3])  # starts where ``line`` ends
    joined = join_strokes(line, after)
    assert joined.id == 1 and joined.num_segments == 2


def test_a_session_takes_node_edits_on_a_donut_and_a_disc_mid_run(tiny_clip):
    """The edited shapes re-enter the optimisation with their new contour counts."""
    from clipdraw_core.drawing.commands import UpdateStrokes
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session

    shapes = [replace(ring(), id=100), replace(disc(), id=101)]
    config = SessionConfig(
        prompt="a ring", num_paths=2, num_steps=4, num_augs=1, width=SIZE, height=SIZE, seed=3
    )
    session = Session(config, tiny_clip, initial_strokes=shapes)
    by_id = {s.id: s for s in session.step().drawing.strokes}
    session.submit(UpdateStrokes((add_node(by_id[100], 6), delete_node(by_id[101], 0))))
    by_id = {s.id: s for s in session.step().drawing.strokes}
    assert by_id[100].subpaths == (4, 5) and len(by_id[100].points) == 27
    assert by_id[101].closed and by_id[101].num_segments == 3
    assert_donut_filled(by_id[100])
