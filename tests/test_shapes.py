"""Filled closed shapes: the renderer's fill (coverage, winding, gradients) and the model.

CPU only, seeded.  Fidelity against resvg/Inkscape is in test_render_fidelity.py and
test_inkscape.py; the SVG/project round trips are here.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.strokes import Drawing, Stroke, random_shapes
from clipdraw_core.errors import ConfigError
from clipdraw_core.render import StrokeLayout, pack_drawing, render, render_drawing
from tests.gradcheck import check_gradient, weighted_render_loss

BLACK = (0.0, 0.0, 0.0, 1.0)


def circle(cx: float, cy: float, r: float, reverse: bool = False) -> list[tuple[float, float]]:
    """Four cubic arcs (the usual 0.5523 handles) as a closed shape's 12 points."""
    k = 4 * math.tan(math.pi / 8) / 3
    angles = [0.0, math.pi / 2, math.pi, 3 * math.pi / 2]
    sign = 1.0
    if reverse:
        angles, sign = [-a for a in angles], -1.0
    pts = []
    for j, a in enumerate(angles):
        b = angles[(j + 1) % 4]
        p = (cx + r * math.cos(a), cy + r * math.sin(a))
        q = (cx + r * math.cos(b), cy + r * math.sin(b))
        ta = (-math.sin(a) * sign, math.cos(a) * sign)
        tb = (-math.sin(b) * sign, math.cos(b) * sign)
        pts += [p, (p[0] + k * r * ta[0], p[1] + k * r * ta[1]), (q[0] - k * r * tb[0], q[1] - k * r * tb[1])]
    return pts


