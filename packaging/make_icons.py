"""Render resources/icons/clipdraw-studio.svg into the PNG, ICO and ICNS icon set.

Desktops want bitmaps at fixed sizes (freedesktop hicolor 16..512 px), Windows an .ico
and macOS an .icns; keeping one hand-written SVG as the source and generating the rest
means the icons never drift apart. Run from the repository root:

    python packaging/make_icons.py

Needs resvg-py and Pillow (development-only tools, not runtime dependencies).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

ICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"
SVG = ICON_DIR / "clipdraw-studio.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render_png(svg_text: str, size: int) -> bytes:
    import resvg_py

    data = resvg_py.svg_to_bytes(svg_string=svg_text, width=size, height=size)
    return bytes(data)


def main() -> int:
    from PIL import Image

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    svg_text = SVG.read_text(encoding="utf-8")
    images = {}
    for size in SIZES:
        png = render_png(svg_text, size)
        out = ICON_DIR / f"clipdraw-studio-{size}.png"
        out.write_bytes(png)
        images[size] = Image.open(io.BytesIO(png)).convert("RGBA")
        logger.info("wrote %s", out)
    big = images[512]
    big.save(ICON_DIR / "clipdraw-studio.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    big.save(ICON_DIR / "clipdraw-studio.icns")
    logger.info("wrote .ico and .icns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
