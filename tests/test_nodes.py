"""Node editing keeps the curve's shape (sampled and compared)."""

from __future__ import annotations

import numpy as np
import pytest

from clipdraw_core.drawing.nodes import join_end_to_end, remove_node, split_at_node, split_segment
from clipdraw_core.errors import ConfigError

S = np.array([[0, 0], [10, 20], [30, 20], [40, 0], [50, -20], [70, -10], [80, 10]], dtype=np.float64)


def sample(points: np.ndarray, n: int = 400) -> np.ndarray:
    """Dense points along a packed cubic stroke."""
    out = []
    u = np.linspace(0, 1, n)[:, None]
    for k in range((len(points) - 1) // 3):
        p0, p1, p2, p3 = points[3 * k : 3 * k + 4]
        out.append((1 - u) ** 3 * p0 + 3 * (1 - u) ** 2 * u * p1 + 3 * (1 - u) * u * u * p2 + u**3 * p3)
    return np.concatenate(out)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest distance from a sample of ``a`` to the nearest sample of ``b`` (both ways)."""
    d = np.linalg.norm(a[:, None] - b[None], axis=2)
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()))


def test_adding_a_node_keeps_the_shape_exactly():
    for t in (0.25, 0.5, 0.8):
        new = split_segment(S, 1, t)
        assert len(new) == len(S) + 3
        assert distance(sample(new), sample(S)) < 0.2  # sampling resolution only
    with pytest.raises(ConfigError):
        split_segment(S, 2)


def test_removing_an_added_node_gives_back_nearly_the_same_curve():
    new = remove_node(split_segment(S, 0, 0.4), 1)
    assert len(new) == len(S)
    assert distance(sample(new), sample(S)) < 0.5
    np.testing.assert_allclose(new[[0, 3, 6]], S[[0, 3, 6]])  # nodes kept


def test_removing_an_end_node_drops_its_segment_and_one_segment_keeps_its_ends():
    np.testing.assert_array_equal(remove_node(S, 0), S[3:])
    np.testing.assert_array_equal(remove_node(S, 2), S[:4])
    with pytest.raises(ConfigError):
        remove_node(S[:4], 0)


def test_split_and_join_keep_the_shape():
    a, b = split_at_node(S, 1)
    np.testing.assert_array_equal(a, S[:4])
    np.testing.assert_array_equal(b, S[3:])
    np.testing.assert_array_equal(join_end_to_end(a, b), S)
    apart = join_end_to_end(S[:4], S[3:] + [0, 9])
    assert len(apart) == 10  # a straight bridge between the ends
    np.testing.assert_allclose(sample(apart[3:7])[:, 0], 40, atol=1e-9)
