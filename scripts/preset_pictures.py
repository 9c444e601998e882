"""Render the starting canvas of every built-in look preset into docs/screenshots/.

Run: ``.venv/bin/python scripts/preset_pictures.py``

What the pictures show: the drawing each preset *starts* from (seed 0, before any
optimisation step): its strokes and shapes, palette or ink, widths and paper. A run
then moves them towards the prompt. No CLIP weights are needed (the model is
untrained and never stepped: only the session's initial drawing is used).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from clipdraw_core.clip.clip_model import load_clip  # noqa: E402
from clipdraw_core.optim.config import SessionConfig  # noqa: E402
from clipdraw_core.optim.presets import builtin_presets  # noqa: E402
from clipdraw_core.optim.session import Session  # noqa: E402
from clipdraw_core.render import render_drawing  # noqa: E402


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def main() -> None:
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    clip = load_clip("ViT-B-32", "random", "cpu")
    for preset in builtin_presets():
        config = preset.apply(SessionConfig(num_steps=0))
        drawing = Session(config, clip).snapshot().drawing
        path = out / f"preset-{slug(preset.name)}.png"
        Image.fromarray(render_drawing(drawing, samples=2)).save(path, optimize=True)
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
