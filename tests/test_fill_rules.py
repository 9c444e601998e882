"""Fill rules (nonzero / evenodd) and compound shapes (holes): renderer, model, files, session.

CPU only, seeded. A donut is one shape of two contours: drawn in opposite directions it
has a hole under either rule, drawn the same way only under evenodd (nonzero gives the
hole winding 2: filled). A pentagram's centre has winding 2: filled by nonzero, empty
by evenodd.
"""

from __future__ import annotations

import io
import json
import math
import random

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ConfigError, FileFormatError
from clipdraw_core.render import StrokeLayout, available_backends, pack_drawing, render, render_drawing
from tests.gradcheck import check_gradient, weighted_render_loss
from tests.test_shapes import circle, polygon, star

BLACK = (0.0, 0.0, 0.0, 1.0)
HAVE_DIFFVG = "diffvg" in available_backends()


def donut(
    cx: float, cy: float, r_out: float, r_in: float, *, rule: str = "nonzero", same_way: bool = False, **kw
) -> Stroke:
    """Outer circle + inner circle as one compound shape (inner reversed unless ``same_way``)."""
    pts = circle(cx, cy, r_out) + circle(cx, cy, r_in, reverse=not same_way)
    kw.setdefault("fill", BLACK)
    kw.setdefault("outlined", False)
    return Stroke(
        kw.pop("sid", 0),
        pts,
        kw.pop("hw", 1.0),
        kw.pop("color", BLACK),
        fill_rule=rule,
        subpaths=(4, 4),
        **kw,
    )


def ink(img: np.ndarray) -> np.ndarray:
    """Black ink on white: 0 (paper) .. 1 (ink) per pixel."""
    return (255.0 - img[..., 0].astype(np.float64)) / 255.0


def one(stroke: Stroke, size: int = 64) -> np.ndarray:
    return render_drawing(Drawing(size, size, (1, 1, 1), (stroke,)))


# ----------------------------------------------------------------------------- renderer


@pytest.mark.parametrize(
    ("rule", "same_way", "hole"),
    [("nonzero", False, True), ("evenodd", False, True), ("evenodd", True, True), ("nonzero", True, False)],
    ids=["nonzero-opposite", "evenodd-opposite", "evenodd-same-way", "nonzero-same-way"],
)
def test_donut_hole_is_paper_and_ring_is_filled(rule: str, same_way: bool, hole: bool) -> None:
    cov = ink(one(donut(32.0, 32.0, 24.0, 10.0, rule=rule, same_way=same_way)))
    assert cov[2, 2] == 0.0 and cov[32, 60] == 0.0  # outside
    assert (cov[31:34, 13:17] == 1.0).all() and (cov[13:17, 31:34] == 1.0).all()  # the ring
    centre = cov[27:38, 27:38]  # well inside the 10 px hole
    assert (centre == 0.0).all() if hole else (centre == 1.0).all()
    ring_area = math.pi * (24.0**2 - 10.0**2) * 1.00027  # 4-arc circles: pi r^2 (1 + 2.7e-4)
    full_area = math.pi * 24.0**2 * 1.00027
    assert cov.sum() == pytest.approx(ring_area if hole else full_area, abs=4.0)
    # the hole's rim is anti-aliased like any edge (only where it is a real edge)
    rim = cov[20:44, 20:44]
    assert ((rim > 0.02) & (rim < 0.98)).sum() > (30 if hole else -1)


@pytest.mark.parametrize(("rule", "centre"), [("nonzero", 128), ("evenodd", 255)])
def test_self_overlapping_star_centre_by_rule(rule: str, centre: int) -> None:
    img = one(
        Stroke(0, star(32, 34, 26), 1.0, BLACK, fill=(0.0, 0.0, 0.0, 0.5), outlined=False, fill_rule=rule)
    )
    assert img[34, 32, 0] == centre  # the centre pentagon: winding 2
    assert img[14, 32, 0] == 128  # a point of the star: winding 1, filled by both rules
    assert img[2, 2, 0] == 255
    inner = img[30:39, 29:36, 0]
    assert (inner == centre).all()  # no seam across the pentagon
    if rule == "evenodd":  # the pentagon's sides are now real, anti-aliased edges
        row = img[38, 10:54, 0]
        assert ((row > 130) & (row < 253)).any()


