"""SVG sketch -> our cubic strokes, parsed defensively.

An SVG dropped on the window may come from anywhere, so the file is checked *before*
svgelements (the well-kept SVG parser we use for the geometry) sees it:

* size: at most :data:`MAX_SVG_BYTES` (also after gunzipping ``.svgz``);
* XML: parsed once with expat; a document type with an internal subset (``<!DOCTYPE
  svg [ ... ]>``) or any ``<!ENTITY>`` is rejected outright — that closes XXE
  (``file:///etc/passwd``) and entity-expansion bombs ("billion laughs"). A plain
  external ``<!DOCTYPE svg PUBLIC ...>`` line (Illustrator writes one) is accepted and
  never fetched. Nesting deeper than :data:`MAX_SVG_DEPTH` is rejected;
* work: the element count *after* ``<use>`` expansion (:data:`MAX_SVG_ELEMENTS`) and the
  number of path coordinates (:data:`MAX_SVG_NUMBERS`) are bounded, and circular
  ``<use>`` references are rejected, so a small hostile file cannot make svgelements
  run for minutes;
* stylesheets: at most :data:`MAX_STYLE_CHARS` of ``<style>`` text, rewritten by our own
  linear-time parser into plain ``selector{declarations}`` rules before svgelements sees
  them (its regex is quadratic on text without braces); the stylesheet text applied to
  elements, summed over all elements (selectors x elements), at most
  :data:`MAX_STYLE_WORK` characters; elliptical arcs at most :data:`MAX_SVG_ARCS`; the
  result at most :data:`MAX_IMPORT_SEGMENTS` cubic segments (the rest is dropped with a
  warning). Budget: with these limits any accepted file imports in under 5 s of CPU
  time and 256 MB peak memory (whole process) on a 2020s laptop/desktop core; files
  beyond them are refused up front in well under a second;
* no network or file access: ``<image>`` and ``<text>`` are ignored, ``<use>`` resolves
  only ``#id`` references inside the same document (svgelements never fetches).

Conversion rules (documented for the UI text):

* every drawable shape (path, line, polyline, polygon, rect, circle, ellipse, also via
  ``<use>``) with transforms, ``viewBox``/units, CSS ``<style>``, inherited attributes;
  each subpath (each ``M``) of a stroked shape becomes its own stroke; lines/quadratics/
  arcs become exact or close cubics; closed shapes get their closing segment;
* stroked shapes keep stroke colour, ``stroke-opacity`` x ``opacity`` and width (scaled
  by the transforms); *filled* subpaths that enclose an area become closed filled
  shapes (fill colour, ``fill-opacity`` x ``opacity``; an open subpath is closed with a
  line, as SVG fills it), with the shape's ``fill-rule`` (nonzero or evenodd, also
  from CSS or a parent group); a filled shape with several subpaths that enclose an
  area (a letter "O", a donut) becomes one *compound* shape, so its holes stay holes
  (unless its contours together exceed the segment limit of one stroke: then each
  is filled on its own and a warning says so); outlined when the shape is also
  stroked (a filled-only shape keeps its fill colour, opaque, and
  :data:`OUTLINE_HALF_WIDTH` for when its outline is switched on); a filled-only rectangle covering the whole
  document is taken as a background and skipped; ``display:none``/``visibility:hidden``
  shapes are skipped;
* the document is scaled to fit the canvas (aspect preserved, centred) when its size
  differs from the canvas;
* frozen flags come from the Inkscape layer (a label containing "frozen" freezes, our
  "Generated" layers free, so moving a stroke between layers in Inkscape changes it),
  else from our ``clipdraw:frozen`` attribute; files we exported keep their stroke ids
  (``clipdraw:id``) when these are exactly the ids the caller reserved (see
  :func:`load_svg_strokes`);
  our background rectangle is skipped;
* more than ``max_strokes`` strokes: the first ``max_strokes`` in paint order are kept
  and a warning is logged (truncation, not an error, so a big sketch still seeds);
* content that is never drawn as a stroke is removed first: clip paths, masks,
  markers, patterns, filters, gradients, ``<text>``, ``<image>``, ``<foreignObject>``,
  scripts, unused ``<symbol>``; ``<switch>`` keeps its first child; a gradient paint
  becomes the colour (and opacity) of its first stop; ``opacity`` of nested groups is
  multiplied onto the shapes.

Not supported (approximated or dropped): text (not converted to outlines), raster
images, gradients/patterns (first stop colour only), clipping and masking (shapes are
imported unclipped), markers, filters, dash arrays (strokes become solid), caps/joins
(ours are always round), blend modes,
``vector-effect: non-scaling-stroke``, ``<symbol>`` viewBox sizing through
``<use width/height>``, non-uniform stroke scaling (a uniform average is used), CSS
beyond svgelements' simple selectors (no ``@import``, media queries), external
references of any kind, DTD internal subsets/entities, SMIL animation.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.parsers import expat

import numpy as np

from clipdraw_core.drawing.strokes import (
    FILL_RULES,
    MAX_SEGMENTS_PER_STROKE,
    MAX_STROKES,
    Stroke,
    check_canvas_size,
)
from clipdraw_core.errors import ClipDrawError, FileFormatError
from clipdraw_core.io.fileio import read_regular_file
from clipdraw_core.io.svg_export import CLIPDRAW_NS, INKSCAPE_NS, SVG_NS

logger = logging.getLogger(__name__)

MAX_SVG_BYTES = 10 * 1024 * 1024
MAX_SVG_ELEMENTS = 50_000
MAX_SVG_NUMBERS = 400_000
MAX_SVG_DEPTH = 200
MAX_USE_DEPTH = 32
#: Elliptical arcs in path data (after <use> expansion): svgelements parameterises each
#: one eagerly, the most expensive thing it does per number.
MAX_SVG_ARCS = 20_000
#: Characters of all <style> elements together (CSS is rewritten first, see _clean_css).
MAX_STYLE_CHARS = 256 * 1024
#: Stylesheet text applied to elements, summed over all elements (selectors x elements):
#: svgelements re-splits the matching rules' text for every element it builds.
MAX_STYLE_WORK = 2_000_000
#: Cubic segments the import may produce in total; past this the rest is dropped, with a
#: warning, as strokes past ``max_strokes`` are.
MAX_IMPORT_SEGMENTS = 100_000
#: Largest arc sweep one cubic approximates (45 degrees: radial error below 5e-6 x radius).
_ARC_SWEEP_PER_CUBIC = math.tau / 8
#: Half-width (canvas px) given to the (hidden) outline of a filled-only shape.
OUTLINE_HALF_WIDTH = 1.0

_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARC_PART = re.compile(rb"[Aa]([^MmZzLlHhVvCcSsQqTt]*)")
_CD_ID = f"{{{CLIPDRAW_NS}}}id"
_CD_FROZEN = f"{{{CLIPDRAW_NS}}}frozen"
_CD_ROLE = f"{{{CLIPDRAW_NS}}}role"
_CD_LAYER = f"{{{CLIPDRAW_NS}}}layer"  # set by _simplify: label of the enclosing Inkscape layer
_INK_LABEL = f"{{{INKSCAPE_NS}}}label"
_INK_MODE = f"{{{INKSCAPE_NS}}}groupmode"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_SHAPES = frozenset({"path", "line", "polyline", "polygon", "rect", "circle", "ellipse"})
_STYLE_OPACITY = re.compile(r"(?:^|(?<=;))\s*opacity\s*:\s*([^;]*);?")
_STYLE_PAINT = re.compile(r"(fill|stroke)\s*:\s*([^;]*url\([^;]*)")
_GENERATED_LAYER = re.compile(r"Generated(?: \d+)?")
#: Elements whose content is never drawn as strokes (removed before svgelements runs).
_NOT_DRAWN = frozenset(
    {
        "clipPath",
        "mask",
        "marker",
        "pattern",
        "filter",
        "linearGradient",
        "radialGradient",
        "meshgradient",
        "text",
        "image",
        "foreignObject",
        "script",
        "metadata",
        "title",
        "desc",
    }
)


# --------------------------------------------------------------------------- reading
def _read_source(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    """Return (bytes, name for messages); gunzip .svgz; enforce the size limit."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "SVG data"
    elif isinstance(source, str) and source.lstrip().startswith("<"):
        data, name = source.encode("utf-8"), "SVG text"
    else:
        path = Path(source)
        name = str(path)
        try:
            data = read_regular_file(path, MAX_SVG_BYTES, "SVG")
        except FileFormatError as exc:
            if "too large" in str(exc):
                raise FileFormatError(f"{exc}; simplify it in your vector editor first") from None
            raise
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                data = gz.read(MAX_SVG_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise FileFormatError(f"{name}: damaged compressed SVG (.svgz): {exc}") from exc
    if len(data) > MAX_SVG_BYTES:
        raise FileFormatError(
            f"{name}: SVG is too large (> {MAX_SVG_BYTES / 1e6:.0f} MB); "
            "simplify it in your vector editor first"
        )
    if not data.strip():
        raise FileFormatError(f"{name}: the SVG file is empty")
    return data, name


class _Rejected(Exception):
    """Raised from expat callbacks to stop parsing a hostile document."""


def _check_xml(data: bytes, name: str) -> None:
    """Safety pass with expat: no DTD internal subset/entities, bounded depth, SVG root."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    state: dict[str, Any] = {"depth": 0, "root": None, "count": 0}

    def doctype(_name: str, _sysid: Any, _pubid: Any, has_internal_subset: int) -> None:
        if has_internal_subset:
            raise _Rejected(
                "SVG files with an internal DTD (<!DOCTYPE ... [ ... ]>) are not accepted because "
                "entity declarations can read local files or explode in size; re-save it as plain SVG"
            )

    def entity(*_args: Any) -> None:
        raise _Rejected(
            "SVG files declaring XML entities (<!ENTITY>) are not accepted; re-save it as plain SVG"
        )

    def external(*_args: Any) -> int:
        raise _Rejected(
            "SVG files referring to external XML entities are not accepted; re-save it as plain SVG"
        )

    def start(tag: str, _attrs: Any) -> None:
        if state["root"] is None:
            state["root"] = tag
        state["depth"] += 1
        state["count"] += 1
        if state["count"] > MAX_SVG_ELEMENTS:
            raise _Rejected(
                f"too many SVG elements (more than {MAX_SVG_ELEMENTS}); simplify the drawing first"
            )
        if state["depth"] > MAX_SVG_DEPTH:
            raise _Rejected(f"SVG nests elements deeper than {MAX_SVG_DEPTH} levels; flatten its groups")

    def end(_tag: str) -> None:
        state["depth"] -= 1

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _Rejected as exc:
        raise FileFormatError(f"{name}: {exc}") from None
    except expat.ExpatError as exc:
        raise FileFormatError(
            f"{name}: not well-formed XML ({expat.ErrorString(exc.code)} at line {exc.lineno}, "
            f"column {exc.offset}); is it really an SVG file?"
        ) from None
    root = state["root"] or ""
    if root.rsplit(" ", 1)[-1] != "svg":
        raise FileFormatError(f"{name}: not an SVG file (the root element is <{root.rsplit(' ', 1)[-1]}>)")


def _local(tag: Any) -> str | None:
    """Local name of an SVG (or un-namespaced) element; None for other namespaces/comments."""
    if not isinstance(tag, str):
        return None
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return local if ns == SVG_NS else None
    return tag


def _first_stop(gradient: ET.Element, by_id: dict[str, ET.Element]) -> tuple[str, str] | None:
    """(stop-color, stop-opacity) of a gradient's first stop, following one href."""
    for grad in (gradient, by_id.get((gradient.get("href") or gradient.get(_XLINK_HREF) or "#")[1:])):
        if grad is None:
            continue
        for stop in grad:
            if _local(stop.tag) != "stop":
                continue
            style = dict(
                (k.strip(), v.strip())
                for k, _, v in (d.partition(":") for d in (stop.get("style") or "").split(";"))
                if k.strip()
            )
            colour = style.get("stop-color", stop.get("stop-color", "black"))
            opacity = style.get("stop-opacity", stop.get("stop-opacity", "1"))
            return colour, opacity
    return None


def _simplify(root: ET.Element, by_id: dict[str, ET.Element]) -> None:
    """Prepare the tree for svgelements, in place.

    Drops what is never drawn as a stroke (clip paths, masks, markers, patterns,
    filters, gradients, text, images, foreign objects, scripts), keeps only the first
    child of ``<switch>``, replaces gradient paints ``url(#id)`` in attributes and inline
    styles by the gradient's first stop colour, and writes the product of the
    ``opacity`` of all ancestor groups onto each shape (svgelements would let the
    innermost value override instead of multiplying).
    """
    gradients = {
        gid: stop
        for gid, el in by_id.items()
        if _local(el.tag) in ("linearGradient", "radialGradient") and (stop := _first_stop(el, by_id))
    }
    url = re.compile(r"url\(\s*['\"]?#([^)'\"]+)['\"]?\s*\)(\s*[#a-zA-Z]\w*)?")

    def paint(value: str, prop: str, el: ET.Element) -> str:
        def sub(m: re.Match[str]) -> str:
            stop = gradients.get(m.group(1))
            if stop is None:
                return (m.group(2) or "black").strip()  # fallback colour or black
            if el.get(f"{prop}-opacity") is None:
                el.set(f"{prop}-opacity", stop[1])
            return stop[0]

        return url.sub(sub, value)

    def walk(el: ET.Element, opacity: float, layer: str | None) -> None:
        if el.get(_INK_MODE) == "layer":
            layer = el.get(_INK_LABEL) or ""
        if layer is not None and (_local(el.tag) in _SHAPES or _local(el.tag) == "use"):
            el.set(_CD_LAYER, layer)  # the Inkscape layer a shape is in (read by _is_frozen)
        own = _float(el.get("opacity", 1.0), 1.0)
        style = el.get("style")
        if style and "opacity" in style:
            # an inline-style opacity wins over the attribute; fold it in and remove it
            m = _STYLE_OPACITY.search(style)
            if m:
                own = _float(m.group(1), 1.0)
                style = _STYLE_OPACITY.sub("", style)
                el.set("style", style)
        total = opacity * min(1.0, max(0.0, own))
        if _local(el.tag) in _SHAPES or _local(el.tag) == "use":
            # <use>: svgelements hands the value down to the instance (unless it has its own)
            if total != 1.0:
                el.set("opacity", repr(total))
        elif el.get("opacity") is not None:
            del el.attrib["opacity"]
        for prop in ("fill", "stroke"):
            value = el.get(prop)
            if value and "url(" in value:
                el.set(prop, paint(value, prop, el))
        if style and "url(" in style:
            el.set(
                "style",
                _STYLE_PAINT.sub(lambda m: f"{m.group(1)}:{paint(m.group(2), m.group(1), el)}", style),
            )
        children = list(el)
        if _local(el.tag) == "switch":
            drawn = [c for c in children if _local(c.tag) is not None]
            for c in drawn[1:]:
                el.remove(c)
            children = drawn[:1]
        for child in children:
            local = _local(child.tag)
            if local in _NOT_DRAWN or (local is None and not isinstance(child.tag, str)):
                el.remove(child)
                continue
            if local == "symbol" and _local(el.tag) != "defs":
                # a <symbol> is only drawn through <use>; svgelements would draw it in place
                holder = ET.Element(child.tag[: -len("symbol")] + "defs")
                el.insert(list(el).index(child), holder)
                el.remove(child)
                holder.append(child)
            walk(child, total, layer)

    walk(root, 1.0, None)


def _prepare(data: bytes, name: str) -> bytes:
    """Bound the work svgelements will do and return the simplified document for it."""
    root = ET.fromstring(data)  # safe: _check_xml rejected entities and DTD subsets
    by_id: dict[str, ET.Element] = {}
    for el in root.iter():
        el_id = el.get("id")
        if el_id is not None:
            by_id.setdefault(el_id, el)
    _simplify(root, by_id)
    styles = _clean_css(root, name)
    _check_work(root, name, styles)
    text: bytes = ET.tostring(root, encoding="utf-8")
    return text


def _strip_comments(text: str) -> str:
    """Remove ``/* ... */`` in one linear pass (an unterminated comment runs to the end)."""
    out: list[str] = []
    i = 0
    while True:
        j = text.find("/*", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k = text.find("*/", j + 2)
        if k < 0:
            break
        i = k + 2
    return " ".join(out)


def _parse_css(text: str) -> list[tuple[str, str]]:
    """``(selectors, declarations)`` of the plain rules of a stylesheet, in one linear pass.

    At-rules (``@media``, ``@import``...), nested blocks and text outside rules are
    dropped; svgelements ignores them anyway, but its regex takes quadratic time on such
    text (50 KB without braces took 24 s).
    """
    rules: list[tuple[str, str]] = []
    text = _strip_comments(text)
    i = 0
    while True:
        j = text.find("{", i)
        if j < 0:
            break
        k = text.find("}", j + 1)
        if k < 0:
            break
        selectors, body = text[i:j].strip(), text[j + 1 : k].strip()
        i = k + 1
        if "@" in selectors or "{" in body:
            if "{" in body:  # a nested block (@media x { a { } }): skip to its end
                close = text.find("}", i)
                i = len(text) if close < 0 else close + 1
            continue
        body = ";".join(d.strip() for d in body.split(";") if d.strip() and "//" not in d)
        selectors = ",".join(sel.strip() for sel in selectors.split(",") if sel.strip())
        if selectors and body:
            rules.append((selectors, body))
    return rules


def _clean_css(root: ET.Element, name: str) -> dict[str, int]:
    """Bound and rewrite every ``<style>``; return characters of rule text per selector.

    The rewritten stylesheet holds one plain ``selector{declarations}`` per line, text
    svgelements parses in linear time. The returned sizes feed the selectors x elements
    bound in :func:`_check_work`.
    """
    total = 0
    sizes: dict[str, int] = {}
    for el in root.iter():
        if _local(el.tag) != "style":
            continue
        text = "".join(el.itertext())
        total += len(text)
        if total > MAX_STYLE_CHARS:
            raise FileFormatError(
                f"{name}: its stylesheets are too large (more than {MAX_STYLE_CHARS // 1024} KB of CSS); "
                "convert styles to attributes in your vector editor (e.g. Inkscape: save as plain SVG)"
            )
        rules = _parse_css(text)
        for child in list(el):
            el.remove(child)
        el.text = "\n".join(f"{selectors}{{{body}}}" for selectors, body in rules)
        for selectors, body in rules:
            for sel in selectors.split(","):
                sizes[sel] = sizes.get(sel, 0) + len(body) + 1
    return sizes


def _style_cost(el: ET.Element, styles: dict[str, int]) -> int:
    """Characters of stylesheet text svgelements applies to ``el`` (as it matches selectors)."""
    if not styles:
        return 0
    tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
    cost = styles.get("*", 0) + styles.get(tag, 0)
    el_id = el.get("id")
    if el_id is not None:
        cost += styles.get("#" + el_id, 0)
    for cls in (el.get("class") or "").split(" "):
        if cls:
            cost += styles.get("." + cls, 0) + styles.get(f"{tag}.{cls}", 0)
    return cost


def _count_arcs(path_data: bytes) -> int:
    """Elliptical arcs in path data: 7 numbers each (fused flags make it an estimate)."""
    arcs = 0
    for part in _ARC_PART.findall(path_data):
        arcs += max(1, -(-len(_NUMBER.findall(part)) // 7))
    return arcs


def _check_work(root: ET.Element, name: str, styles: dict[str, int] | None = None) -> None:
    """Bound the work svgelements will do, counted after <use> expansion.

    Elements, path numbers, elliptical arcs and stylesheet text applied per element
    (selectors x elements) each have their limit.
    """
    styles = styles or {}
    by_id: dict[str, ET.Element] = {}
    for el in root.iter():
        el_id = el.get("id")
        if el_id is not None:
            by_id.setdefault(el_id, el)
    memo: dict[int, tuple[int, int, int, int]] = {}
    visiting: set[int] = set()

    def cost(el: ET.Element, depth: int) -> tuple[int, int, int, int]:
        key = id(el)
        if key in memo:
            return memo[key]
        if key in visiting:
            raise FileFormatError(f"{name}: circular <use> reference (an element uses itself)")
        if depth > MAX_SVG_DEPTH + MAX_USE_DEPTH:
            raise FileFormatError(f"{name}: <use> references are nested too deeply")
        visiting.add(key)
        elements = 1
        numbers = arcs = 0
        css = _style_cost(el, styles)
        for attr in ("d", "points"):
            value = el.get(attr)
            if value:
                raw = value.encode("utf-8", "replace")
                numbers += len(_NUMBER.findall(raw))
                if attr == "d" and (b"a" in raw or b"A" in raw):
                    arcs += _count_arcs(raw)
        for child in el:
            e, n, a, c = cost(child, depth + 1)
            elements, numbers, arcs, css = elements + e, numbers + n, arcs + a, css + c
        if el.tag.rsplit("}", 1)[-1] == "use":
            href = el.get("href") or el.get(_XLINK_HREF)
            target = by_id.get(href[1:]) if href else None
            if target is not None:
                e, n, a, c = cost(target, depth + 1)
                elements, numbers, arcs, css = elements + e, numbers + n, arcs + a, css + c
        visiting.discard(key)
        if arcs > MAX_SVG_ARCS:
            raise FileFormatError(
                f"{name}: too many elliptical arcs (more than {MAX_SVG_ARCS}); "
                "simplify the drawing first (e.g. Inkscape: Path > Simplify)"
            )
        if css > MAX_STYLE_WORK:
            raise FileFormatError(
                f"{name}: its stylesheet applies to too many elements (more than {MAX_STYLE_WORK:,} "
                "characters of CSS in all); convert styles to attributes in your vector editor"
            )
        if elements > MAX_SVG_ELEMENTS:
            raise FileFormatError(
                f"{name}: too many SVG elements (more than {MAX_SVG_ELEMENTS} after expanding <use>); "
                "simplify the drawing first"
            )
        if numbers > MAX_SVG_NUMBERS:
            raise FileFormatError(
                f"{name}: paths are too complex (more than {MAX_SVG_NUMBERS} coordinates); "
                "simplify the drawing first"
            )
        memo[key] = (elements, numbers, arcs, css)
        return memo[key]

    cost(root, 0)


# --------------------------------------------------------------------------- geometry
def _pt(p: Any) -> np.ndarray:
    return np.array([float(p.x), float(p.y)], dtype=np.float64)


def _line(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    return [a + (b - a) / 3.0, a + 2.0 * (b - a) / 3.0, b]


def _subpaths(shape: Any, budget: int = MAX_IMPORT_SEGMENTS) -> list[np.ndarray]:
    """Cubic control point chains [3k+1, 2], one per subpath, in user units (reified).

    Conversion stops once more than ``budget`` cubic segments were produced.
    """
    import svgelements as se

    path = shape if isinstance(shape, se.Path) else se.Path(shape)
    chains: list[list[np.ndarray]] = []
    current: list[np.ndarray] | None = None
    start: np.ndarray | None = None

    def begin(at: np.ndarray) -> list[np.ndarray]:
        chain = [at]
        chains.append(chain)
        return chain

    produced = 0  # cubic segments, counting 8 per arc (its most)
    for seg in path.segments():
        if not isinstance(seg, (se.Move, se.Close)):
            produced += 8 if isinstance(seg, se.Arc) else 1
        if produced > budget:
            break
        if isinstance(seg, se.Move):
            start = _pt(seg.end)
            current = begin(start)
            continue
        if isinstance(seg, se.Close):
            if current is not None and start is not None and len(current) == 1:
                current.extend([start, start, start])  # "M x y Z": a dot with round caps
            closing = current is not None and start is not None and len(current) > 1
            if closing and np.linalg.norm(current[-1] - start) > 1e-9:  # type: ignore[index]
                current.extend(_line(current[-1], start))  # type: ignore[union-attr,index,arg-type]
            current = None
            continue
        seg_start = _pt(seg.start) if seg.start is not None else None
        if current is None:
            if seg_start is None:
                continue
            start = seg_start
            current = begin(seg_start)
        here = current[-1]
        if isinstance(seg, se.Line):
            current.extend(_line(here, _pt(seg.end)))
        elif isinstance(seg, se.QuadraticBezier):
            q, end = _pt(seg.control), _pt(seg.end)
            current.extend([here + 2.0 / 3.0 * (q - here), end + 2.0 / 3.0 * (q - end), end])
        elif isinstance(seg, se.CubicBezier):
            current.extend([_pt(seg.control1), _pt(seg.control2), _pt(seg.end)])
        elif isinstance(seg, se.Arc):
            sweep = abs(float(seg.sweep or 0.0))
            pieces = min(8, max(1, math.ceil(sweep / _ARC_SWEEP_PER_CUBIC))) if math.isfinite(sweep) else 1
            for cub in seg.as_cubic_curves(arc_required=pieces if sweep else 0):
                current.extend([_pt(cub.control1), _pt(cub.control2), _pt(cub.end)])
        else:  # pragma: no cover - svgelements has no other segment types
            logger.debug("ignoring unknown path segment %r", seg)
    return [np.asarray(c) for c in chains if len(c) >= 4]


def _area(chain: np.ndarray) -> float:
    """Absolute area enclosed by the control polygon (0 for straight or degenerate paths)."""
    x, y = chain[:, 0], chain[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _split_long(chain: np.ndarray) -> list[np.ndarray]:
    """Split a chain with more than MAX_SEGMENTS_PER_STROKE cubics into several strokes."""
    n = (len(chain) - 1) // 3
    if n <= MAX_SEGMENTS_PER_STROKE:
        return [chain]
    step = MAX_SEGMENTS_PER_STROKE
    return [chain[3 * k : 3 * min(k + step, n) + 1] for k in range(0, n, step)]


def _float(value: Any, default: float) -> float:
    try:
        v = float(str(value).strip().rstrip("%")) / (100.0 if str(value).strip().endswith("%") else 1.0)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def _alpha(colour: Any, values: dict[str, Any], prop: str) -> float:
    """Colour alpha, with the file's exact ``*-opacity`` when svgelements' 8-bit value agrees."""
    alpha = float(colour.opacity)
    exact = _float(values.get(f"{prop}-opacity", ""), -1.0)
    if exact >= 0 and abs(exact - alpha) <= 1.0 / 255 + 1e-9:
        alpha = min(1.0, exact)  # the Color quantised it to 1/255; keep the file's value
    return alpha


Paint = tuple[
    tuple[float, float, float, float] | None, float | None, tuple[float, float, float, float] | None
]


def _paint(shape: Any, ours: bool) -> Paint | None:
    """(stroke RGBA or None, stroke width in user px or None, fill RGBA or None), or None if invisible.

    Strokes we exported ourselves (``ours``) are kept even when fully transparent or of
    zero width, so a round trip never loses a stroke the optimiser may bring back.
    """
    values = shape.values
    opacity = min(1.0, max(0.0, _float(values.get("opacity", 1.0), 1.0)))
    stroke_rgba: tuple[float, float, float, float] | None = None
    stroke_width: float | None = None
    fill_rgba: tuple[float, float, float, float] | None = None
    stroke = shape.stroke
    width = float(shape.stroke_width or 0.0) if shape.stroke_width is not None else 1.0
    if stroke is not None and stroke.value is not None:
        alpha = _alpha(stroke, values, "stroke")
        if ours or (alpha > 0 and width > 0):
            stroke_rgba = (stroke.red / 255.0, stroke.green / 255.0, stroke.blue / 255.0, alpha * opacity)
            stroke_width = width
    fill = shape.fill
    if fill is not None and fill.value is not None:
        alpha = _alpha(fill, values, "fill")
        if ours or alpha > 0:
            fill_rgba = (fill.red / 255.0, fill.green / 255.0, fill.blue / 255.0, alpha * opacity)
    if stroke_rgba is None and fill_rgba is None:
        return None
    return stroke_rgba, stroke_width, fill_rgba


def _fill_rule(values: dict[str, Any]) -> str:
    """The shape's ``fill-rule`` (attribute, style, CSS or inherited; SVG's default nonzero)."""
    rule = str(values.get("fill-rule", "nonzero")).strip().lower()
    return rule if rule in FILL_RULES else "nonzero"


def _closed_points(chain: np.ndarray) -> np.ndarray:
    """A chain [3k+1, 2] as a closed shape's points [3k', 2] (closing line added if open)."""
    if np.linalg.norm(chain[-1] - chain[0]) > 1e-9:
        chain = np.concatenate([chain, np.asarray(_line(chain[-1], chain[0]))])
    return chain[:-1]


def _is_frozen(values: dict[str, Any]) -> bool:
    """Frozen flag of a shape: its Inkscape layer first, then our ``clipdraw:frozen`` attribute.

    The layer wins so that moving a stroke between layers in Inkscape changes its state:
    a layer whose label contains "frozen" freezes, our "Generated"/"Generated N" layers
    free it; in any other layer (or none) the attribute we wrote decides.
    """
    layer = values.get(_CD_LAYER)
    if layer is not None:
        if "frozen" in layer.lower():
            return True
        if _GENERATED_LAYER.fullmatch(layer.strip()):
            return False
    flag = values.get(_CD_FROZEN)
    return flag is not None and str(flag).strip().lower() in ("true", "1", "yes")


def _clipdraw_id(values: dict[str, Any]) -> int | None:
    raw = values.get(_CD_ID)
    try:
        return int(str(raw)) if raw is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- public API
def load_svg_strokes(
    source: str | os.PathLike[str] | bytes,
    canvas_width: int,
    canvas_height: int,
    *,
    first_id: int = 0,
    frozen: bool = False,
    max_strokes: int = 5000,
) -> list[Stroke]:
    """Read an SVG sketch and return its shapes as strokes on a canvas of the given size.

    ``source`` is a file path, SVG bytes, or SVG text (a ``str`` starting with ``<``).
    Ids: the result always uses exactly the ids ``first_id .. first_id + n - 1``. A file we
    exported keeps its own stroke ids when they are that range (e.g. a drawing saved with ids
    ``0..n-1`` and loaded with ``first_id=0``, in whatever paint order); otherwise strokes
    are numbered ``first_id, first_id + 1, ...`` in paint order. ``frozen=True`` freezes
    every stroke; otherwise the file's frozen flags/layers decide. Raises
    :class:`~clipdraw_core.errors.FileFormatError` for malformed, hostile, oversized or
    empty input (see the module docstring for all rules and limits).
    """
    check_canvas_size(canvas_width, canvas_height)
    max_strokes = max(1, min(int(max_strokes), MAX_STROKES))
    data, name = _read_source(source)
    _check_xml(data, name)
    data = _prepare(data, name)

    import svgelements as se

    try:
        svg = se.SVG.parse(io.BytesIO(data), reify=True, width=canvas_width, height=canvas_height)
        elements = list(svg.elements())
    except (ClipDrawError, MemoryError):
        raise
    except Exception as exc:  # svgelements raises many kinds on odd input
        raise FileFormatError(f"{name}: could not interpret the SVG ({type(exc).__name__}: {exc})") from exc

    doc_w = float(getattr(svg, "width", 0.0) or 0.0)
    doc_h = float(getattr(svg, "height", 0.0) or 0.0)

    # (chains, paint, frozen, clipdraw id, fill rule): one chain per stroke or simple shape,
    # several for a compound shape (the closed contours of one filled element)
    raw: list[tuple[list[np.ndarray], Paint, bool, int | None, str]] = []
    truncated = over_budget = False
    segments = 0
    for el in elements:
        if not isinstance(el, se.Shape) or isinstance(el, se.Image):
            continue
        values = el.values
        if str(values.get("visibility", "visible")).strip().lower() in ("hidden", "collapse"):
            continue
        if values.get(_CD_ROLE) == "background":
            continue
        paint = _paint(el, _clipdraw_id(values) is not None)
        if paint is None:
            continue
        stroke_rgba, _, fill_rgba = paint
        if stroke_rgba is None and isinstance(el, se.Rect) and doc_w > 0 and doc_h > 0:
            x0, y0, x1, y1 = el.bbox() or (0, 0, 0, 0)
            if x0 <= 0.01 * doc_w and y0 <= 0.01 * doc_h and x1 >= 0.99 * doc_w and y1 >= 0.99 * doc_h:
                logger.debug("skipping a filled rectangle covering the page (background)")
                continue
        if segments >= MAX_IMPORT_SEGMENTS:
            over_budget = True
            break
        try:
            chains = _subpaths(el, MAX_IMPORT_SEGMENTS - segments + 1)
        except Exception as exc:
            logger.warning("%s: skipping a shape that could not be converted: %s", name, exc)
            continue
        rule = _fill_rule(values)
        frozen_here, cid_here = _is_frozen(values), _clipdraw_id(values)
        contours = [c for c in chains if fill_rgba is not None and _area(c) > 1e-9]
        if len(contours) > 1:
            closed_segments = sum(len(_closed_points(c)) // 3 for c in contours)
            if closed_segments <= MAX_SEGMENTS_PER_STROKE:
                # one compound shape: its contours are filled together, so holes stay holes
                raw.append((contours, paint, frozen_here, cid_here, rule))
                segments += closed_segments
                chains = [c for c in chains if not any(c is k for k in contours)]
            else:
                logger.warning(
                    "%s: a filled shape of %d subpaths has more than %d segments; filling each on "
                    "its own (its holes are filled)",
                    name,
                    len(contours),
                    MAX_SEGMENTS_PER_STROKE,
                )
        for chain in chains:
            # a fill of zero area (e.g. an unstroked line) shows nothing: keep its stroke only
            filled = fill_rgba is not None and _area(chain) > 1e-9
            if not filled and stroke_rgba is None:
                continue
            part_paint = paint if filled else (stroke_rgba, paint[1], None)
            parts = (
                [chain] if filled and (len(chain) - 1) // 3 <= MAX_SEGMENTS_PER_STROKE else _split_long(chain)
            )
            if filled and len(parts) > 1:
                part_paint = (stroke_rgba, paint[1], None)  # too long to fill as one shape
                if stroke_rgba is None:
                    continue
            for part in parts:
                raw.append(([part], part_paint, frozen_here, cid_here, rule))
                segments += (len(part) - 1) // 3
        if len(raw) > max_strokes:
            truncated = True
            break
        if segments > MAX_IMPORT_SEGMENTS:
            kept = 0
            for k, item in enumerate(raw):
                kept += sum((len(c) - 1) // 3 for c in item[0])
                if kept > MAX_IMPORT_SEGMENTS:
                    raw = raw[:k]
                    break
            over_budget = True
            break
    if over_budget:
        logger.warning(
            "%s: more than %d curve segments; keeping the first %d strokes",
            name,
            MAX_IMPORT_SEGMENTS,
            len(raw),
        )
    if truncated:
        logger.warning("%s: more than %d strokes; keeping the first %d", name, max_strokes, max_strokes)
        raw = raw[:max_strokes]
    if not raw:
        raise FileFormatError(
            f"{name}: no drawable shapes found (text, images and invisible shapes are not imported)"
        )

    # Fit the document into the canvas: aspect preserved, centred.
    scale, offset = 1.0, np.zeros(2)
    if doc_w <= 0 or doc_h <= 0:
        allpts = np.concatenate([c for r in raw for c in r[0]])
        lo, hi = allpts.min(axis=0), allpts.max(axis=0)
        doc_origin, doc_w, doc_h = lo, max(float(hi[0] - lo[0]), 1e-6), max(float(hi[1] - lo[1]), 1e-6)
    else:
        doc_origin = np.zeros(2)
    if abs(doc_w - canvas_width) > 1e-6 or abs(doc_h - canvas_height) > 1e-6 or doc_origin.any():
        scale = min(canvas_width / doc_w, canvas_height / doc_h)
        offset = (np.array([canvas_width, canvas_height]) - scale * np.array([doc_w, doc_h])) / 2.0
        offset = offset - scale * doc_origin
        logger.debug(
            "scaling SVG %.4gx%.4g by %.4g into the %dx%d canvas",
            doc_w,
            doc_h,
            scale,
            canvas_width,
            canvas_height,
        )

    # Callers reserve ids first_id .. first_id + n - 1 for the result, so a file's own ids
    # are kept only when they are exactly that range (in any paint order).
    ids = [r[3] for r in raw]
    keep_ids = set(ids) == set(range(first_id, first_id + len(raw)))
    strokes: list[Stroke] = []
    for k, (item_chains, (stroke_rgba, width, fill_rgba), is_frozen, cid, rule) in enumerate(raw):
        moved = [c * scale + offset if scale != 1.0 or offset.any() else c for c in item_chains]
        half = OUTLINE_HALF_WIDTH if stroke_rgba is None or width is None else 0.5 * width * scale
        sid = cid if keep_ids and cid is not None else first_id + k
        try:
            if fill_rgba is not None:
                outline = stroke_rgba if stroke_rgba is not None else (*fill_rgba[:3], 1.0)
                loops = [_closed_points(c) for c in moved]
                strokes.append(
                    Stroke(
                        sid,
                        np.concatenate(loops),
                        half,
                        outline,
                        frozen or is_frozen,
                        fill=fill_rgba,
                        outlined=stroke_rgba is not None,
                        fill_rule=rule,
                        subpaths=tuple(len(loop) // 3 for loop in loops),
                    )
                )
            else:
                strokes.append(Stroke(sid, moved[0], half, stroke_rgba, frozen or is_frozen))  # type: ignore[arg-type]
        except ClipDrawError as exc:
            logger.warning("%s: skipping an invalid shape: %s", name, exc)
    if not strokes:
        raise FileFormatError(f"{name}: no valid drawable shapes found")
    logger.info("imported %d strokes from %s", len(strokes), name)
    return strokes
