"""Colour palettes: where they come from (presets, hex lists, GIMP files, images, a
seed sketch) and the two ways a drawing is held to them.

A palette is a tuple of ``#rrggbb`` strings: that is what the settings and project
files store and exactly what the SVG exporter writes in hard mode, so no float round
trip can turn ``#1d2b53`` into ``#1d2b54``.

* **hard**: the optimiser keeps a free ("latent") colour per stroke; what is rendered,
  shown and exported is the palette entry nearest to it (:func:`snap`, a
  straight-through estimate: the forward value is the entry, the gradient flows to the
  latent colour unchanged).  So a stroke *is* always one palette entry and changes
  entry when the gradients carry its latent colour across to another one's region.
* **soft**: the colours stay free and :func:`palette_distance` (mean squared RGB
  distance to the nearest entry) is added to the loss with a strength.

Colours picked from an image use Pillow's ``Image.quantize``: a fast-octree palette
refined by Pillow's k-means (deterministic, fast, no extra dependency, so no
hand-written clustering here).  Median cut (Pillow's default) was tried first and
rejected: it splits the most frequent colour by population, so a large area of one
JPEG-noisy colour took two entries while two small distinct colours were merged.
Colours of a seed sketch (few, exact) use median cut, which is fine there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from clipdraw_core.errors import ConfigError, FileFormatError

logger = logging.getLogger(__name__)

MIN_COLORS = 2
MAX_COLORS = 32
#: The largest palette file or image we read (bytes).
MAX_PALETTE_FILE = 64 * 1024 * 1024

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")

#: Built-in palettes (name -> entries); names are matched case-insensitively.
PRESET_PALETTES: dict[str, tuple[str, ...]] = {
    "pico-8": (
        "#000000",
        "#1d2b53",
        "#7e2553",
        "#008751",
        "#ab5236",
        "#5f574f",
        "#c2c3c7",
        "#fff1e8",
        "#ff004d",
        "#ffa300",
        "#ffec27",
        "#00e436",
        "#29adff",
        "#83769c",
        "#ff77a8",
        "#ffccaa",
    ),
    "poster": ("#1b1b1b", "#f2efe6", "#d7263d", "#f46036", "#2e294e", "#1b998b", "#c5d86d", "#ffd23f"),
    "primaries": ("#000000", "#ffffff", "#e10600", "#ffd400", "#0047ab"),
    "grays": ("#000000", "#404040", "#808080", "#c0c0c0", "#ffffff"),
    "pastel": ("#ffadad", "#ffd6a5", "#fdffb6", "#caffbf", "#9bf6ff", "#a0c4ff", "#bdb2ff", "#ffc6ff"),
    "ink-and-wash": ("#111111", "#3c3c3c", "#6e6e6e", "#a5a5a5", "#8c2d19"),
}


def parse_hex(text: str) -> str:
    """Normalise ``#RRGGBB`` / ``rrggbb`` to lower-case ``#rrggbb``; ConfigError otherwise."""
    m = _HEX.match(str(text).strip())
    if not m:
        raise ConfigError(f"{text!r} is not a colour: use #rrggbb, e.g. #1a2b3c")
    return "#" + m.group(1).lower()