def test_rules_agree_on_simple_shapes_and_mix_in_one_scene() -> None:
    """A simple loop looks the same under both rules; paths of both rules render side by side."""
    square = polygon([(6.0, 6.0), (30.0, 6.0), (30.0, 28.0), (6.0, 28.0)])
    a = one(Stroke(0, square, 1.0, BLACK, fill=(0.2, 0.4, 0.8, 0.7), outlined=False))
    b = one(Stroke(0, square, 1.0, BLACK, fill=(0.2, 0.4, 0.8, 0.7), outlined=False, fill_rule="evenodd"))
    assert np.array_equal(a, b)
    both = render_drawing(
        Drawing(
            64,
            64,
            (1, 1, 1),
            (
                Stroke(0, star(32, 34, 26), 1.0, BLACK, fill=(0, 0, 0, 0.5), outlined=False),
                Stroke(
                    1, star(32, 34, 26), 1.0, BLACK, fill=(0, 0, 0, 0.5), outlined=False, fill_rule="evenodd"
                ),
            ),
        )
    )
    assert both[34, 32, 0] == 128  # nonzero paints the centre, evenodd does not: one layer
    assert both[14, 32, 0] == 64  # both paint the points: two layers of 0.5


def test_compound_layout_closes_each_contour_on_its_own_start() -> None:
    layout = StrokeLayout.from_segment_counts(
        [1, 5], closed=[False, True], subpaths=[(), (2, 3)], evenodd=[False, True]
    )
    assert layout.seg_index.tolist() == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [7, 8, 9, 4],  # contour 1 (2 segments) closes on point 4
        [10, 11, 12, 13],
        [13, 14, 15, 16],
        [16, 17, 18, 10],  # contour 2 (3 segments) closes on point 10
    ]
    assert layout.evenodd is not None and layout.evenodd.tolist() == [False, True]
    assert StrokeLayout.from_segment_counts([2], closed=[True]).evenodd is None
    with pytest.raises(ConfigError, match="subpaths"):
        StrokeLayout.from_segment_counts([5], closed=[True], subpaths=[(2, 2)])


def test_outline_of_a_compound_shape_follows_every_contour() -> None:
    shape = donut(32.0, 32.0, 24.0, 10.0, fill=(1.0, 1.0, 1.0, 0.0), outlined=True, hw=1.5)
    cov = ink(one(shape))
    assert cov[32, 8] > 0.9 and cov[32, 22] > 0.9  # outer and inner rims are stroked
    assert cov[32, 15] == 0.0 and cov[32, 32] == 0.0  # the (transparent) ring and the hole


def _holes_loss(dtype: torch.dtype):
    drawing = Drawing(
        40,
        40,
        (1, 1, 1),
        (
            donut(20.3, 19.6, 14.0, 6.2, rule="evenodd", same_way=True, fill=(0.8, 0.2, 0.1, 0.7)),
            Stroke(
                1,
                star(21.0, 22.0, 15.0),
                1.2,
                (0.1, 0.5, 0.2, 0.8),
                fill=(0.1, 0.3, 0.9, 0.6),
                outlined=True,
                fill_rule="evenodd",
            ),
        ),
    )
    return weighted_render_loss(drawing, dtype)


@pytest.mark.parametrize("which", ["points", "fill", "half_widths", "colors"])
def test_evenodd_and_hole_gradients_match_finite_differences(which: str) -> None:
    loss, params = _holes_loss(torch.float64)
    grad = check_gradient(loss, params, which)
    if which == "points":  # the inner contour (points 12..23) gets gradients too: its rim is an edge
        assert grad[12:24].abs().sum() > 0


def test_supersampled_holes_are_close() -> None:
    d = Drawing(48, 48, (1, 1, 1), (donut(24.2, 23.7, 18.0, 7.5, rule="evenodd", same_way=True),))
    a = render_drawing(d).astype(float)
    b = render_drawing(d, samples=3).astype(float)
    assert np.abs(a - b).mean() < 1.0


