"""SVG export: structure, attributes, layers in paint order, escaping, atomic save."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from clipdraw_core.drawing.strokes import Drawing, Stroke, default_scene
from clipdraw_core.errors import OutputError
from clipdraw_core.io.svg_export import CLIPDRAW_NS, INKSCAPE_NS, SVG_NS, drawing_to_svg, save_svg

NS = {"svg": SVG_NS, "inkscape": INKSCAPE_NS}
GROUPMODE = f"{{{INKSCAPE_NS}}}groupmode"
LABEL = f"{{{INKSCAPE_NS}}}label"


def _stroke(i: int, frozen: bool = False, color=(1.0, 0.5, 0.0, 0.81), hw: float = 1.5) -> Stroke:
    pts = np.array([[10, 20], [30.5, 40.25], [50.126, 60.0], [70.0001, 80]], dtype=np.float32) + i
    return Stroke(i, pts, hw, color, frozen)


def _layers(root: ET.Element) -> list[tuple[str, list[str]]]:
    out = []
    for g in root.findall("svg:g", NS):
        assert g.get(GROUPMODE) == "layer"
        out.append((g.get(LABEL), [p.get("id") for p in g.findall("svg:path", NS)]))
    return out


def test_root_attributes_title_desc_background() -> None:
    drawing = Drawing(224, 224, (1.0, 1.0, 0.0), (_stroke(0),))
    text = drawing_to_svg(drawing, title='A <cat> & "dog"', description="steps=10 \x01 lr<1")
    root = ET.fromstring(text)
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root.get("width") == "224px" and root.get("height") == "224px"
    assert root.get("viewBox") == "0 0 224 224"
    assert root.get("version") == "1.1"
    assert root.find("svg:title", NS).text == 'A <cat> & "dog"'
    assert root.find("svg:desc", NS).text == "steps=10  lr<1"  # control char dropped
    assert (
        root.find("svg:g", NS).get("{http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd}insensitive")
        == "true"
    )
    bg = root.find("svg:g/svg:rect", NS)
    assert bg.get("fill") == "#ffff00"
    assert (bg.get("width"), bg.get("height")) == ("224", "224")
    assert "rgba" not in text


def test_path_attributes_and_precision() -> None:
    drawing = Drawing(100, 80, strokes=(_stroke(7, color=(1.0, 0.5, 0.0, 0.81), hw=1.5),))
    root = ET.fromstring(drawing_to_svg(drawing, precision=2))
    (path,) = root.iter(f"{{{SVG_NS}}}path")
    assert path.get("id") == "stroke-7"
    assert path.get(f"{{{CLIPDRAW_NS}}}id") == "7"
    assert path.get(f"{{{CLIPDRAW_NS}}}frozen") == "false"
    assert path.get("d") == "M 17 27 C 37.5 47.25 57.13 67 77 87"
    assert path.get("stroke") == "#ff8000"
    assert path.get("stroke-opacity") == "0.81"
    assert path.get("stroke-width") == "3"
    assert path.get("stroke-linecap") == "round" and path.get("stroke-linejoin") == "round"
    assert path.get("fill") == "none"
    assert root.get("viewBox") == "0 0 100 80"


def test_layers_keep_paint_order_when_interleaved() -> None:
    strokes = (_stroke(0), _stroke(1), _stroke(2, True), _stroke(3), _stroke(4, True), _stroke(5, True))
    root = ET.fromstring(drawing_to_svg(Drawing(strokes=strokes)))
    assert _layers(root) == [
        ("Background", []),
        ("Generated", ["stroke-0", "stroke-1"]),
        ("Sketch (frozen)", ["stroke-2"]),
        ("Generated 2", ["stroke-3"]),
        ("Sketch (frozen) 2", ["stroke-4", "stroke-5"]),
    ]
    ids = [g.get("id") for g in root.findall("svg:g", NS)]
    assert len(set(ids)) == len(ids)
    # document order of paths == paint order
    assert [p.get("id") for p in root.iter(f"{{{SVG_NS}}}path")] == [f"stroke-{i}" for i in range(6)]


def test_flat_export_single_group() -> None:
    strokes = (_stroke(0), _stroke(1, True), _stroke(2))
    root = ET.fromstring(drawing_to_svg(Drawing(strokes=strokes), layered=False))
    groups = root.findall("svg:g", NS)
    assert len(groups) == 1
    assert groups[0].get(GROUPMODE) is None
    assert [p.get("id") for p in groups[0].findall("svg:path", NS)] == ["stroke-0", "stroke-1", "stroke-2"]
    assert groups[0].findall("svg:path", NS)[1].get(f"{{{CLIPDRAW_NS}}}frozen") == "true"


def test_default_scene_counts() -> None:
    drawing = default_scene(0)
    root = ET.fromstring(drawing_to_svg(drawing))
    paths = list(root.iter(f"{{{SVG_NS}}}path"))
    assert len(paths) == 256
    for p, s in zip(paths, drawing.strokes, strict=True):
        assert p.get("d").count(" ") == 1 + 2 * len(s.points) + 0  # "M" "x y" "C" then pairs
        assert float(p.get("stroke-width")) == pytest.approx(2.0)


def test_save_svg_atomic_and_errors(tmp_path) -> None:
    target = save_svg(tmp_path / "out.svg", default_scene(0, 3), title="x")
    assert target.read_text(encoding="utf-8").startswith("<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["out.svg"]
    with pytest.raises(OutputError):
        save_svg(tmp_path / "missing" / "out.svg", default_scene(0, 3))
