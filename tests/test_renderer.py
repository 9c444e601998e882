"""Tests of the differentiable renderer (clipdraw_core.render): geometry, compositing,
gradients, degenerate input and the public helpers.  CPU only, seeded, fast."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.strokes import Drawing, Stroke, default_scene
from clipdraw_core.errors import ClipDrawError, ConfigError
from clipdraw_core.render import (
    StrokeLayout,
    available_backends,
    pack_drawing,
    render,
    render_drawing,
)
from tests.gradcheck import check_gradient


def line(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """Control points of a straight cubic (evenly spaced, so it is parametrised by length)."""
    return [[x0 + (x1 - x0) * k / 3, y0 + (y1 - y0) * k / 3] for k in range(4)]


def scene(strokes: list[tuple], dtype: torch.dtype = torch.float32):
    """(points list, half-width, rgba) tuples -> packed tensors."""
    pts = torch.tensor([p for s in strokes for p in s[0]], dtype=dtype).reshape(-1, 2)
    hw = torch.tensor([s[1] for s in strokes], dtype=dtype)
    col = torch.tensor([s[2] for s in strokes], dtype=dtype).reshape(-1, 4)
    layout = StrokeLayout.from_segment_counts([(len(s[0]) - 1) // 3 for s in strokes])
    return pts, hw, col, layout


BLACK = (0.0, 0.0, 0.0, 1.0)


def test_horizontal_stroke_position_width_and_area() -> None:
    pts, hw, col, layout = scene([(line(10, 16, 50, 16), 2.0, BLACK)])
    img = render(pts, hw, col, layout, 64, 32)
    assert img.shape == (3, 32, 64) and img.dtype == torch.float32
    ink = 1.0 - img[0]
    # the band y in [14, 18] covers rows 14..17 exactly; nothing above or below
    assert torch.allclose(ink[14:18, 12:48], torch.ones(4, 36))
    assert ink[:14].abs().max() < 1e-5 and ink[18:].abs().max() < 1e-5
    # columns: round caps reach x = 8 and x = 52
    assert ink[:, :8].abs().max() < 1e-5 and ink[:, 52:].abs().max() < 1e-5
    assert ink[16, 8] > 0.5 and ink[16, 51] > 0.5
    expected = 2 * 2.0 * 40 + math.pi * 2.0**2  # band plus two half-disc caps
    assert ink.sum().item() == pytest.approx(expected, rel=0.01)
    # all channels equal (black ink on white)
    assert torch.equal(img[0], img[1]) and torch.equal(img[1], img[2])


def test_diagonal_stroke_area() -> None:
    pts, hw, col, layout = scene([(line(10, 12, 50, 44), 3.0, BLACK)])
    img = render(pts, hw, col, layout, 64, 64)
    length = math.hypot(40, 32)
    assert (1 - img[0]).sum().item() == pytest.approx(2 * 3.0 * length + math.pi * 9, rel=0.01)


def test_colour_and_alpha_over_white_exact_in_interior() -> None:
    rgba = (0.2, 0.4, 0.6, 0.5)
    pts, hw, col, layout = scene([(line(4, 16, 60, 16), 4.0, rgba)])
    img = render(pts, hw, col, layout, 64, 32)
    expected = torch.tensor([0.5 * c + 0.5 for c in rgba[:3]])
    assert torch.allclose(img[:, 16, 30], expected, atol=1e-6)
    assert torch.allclose(img[:, 0, 30], torch.ones(3))


def test_background_colour_and_tensor_background() -> None:
    pts, hw, col, layout = scene([(line(4, 16, 60, 16), 4.0, (1.0, 0.0, 0.0, 0.25))])
    bg = (0.0, 0.5, 1.0)
    img = render(pts, hw, col, layout, 64, 32, background=torch.tensor(bg))
    assert torch.allclose(img[:, 0, 0], torch.tensor(bg))
    assert torch.allclose(img[:, 16, 30], torch.tensor([0.25, 0.375, 0.75]), atol=1e-6)


def test_zero_strokes_is_background() -> None:
    layout = StrokeLayout.from_segment_counts([])
    pts = torch.zeros(0, 2, requires_grad=True)
    img = render(pts, torch.zeros(0), torch.zeros(0, 4), layout, 40, 30, background=(0.1, 0.2, 0.3))
    assert img.shape == (3, 30, 40)
    assert torch.allclose(img, torch.tensor([0.1, 0.2, 0.3])[:, None, None].expand(3, 30, 40))
    img.sum().backward()  # the graph stays connected: callers need no special case
    assert pts.grad is not None and pts.grad.shape == (0, 2)


def test_strokes_outside_canvas_are_background() -> None:
    outside = [(line(-100, -50, -20, -30), 3.0, BLACK), (line(200, 10, 300, 20), 3.0, BLACK)]
    pts, hw, col, layout = scene(outside)
    img = render(pts, hw, col, layout, 64, 32)
    assert torch.equal(img, torch.ones(3, 32, 64))


def test_stroke_order_top_stroke_wins() -> None:
    red = (1.0, 0.0, 0.0, 1.0)
    blue = (0.0, 0.0, 1.0, 1.0)
    horizontal = line(4, 16, 60, 16)
    vertical = line(32, 2, 32, 30)
    img = render(*scene([(horizontal, 3.0, red), (vertical, 3.0, blue)]), 64, 32)
    assert torch.allclose(img[:, 16, 32], torch.tensor([0.0, 0.0, 1.0]))
    img = render(*scene([(vertical, 3.0, blue), (horizontal, 3.0, red)]), 64, 32)
    assert torch.allclose(img[:, 16, 32], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(img[:, 4, 32], torch.tensor([0.0, 0.0, 1.0]))


def test_semi_transparent_over_compositing_order() -> None:
    a = (1.0, 0.0, 0.0, 0.5)
    b = (0.0, 0.0, 1.0, 0.25)
    img = render(*scene([(line(4, 16, 60, 16), 4.0, a), (line(4, 16, 60, 16), 4.0, b)]), 64, 32)
    # white -> red at .5 -> blue at .25
    first = torch.tensor([1.0, 0.5, 0.5])
    expected = 0.75 * first + 0.25 * torch.tensor([0.0, 0.0, 1.0])
    assert torch.allclose(img[:, 16, 30], expected, atol=1e-6)


def test_self_overlap_is_painted_once() -> None:
    """A stroke that crosses itself is one shape: its alpha applies once (as in SVG)."""
    pts = [[10.0, 10.0], [60.0, 60.0], [60.0, 10.0], [10.0, 60.0]]
    img = render(*scene([(pts, 3.0, (0.0, 0.0, 0.0, 0.5))]), 70, 70)
    assert img.min().item() == pytest.approx(0.5, abs=1e-5)


def _loss_fn(dtype: torch.dtype):
    torch.manual_seed(0)
    strokes = [
        (
            [[5.3, 6.1], [12.2, 20.7], [20.4, 3.3], [27.1, 14.2], [30.0, 22.0], [18.0, 28.0], [8.0, 24.0]],
            1.7,
            (0.9, 0.2, 0.1, 0.8),
        ),
        (line(3.7, 25.2, 28.9, 9.6), 2.3, (0.1, 0.3, 0.9, 0.6)),
        ([[16.2, 15.1], [17.0, 16.5], [18.4, 14.1], [19.3, 15.8]], 0.8, (0.2, 0.8, 0.3, 0.9)),
    ]
    pts, hw, col, layout = scene(strokes, dtype)
    weights = torch.rand(3, 32, 32).to(dtype)

    def loss(points: torch.Tensor, half_widths: torch.Tensor, colors: torch.Tensor) -> torch.Tensor:
        return (render(points, half_widths, colors, layout, 32, 32) * weights).sum()

    return loss, pts, hw, col


@pytest.mark.parametrize("which", ["points", "half_widths", "colors"])
def test_gradients_match_finite_differences(which: str) -> None:
    loss, pts, hw, col = _loss_fn(torch.float64)
    check_gradient(loss, {"points": pts, "half_widths": hw, "colors": col}, which)


def test_float32_gradients_close_to_float64() -> None:
    loss64, pts, hw, col = _loss_fn(torch.float64)
    loss32, *_ = _loss_fn(torch.float32)
    grads = []
    for lf, dt in ((loss64, torch.float64), (loss32, torch.float32)):
        xs = [t.to(dt).clone().requires_grad_(True) for t in (pts, hw, col)]
        lf(*xs).backward()
        grads.append([x.grad.double() for x in xs])
    for g64, g32 in zip(*grads, strict=True):
        assert torch.allclose(g32, g64, rtol=1e-3, atol=1e-3)


def test_alpha_gradient_exact_for_opaque_strokes() -> None:
    """At alpha == 1 (where the optimiser's clamp often leaves it) d pixel / d alpha is still
    rgb_top - below: nothing may clamp the gradient of the "(1 - alpha) * below" part."""
    red = (1.0, 0.0, 0.0, 1.0)
    black = (0.0, 0.0, 0.0, 1.0)
    pts, hw, col, layout = scene([(line(4, 16, 60, 16), 4.0, red), (line(4, 16, 60, 16), 4.0, black)])
    col.requires_grad_(True)
    img = render(pts, hw, col, layout, 64, 32)
    img[0, 16, 30].backward()
    # R channel: top black (0) over red (1): d/d alpha_top = 0 - 1; the red one is hidden
    assert col.grad[1, 3].item() == pytest.approx(-1.0, abs=1e-6)
    assert col.grad[0].abs().max().item() == pytest.approx(0.0, abs=1e-6)


def test_width_gradient_sign() -> None:
    """Widening a dark stroke darkens the image: d(sum)/d(hw) < 0 and ~ -2 * length."""
    # y = 16.3: band edges off the pixel grid, so no pixel sits exactly on a kink of the coverage
    pts, hw, col, layout = scene([(line(10, 16.3, 50, 16.3), 2.0, BLACK)])
    hw.requires_grad_(True)
    render(pts, hw, col, layout, 64, 32)[0].sum().backward()
    # d(area)/d(hw) = 2 * length + 2 * pi * hw (caps)
    assert -hw.grad.item() == pytest.approx(2 * 40 + 2 * math.pi * 2.0, rel=0.03)


@pytest.mark.parametrize(
    "pts, half_width, rgba",
    [
        ([[20.0, 20.0]] * 4, 1.0, (0.3, 0.3, 0.3, 1.0)),  # zero-length stroke
        ([[10.0, 10.0], [10.0, 10.0], [30.0, 30.0], [30.0, 30.0]], 1.0, (0.3, 0.3, 0.3, 0.7)),
        (line(5, 5, 35, 30), 50.0, (0.3, 0.6, 0.9, 1.0)),  # widest allowed
        (line(5, 5, 35, 30), 1.0, (0.3, 0.6, 0.9, 0.0)),  # alpha 0
        (line(5, 5, 35, 30), 0.0, (0.3, 0.6, 0.9, 1.0)),  # zero width
        (line(-50, -40, -10, -5), 3.0, BLACK),  # fully outside
        ([[5.0, 5.0], [35.0, 35.0], [5.0, 5.0], [35.0, 35.0]], 2.0, BLACK),  # cusp, retraces itself
    ],
)
def test_degenerate_input_is_finite(pts: list, half_width: float, rgba: tuple) -> None:
    p, hw, col, layout = scene([(pts, half_width, rgba), (line(2, 2, 38, 38), 1.0, (0.5, 0.1, 0.1, 0.5))])
    for t in (p, hw, col):
        t.requires_grad_(True)
    img = render(p, hw, col, layout, 40, 40)
    assert torch.isfinite(img).all() and img.min() >= 0 and img.max() <= 1
    (img * torch.linspace(0, 1, 40)).sum().backward()
    for t in (p, hw, col):
        assert t.grad is not None and torch.isfinite(t.grad).all()


def test_non_finite_input_does_not_poison_other_strokes() -> None:
    """NaN/inf control points or widths (a diverged optimiser) must not crash the search or
    blow up memory; the other strokes still render."""
    good = (line(4, 16, 60, 16), 2.0, BLACK)
    for bad in [
        ([[float("nan"), 3.0], [5, 5], [9, 9], [12, 12]], 2.0, BLACK),
        ([[float("inf"), 3.0], [5, 5], [9, 9], [-float("inf"), 12]], 2.0, BLACK),
        (line(4, 4, 60, 4), float("nan"), (1.0, 0.0, 0.0, 1.0)),
    ]:
        img = render(*scene([bad, good]), 64, 32)
        assert torch.isfinite(img).all()
        assert img[0, 16, 30].item() == pytest.approx(0.0, abs=1e-6)
    img = render(*scene([(line(4, 4, 60, 4), float("inf"), (0.0, 1.0, 0.0, 1.0))]), 64, 32)
    assert torch.allclose(img, torch.tensor([0.0, 1.0, 0.0])[:, None, None].expand(3, 32, 64))


def test_zero_length_stroke_is_a_dot() -> None:
    img = render(*scene([([[20.0, 20.0]] * 4, 3.0, BLACK)]), 40, 40)
    assert (1 - img[0]).sum().item() == pytest.approx(math.pi * 9, rel=0.03)
    assert img[0, 19, 19] == 0 and img[0, 10, 10] == 1


def test_samples_2_close_to_samples_1() -> None:
    pts, hw, col, layout = pack_drawing(default_scene(0, 64, 96))
    one = render(pts, hw, col, layout, 96, 96, samples=1)
    two = render(pts, hw, col, layout, 96, 96, samples=2)
    assert (one - two).abs().mean().item() < 2e-3
    assert (one - two).abs().max().item() < 0.25


def test_one_sample_is_close_to_the_supersampled_limit() -> None:
    """Analytic coverage at 1 sample/pixel vs 8x8 supersampling of it (the box-filter limit).

    For reference, on the default scene: 1 analytic sample 42.6 dB, diffvg-style 2x2 point
    sampling 35.6 dB, 4x4 point sampling 44.6 dB against 16x16 -- i.e. better than the
    original's 2x2 samples at a quarter of the pixels.
    """
    pts, hw, col, layout = pack_drawing(default_scene(0, 64, 96))
    one = render(pts, hw, col, layout, 96, 96, samples=1)
    ref = render(pts, hw, col, layout, 96, 96, samples=8)
    mse = ((one - ref) ** 2).mean().item()
    assert 10 * math.log10(1 / mse) > 40


def test_default_scene_renders_quickly_and_has_gradients() -> None:
    pts, hw, col, layout = pack_drawing(default_scene(0))
    for t in (pts, hw, col):
        t.requires_grad_(True)
    img = render(pts, hw, col, layout, 224, 224)
    assert img.shape == (3, 224, 224)
    assert 0.3 < img.mean().item() < 0.99
    img.mean().backward()
    for t in (pts, hw, col):
        assert torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_layout_offsets() -> None:
    layout = StrokeLayout.from_segment_counts([1, 3, 2])
    assert layout.num_strokes == 3
    assert layout.seg_stroke.tolist() == [0, 1, 1, 1, 2, 2]
    assert layout.seg_index.tolist() == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [7, 8, 9, 10],
        [10, 11, 12, 13],
        [14, 15, 16, 17],
        [17, 18, 19, 20],
    ]
    assert layout.seg_index.dtype == torch.long and layout.seg_stroke.dtype == torch.long
    assert layout.num_points == 21
    empty = StrokeLayout.from_segment_counts([])
    assert empty.num_strokes == 0 and empty.seg_index.shape == (0, 4)
    with pytest.raises(ConfigError):
        StrokeLayout.from_segment_counts([1, 0])


def test_pack_drawing_matches_strokes() -> None:
    drawing = default_scene(3, 5, 64)
    pts, hw, col, layout = pack_drawing(drawing)
    assert pts.shape == (sum(len(s.points) for s in drawing.strokes), 2)
    assert hw.tolist() == [s.half_width for s in drawing.strokes]
    np.testing.assert_allclose(col.numpy(), np.array([s.color for s in drawing.strokes]), rtol=1e-6)
    # stroke i's first control point sits at its offset
    first_points = pts[layout.seg_index[:, 0]]
    np.testing.assert_allclose(first_points[0].numpy(), drawing.strokes[0].points[0])


def test_render_drawing_uint8() -> None:
    drawing = Drawing(48, 32, (1.0, 1.0, 0.0), (Stroke(7, line(4, 16, 44, 16), 3.0, (0, 0, 1, 1)),))
    arr = render_drawing(drawing)
    assert arr.dtype == np.uint8 and arr.shape == (32, 48, 3)
    assert tuple(arr[0, 0]) == (255, 255, 0)
    assert tuple(arr[16, 20]) == (0, 0, 255)
    empty = render_drawing(Drawing(20, 16, (0.0, 0.0, 0.0), ()))
    assert empty.shape == (16, 20, 3) and empty.max() == 0


def test_backends() -> None:
    assert "torch" in available_backends()
    pts, hw, col, layout = scene([(line(4, 16, 60, 16), 4.0, BLACK)])
    with pytest.raises(ConfigError):
        render(pts, hw, col, layout, 64, 32, backend="cairo")
    if "diffvg" not in available_backends():
        with pytest.raises(ClipDrawError, match="pydiffvg"):
            render(pts, hw, col, layout, 64, 32, backend="diffvg")


def test_mismatched_layout_is_an_error() -> None:
    pts, hw, col, layout = scene([(line(4, 16, 60, 16), 4.0, BLACK)])
    with pytest.raises(ConfigError):
        render(pts, torch.ones(2), col, layout, 64, 32)
    with pytest.raises(ConfigError):
        render(pts, hw, col[:, :3], layout, 64, 32)
    with pytest.raises(ConfigError):
        render(pts.reshape(-1), hw, col, layout, 64, 32)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu() -> None:
    pts, hw, col, layout = pack_drawing(default_scene(0))
    cpu = render(pts, hw, col, layout, 224, 224)
    gpu = render(pts.cuda(), hw.cuda(), col.cuda(), layout.to("cuda"), 224, 224)
    assert (cpu - gpu.cpu()).abs().max().item() < 1e-3


def _dense_reference(drawing: Drawing) -> torch.Tensor:
    """A slow, obviously-correct renderer with the same pixel model: min distance to a densely
    sampled curve per (stroke, pixel), the same box-filter coverage, sequential "over"."""
    h, w = drawing.height, drawing.width
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    centres = torch.stack([xs + 0.5, ys + 0.5], dim=-1).reshape(-1, 2)
    t = torch.linspace(0, 1, 1001, dtype=torch.float64)[:, None]
    bern = torch.cat([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], dim=1)
    img = torch.tensor(drawing.background, dtype=torch.float64)[:, None].expand(3, h * w).clone()
    for s in drawing.strokes:
        p = torch.tensor(s.points, dtype=torch.float64)
        curve = torch.cat([bern @ p[3 * k : 3 * k + 4] for k in range(s.num_segments)])
        d = torch.cdist(centres, curve).min(dim=1).values
        hw = s.half_width
        cov = (torch.clamp(hw - d, max=0.5) - torch.clamp(-hw - d, min=-0.5)).clamp(0, 1)
        alpha = cov * s.color[3]
        img = img * (1 - alpha) + alpha * torch.tensor(s.color[:3], dtype=torch.float64)[:, None]
    return img.reshape(3, h, w).float()


def test_sparse_renderer_matches_dense_reference() -> None:
    """The sparse machinery (chords, culling, dedupe, sort, Newton, compositing) against brute force."""
    drawing = default_scene(5, 30, 40)
    rng = np.random.default_rng(0)
    strokes = [Stroke(s.id, s.points, float(rng.uniform(0.3, 4.0)), s.color) for s in drawing.strokes]
    strokes.append(Stroke(99, [[10, 10], [60, 60], [-10, 60], [40, 5]], 2.5, (0.2, 0.9, 0.4, 0.8)))
    drawing = drawing.with_strokes(strokes)
    ours = torch.from_numpy(render_drawing(drawing)).permute(2, 0, 1).float() / 255
    ref = _dense_reference(drawing)
    assert (ours - ref).abs().max().item() < 0.02  # uint8 rounding + Newton/chord tolerance
    assert (ours - ref).abs().mean().item() < 2e-3


def test_chunked_search_gives_the_same_image(monkeypatch: pytest.MonkeyPatch) -> None:
    from clipdraw_core.render import torch_renderer

    pts, hw, col, layout = pack_drawing(default_scene(1, 48, 96))
    hw = hw * 3
    whole = render(pts, hw, col, layout, 96, 96)
    monkeypatch.setattr(torch_renderer, "_CHUNK", 997)
    chunked = render(pts, hw, col, layout, 96, 96)
    assert torch.equal(whole, chunked)


def test_gradients_drive_an_optimiser_to_the_target() -> None:
    """End to end: Adam on an L2 image loss moves a stroke, its width and colour onto a target."""
    target_pts, target_hw, target_col, layout = scene(
        [([[8.0, 20.0], [14.0, 8.0], [26.0, 8.0], [32.0, 20.0]], 2.5, (0.9, 0.2, 0.1, 0.9))]
    )
    target = render(target_pts, target_hw, target_col, layout, 40, 28)
    pts = (target_pts + torch.tensor([1.5, -1.2])).requires_grad_(True)
    hw = torch.tensor([1.5], requires_grad=True)
    col = torch.tensor([[0.5, 0.5, 0.5, 0.6]], requires_grad=True)
    opt = torch.optim.Adam(
        [{"params": [pts], "lr": 0.15}, {"params": [hw], "lr": 0.08}, {"params": [col], "lr": 0.04}]
    )
    for _ in range(100):
        opt.zero_grad()
        loss = ((render(pts, hw, col, layout, 40, 28) - target) ** 2).sum()
        loss.backward()
        opt.step()
        with torch.no_grad():
            hw.clamp_(0.5, 10)
            col.clamp_(0, 1)
    assert loss.item() < 0.05
    assert (pts - target_pts).abs().max().item() < 0.3
    assert hw.item() == pytest.approx(2.5, abs=0.1)
    assert torch.allclose(col, target_col, atol=0.05)


def test_no_float64_anywhere_in_forward_and_backward() -> None:
    """MPS has no float64: with float32 input not one intermediate may be float64."""
    dispatch = pytest.importorskip("torch.utils._python_dispatch")
    pytree = pytest.importorskip("torch.utils._pytree")
    seen: list[str] = []

    class NoFloat64(dispatch.TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            out = func(*args, **(kwargs or {}))
            for t in pytree.tree_leaves(out):
                if isinstance(t, torch.Tensor) and t.dtype == torch.float64:
                    seen.append(str(func))
            return out

    pts, hw, col, layout = pack_drawing(default_scene(0, 16, 64))
    for t in (pts, hw, col):
        t.requires_grad_(True)
    with NoFloat64():
        render(pts, hw, col, layout, 64, 64, samples=2).sum().backward()
    assert not seen, seen