@pytest.mark.skipif(not HAVE_DIFFVG, reason="pydiffvg is not installed (optional backend)")
def test_diffvg_fills_by_the_rule_with_holes_like_the_torch_renderer() -> None:
    """diffvg gets the shape's rule (use_even_odd_rule) and a compound shape's contours in one group."""
    for rule, same_way, hole in (("nonzero", False, True), ("nonzero", True, False), ("evenodd", True, True)):
        drawing = Drawing(64, 64, (1, 1, 1), (donut(32, 32, 24, 10, rule=rule, same_way=same_way),))
        cov = ink(render_drawing(drawing, backend="diffvg", samples=4))
        assert cov[32, 32] == (0.0 if hole else 1.0) and cov[32, 14] == 1.0 and cov[2, 2] == 0.0
    for rule, centre in (("nonzero", 1.0), ("evenodd", 0.0)):
        star_shape = Stroke(0, star(32, 34, 26), fill=BLACK, outlined=False, fill_rule=rule)
        img = render_drawing(Drawing(64, 64, (1, 1, 1), (star_shape,)), backend="diffvg")
        assert ink(img)[34, 32] == centre
    scene = holes_scene()  # both rules, holes, outlines, strokes: the two renderers agree
    ours = render_drawing(scene, samples=8)
    theirs = render_drawing(scene, backend="diffvg", samples=8)
    assert _psnr(ours, theirs) >= 45.0  # 51.4 dB measured


@pytest.mark.skipif(not HAVE_DIFFVG, reason="pydiffvg is not installed (optional backend)")
def test_diffvg_fill_gradients_agree_with_the_torch_renderer() -> None:
    """Same weighted loss, both backends at 8x8: fill colours agree closely, points in direction."""
    drawing = holes_scene()

    def grads(backend: str) -> list[torch.Tensor]:
        pts, hw, col, fills, layout = pack_drawing(drawing, with_fills=True)
        for t in (pts, col, fills):
            t.requires_grad_(True)
        img = render(pts, hw, col, layout, 128, 128, fills=fills, backend=backend, samples=8, seed=1)
        (img * torch.rand(3, 128, 128, generator=torch.Generator().manual_seed(0))).sum().backward()
        return [pts.grad[:60], fills.grad[:5]]  # the shapes' points (5 shapes, 60 points) and fills

    def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
        return torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()

    (p1, f1), (p2, f2) = grads("torch"), grads("diffvg")
    assert cosine(f1, f2) > 0.99
    assert cosine(p1, p2) > 0.95  # 0.999 measured (fills 1.000)


# ----------------------------------------------------------------------------- model


def test_fill_rule_and_subpaths_are_validated() -> None:
    with pytest.raises(ConfigError, match="fill rule"):
        Stroke(0, circle(10, 10, 5), fill=BLACK, fill_rule="winding")
    with pytest.raises(ConfigError, match="add up"):
        Stroke(0, circle(10, 10, 5) + circle(10, 10, 2), fill=BLACK, subpaths=(4, 3))
    with pytest.raises(ConfigError, match="segment count"):
        Stroke(0, circle(10, 10, 5) + circle(10, 10, 2), fill=BLACK, subpaths=(8, 0))
    with pytest.raises(ConfigError, match="only a filled shape"):
        Stroke(0, [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]], subpaths=(1, 1))
    open_stroke = Stroke(0, [[0, 0], [1, 1], [2, 2], [3, 3]], fill_rule="evenodd")
    assert open_stroke.fill_rule == "nonzero"  # nothing to fill
    single = Stroke(0, circle(10, 10, 5), fill=BLACK, subpaths=(4,))
    assert single.subpaths == () and single.contours == (4,)
    d = donut(16, 16, 10, 4, rule="evenodd")
    assert d.contours == (4, 4) and [len(p) for p in d.contour_points()] == [12, 12]


def test_dict_and_plain_round_trips_keep_rule_and_subpaths_and_old_records_read() -> None:
    d = donut(16, 16, 10, 4, rule="evenodd", outlined=True, hw=2.0)
    for back in (Stroke.from_dict(d.to_dict()), Stroke.from_plain(d.to_plain())):
        assert back == d and back.fill_rule == "evenodd" and back.subpaths == (4, 4)
    assert d.to_dict()["subpaths"] == [4, 4] and d.to_dict()["fill_rule"] == "evenodd"
    plain_shape = Stroke(1, circle(10, 10, 5), fill=BLACK)
    record = plain_shape.to_dict()
    assert "fill_rule" not in record and "subpaths" not in record  # unchanged for older apps
    assert Stroke.from_dict(record) == plain_shape and Stroke.from_dict(record).fill_rule == "nonzero"
    assert d != Stroke.from_dict({**d.to_dict(), "fill_rule": "nonzero"})


