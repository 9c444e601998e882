"""Drawing -> SVG 1.1 text that Inkscape, Illustrator and browsers read the same way.

Why it looks the way it does:

* ``width``/``height`` carry ``px`` units and a matching ``viewBox``, so every tool
  opens the file at the canvas size without guessing a DPI.
* Colours are ``stroke="#rrggbb"`` plus ``stroke-opacity`` — never ``rgba()``, which SVG
  1.1 tools (Inkscape 0.92, Illustrator) drop or paint black.
* Closed shapes are ``<path d="M ... C ... Z" fill="#rrggbb" fill-opacity="..."
  fill-rule="nonzero">`` (or ``"evenodd"``: the shape's own rule, written either way
  so no viewer falls back to a default), with ``stroke="none"`` unless the shape is
  outlined; the fill is painted under the outline, as on the canvas. A compound shape
  (several contours, holes) is one ``<path>`` with one ``M ... Z`` per contour.
* Widths are the *full* width (``2 * half_width``, see :mod:`clipdraw_core.drawing.strokes`).
* Strokes are grouped in Inkscape layers ("Background", "Generated",
  "Sketch (frozen)") so the artist can lock/hide them; the background layer comes
  locked (``sodipodi:insensitive``) so a click selects strokes, not the paper. Paint order is never changed to
  make nicer layers: when frozen and free strokes interleave, each consecutive run gets
  its own layer ("Generated", "Sketch (frozen)", "Generated 2", ...), so the exported
  picture is exactly the canvas.
* Stroke ids and frozen flags are stored in a private XML namespace
  (``clipdraw:id``, ``clipdraw:frozen``; foreign-namespace attributes are valid SVG 1.1
  and survive Inkscape round trips) so :func:`clipdraw_core.io.svg_import.load_svg_strokes`
  restores them exactly.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.io.fileio import atomic_write_text

logger = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"
SODIPODI_NS = "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
#: Our private namespace for round-trip data (stroke ids, frozen flags, roles).
CLIPDRAW_NS = "urn:clipdraw-studio:svg:1"

FROZEN_LABEL = "Sketch (frozen)"
GENERATED_LABEL = "Generated"
BACKGROUND_LABEL = "Background"
FLAT_LABEL = "Drawing"

# Characters XML 1.0 forbids even when escaped (control characters except tab/LF/CR).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _num(value: float, precision: int) -> str:
    """Format a number with ``precision`` decimals, trailing zeros trimmed, no ``-0``."""
    text = f"{float(value):.{precision}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def _hex(rgb: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(min(1.0, max(0.0, c)) * 255):02x}" for c in rgb[:3])


def _text(value: str) -> str:
    return escape(_INVALID_XML.sub("", value))


def _path_data(points: np.ndarray, precision: int, closed: bool = False) -> str:
    pts = np.asarray(points, dtype=np.float64)
    if closed:  # the last segment returns to the first point: write it, then close
        pts = np.concatenate([pts, pts[:1]])
    coords = [f"{_num(x, precision)} {_num(y, precision)}" for x, y in pts]
    return "M " + coords[0] + " C " + " ".join(coords[1:]) + (" Z" if closed else "")


def _stroke_data(stroke: Stroke, precision: int) -> str:
    """The ``d`` of a stroke: one subpath, or one closed subpath per contour of a compound shape."""
    return " ".join(_path_data(p, precision, stroke.closed) for p in stroke.contour_points())


def _stroke_element(stroke: Stroke, precision: int, indent: str) -> str:
    r, g, b, a = stroke.color
    digits = max(3, precision)
    attrs = [
        f'id="{"shape" if stroke.closed else "stroke"}-{stroke.id}"',
        f'clipdraw:id="{stroke.id}"',
        f'clipdraw:frozen="{"true" if stroke.frozen else "false"}"',
        f'd="{_stroke_data(stroke, precision)}"',
    ]
    if stroke.outlined:
        attrs += [
            f'stroke="{_hex((r, g, b))}"',
            f'stroke-opacity="{_num(a, digits)}"',
            f'stroke-width="{_num(2.0 * stroke.half_width, digits)}"',
            'stroke-linecap="round"',
            'stroke-linejoin="round"',
        ]
    else:
        attrs.append('stroke="none"')
    if stroke.fill is not None:
        fr, fg, fb, fa = stroke.fill
        attrs += [f'fill="{_hex((fr, fg, fb))}"', f'fill-opacity="{_num(fa, digits)}"']
        attrs.append(f'fill-rule="{stroke.fill_rule}"')
    else:
        attrs.append('fill="none"')
    return f"{indent}<path " + " ".join(attrs) + "/>"


def _runs(strokes: tuple[Stroke, ...]) -> list[tuple[bool, list[Stroke]]]:
    """Split strokes (paint order) into consecutive runs of equal frozen flag."""
    runs: list[tuple[bool, list[Stroke]]] = []
    for s in strokes:
        if runs and runs[-1][0] == s.frozen:
            runs[-1][1].append(s)
        else:
            runs.append((s.frozen, [s]))
    return runs


def drawing_to_svg(
    drawing: Drawing,
    *,
    title: str | None = None,
    description: str | None = None,
    layered: bool = True,
    precision: int = 3,
    transparent: bool = False,
    palette: tuple[str, ...] = (),
) -> str:
    """Serialise ``drawing`` as SVG 1.1 text (see the module docstring for the layout).

    ``title``/``description`` (e.g. the prompt and the settings) are XML-escaped;
    ``layered=False`` puts the background and all strokes into one plain group;
    ``precision`` is the number of decimals of coordinates (trailing zeros trimmed);
    ``transparent=True`` leaves the paper out (no background rect, transparent in
    every viewer); ``palette`` (``#rrggbb`` entries) is recorded as
    ``clipdraw:palette`` on the root so tools can recover it.
    """
    precision = int(precision)
    if not 0 <= precision <= 8:
        raise ValueError(f"precision must be between 0 and 8, got {precision}")
    w, h = int(drawing.width), int(drawing.height)
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        (
            f'<svg xmlns="{SVG_NS}" xmlns:inkscape="{INKSCAPE_NS}" xmlns:sodipodi="{SODIPODI_NS}" '
            f'xmlns:clipdraw="{CLIPDRAW_NS}" '
            f'version="1.1" width="{w}px" height="{h}px" viewBox="0 0 {w} {h}"'
            + (f' clipdraw:palette="{" ".join(palette)}"' if palette else "")
            + ">"
        ),
        f"  <title>{_text(title if title is not None else 'CLIPDraw Studio drawing')}</title>",
    ]
    if description is not None:
        lines.append(f"  <desc>{_text(description)}</desc>")
    background = (
        f'<rect id="background" clipdraw:role="background" x="0" y="0" width="{w}" height="{h}" '
        f'fill="{_hex(drawing.background)}" stroke="none"/>'
    )
    if layered:
        if not transparent:
            lines.append(
                f'  <g id="layer-background" inkscape:groupmode="layer" '
                f'inkscape:label={quoteattr(BACKGROUND_LABEL)} sodipodi:insensitive="true">'
            )
            lines.append("    " + background)
            lines.append("  </g>")
        counts = {True: 0, False: 0}
        for frozen, run in _runs(drawing.strokes):
            counts[frozen] += 1
            n = counts[frozen]
            base = FROZEN_LABEL if frozen else GENERATED_LABEL
            label = base if n == 1 else f"{base} {n}"
            gid = ("layer-frozen" if frozen else "layer-generated") + ("" if n == 1 else f"-{n}")
            lines.append(f'  <g id="{gid}" inkscape:groupmode="layer" inkscape:label={quoteattr(label)}>')
            lines.extend(_stroke_element(s, precision, "    ") for s in run)
            lines.append("  </g>")
    else:
        lines.append(f'  <g id="drawing" inkscape:label={quoteattr(FLAT_LABEL)}>')
        if not transparent:
            lines.append("    " + background)
        lines.extend(_stroke_element(s, precision, "    ") for s in drawing.strokes)
        lines.append("  </g>")
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def save_svg(path: str | os.PathLike[str], drawing: Drawing, **kwargs: object) -> Path:
    """Write :func:`drawing_to_svg` output to ``path`` atomically.

    Raises :class:`clipdraw_core.errors.OutputError` when the file cannot be written;
    keyword arguments go to :func:`drawing_to_svg`.
    """
    text = drawing_to_svg(drawing, **kwargs)  # type: ignore[arg-type]
    target = atomic_write_text(path, text)
    logger.info("saved SVG with %d strokes to %s", len(drawing.strokes), target)
    return target
