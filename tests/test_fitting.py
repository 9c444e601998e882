"""Schneider curve fitting: accuracy on noisy input, corners, bounds, degenerate input, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from clipdraw_core.drawing.fitting import fit_freehand, fit_polyline
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import ConfigError


def sample_curve(ctrl: np.ndarray, per_segment: int = 200) -> np.ndarray:
    """Dense samples of a [3k+1, 2] cubic chain."""
    ctrl = np.asarray(ctrl, dtype=np.float64)
    u = np.linspace(0.0, 1.0, per_segment)[:, None]
    v = 1.0 - u
    out = []
    for k in range((len(ctrl) - 1) // 3):
        c = ctrl[3 * k : 3 * k + 4]
        out.append(v**3 * c[0] + 3 * v * v * u * c[1] + 3 * v * u * u * c[2] + u**3 * c[3])
    return np.concatenate(out)


def max_deviation(points: np.ndarray, ctrl: np.ndarray) -> float:
    """Largest distance from any of ``points`` to the fitted curve."""
    curve = sample_curve(ctrl, per_segment=1000)
    worst = 0.0
    for chunk in np.array_split(points, max(1, len(points) // 50)):
        d = np.sqrt(((chunk[:, None, :] - curve[None, :, :]) ** 2).sum(-1)).min(axis=1)
        worst = max(worst, float(d.max()))
    return worst


def segments(ctrl: np.ndarray) -> int:
    assert ctrl.ndim == 2 and ctrl.shape[1] == 2 and (len(ctrl) - 1) % 3 == 0
    return (len(ctrl) - 1) // 3


def test_noisy_circle_within_tolerance() -> None:
    rng = np.random.default_rng(1)
    t = np.linspace(0, 2 * np.pi, 400)
    clean = np.stack([112 + 60 * np.cos(t), 112 + 60 * np.sin(t)], axis=1)
    noisy = clean + rng.normal(0, 0.3, clean.shape)
    ctrl = fit_polyline(noisy, tolerance=2.0)
    assert ctrl.dtype == np.float32
    assert 2 <= segments(ctrl) <= 8
    assert max_deviation(noisy, ctrl) <= 2.0 + 0.02
    assert max_deviation(clean, ctrl) <= 2.5
    np.testing.assert_allclose(ctrl[0], noisy[0], atol=1e-4)
    np.testing.assert_allclose(ctrl[-1], noisy[-1], atol=1e-4)
    Stroke(0, ctrl)  # valid stroke geometry


def test_noisy_sine_within_tolerance() -> None:
    rng = np.random.default_rng(2)
    x = np.linspace(10, 210, 600)
    clean = np.stack([x, 112 + 40 * np.sin(x / 20.0)], axis=1)
    noisy = clean + rng.normal(0, 0.25, clean.shape)
    ctrl = fit_polyline(noisy, tolerance=1.5)
    assert max_deviation(noisy, ctrl) <= 1.5 + 0.02
    assert max_deviation(clean, ctrl) <= 1.5
    assert segments(ctrl) <= 16


def test_v_shape_keeps_its_corner() -> None:
    rng = np.random.default_rng(3)
    a = np.linspace(0, 1, 100)[:, None]
    apex = np.array([110.0, 180.0])
    left = np.array([30.0, 20.0]) + a * (apex - [30.0, 20.0])
    right = apex + a[1:] * (np.array([190.0, 20.0]) - apex)
    noisy = np.concatenate([left, right]) + rng.normal(0, 0.2, (199, 2))
    ctrl = fit_polyline(noisy, tolerance=1.0)
    assert segments(ctrl) == 2
    joints = ctrl[::3]
    assert np.linalg.norm(joints - apex, axis=1).min() < 1.0
    assert max_deviation(noisy, ctrl) <= 1.0 + 0.02
    # Without corner detection the apex is rounded off or needs more segments.
    smooth = fit_polyline(noisy, tolerance=1.0, corner_angle_deg=180.0)
    assert segments(smooth) > 2 or np.linalg.norm(smooth[::3] - apex, axis=1).min() > 1.0


def test_duplicates_are_ignored() -> None:
    t = np.linspace(0, np.pi, 50)
    pts = np.stack([100 + 30 * np.cos(t), 100 + 30 * np.sin(t)], axis=1)
    doubled = np.repeat(pts, 3, axis=0)
    np.testing.assert_allclose(fit_polyline(doubled), fit_polyline(pts), atol=1e-4)


@pytest.mark.parametrize("pts", [[[5.0, 6.0]], [[5.0, 6.0]] * 10, np.array([5.0, 6.0])])
def test_single_click_is_a_dot(pts) -> None:
    ctrl = fit_polyline(pts)
    assert ctrl.shape == (4, 2)
    np.testing.assert_array_equal(ctrl, np.full((4, 2), [5.0, 6.0], dtype=np.float32))
    Stroke(0, ctrl)


def test_two_points_straight_cubic() -> None:
    ctrl = fit_polyline([[0, 0], [0, 0], [30, 60]])
    np.testing.assert_allclose(ctrl, [[0, 0], [10, 20], [20, 40], [30, 60]], atol=1e-5)


def test_segment_count_is_bounded() -> None:
    rng = np.random.default_rng(4)
    scribble = np.cumsum(rng.normal(0, 3, (3000, 2)), axis=0) + 112
    ctrl = fit_polyline(scribble, tolerance=0.5, max_segments=8)
    assert 1 <= segments(ctrl) <= 8
    np.testing.assert_allclose(ctrl[0], scribble[0], atol=1e-3)
    np.testing.assert_allclose(ctrl[-1], scribble[-1], atol=1e-3)


def test_huge_polyline_is_quick() -> None:
    rng = np.random.default_rng(5)
    t = np.linspace(0, 6 * np.pi, 50_000)
    spiral = np.stack([112 + 5 * t * np.cos(t), 112 + 5 * t * np.sin(t)], axis=1)
    noisy = spiral + rng.normal(0, 0.3, spiral.shape)
    walk = np.cumsum(rng.normal(0, 1, (50_000, 2)), axis=0)
    start = time.perf_counter()
    ctrl = fit_polyline(noisy, tolerance=1.0)
    ctrl_walk = fit_polyline(walk, tolerance=1.0)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"fitting 2 x 50k points took {elapsed:.2f} s"
    assert segments(ctrl) <= 64 and segments(ctrl_walk) <= 64
    assert max_deviation(spiral[::500], ctrl) < 3.0


def test_bad_input() -> None:
    with pytest.raises(ConfigError):
        fit_polyline([])
    with pytest.raises(ConfigError):
        fit_polyline([[np.nan, 1.0], [np.inf, 2.0]])
    with pytest.raises(ConfigError):
        fit_polyline(np.zeros((5, 3)))
    with pytest.raises(ConfigError):
        fit_polyline([[0, 0], [1, 1]], tolerance=0)
    with pytest.raises(ConfigError):
        fit_polyline([[0, 0], [1, 1]], max_segments=0)
    # A NaN sample among good ones is dropped, not fatal.
    ctrl = fit_polyline([[0, 0], [np.nan, 3], [30, 0]])
    np.testing.assert_allclose(ctrl[[0, -1]], [[0, 0], [30, 0]])


def test_freehand_pressure_sets_width() -> None:
    pts = np.stack([np.linspace(0, 100, 20), np.full(20, 50.0)], axis=1)
    ctrl, hw = fit_freehand(pts, half_width=2.0)
    assert hw == 2.0 and segments(ctrl) == 1
    _, hw_full = fit_freehand(pts, np.ones(20), half_width=2.0)
    _, hw_none = fit_freehand(pts, np.zeros(20), half_width=2.0)
    _, hw_half = fit_freehand(pts, np.full(20, 0.5), half_width=2.0)
    assert (hw_full, hw_none, hw_half) == pytest.approx((3.0, 1.0, 2.0))
    # timestamps as a third column are accepted and ignored
    with_t = np.concatenate([pts, np.arange(20.0)[:, None]], axis=1)
    np.testing.assert_allclose(fit_freehand(with_t)[0], ctrl)
    with pytest.raises(ConfigError):
        fit_freehand(pts, np.ones(5))