def polygon(corners: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Straight edges as cubics (handles at thirds): 3 points per corner."""
    pts = []
    for j, a in enumerate(corners):
        b = corners[(j + 1) % len(corners)]
        pts += [a, (a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3)]
        pts.append((a[0] + 2 * (b[0] - a[0]) / 3, a[1] + 2 * (b[1] - a[1]) / 3))
    return pts


def star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """A pentagram drawn in one stroke: its centre pentagon has winding number 2."""
    corners = [
        (
            cx + r * math.cos(-math.pi / 2 + j * 4 * math.pi / 5),
            cy + r * math.sin(-math.pi / 2 + j * 4 * math.pi / 5),
        )
        for j in range(5)
    ]
    return polygon(corners)


def shape(pts, fill=BLACK, sid: int = 0, outlined: bool = False, hw: float = 1.0, color=BLACK) -> Stroke:
    return Stroke(sid, pts, hw, color, fill=fill, outlined=outlined)


def coverage(img: np.ndarray) -> np.ndarray:
    """Black ink on white: 0 (paper) .. 1 (ink) per pixel."""
    return (255.0 - img[..., 0].astype(np.float64)) / 255.0


def test_fill_renders_inside_and_not_outside() -> None:
    square = polygon([(10.0, 12.0), (40.0, 12.0), (40.0, 44.0), (10.0, 44.0)])
    img = render_drawing(Drawing(64, 64, (1, 1, 1), (shape(square, (1.0, 0.0, 0.0, 1.0)),)))
    # interior pixels are exactly the fill colour, outside exactly paper
    assert (img[13:43, 11:39] == [255, 0, 0]).all()
    assert (img[:11] == 255).all() and (img[45:] == 255).all()
    assert (img[:, :9] == 255).all() and (img[:, 41:] == 255).all()
    # edges on pixel boundaries are sharp: the square covers exactly 30 x 32 pixels
    assert (255 - img[..., 1].astype(int)).sum() / 255 == pytest.approx(30 * 32, abs=1e-6)


@pytest.mark.parametrize("reverse", [False, True], ids=["clockwise", "anticlockwise"])
def test_circle_area_and_antialiased_edge(reverse: bool) -> None:
    d = Drawing(64, 64, (1, 1, 1), (shape(circle(32.3, 30.7, 20.0, reverse)),))
    cov = coverage(render_drawing(d))
    # the 4-arc circle's area is pi r^2 (1 + 2.7e-4); 8-bit rounding adds at most 0.002 / px
    assert cov.sum() == pytest.approx(math.pi * 400 * 1.00027, abs=3.0)
    assert cov[30, 32] == 1.0 and cov[2, 2] == 0.0
    edge = cov[(cov > 0.02) & (cov < 0.98)]
    assert edge.size > 60  # anti-aliased rim, both orientations alike


def test_self_overlapping_star_uses_nonzero_winding() -> None:
    d = Drawing(64, 64, (1, 1, 1), (shape(star(32, 34, 26), (0.0, 0.0, 0.0, 0.5)),))
    img = render_drawing(d)
    # nonzero: the centre pentagon (winding 2) is painted once, like the points (winding 1)
    assert img[34, 32, 0] == 128  # 255 * (1 - 0.5)
    assert img[14, 32, 0] == 128  # inside the top point
    assert img[2, 2, 0] == 255
    # the inner pentagon's sides are not drawn as edges: no lighter line across it
    assert (img[28:40, 27:38, 0] == 128).all()


def test_star_matches_resvg() -> None:
    resvg_py = pytest.importorskip("resvg_py")
    from PIL import Image

    from clipdraw_core.io.svg_export import drawing_to_svg

    d = Drawing(64, 64, (1, 1, 1), (shape(star(32, 34, 26), (0.1, 0.2, 0.9, 0.7)),))
    ref = np.asarray(
        Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=drawing_to_svg(d))))).convert("RGB")
    )
    ours = render_drawing(d)
    mse = float(np.mean((ours.astype(float) - ref) ** 2))
    assert 10 * math.log10(255**2 / mse) >= 35.0


def test_outline_is_painted_over_the_fill() -> None:
    square = polygon([(10.0, 10.0), (50.0, 10.0), (50.0, 50.0), (10.0, 50.0)])
    s = shape(square, (1.0, 0.0, 0.0, 1.0), outlined=True, hw=2.0, color=(0.0, 0.0, 1.0, 1.0))
    img = render_drawing(Drawing(64, 64, (1, 1, 1), (s,)))
    assert (img[30, 30] == [255, 0, 0]).all()  # fill inside
    assert (img[30, 10] == [0, 0, 255]).all() and (img[10, 30] == [0, 0, 255]).all()  # outline on top
    assert (img[30, 7] == [255, 255, 255]).all()


def test_shapes_and_strokes_composite_in_paint_order() -> None:
    square = polygon([(10.0, 10.0), (50.0, 10.0), (50.0, 50.0), (10.0, 50.0)])
    line = [[5.0, 30.0], [25.0, 30.0], [40.0, 30.0], [60.0, 30.0]]
    below = Stroke(0, line, 3.0, (0.0, 0.0, 1.0, 1.0))
    over = shape(square, (1.0, 0.0, 0.0, 0.5), sid=1)
    img = render_drawing(Drawing(64, 64, (1, 1, 1), (below, over)))
    assert img[30, 30].tolist() == [128, 0, 128]  # half red over blue
    assert img[30, 6].tolist() == [0, 0, 255]  # the stroke outside the square
    img = render_drawing(Drawing(64, 64, (1, 1, 1), (over, Stroke(0, line, 3.0, (0.0, 0.0, 1.0, 1.0)))))
    assert img[30, 30].tolist() == [0, 0, 255]  # now the stroke is on top


def test_off_canvas_and_canvas_covering_shapes() -> None:
    away = polygon([(-50.0, -50.0), (-10.0, -50.0), (-10.0, -10.0)])
    cover = polygon([(-100.0, -100.0), (200.0, -100.0), (200.0, 200.0), (-100.0, 200.0)])
    img = render_drawing(Drawing(32, 32, (1, 1, 1), (shape(away),)))
    assert (img == 255).all()
    img = render_drawing(Drawing(32, 32, (1, 1, 1), (shape(cover, (0.0, 1.0, 0.0, 1.0)),)))
    assert (img == [0, 255, 0]).all()


def _fill_loss(dtype: torch.dtype):
    drawing = Drawing(
        32,
        32,
        (1, 1, 1),
        (
            shape(circle(14.3, 15.6, 9.2), (0.9, 0.2, 0.1, 0.8)),
            shape(
                polygon([(12.2, 4.7), (29.1, 10.3), (20.4, 28.8)]),
                (0.1, 0.3, 0.9, 0.6),
                sid=1,
                outlined=True,
                hw=1.3,
                color=(0.2, 0.7, 0.2, 0.9),
            ),
            Stroke(2, [[3.0, 25.0], [10.0, 18.0], [20.0, 30.0], [28.0, 22.0]], 1.2, (0.8, 0.8, 0.1, 0.7)),
        ),
    )
    return weighted_render_loss(drawing, dtype)


@pytest.mark.parametrize("which", ["points", "fill", "half_widths", "colors"])
def test_fill_gradients_match_finite_differences(which: str) -> None:
    loss, params = _fill_loss(torch.float64)
    check_gradient(loss, params, which)


def test_boundary_gradients_grow_the_shape_where_ink_is_wanted() -> None:
    """Minimising (1 - ink) pushes every boundary point outward (sign and reach)."""
    d = Drawing(48, 48, (1, 1, 1), (shape(circle(24.0, 24.0, 10.0)),))
    pts, hw, col, fills, layout = pack_drawing(d, with_fills=True)
    pts.requires_grad_(True)
    render(pts, hw, col, layout, 48, 48, fills=fills).sum().backward()  # white = 1: more ink lowers it
    outward = pts.detach() - torch.tensor([24.0, 24.0])
    anchors = pts.grad[::3]
    # gradient descent moves anchors along -grad: outward
    assert ((-anchors * outward[::3]).sum(1) > 0).all()


def test_non_finite_shape_is_invisible_and_spares_the_others() -> None:
    pts, hw, col, fills, layout = pack_drawing(
        Drawing(32, 32, (1, 1, 1), (shape(circle(16, 16, 8)), shape(circle(8, 8, 4), sid=1))), with_fills=True
    )
    bad = pts.clone()
    bad[13] = float("nan")  # a point of the second shape
    img = render(bad, hw, col, layout, 32, 32, fills=fills)
    assert torch.isfinite(img).all()
    assert img[0, 16, 16] == 0.0  # the first shape is still drawn


def test_supersampled_fill_is_close() -> None:
    d = Drawing(48, 48, (1, 1, 1), (shape(star(24, 25, 20), (0.3, 0.5, 0.9, 0.8)),))
    a = render_drawing(d).astype(float)
    b = render_drawing(d, samples=3).astype(float)
    assert np.abs(a - b).mean() < 1.0


def test_closed_layout_wraps_to_the_first_point() -> None:
    layout = StrokeLayout.from_segment_counts([2, 3], closed=[False, True], outlined=[True, False])
    assert layout.seg_index.tolist() == [
        [0, 1, 2, 3],
        [3, 4, 5, 6],
        [7, 8, 9, 10],
        [10, 11, 12, 13],
        [13, 14, 15, 7],
    ]
    assert layout.num_points == 16 and layout.has_fills
    assert StrokeLayout.from_segment_counts([2]).closed is None


def test_fills_are_required() -> None:
    d = Drawing(32, 32, (1, 1, 1), (shape(circle(16, 16, 8)),))
    with pytest.raises(ConfigError):
        pack_drawing(d)
    pts, hw, col, _fills, layout = pack_drawing(d, with_fills=True)
    for backend in ("torch", "diffvg"):  # refused before any renderer is asked
        with pytest.raises(ConfigError, match="fills"):
            render(pts, hw, col, layout, 32, 32, backend=backend)


def test_shape_model_validation_and_dict_round_trip() -> None:
    with pytest.raises(ConfigError):
        Stroke(0, [[0, 0], [1, 1], [2, 2], [3, 3]], fill=BLACK)  # 3k + 1 points: not closed
    s = shape(circle(10, 10, 5), (0.1, 0.2, 0.3, 0.4), outlined=True, hw=2.0)
    assert s.closed and s.num_segments == 4
    back = Stroke.from_dict(s.to_dict())
    assert back == s and back.fill == s.fill and back.outlined
    plain = Stroke(1, [[0, 0], [1, 1], [2, 2], [3, 3]])
    assert "fill" not in plain.to_dict() and Stroke.from_dict(plain.to_dict()) == plain
    assert plain.outlined  # an open stroke is always drawn


def test_random_shapes_are_closed_simple_and_on_canvas() -> None:
    shapes = random_shapes(20, 320, 200, random.Random(3))
    assert len(shapes) == 20 and all(s.closed and not s.outlined for s in shapes)
    assert [s.id for s in shapes] == list(range(20))
    for s in shapes:
        assert 3 <= s.num_segments <= 5
        c = s.points.mean(axis=0)
        assert -0.2 * 320 < c[0] < 1.2 * 320 and -0.2 * 200 < c[1] < 1.2 * 200
    # seeded: the same scene again
    again = random_shapes(20, 320, 200, random.Random(3))
    assert all(a == b for a, b in zip(shapes, again, strict=True))


def test_svg_round_trip_keeps_fills(tmp_path) -> None:
    from clipdraw_core.io.svg_export import drawing_to_svg, save_svg
    from clipdraw_core.io.svg_import import load_svg_strokes

    shapes = random_shapes(6, 224, 224, random.Random(5))
    shapes[2] = Stroke(2, shapes[2].points, 1.5, (0.2, 0.4, 0.6, 0.8), fill=shapes[2].fill, outlined=True)
    line = Stroke(6, [[5.0, 5.0], [20.0, 9.0], [30.0, 40.0], [50.0, 50.0]], 2.0, (0.5, 0.1, 0.1, 0.5))
    drawing = Drawing(224, 224, (1, 1, 1), (*shapes, line))
    text = drawing_to_svg(drawing)
    assert text.count(' Z"') == 6 and 'fill-opacity="' in text and 'fill-rule="nonzero"' in text
    back = load_svg_strokes(save_svg(tmp_path / "s.svg", drawing), 224, 224)
    assert [s.id for s in back] == [s.id for s in drawing.strokes]
    for a, b in zip(drawing.strokes, back, strict=True):
        assert a.closed == b.closed and a.outlined == b.outlined
        np.testing.assert_allclose(b.points, a.points, atol=2e-3)
        if a.closed:
            assert np.abs(np.array(b.fill) - a.fill).max() <= 0.002
        if a.outlined:
            assert np.abs(np.array(b.color) - a.color).max() <= 0.002
            assert b.half_width == pytest.approx(a.half_width, abs=1e-3)


def test_project_round_trip_keeps_fills(tmp_path) -> None:
    from clipdraw_core.io.project import load_project, save_project
    from clipdraw_core.optim.config import SessionConfig

    drawing = Drawing(224, 224, (1, 1, 1), tuple(random_shapes(4, 224, 224, random.Random(1))))
    path = save_project(tmp_path / "p.json", SessionConfig(), drawing, 3)
    back = load_project(path)
    assert all(a == b for a, b in zip(drawing.strokes, back.drawing.strokes, strict=True))
    assert all(s.fill is not None for s in back.drawing.strokes)


def test_project_schema_checks_shape_records(tmp_path) -> None:
    import json

    from clipdraw_core.errors import FileFormatError
    from clipdraw_core.io.project import load_project, save_project
    from clipdraw_core.optim.config import SessionConfig

    drawing = Drawing(224, 224, (1, 1, 1), tuple(random_shapes(2, 224, 224, random.Random(1))))
    path = save_project(tmp_path / "p.json", SessionConfig(), drawing, 0)
    data = json.loads(path.read_text())
    data["drawing"]["strokes"][0]["points"].append([1.0, 2.0])  # 3k + 1: not a closed shape
    data["drawing"]["strokes"][1]["fill"] = [0.5, 2.0, 0.5, 1.0]
    data["drawing"]["strokes"][1]["outlined"] = "yes"
    path.write_text(json.dumps(data))
    with pytest.raises(FileFormatError) as info:
        load_project(path)
    problems = " | ".join(info.value.problems)  # type: ignore[attr-defined]
    assert "strokes[0].points of a filled shape must hold 3k points" in problems
    assert "strokes[1].fill[1]" in problems and "strokes[1].outlined" in problems
