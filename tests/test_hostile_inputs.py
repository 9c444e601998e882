"""Property-based tests: any project or SVG document gives a result or a ClipDrawError.

Hypothesis generates hostile documents (wrong types, huge and non-finite numbers, bad
text, odd nesting, random CSS and transforms); the loaders must never raise anything
else and must answer within a time bound. Example counts are modest so CI stays fast.
"""

from __future__ import annotations

import json
import time
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipdraw_core.drawing.strokes import default_scene
from clipdraw_core.errors import ClipDrawError
from clipdraw_core.io.project import Project, project_from_json, project_to_json
from clipdraw_core.io.svg_import import load_svg_strokes
from clipdraw_core.optim.config import SessionConfig

#: Seconds one document may take (generous: the machine running CI may be shared).
TIME_BOUND = 5.0
SETTINGS = settings(
    max_examples=60,
    deadline=None,  # measured explicitly with TIME_BOUND; hypothesis' deadline is flaky on shared CPUs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

# ------------------------------------------------------------------ projects
GOOD = json.loads(project_to_json(SessionConfig(num_paths=3), default_scene(1, num_paths=3), step=2))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, 1, -1, 2**31, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, 3.5e38, 1e-320]),
    st.text(max_size=12),
    st.sampled_from(["false", "12", "\ud800", "caf\udce9", "", "auto", "diffvg", "NaN"]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for k, value in enumerate(node):
            out += _paths(value, (*prefix, k))
    return out


PATHS = _paths(GOOD)


def _replace(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@st.composite
def hostile_projects(draw) -> str:
    doc = json.loads(json.dumps(GOOD))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        try:
            doc = _replace(doc, path, draw(json_values))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed this path
    text = json.dumps(doc)
    cut = draw(st.one_of(st.none(), st.integers(0, len(text))))
    if cut is not None and draw(st.booleans()):
        text = text[:cut] + draw(st.sampled_from(["", "]", "{", '"', "1e400", "[" * 3000])) + text[cut:]
    return text


def _answers(load, document) -> Any:
    start = time.monotonic()
    try:
        result = load(document)
    except ClipDrawError as exc:
        result = exc
        assert "\n" not in str(exc)
    assert time.monotonic() - start < TIME_BOUND
    return result


@SETTINGS
@given(hostile_projects())
def test_any_project_document_gives_a_project_or_a_clipdraw_error(text):
    result = _answers(project_from_json, text)
    if isinstance(result, Project):
        # what was accepted can be saved again and reloads to the same project
        again = project_from_json(project_to_json(result.config, result.drawing, result.step))
        assert again.drawing == result.drawing and again.config == result.config


# ------------------------------------------------------------------ SVG
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["1e300", "-1e300", "1e39", "nan", "inf", "0", "-0", "50%", "3px", "", "x"]),
)
path_data = st.lists(
    st.tuples(st.sampled_from(list("MmLlHhVvCcSsQqTtAaZz")), st.lists(numbers, max_size=7)),
    min_size=1,
    max_size=12,
).map(lambda parts: " ".join(c + " " + " ".join(n) for c, n in parts))
transforms = st.lists(
    st.tuples(
        st.sampled_from(["matrix", "translate", "scale", "rotate", "skewX", "skewY", "bogus"]),
        st.lists(numbers, max_size=6),
    ),
    max_size=3,
).map(lambda ts: " ".join(f"{name}({','.join(args)})" for name, args in ts))
colours = st.sampled_from(
    ["black", "#f00", "#12345678", "red", "none", "url(#g)", "url(#missing) blue", "rgb(300,-1,2)", "", "??"]
)
css = st.lists(
    st.tuples(
        st.sampled_from(["*", "path", ".a", "#p", "g path", "@media x", "", "{"]),
        st.lists(
            st.tuples(
                st.sampled_from(["stroke", "fill", "stroke-width", "opacity", "display"]), numbers | colours
            ),
            max_size=4,
        ),
    ),
    max_size=4,
).map(lambda rules: " ".join(f"{sel}{{{';'.join(f'{k}:{v}' for k, v in decls)}}}" for sel, decls in rules))

ATTRS: dict[str, st.SearchStrategy[str]] = {
    "d": path_data,
    "points": st.lists(numbers, max_size=10).map(" ".join),
    "x": numbers,
    "y": numbers,
    "width": numbers,
    "height": numbers,
    "r": numbers,
    "rx": numbers,
    "cx": numbers,
    "cy": numbers,
    "x1": numbers,
    "y2": numbers,
    "transform": transforms,
    "stroke": colours,
    "fill": colours,
    "stroke-width": numbers,
    "opacity": numbers,
    "stroke-opacity": numbers,
    "style": st.sampled_from(["", "stroke:red", "opacity:1e300", "display:none", "stroke-width:inf"]),
    "id": st.sampled_from(["p", "g", "a", "b"]),
    "class": st.sampled_from(["a", "b c"]),
    "href": st.sampled_from(["#p", "#g", "#a", "#missing", "http://example.com/x.svg"]),
    "viewBox": st.lists(numbers, min_size=0, max_size=4).map(" ".join),
}
TAGS = [
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "g",
    "use",
    "defs",
    "symbol",
    "switch",
    "text",
    "linearGradient",
    "stop",
]


@st.composite
def elements(draw, depth: int = 0) -> str:
    tag = draw(st.sampled_from(TAGS))
    names = draw(st.lists(st.sampled_from(sorted(ATTRS)), max_size=6, unique=True))
    attrs = "".join(f" {name}={quoteattr(draw(ATTRS[name]))}" for name in names)
    children = draw(st.lists(elements(depth + 1), max_size=3)) if depth < 3 else []
    if tag == "text":
        children = [escape(draw(st.text(max_size=10)))]
    return f"<{tag}{attrs}>{''.join(children)}</{tag}>"


@st.composite
def hostile_svgs(draw) -> str:
    root_attrs = "".join(
        f" {name}={quoteattr(draw(ATTRS[name]))}"
        for name in draw(st.lists(st.sampled_from(["width", "height", "viewBox", "transform"]), unique=True))
    )
    style = f"<style>{escape(draw(css))}</style>" if draw(st.booleans()) else ""
    body = "".join(draw(st.lists(elements(), min_size=1, max_size=5)))
    return f'<svg xmlns="http://www.w3.org/2000/svg"{root_attrs}>{style}{body}</svg>'


@settings(SETTINGS, max_examples=40)
@given(hostile_svgs(), st.integers(16, 300))
def test_any_svg_document_gives_strokes_or_a_clipdraw_error(document, size):
    result = _answers(lambda doc: load_svg_strokes(doc, size, size), document)
    if isinstance(result, list):
        assert result, "an empty result must be an error, not an empty list"
        for stroke in result:
            assert stroke.points.dtype.name == "float32"