def test_project_round_trip_and_schema(tmp_path) -> None:
    from clipdraw_core.io.project import load_project, save_project
    from clipdraw_core.optim.config import SessionConfig

    drawing = Drawing(
        64,
        64,
        (1, 1, 1),
        (donut(32, 32, 20, 8, rule="evenodd"), Stroke(1, star(30, 30, 20), fill=BLACK, fill_rule="evenodd")),
    )
    path = save_project(tmp_path / "p.json", SessionConfig(width=64, height=64), drawing, 0)
    back = load_project(path).drawing
    assert back == drawing and back.strokes[0].subpaths == (4, 4) and back.strokes[1].fill_rule == "evenodd"
    data = json.loads(path.read_text())
    data["drawing"]["strokes"][0]["subpaths"] = [4, 5]
    data["drawing"]["strokes"][1]["fill_rule"] = "winding"
    path.write_text(json.dumps(data))
    with pytest.raises(FileFormatError) as info:
        load_project(path)
    problems = " | ".join(info.value.problems)  # type: ignore[attr-defined]
    assert "strokes[0].subpaths must add up to the shape's 8 segments, got 9" in problems
    assert "strokes[1].fill_rule must be one of nonzero, evenodd, got 'winding'" in problems


def test_old_project_without_rules_still_opens(tmp_path) -> None:
    from clipdraw_core.io.project import load_project, save_project
    from clipdraw_core.optim.config import SessionConfig

    drawing = Drawing(64, 64, (1, 1, 1), (Stroke(0, circle(32, 32, 20), fill=(0.1, 0.2, 0.3, 0.4)),))
    path = save_project(tmp_path / "old.json", SessionConfig(width=64, height=64), drawing, 0)
    text = path.read_text()
    assert "fill_rule" not in text and "subpaths" not in text  # what an older app wrote
    assert load_project(path).drawing.strokes[0].fill_rule == "nonzero"


# ----------------------------------------------------------------------------- SVG


def test_svg_round_trip_keeps_rules_and_holes(tmp_path) -> None:
    from clipdraw_core.io.svg_export import drawing_to_svg, save_svg
    from clipdraw_core.io.svg_import import load_svg_strokes

    drawing = Drawing(
        96,
        96,
        (1, 1, 1),
        (
            donut(40, 44, 30, 12, rule="evenodd", same_way=True, fill=(0.8, 0.1, 0.1, 0.7)),
            donut(
                60, 50, 20, 9, fill=(0.1, 0.1, 0.8, 0.6), outlined=True, hw=1.5, color=(0, 0.5, 0, 1), sid=1
            ),
            Stroke(
                2,
                star(48, 50, 30),
                1.0,
                BLACK,
                fill=(0.2, 0.6, 0.2, 0.5),
                outlined=False,
                fill_rule="evenodd",
            ),
            Stroke(3, star(48, 50, 20), 1.0, BLACK, fill=(0.9, 0.6, 0.2, 0.5), outlined=False),
        ),
    )
    text = drawing_to_svg(drawing)
    assert text.count('fill-rule="evenodd"') == 2 and text.count('fill-rule="nonzero"') == 2
    assert text.count(" Z M ") == 2  # one path per compound shape, one subpath per contour
    back = load_svg_strokes(save_svg(tmp_path / "holes.svg", drawing), 96, 96)
    assert [s.id for s in back] == [0, 1, 2, 3]
    for a, b in zip(drawing.strokes, back, strict=True):
        assert (b.fill_rule, b.subpaths, b.outlined) == (a.fill_rule, a.subpaths, a.outlined)
        np.testing.assert_allclose(b.points, a.points, atol=2e-3)
        assert np.abs(np.array(b.fill) - a.fill).max() <= 0.002
    assert (
        np.abs(
            render_drawing(Drawing(96, 96, (1, 1, 1), tuple(back))).astype(int)
            - render_drawing(drawing).astype(int)
        ).max()
        <= 2
    )