def hex_to_rgb(text: str) -> tuple[float, float, float]:
    """``#rrggbb`` -> RGB floats in [0, 1]."""
    h = parse_hex(text)
    return tuple(int(h[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


def rgb_to_hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{round(min(1.0, max(0.0, float(c))) * 255):02x}" for c in rgb[:3])


def check_palette(entries: Iterable[str]) -> tuple[str, ...]:
    """Validated, normalised, de-duplicated (order kept) palette of 2..32 entries."""
    out: list[str] = []
    for e in entries:
        h = parse_hex(e)
        if h not in out:
            out.append(h)
    if not MIN_COLORS <= len(out) <= MAX_COLORS:
        raise ConfigError(f"a palette needs {MIN_COLORS} to {MAX_COLORS} different colours, got {len(out)}")
    return tuple(out)


def _read_limited(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_PALETTE_FILE:
            raise FileFormatError(f"{path} is too large for a palette ({size} bytes)")
        return path.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc


def parse_gpl(text: str, name: str = "palette") -> tuple[str, ...]:
    """Colours of a GIMP palette (``GIMP Palette`` header, ``R G B [name]`` rows)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "GIMP Palette":
        raise FileFormatError(f"{name} is not a GIMP palette (no 'GIMP Palette' header)")
    colours = []
    for line in lines[1:]:
        line = line.strip()
        if not line or line.startswith("#") or ":" in line.split()[0]:
            continue  # comments and "Name: ..." / "Columns: ..." headers
        parts = line.split()
        try:
            r, g, b = (int(v) for v in parts[:3])
        except ValueError as exc:
            raise FileFormatError(f"{name}: bad colour row {line!r}") from exc
        if not all(0 <= v <= 255 for v in (r, g, b)):
            raise FileFormatError(f"{name}: colour values must be 0..255 in {line!r}")
        colours.append(f"#{r:02x}{g:02x}{b:02x}")
    return tuple(colours)


def parse_hex_list(text: str) -> tuple[str, ...]:
    """Hex colours separated by commas, spaces or lines (``;`` starts a comment in a .txt file)."""
    items = []
    for line in text.splitlines() or [text]:
        line = line.split(";", 1)[0]
        items += [t for t in re.split(r"[,\s]+", line) if t]
    return tuple(parse_hex(t) for t in items)


def palette_from_image(source: str | Path, colors: int = 8) -> tuple[str, ...]:
    """The ``colors`` main colours of an image (octree + k-means, see above), most used first."""
    from PIL import Image, UnidentifiedImageError

    if not MIN_COLORS <= colors <= MAX_COLORS:
        raise ConfigError(f"palette colours must be between {MIN_COLORS} and {MAX_COLORS}, got {colors}")
    path = Path(source)
    data = _read_limited(path)
    try:
        import io

        with Image.open(io.BytesIO(data)) as im:
            im.thumbnail((256, 256))  # enough pixels for the statistics, bounded cost
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise FileFormatError(f"{path} is not an image Pillow can read: {exc}") from exc
    quant = rgb.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, kmeans=8)
    flat = quant.getpalette() or []
    counts = sorted(quant.getcolors() or [], reverse=True)  # (count, index), most used first
    out = []
    for _, index in counts:
        r, g, b = flat[3 * index : 3 * index + 3]
        h = f"#{r:02x}{g:02x}{b:02x}"
        if h not in out:
            out.append(h)
    if len(out) < MIN_COLORS:
        raise ConfigError(f"{path} has fewer than {MIN_COLORS} colours to pick a palette from")
    return tuple(out)


def palette_from_colors(rgb: Sequence[Sequence[float]], colors: int = 8) -> tuple[str, ...]:
    """A palette from given colours (e.g. a seed sketch's strokes): median cut if there are many."""
    from PIL import Image

    uniq = list(dict.fromkeys(rgb_to_hex(c) for c in rgb))
    if len(uniq) <= colors:
        return check_palette(uniq) if len(uniq) >= MIN_COLORS else tuple(uniq)
    arr = np.array(
        [[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in (rgb_to_hex(c) for c in rgb)], np.uint8
    )
    img = Image.fromarray(arr.reshape(1, -1, 3), "RGB")
    quant = img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    flat = quant.getpalette() or []
    out = []
    for _, pixel in sorted(quant.getcolors() or [], reverse=True):
        index = int(pixel)  # type: ignore[call-overload]  # a palette index in "P" mode
        h = "#" + "".join(f"{v:02x}" for v in flat[3 * index : 3 * index + 3])
        if h not in out:
            out.append(h)
    return tuple(out)


def load_palette(spec: str, colors: int = 8) -> tuple[str, ...]:
    """A palette from what a user typed: a preset name, ``#hex,#hex,...`` or a file.

    Files: ``.gpl`` (GIMP), ``.txt`` (hex values), or an image (``.png``, ``.jpg``,
    ``.jpeg``, ``.webp``, ``.bmp``: its ``colors`` main colours).
    """
    text = str(spec).strip()
    if text.lower() in PRESET_PALETTES:
        return PRESET_PALETTES[text.lower()]
    if text.startswith("#") or ("," in text and not Path(text).suffix):
        return check_palette(parse_hex_list(text))
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg", ".webp", ".bmp"):
        return check_palette(palette_from_image(path, colors))
    if suffix in (".gpl", ".txt"):
        raw = _read_limited(path)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{path} is not a text palette (not UTF-8)") from exc
        entries = parse_gpl(body, str(path)) if suffix == ".gpl" else parse_hex_list(body)
        return check_palette(entries)
    names = ", ".join(PRESET_PALETTES)
    raise ConfigError(
        f"cannot read a palette from {text!r}: give #rrggbb,#rrggbb,..., a .gpl/.txt/.png/.jpg file, "
        f"or a preset ({names})"
    )


# --------------------------------------------------------------------------- tensors
def palette_tensor(palette: Sequence[str], device: torch.device | str = "cpu") -> Tensor:
    """``[K, 3]`` float32 RGB of the entries."""
    return torch.tensor([hex_to_rgb(h) for h in palette], dtype=torch.float32, device=device)


def nearest_index(rgb: Tensor, palette: Tensor) -> Tensor:
    """Index of the nearest palette entry (squared RGB distance) for each row of ``rgb [S, 3]``."""
    return torch.cdist(rgb.detach().float(), palette).argmin(dim=1)


def snap(rgb: Tensor, palette: Tensor) -> Tensor:
    """Nearest entries, with a straight-through gradient to ``rgb`` (see the module docstring)."""
    if rgb.shape[0] == 0:
        return rgb
    entry = palette.to(rgb.dtype).index_select(0, nearest_index(rgb, palette))
    return rgb + (entry - rgb).detach()


def palette_distance(rgb: Tensor, palette: Tensor) -> Tensor:
    """Mean squared RGB distance of each row of ``rgb`` to its nearest entry (0 for no rows)."""
    if rgb.shape[0] == 0:
        return rgb.sum()
    d2 = ((rgb[:, None, :] - palette.to(rgb.dtype)[None]) ** 2).sum(-1)
    return d2.min(dim=1).values.mean()
