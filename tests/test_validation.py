"""Numbers checked after float32 conversion, text checked at the door (issue 15, defects 4, 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ConfigError, FileFormatError
from clipdraw_core.io.project import load_project, save_project
from clipdraw_core.io.svg_export import drawing_to_svg, save_svg
from clipdraw_core.io.svg_import import load_svg_strokes
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.validation import check_text, float32_value

POINTS = [[0, 0], [1, 1], [2, 2], [3, 3]]


@pytest.mark.parametrize("value", [1e300, -1e39, 3.5e38, 10**400, math.inf, math.nan])
def test_numbers_are_checked_after_float32_conversion(value):
    with pytest.raises(ConfigError):
        float32_value(value, "x")
    with pytest.raises(ConfigError):
        Stroke(0, POINTS, half_width=abs(value))
    with pytest.raises(ConfigError):
        Stroke(0, [[value, 0], [1, 1], [2, 2], [3, 3]])
    with pytest.raises(ConfigError):
        Stroke(0, POINTS, color=(value, 0, 0, 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": 1e400},
        {"id": 10**30},
        {"id": -1},
        {"id": "3"},
        {"frozen": "false"},
        {"points": [["12", 0], [1, 1], [2, 2], [3, 3]]},
        {"half_width": "2"},
    ],
)
def test_the_stroke_constructor_takes_no_wrong_types(kwargs):
    args = {"id": 0, "points": POINTS, "half_width": 1.0, "frozen": False} | kwargs
    with pytest.raises(ConfigError):
        Stroke(**args)
    record = {"color": [0, 0, 0, 1]} | args
    with pytest.raises(FileFormatError):
        Stroke.from_dict(record)


def test_an_infinite_svg_width_never_gets_in_and_the_drawing_still_saves(tmp_path):
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        '<path d="M 10 10 L 90 90" stroke="black" stroke-width="1e300"/>'
        '<path d="M 10 90 L 90 10" stroke="red" stroke-width="4"/>'
        '<path d="M 0 0 L 5 5" stroke="blue" transform="scale(1e38)"/>'
        "</svg>"
    )
    strokes = load_svg_strokes(svg, 100, 100)
    assert len(strokes) == 1 and strokes[0].half_width == pytest.approx(2.0)
    drawing = Drawing(100, 100, strokes=tuple(strokes))
    assert "inf" not in drawing_to_svg(drawing)
    save_project(tmp_path / "p.json", SessionConfig(width=100, height=100), drawing)
    assert load_project(tmp_path / "p.json").drawing == drawing
    only_inf = svg.replace('stroke-width="4"', 'stroke-width="1e39"')
    with pytest.raises(FileFormatError, match="no valid drawable shapes"):
        load_svg_strokes(only_inf, 100, 100)


@pytest.mark.parametrize(
    "prompt, fragment",
    [
        ("caf\udce9", "byte 0xe9, which is not UTF-8"),
        ("lone \ud800 surrogate", r"lone surrogate U\+D800"),
    ],
)
def test_text_that_cannot_be_written_is_refused_at_the_door(prompt, fragment):
    with pytest.raises(ConfigError, match=fragment):
        check_text(prompt, "the prompt")
    with pytest.raises(ConfigError, match=fragment):
        SessionConfig(prompt=prompt).validate()
    with pytest.raises(ConfigError, match="negative"):
        SessionConfig(prompt="ok", negative_prompts=(prompt,)).validate()


def test_the_svg_writer_never_dies_on_undecodable_text(tmp_path):
    drawing = Drawing(32, 32, strokes=(Stroke(0, np.array(POINTS, dtype=float)),))
    target = save_svg(tmp_path / "x.svg", drawing, title="caf\udce9", description="\ud800")
    text = target.read_text(encoding="utf-8")
    assert "caf\ufffd" in text
