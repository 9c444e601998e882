"""SVG import: every supported feature with exact numbers, hostile files, and the round trip."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from curves import sample

from clipdraw_core.drawing.strokes import Drawing, Stroke, default_scene
from clipdraw_core.errors import FileFormatError
from clipdraw_core.io.svg_export import drawing_to_svg, save_svg
from clipdraw_core.io.svg_import import OUTLINE_HALF_WIDTH, load_svg_strokes

HEAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'width="224" height="224" viewBox="0 0 224 224">'
)


def svg(body: str, head: str = HEAD) -> bytes:
    return (head + body + "</svg>").encode()


def load(body: str, head: str = HEAD, **kw) -> list[Stroke]:
    return load_svg_strokes(svg(body, head), 224, 224, **kw)


# --------------------------------------------------------------------------- features
def test_path_absolute_and_relative_lines() -> None:
    (s,) = load('<path d="M 10 20 L 30 20 l 0 10 H 50 v 10" stroke="#102030" stroke-width="4" fill="none"/>')
    assert s.num_segments == 4
    np.testing.assert_allclose(s.points[::3], [[10, 20], [30, 20], [30, 30], [50, 30], [50, 40]], atol=1e-5)
    np.testing.assert_allclose(s.points[1], [10 + 20 / 3, 20], atol=1e-4)
    assert s.color == pytest.approx((0x10 / 255, 0x20 / 255, 0x30 / 255, 1.0))
    assert s.half_width == pytest.approx(2.0)
    assert s.id == 0 and not s.frozen


def test_quadratic_is_elevated_exactly() -> None:
    (s,) = load('<path d="M0 0 Q 10 20 20 0 t 20 0" stroke="black"/>')
    assert s.num_segments == 2
    np.testing.assert_allclose(s.points[:4], [[0, 0], [20 / 3, 40 / 3], [40 / 3, 40 / 3], [20, 0]], atol=1e-4)
    # smooth quadratic reflects the control point: (30, -20)
    np.testing.assert_allclose(
        s.points[4:], [[20 + 20 / 3, -40 / 3], [40 - 20 / 3, -40 / 3], [40, 0]], atol=1e-4
    )


def test_arc_follows_the_circle() -> None:
    (s,) = load('<path d="M 10 50 a 40 40 0 0 1 80 0" stroke="black" fill="none"/>')
    r = np.linalg.norm(sample(s.points) - [50, 50], axis=1)
    np.testing.assert_allclose(r, 40, atol=0.05)
    np.testing.assert_allclose(s.points[[0, -1]], [[10, 50], [90, 50]], atol=1e-4)
    assert sample(s.points)[:, 1].min() == pytest.approx(10, abs=0.05)  # sweep=1 goes through the top


def test_circle_ellipse_rect_closed() -> None:
    strokes = load(
        '<circle cx="100" cy="100" r="30" stroke="red" stroke-width="2" fill="none"/>'
        '<ellipse cx="50" cy="60" rx="20" ry="10" stroke="blue" fill="none"/>'
        '<rect x="10" y="20" width="30" height="40" stroke="lime" fill="none"/>'
    )
    circle, ellipse, rect = strokes
    np.testing.assert_allclose(np.linalg.norm(sample(circle.points) - 100, axis=1), 30, atol=0.05)
    np.testing.assert_allclose(circle.points[0], circle.points[-1], atol=1e-4)
    assert circle.color == (1.0, 0.0, 0.0, 1.0) and circle.half_width == 1.0
    e = sample(ellipse.points)
    np.testing.assert_allclose(((e[:, 0] - 50) / 20) ** 2 + ((e[:, 1] - 60) / 10) ** 2, 1, atol=0.01)
    assert ellipse.color[:3] == (0.0, 0.0, 1.0)
    assert rect.num_segments == 4
    np.testing.assert_allclose(
        rect.points[::3], [[10, 20], [40, 20], [40, 60], [10, 60], [10, 20]], atol=1e-5
    )


def test_line_polyline_polygon() -> None:
    line, polyline, polygon = load(
        '<line x1="1" y1="2" x2="31" y2="62" stroke="black"/>'
        '<polyline points="0,0 10,0 10,10" stroke="black" fill="none"/>'
        '<polygon points="0,0 10,0 10,10" stroke="black" fill="none"/>'
    )
    np.testing.assert_allclose(line.points, [[1, 2], [11, 22], [21, 42], [31, 62]], atol=1e-4)
    assert polyline.num_segments == 2 and polygon.num_segments == 3
    np.testing.assert_allclose(polygon.points[-1], [0, 0], atol=1e-5)


def test_transforms_scale_geometry_and_width() -> None:
    (s,) = load(
        '<g transform="translate(10 20)"><g transform="scale(2)">'
        '<line x1="0" y1="0" x2="10" y2="5" stroke="black" stroke-width="3" transform="rotate(90)"/>'
        "</g></g>"
    )
    # rotate(90): (10,5) -> (-5,10); scale 2 -> (-10,20); translate -> (0,40)
    np.testing.assert_allclose(s.points[[0, -1]], [[10, 20], [0, 40]], atol=1e-4)
    assert s.half_width == pytest.approx(3.0)


def test_use_and_defs() -> None:
    strokes = load(
        '<defs><path id="tick" d="M 0 0 L 10 0" stroke="green" stroke-width="2"/></defs>'
        '<use xlink:href="#tick" x="5" y="7"/><use href="#tick" transform="translate(0 50)"/>'
    )
    assert len(strokes) == 2  # the definition itself is not drawn
    np.testing.assert_allclose(strokes[0].points[[0, -1]], [[5, 7], [15, 7]], atol=1e-4)
    np.testing.assert_allclose(strokes[1].points[[0, -1]], [[0, 50], [10, 50]], atol=1e-4)


def test_css_style_opacity_and_visibility() -> None:
    strokes = load(
        "<style>.ink { stroke: #ff0000; stroke-opacity: 0.5; stroke-width: 6 } #b { stroke: blue }</style>"
        '<path class="ink" d="M0 0 L 10 10" fill="none"/>'
        '<path id="b" d="M0 0 L 10 10" fill="none" opacity="0.5"/>'
        '<path d="M0 0 L 10 10" stroke="black" style="display:none"/>'
        '<g style="display:none"><path d="M0 0 L 10 10" stroke="black"/></g>'
        '<path d="M0 0 L 10 10" stroke="black" visibility="hidden"/>'
        '<path d="M0 0 L 10 10" stroke="none" fill="none"/>'
    )
    assert len(strokes) == 2
    assert strokes[0].color == pytest.approx((1, 0, 0, 0.5)) and strokes[0].half_width == 3
    assert strokes[1].color == pytest.approx((0, 0, 1, 0.5))


def test_non_rendered_content_is_not_imported() -> None:
    strokes = load(
        '<clipPath id="c"><rect width="5" height="5" stroke="red"/></clipPath>'
        '<mask id="m"><rect width="5" height="5" stroke="red"/></mask>'
        '<marker id="mk"><path d="M0 0 L1 1" stroke="red"/></marker>'
        '<pattern id="pt"><path d="M0 0 L1 1" stroke="red"/></pattern>'
        '<symbol id="sy"><path d="M0 0 L2 2" stroke="blue"/></symbol>'
        '<text x="3" y="3" stroke="red">hello</text>'
        '<switch><line x1="0" y1="0" x2="4" y2="4" stroke="lime"/>'
        '<line x1="0" y1="0" x2="4" y2="4" stroke="red"/></switch>'
        '<line x1="0" y1="0" x2="9" y2="9" stroke="black" clip-path="url(#c)"/>'
        '<use href="#sy" x="20" y="30"/>'
    )
    assert [s.color[:3] for s in strokes] == [(0.0, 1.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
    np.testing.assert_allclose(strokes[2].points[[0, -1]], [[20, 30], [22, 32]], atol=1e-5)


def test_gradients_use_their_first_stop_and_opacity_multiplies() -> None:
    strokes = load(
        '<defs><linearGradient id="g0"><stop offset="0" style="stop-color:#00ff00;stop-opacity:0.5"/>'
        '<stop offset="1" stop-color="red"/></linearGradient>'
        '<radialGradient id="g1" xlink:href="#g0"/>'
        '<path id="u" d="M0 0 L 5 5" stroke="red"/></defs>'
        '<line x1="0" y1="0" x2="9" y2="9" stroke="url(#g1)"/>'
        '<line x1="0" y1="0" x2="9" y2="9" style="stroke:url(#missing) blue"/>'
        '<g opacity="0.5"><line x1="0" y1="0" x2="9" y2="9" stroke="black" opacity="0.5"/>'
        '<g style="opacity:0.5;fill:none"><line x1="0" y1="0" x2="9" y2="9" stroke="black"/></g></g>'
        '<use href="#u" opacity="0.3"/>'
    )
    assert [s.color for s in strokes] == [
        pytest.approx((0, 1, 0, 0.5)),
        pytest.approx((0, 0, 1, 1)),
        pytest.approx((0, 0, 0, 0.25)),
        pytest.approx((0, 0, 0, 0.25)),
        pytest.approx((1, 0, 0, 0.3)),
    ]


def test_filled_shapes_stay_filled_and_page_background_is_skipped() -> None:
    strokes = load(
        '<rect x="0" y="0" width="224" height="224" fill="white"/>'
        '<rect x="10" y="10" width="20" height="20" fill="#00ff00" fill-opacity="0.25"/>'
    )
    (s,) = strokes
    assert s.closed and not s.outlined
    assert s.fill == pytest.approx((0, 1, 0, 0.25))
    assert s.half_width == OUTLINE_HALF_WIDTH
    # closed: 3k points, the last segment returns to the first point
    np.testing.assert_allclose(s.points[::3], [[10, 10], [30, 10], [30, 30], [10, 30]], atol=1e-5)


def test_filled_and_stroked_shape_is_an_outlined_fill_and_open_fill_is_closed() -> None:
    outlined, opened, line = load(
        '<circle cx="50" cy="50" r="20" fill="#0000ff" stroke="#ff0000" stroke-width="4"/>'
        '<path d="M 100 100 L 140 100 L 120 130" fill="#00ff00"/>'
        '<path d="M 0 0 L 10 10" fill="#00ff00" stroke="black"/>'
    )
    assert outlined.closed and outlined.outlined
    assert outlined.fill == pytest.approx((0, 0, 1, 1)) and outlined.color == pytest.approx((1, 0, 0, 1))
    assert outlined.half_width == pytest.approx(2.0)
    assert opened.closed and opened.num_segments == 3  # two lines plus the closing one
    np.testing.assert_allclose(opened.points[::3], [[100, 100], [140, 100], [120, 130]], atol=1e-5)
    assert not line.closed and line.fill is None  # a fill of zero area: the stroke alone


def test_subpaths_become_separate_strokes() -> None:
    strokes = load('<path d="M 0 0 L 10 0 Z m 20 20 l 5 0 M 50 50 h 1 z" stroke="black"/>')
    assert [s.num_segments for s in strokes] == [2, 1, 2]
    np.testing.assert_allclose(strokes[1].points[[0, -1]], [[20, 20], [25, 20]], atol=1e-5)
    assert [s.id for s in strokes] == [0, 1, 2]


def test_viewbox_and_units_fit_the_canvas() -> None:
    head = '<svg xmlns="http://www.w3.org/2000/svg" width="448" height="224" viewBox="0 0 100 50">'
    (s,) = load('<line x1="0" y1="0" x2="100" y2="50" stroke="black" stroke-width="2"/>', head)
    # 448x224 doc scaled by 0.5 -> 224x112, centred vertically (offset 56)
    np.testing.assert_allclose(s.points[[0, -1]], [[0, 56], [224, 168]], atol=1e-3)
    assert s.half_width == pytest.approx(0.5 * 2 * 4.48 * 0.5, rel=1e-4)
    head_mm = '<svg xmlns="http://www.w3.org/2000/svg" width="50mm" height="25mm" viewBox="0 0 50 25">'
    (m,) = load('<line x1="0" y1="0" x2="50" y2="25" stroke="black"/>', head_mm)
    np.testing.assert_allclose(m.points[[0, -1]], [[0, 56], [224, 168]], atol=1e-3)


def test_truncation_keeps_first_strokes_and_warns(caplog) -> None:
    body = "".join(f'<line x1="{i}" y1="0" x2="{i}" y2="10" stroke="black"/>' for i in range(20))
    with caplog.at_level(logging.WARNING, logger="clipdraw_core.io.svg_import"):
        strokes = load(body, max_strokes=5)
    assert len(strokes) == 5
    assert [s.points[0, 0] for s in strokes] == [0, 1, 2, 3, 4]
    assert "keeping the first 5" in caplog.text


def test_frozen_flag_and_first_id() -> None:
    strokes = load('<line x1="0" y1="0" x2="1" y2="1" stroke="black"/>' * 3, first_id=10, frozen=True)
    assert [s.id for s in strokes] == [10, 11, 12] and all(s.frozen for s in strokes)
    layered = load(
        '<g xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" inkscape:groupmode="layer" '
        'inkscape:label="My frozen sketch"><line x1="0" y1="0" x2="1" y2="1" stroke="black"/></g>'
        '<line x1="0" y1="0" x2="1" y2="1" stroke="black"/>'
    )
    assert [s.frozen for s in layered] == [True, False]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><path d='M0 0 L1 1' stroke='red'>", "not well-formed"),
        (b"", "empty"),
        (b"<html><body/></html>", "not an SVG"),
        (svg("<text x='1' y='10'>hello</text>"), "no drawable shapes"),
        (svg("<path d='M 0 0 L 10 10' stroke='none' fill='none'/>"), "no drawable shapes"),
    ],
)
def test_malformed_or_empty(data: bytes, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        load_svg_strokes(data, 224, 224)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(FileFormatError, match="cannot read"):
        load_svg_strokes(tmp_path / "nope.svg", 224, 224)


class _OpenSpy:
    """Audit hook that records every attempt to open a given path or connect a socket."""

    def __init__(self) -> None:
        self.watch: set[str] = set()
        self.hits: list[tuple[str, str]] = []
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple) -> None:
        if event == "open" and args and str(args[0]) in self.watch:
            self.hits.append((event, str(args[0])))
        elif event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
            self.hits.append((event, repr(args)[:80]))


_SPY: _OpenSpy | None = None


@pytest.fixture()
def open_spy():
    global _SPY
    if _SPY is None:
        _SPY = _OpenSpy()
    _SPY.hits.clear()
    _SPY.watch.clear()
    return _SPY


def test_xxe_is_rejected_without_reading_the_file(tmp_path, open_spy) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    open_spy.watch.add(str(secret))
    for target in (f"file://{secret}", "file:///etc/passwd"):
        data = (
            f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "{target}">]>'
            f'<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text>'
            '<path d="M0 0 L 9 9" stroke="black"/></svg>'
        ).encode()
        with pytest.raises(FileFormatError, match="DTD") as info:
            load_svg_strokes(data, 224, 224)
        assert "TOP-SECRET" not in str(info.value) and "root:" not in str(info.value)
    assert open_spy.hits == []


def test_billion_laughs_is_rejected_quickly() -> None:
    ents = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    data = f'<?xml version="1.0"?><!DOCTYPE svg [{ents}]><svg xmlns="http://www.w3.org/2000/svg">&lol9;</svg>'
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="DTD"):
        load_svg_strokes(data.encode(), 224, 224)
    assert time.perf_counter() - start < 1.0


def test_external_references_are_ignored(tmp_path, open_spy) -> None:
    secret = tmp_path / "secret.svg"
    secret.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><path id="p" d="M0 0 L5 5" stroke="red"/></svg>'
    )
    png = tmp_path / "secret.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    open_spy.watch.update({str(secret), str(png)})
    strokes = load(
        f'<use xlink:href="file://{secret}#p"/><use href="http://example.invalid/a.svg#p"/>'
        f'<image href="file://{png}" width="10" height="10"/>'
        f'<image xlink:href="{png}" width="10" height="10"/>'
        '<style>@import url("http://example.invalid/x.css");</style>'
        '<line x1="0" y1="0" x2="5" y2="5" stroke="black"/>'
    )
    assert len(strokes) == 1 and strokes[0].color == (0, 0, 0, 1)
    assert open_spy.hits == []


def test_plain_external_doctype_is_accepted_and_not_fetched(open_spy) -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        + svg('<line x1="0" y1="0" x2="5" y2="5" stroke="red"/>')
    )
    assert len(load_svg_strokes(data, 224, 224)) == 1
    assert open_spy.hits == []


def test_huge_file_is_rejected_quickly(tmp_path) -> None:
    path = tmp_path / "huge.svg"
    line = b'<path d="M 0 0 C 1 2 3 4 5 6 C 7 8 9 10 11 12" stroke="black"/>\n'
    with path.open("wb") as handle:
        handle.write(HEAD.encode())
        handle.write(line * (20 * 1024 * 1024 // len(line) + 1))
        handle.write(b"</svg>")
    assert path.stat().st_size > 20 * 1024 * 1024
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="too large"):
        load_svg_strokes(path, 224, 224)
    with pytest.raises(FileFormatError, match="too large"):
        load_svg_strokes(gzip.compress(path.read_bytes(), compresslevel=1), 224, 224)
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<line x1="0" y1="0" x2="1" y2="1" stroke="black"/>' * 60_000, "too many SVG elements"),
        ('<path d="' + "L 1 2 " * 250_000 + '" stroke="black"/>', "too complex"),
        ('<g id="a"><use href="#a"/></g>', "circular"),
        (
            '<defs><path id="u0" d="M0 0 L1 1" stroke="red"/>'
            + "".join(
                f'<g id="u{i}"><use href="#u{i - 1}"/><use href="#u{i - 1}"/></g>' for i in range(1, 30)
            )
            + '</defs><use href="#u29"/>',
            "too many SVG elements",
        ),
        ("<g>" * 500 + '<path d="M0 0 L1 1" stroke="red"/>' + "</g>" * 500, "deeper than"),
    ],
    ids=["elements", "numbers", "use-cycle", "use-bomb", "nesting"],
)
def test_work_bombs_are_rejected(body: str, message: str) -> None:
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match=message):
        load(body)
    assert time.perf_counter() - start < 5.0


# --------------------------------------------------------------------------- round trip
def _mixed_drawing() -> Drawing:
    base = default_scene(3, 40)
    strokes = [
        dataclasses.replace(s, id=s.id + 5, frozen=(i % 7 in (2, 3)), half_width=0.5 + 0.1 * i)
        for i, s in enumerate(base.strokes)
    ]
    return base.with_strokes(strokes)


@pytest.mark.parametrize("layered", [True, False])
def test_round_trip(tmp_path, layered: bool) -> None:
    drawing = _mixed_drawing()
    path = save_svg(tmp_path / "rt.svg", drawing, title="a <b> & c", layered=layered)
    back = load_svg_strokes(path, drawing.width, drawing.height, first_id=5)
    assert len(back) == len(drawing.strokes)
    for a, b in zip(drawing.strokes, back, strict=True):
        assert b.id == a.id and b.frozen == a.frozen
        assert b.points.shape == a.points.shape
        assert np.abs(b.points - a.points).max() <= 0.01
        assert np.abs(np.array(b.color[:3]) - a.color[:3]).max() <= 1 / 255
        assert abs(b.color[3] - a.color[3]) <= 0.005
        assert b.half_width == pytest.approx(a.half_width, abs=1e-3)
    # and exporting what we read gives the same file
    again = Drawing(drawing.width, drawing.height, drawing.background, tuple(back))
    assert drawing_to_svg(again, title="a <b> & c", layered=layered) == path.read_text()


def test_round_trip_ids_are_always_the_reserved_range_and_scales() -> None:
    drawing = _mixed_drawing()  # ids 5..44
    text = drawing_to_svg(drawing)
    n = len(drawing.strokes)
    assert [s.id for s in load_svg_strokes(text, 224, 224, first_id=100)] == list(range(100, 100 + n))
    assert [s.id for s in load_svg_strokes(text, 224, 224)] == list(range(n))  # would not fit 0..n-1
    # a permutation of the reserved range is kept as it is (paint order != id order)
    shuffled = drawing.with_strokes(reversed(drawing.strokes))
    back = load_svg_strokes(drawing_to_svg(shuffled), 224, 224, first_id=5)
    assert [s.id for s in back] == list(range(44, 4, -1))
    # sparse ids (after deletes) are renumbered compactly in paint order
    sparse = drawing.with_strokes(drawing.strokes[::2])
    assert [s.id for s in load_svg_strokes(drawing_to_svg(sparse), 224, 224, first_id=5)] == list(
        range(5, 5 + len(sparse.strokes))
    )
    big = load_svg_strokes(text, 448, 448)
    assert np.abs(big[0].points - 2 * drawing.strokes[0].points).max() <= 0.02
    assert big[0].half_width == pytest.approx(2 * drawing.strokes[0].half_width, abs=2e-3)


def test_hand_written_fixture_file() -> None:
    """tests/fixtures/sketch_features.svg: mm units + viewBox, CSS, transforms, use, gradients."""
    path = Path(__file__).parent / "fixtures" / "sketch_features.svg"
    strokes = load_svg_strokes(path, 224, 224, first_id=3)
    assert [s.id for s in strokes] == list(range(3, 13))
    s = 1.12  # 224 px canvas / 200 viewBox units (100 mm document), centred: y offset 56

    def canvas(x: float, y: float) -> list[float]:
        return [x * s, y * s + 56]

    quad, accent, circle, ellipse, polyline, polygon, dashed, tick1, tick2, rect = strokes
    np.testing.assert_allclose(
        quad.points[[0, 3, 6]], [canvas(10, 10), canvas(50, 10), canvas(90, 10)], atol=1e-3
    )
    assert quad.color == pytest.approx(
        (0x1A / 255, 0x1A / 255, 0x1A / 255, 1)
    ) and quad.half_width == pytest.approx(s)
    assert accent.color == pytest.approx((0.8, 0, 0, 0.6))
    np.testing.assert_allclose(accent.points[[0, -1]], [canvas(10, 70)] * 2, atol=1e-3)
    np.testing.assert_allclose(
        np.linalg.norm(sample(circle.points) - canvas(150, 30), axis=1), 20 * s, atol=0.05
    )
    assert ellipse.color == pytest.approx((0, 0xAA / 255, 0, 1)) and ellipse.half_width == pytest.approx(
        1.5 * s
    )
    assert polyline.num_segments == 3
    assert polygon.fill == pytest.approx((1, 0x99 / 255, 0, 0.5)) and not polygon.outlined
    assert polygon.half_width == OUTLINE_HALF_WIDTH
    np.testing.assert_allclose(dashed.points[[0, -1]], [canvas(90, 5), canvas(90, 95)], atol=1e-3)
    np.testing.assert_allclose(tick1.points[[0, -1]], [canvas(190, 5), canvas(190, 15)], atol=1e-3)
    np.testing.assert_allclose(tick2.points[0], canvas(195, 5), atol=1e-3)
    assert rect.color == pytest.approx((0.2, 0.2, 0.2, 0.25)) and rect.num_segments == 4


def test_dots_and_invisible_strokes_survive_the_round_trip() -> None:
    drawing = Drawing(
        strokes=(
            Stroke(3, [[10, 10]] * 4, 2.0, (0, 0, 0, 1)),  # a single click: zero-length dot
            Stroke(4, [[0, 0], [1, 1], [2, 2], [3, 3]], 0.0, (0.2, 0.4, 0.6, 0.0)),  # invisible
            Stroke(5, [[5, 5], [6, 5], [7, 5], [8, 5]], 1.0, (0.2, 0.4, 0.6, 0.001)),  # nearly
        )
    )
    back = load_svg_strokes(drawing_to_svg(drawing), 224, 224, first_id=3)
    assert [s.id for s in back] == [3, 4, 5]
    np.testing.assert_array_equal(back[0].points, drawing.strokes[0].points)
    assert back[1].half_width == 0.0 and back[1].color[3] == 0.0
    assert back[2].color[3] == pytest.approx(0.001)
    # in a foreign file, invisible shapes are skipped, and "M x y Z" is a round dot
    dots = load(
        '<path d="M 5 5 Z" stroke="red" stroke-width="4"/><path d="M 1 1 L 9 9" stroke="red" '
        'stroke-opacity="0"/><circle cx="3" cy="3" r="0" stroke="red"/>'
    )
    assert len(dots) == 1
    np.testing.assert_array_equal(dots[0].points, [[5, 5]] * 4)


def test_moving_a_stroke_between_layers_in_an_editor_changes_its_frozen_flag() -> None:
    drawing = Drawing(
        strokes=tuple(Stroke(i, [[i, 0], [i, 1], [i, 2], [i, 3]], 1.0, frozen=i == 1) for i in range(3))
    )
    text = drawing_to_svg(drawing)
    assert [s.frozen for s in load_svg_strokes(text, 224, 224)] == [False, True, False]
    # cut stroke-2's element out of "Generated 2" and paste it into "Sketch (frozen)"
    start = text.index('<path id="stroke-2"')
    element = text[start : text.index("/>", start) + 2]
    text = text.replace(element, "")
    anchor = text.index("</g>", text.index('inkscape:label="Sketch (frozen)"'))
    text = text[:anchor] + element + text[anchor:]
    moved = load_svg_strokes(text, 224, 224)
    assert [(s.id, s.frozen) for s in moved] == [(0, False), (1, True), (2, True)]
    # a layer of the artist's own: our attribute decides
    own = drawing_to_svg(drawing).replace('inkscape:label="Sketch (frozen)"', 'inkscape:label="Ink"')
    assert [s.frozen for s in load_svg_strokes(own, 224, 224)] == [False, True, False]