def test_foreign_svg_holes_and_rules_from_attributes_css_and_groups() -> None:
    from clipdraw_core.io.svg_import import load_svg_strokes

    ring = "M 8 8 H 56 V 56 H 8 Z M 20 20 H 44 V 44 H 20 Z"  # both squares clockwise
    letter_o = "M 8 8 H 56 V 56 H 8 Z M 20 20 V 44 H 44 V 20 Z"  # the inner one anticlockwise
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
      <style>.eo {{ fill-rule: evenodd }}</style>
      <path d="{ring}" fill="#000" fill-rule="evenodd"/>
      <path d="{ring}" fill="#000"/>
      <path d="{letter_o}" fill="#000"/>
      <path class="eo" d="{ring}" fill="#000"/>
      <g fill-rule="evenodd"><path d="{ring}" fill="#000"/></g>
      <path d="{ring}" fill="none" stroke="#000" stroke-width="2"/>
    </svg>"""
    strokes = load_svg_strokes(svg.encode(), 64, 64)
    rules = [s.fill_rule for s in strokes[:5]]
    assert rules == ["evenodd", "nonzero", "nonzero", "evenodd", "evenodd"]
    assert all(s.subpaths == (4, 4) for s in strokes[:5])
    assert len(strokes) == 7 and not any(s.closed for s in strokes[5:])  # a stroked ring: two strokes
    holes = [ink(one(s))[32, 32] == 0.0 for s in strokes[:5]]
    assert holes == [True, False, True, True, True]  # nonzero fills a same-way ring's middle
    assert all(ink(one(s))[12, 12] == 1.0 for s in strokes[:5])


def test_svg_import_limits_a_compound_shape_to_one_strokes_segments(caplog) -> None:
    from clipdraw_core.drawing.strokes import MAX_SEGMENTS_PER_STROKE
    from clipdraw_core.io.svg_import import load_svg_strokes

    n = MAX_SEGMENTS_PER_STROKE // 4 + 1  # squares of 4 segments: one too many for one shape
    d = " ".join(f"M {2 + (k % 20) * 3} {2 + (k // 20) * 3} h 2 v 2 h -2 Z" for k in range(n))
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><path d="{d}" fill="#000"/></svg>'
    with caplog.at_level("WARNING"):
        strokes = load_svg_strokes(svg.encode(), 64, 64)
    assert len(strokes) == n and all(s.closed and not s.subpaths for s in strokes)
    assert "filling each on its own" in caplog.text


# ----------------------------------------------------------------------------- fidelity


def holes_scene() -> Drawing:
    """Donuts of both rules and directions, stars of both rules, overlapping, under a few strokes."""
    rng = random.Random(4)
    strokes = [
        donut(60, 62, 44, 18, rule="nonzero", fill=(0.85, 0.2, 0.15, 0.75)),
        donut(82, 70, 36, 16, rule="evenodd", same_way=True, fill=(0.1, 0.3, 0.85, 0.6), sid=1),
        Stroke(
            2, star(64, 66, 46), 1.0, BLACK, fill=(0.1, 0.6, 0.2, 0.55), outlined=False, fill_rule="evenodd"
        ),
        Stroke(3, star(40, 90, 30), 1.0, BLACK, fill=(0.6, 0.1, 0.6, 0.7), outlined=False),
        donut(
            98,
            34,
            22,
            9,
            rule="evenodd",
            fill=(0.9, 0.75, 0.1, 0.8),
            outlined=True,
            hw=1.4,
            color=(0.1, 0.1, 0.1, 0.9),
            sid=4,
        ),
    ]
    for k in range(12):
        x, y = rng.uniform(10, 118), rng.uniform(10, 118)
        pts = [
            [x, y],
            [x + rng.uniform(-20, 20), y + rng.uniform(-20, 20)],
            [x + rng.uniform(-20, 20), y + rng.uniform(-20, 20)],
            [x + rng.uniform(-25, 25), y + rng.uniform(-25, 25)],
        ]
        strokes.append(
            Stroke(5 + k, pts, rng.uniform(0.8, 2.5), (rng.random(), rng.random(), rng.random(), 0.8))
        )
    return Drawing(128, 128, (1, 1, 1), tuple(strokes))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _independent_svg(drawing: Drawing) -> str:
    """Plain SVG written here, not by our exporter: one path per shape, ``M ... Z`` per contour."""

    def hx(c):
        return "#" + "".join(f"{round(v * 255):02x}" for v in c[:3])

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{drawing.width}" height="{drawing.height}">',
        f'<rect width="100%" height="100%" fill="{hx(drawing.background)}"/>',
    ]
    for s in drawing.strokes:
        parts = []
        for p in s.contour_points():
            q = np.concatenate([p, p[:1]]) if s.closed else p
            parts.append(
                f"M {q[0, 0]:.4f} {q[0, 1]:.4f} C "
                + " ".join(f"{x:.4f} {y:.4f}" for x, y in q[1:])
                + (" Z" if s.closed else "")
            )
        fill = (
            f'fill="{hx(s.fill)}" fill-opacity="{s.fill[3]:.4f}" fill-rule="{s.fill_rule}"'
            if s.closed
            else 'fill="none"'
        )
        line = (
            (
                f'stroke="{hx(s.color)}" stroke-opacity="{s.color[3]:.4f}" '
                f'stroke-width="{2 * s.half_width:.4f}" stroke-linecap="round" stroke-linejoin="round"'
            )
            if s.outlined
            else 'stroke="none"'
        )
        out.append(f'<path d="{" ".join(parts)}" {fill} {line}/>')
    return "\n".join([*out, "</svg>"])


@pytest.mark.parametrize("writer", ["independent", "svg_export"])
def test_holes_scene_matches_resvg(writer: str) -> None:
    resvg_py = pytest.importorskip("resvg_py")
    from PIL import Image

    from clipdraw_core.io.svg_export import drawing_to_svg

    drawing = holes_scene()
    svg = _independent_svg(drawing) if writer == "independent" else drawing_to_svg(drawing)
    ref = np.asarray(Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg)))).convert("RGB"))
    ours = render_drawing(drawing)
    assert ref.shape == ours.shape == (128, 128, 3)
    # not vacuous: the holes are paper in the reference too, the rings painted
    for y, x in ((34, 98), (66, 72)):  # the yellow donut's hole; where three holes meet
        assert (ref[y, x] > 240).all() and (ours[y, x] > 240).all()
    assert (ref[62, 24] < 200).any() and (ref[34, 84] < 200).any()  # red and yellow rings
    value = _psnr(ours, ref)
    assert value >= 30.0, f"holes scene vs resvg ({writer}): PSNR {value:.2f} dB"
    # and a renderer that ignored the rules and holes would fail the same check
    ignoring = holes_scene().with_strokes(
        Stroke(s.id, s.points, s.half_width, s.color, fill=s.fill, outlined=s.outlined) if s.closed else s
        for s in drawing.strokes
    )
    assert _psnr(render_drawing(ignoring), ref) < 25.0


# ----------------------------------------------------------------------------- session


@pytest.mark.parametrize(
    "renderer",
    ["torch", pytest.param("diffvg", marks=pytest.mark.skipif(not HAVE_DIFFVG, reason="no pydiffvg"))],
)
def test_session_keeps_rule_and_subpaths_and_renders_the_hole(tiny_clip, renderer: str) -> None:
    from clipdraw_core.drawing.commands import SetFrozen
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session

    shapes = [
        donut(32, 32, 22, 9, rule="evenodd", same_way=True, sid=100, fill=(0.2, 0.3, 0.8, 0.9)),
        Stroke(101, star(32, 32, 20), fill=(0.8, 0.3, 0.2, 0.9), outlined=False, fill_rule="evenodd"),
    ]
    config = SessionConfig(
        prompt="a ring", num_paths=2, num_steps=3, num_augs=1, width=64, height=64, seed=3, renderer=renderer
    )
    session = Session(config, tiny_clip, initial_strokes=shapes)
    snap = session.step()
    by_id = {s.id: s for s in snap.drawing.strokes}
    assert by_id[100].subpaths == (4, 4) and by_id[100].fill_rule == "evenodd"
    assert by_id[101].fill_rule == "evenodd" and by_id[101].subpaths == ()
    session.submit(SetFrozen((101,), True))  # an edit re-enters strokes: still the same shapes
    snap = session.step()
    by_id = {s.id: s for s in snap.drawing.strokes}
    assert by_id[100].subpaths == (4, 4) and by_id[101].fill_rule == "evenodd" and by_id[101].frozen
    img = render_drawing(snap.drawing.with_strokes([by_id[100]]))
    assert (img[30:35, 30:35] == 255).all()  # the hole stays paper after optimising
