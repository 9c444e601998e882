"""Stylesheets and big files stay within the import budget (issue 15, defect 3).

Time bounds here are generous guards against a hang (the quadratic cases took 24 s to
minutes before), not speed measurements.
"""

from __future__ import annotations

import logging
import time

import pytest

from clipdraw_core.errors import FileFormatError
from clipdraw_core.io import svg_import
from clipdraw_core.io.svg_import import load_svg_strokes

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
LINE = '<path d="M 10 10 L 90 90" stroke="black"/>'


def load(body: str, **kwargs):
    return load_svg_strokes(HEAD + body + "</svg>", 100, 100, **kwargs)


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


@pytest.mark.parametrize(
    "css",
    [
        "a" * 200_000,  # no braces: svgelements' regex is quadratic on this (50 KB took 24 s)
        "/*" * 100_000,  # unterminated comments
        "p{" * 60_000,  # unclosed rules
        "@media x { " * 20_000,
    ],
    ids=["no-braces", "comments", "unclosed", "at-rules"],
)
def test_hostile_stylesheets_are_cheap(css):
    strokes, seconds = timed(load, f"<style>{css}</style>" + LINE)
    assert len(strokes) == 1 and seconds < 3


def test_an_oversized_stylesheet_is_refused():
    css = "path{stroke:red}" * (svg_import.MAX_STYLE_CHARS // 16 + 1)
    with pytest.raises(FileFormatError, match="stylesheets are too large"):
        load(f"<style>{css}</style>" + LINE)


def test_selectors_times_elements_is_bounded():
    rule = "*{" + ";".join(["stroke:black"] * 1000) + "}"  # 13 KB applied to every element
    body = f"<style>{rule}</style>" + LINE * 2000
    with pytest.raises(FileFormatError, match="stylesheet applies to too many elements") as info:
        timed(load, body)
    assert "\n" not in str(info.value)
    # the same rule on a few elements is fine
    assert len(load(f"<style>{rule}</style>" + LINE * 10)) == 10


def test_css_still_works_after_it_is_rewritten():
    css = (
        "/* a comment */ .a { stroke: #ff0000 } path.b{stroke-width:4} "
        "@media print { path { stroke: blue } } #p { stroke-opacity: 0.5 } g path, .c {stroke:#00ff00}"
    )
    body = (
        f"<style><![CDATA[{css}]]></style>"
        '<path class="a b" d="M 0 0 L 10 10"/><path id="p" class="a" d="M 0 0 L 10 20"/>'
        '<path class="c" d="M 0 0 L 10 30"/>'
    )
    red, half, green = load(body)
    assert red.color[:3] == (1.0, 0.0, 0.0) and red.half_width == pytest.approx(2.0)
    assert half.color[3] == pytest.approx(0.5) and half.half_width == pytest.approx(0.5)
    assert green.color[:3] == (0.0, 1.0, 0.0)


def test_too_many_arcs_are_refused_up_front():
    arcs = " ".join(f"A 40 30 0 1 {i % 2} {10 + i % 80} {10 + i % 70}" for i in range(25_000))
    with pytest.raises(FileFormatError, match="too many elliptical arcs"):
        load(f'<path d="M 50 50 {arcs}" stroke="black"/>')
    arcs = " ".join(f"a 5 5 0 1 1 {1 + i % 3} 1" for i in range(2_000))
    strokes = load(f'<path d="M 0 50 {arcs}" stroke="black"/>')
    assert sum(s.num_segments for s in strokes) <= 8 * 2_000


def test_the_segment_budget_truncates_with_a_warning(caplog, monkeypatch):
    monkeypatch.setattr(svg_import, "MAX_IMPORT_SEGMENTS", 2_000)
    lines = " ".join(f"L {i % 90} {(i * 7) % 90}" for i in range(5_000))
    with caplog.at_level(logging.WARNING, logger="clipdraw_core.io.svg_import"):
        strokes = load(f'<path d="M 0 0 {lines}" stroke="black"/>' + LINE)
    assert 0 < sum(s.num_segments for s in strokes) <= 2_000
    assert "more than 2000 curve segments" in caplog.text
