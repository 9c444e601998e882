"""What steers a drawing besides the settings' text prompts: images, a style, regions.

The text prompts (main prompt, extra prompts, negatives, each with a weight) live in
:class:`~clipdraw_core.optim.config.SessionConfig`; they are short settings with CLI
options. The things here carry pictures or geometry, so they are kept apart in one
immutable :class:`Guidance` value that a session holds, edit commands replace
mid-run, snapshots report and project files store:

* :class:`ImagePrompt` - a picture whose CLIP image embedding is a target, with a
  weight (positive: "like this", negative: "not like this");
* :class:`StyleImage` - a reference whose style (VGG-16 Gram matrices,
  :mod:`clipdraw_core.optim.style`) the drawing matches, strength 0-100, applied
  every ``every`` steps;
* :class:`Region` - a rectangle or polygon of the canvas with its own prompt and
  weight (:mod:`clipdraw_core.optim.regions`).

Pictures are held as PNG bytes, normalised to RGB and at most
:data:`MAX_IMAGE_SIDE` pixels on their long side when they are loaded: the style
loss sees the canvas size and CLIP 224 px, so nothing is lost, and a project that
embeds them stays small and can be moved to another machine without its images.

:func:`split_weight` parses the ``TEXT[:W]`` syntax of the command line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipdraw_core.errors import ConfigError, FileFormatError

logger = logging.getLogger(__name__)

#: Long side, in pixels, that image and style prompts are reduced to when loaded.
MAX_IMAGE_SIDE = 512
#: Refuse image files larger than this before decoding them.
MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024
#: A sane cap on list lengths (the GUI table, project files).
MAX_ITEMS = 64
MAX_REGION_VERTICES = 4096


def split_weight(spec: str, default: float = 1.0) -> tuple[str, float]:
    """Split ``"TEXT:W"`` into ``("TEXT", W)``; a tail that is not a number stays in the text.

    ``"a cat:0.5"`` -> ``("a cat", 0.5)``; ``"a cat"`` -> ``("a cat", default)``;
    ``"ratio 16:9 poster"`` and ``"note: red"`` keep their colon. ``inf``/``nan`` are
    not weights (they stay text).
    """
    head, sep, tail = spec.rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
        except ValueError:
            return spec, default
        if math.isfinite(weight) and tail.strip() == tail and tail:
            return head, weight
    return spec, default


def _finite(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be a number, got {value!r}") from exc
    if not math.isfinite(number):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    return number


# ----------------------------------------------------------------------------- images


def image_png_from_file(path: str | os.PathLike[str], max_side: int = MAX_IMAGE_SIDE) -> bytes:
    """Read any image Pillow knows, as RGB PNG bytes at most ``max_side`` px long."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_IMAGE_FILE_BYTES:
            raise FileFormatError(f"{file} is too large for an image prompt ({size} bytes)")
        data = file.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"cannot read image {file}: {exc.strerror or exc}") from exc
    return normalise_png(data, str(file), max_side)


def normalise_png(data: bytes, source: str = "image", max_side: int = MAX_IMAGE_SIDE) -> bytes:
    """Decode image bytes and re-encode them as an RGB PNG no longer than ``max_side``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > 100_000_000:
                raise FileFormatError(f"{source} is too large ({im.width}x{im.height} px)")
            im.load()
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise FileFormatError(f"{source} is not an image Pillow can read") from exc
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    rgb.save(out, format="PNG", optimize=False)
    return out.getvalue()


def png_to_array(png: bytes) -> np.ndarray:
    """PNG bytes -> float32 ``[H, W, 3]`` in [0, 1]."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise FileFormatError(f"{what}: image data must be base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise FileFormatError(f"{what}: image data is not valid base64") from exc


@dataclass(frozen=True, eq=False)
class ImagePrompt:
    """A picture as a CLIP target: loss ``-weight * cos(image embedding, view)`` per view."""

    name: str
    png: bytes
    weight: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _finite(self.weight, "an image prompt's weight"))
        if not isinstance(self.png, bytes) or not self.png:
            raise ConfigError("an image prompt needs image data")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], weight: float = 1.0) -> ImagePrompt:
        return cls(Path(path).name, image_png_from_file(path), weight)

    @property
    def digest(self) -> str:
        """Content hash of the picture (caches its embedding)."""
        return hashlib.sha256(self.png).hexdigest()

    @property
    def label(self) -> str:
        """Its key in :attr:`Snapshot.scores`."""
        return f"image: {self.name}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImagePrompt):
            return NotImplemented
        return (self.name, self.png, self.weight) == (other.name, other.png, other.weight)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "png_base64": _b64(self.png)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImagePrompt:
        png = normalise_png(_unb64(data.get("png_base64"), "image prompt"), "an embedded image prompt")
        return cls(str(data.get("name", "image")), png, data.get("weight", 1.0))


@dataclass(frozen=True, eq=False)
class StyleImage:
    """A style reference (StyleCLIPDraw): strength 0-100, applied on every ``every``-th step."""

    name: str
    png: bytes
    strength: float = 50.0
    every: int = 1

    def __post_init__(self) -> None:
        strength = _finite(self.strength, "the style strength")
        if not 0 <= strength <= 100:
            raise ConfigError(f"the style strength must be between 0 and 100, got {self.strength!r}")
        object.__setattr__(self, "strength", strength)
        if (
            isinstance(self.every, bool)
            or not isinstance(self.every, (int, np.integer))
            or not 1 <= self.every <= 1000
        ):
            raise ConfigError(
                f"style steps (apply every N steps) must be an integer 1-1000, got {self.every!r}"
            )
        object.__setattr__(self, "every", int(self.every))
        if not isinstance(self.png, bytes) or not self.png:
            raise ConfigError("a style image needs image data")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], strength: float = 50.0, every: int = 1) -> StyleImage:
        return cls(Path(path).name, image_png_from_file(path), strength, every)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.png).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StyleImage):
            return NotImplemented
        mine = (self.name, self.png, self.strength, self.every)
        return mine == (other.name, other.png, other.strength, other.every)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strength": self.strength,
            "every": self.every,
            "png_base64": _b64(self.png),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StyleImage:
        png = normalise_png(_unb64(data.get("png_base64"), "style image"), "an embedded style image")
        return cls(str(data.get("name", "style")), png, data.get("strength", 50.0), data.get("every", 1))


# ----------------------------------------------------------------------------- regions


@dataclass(frozen=True)
class Region:
    """A part of the canvas with its own prompt: a polygon in canvas pixels (x right, y down).

    A rectangle is the polygon of its four corners (:meth:`rect`); a lasso any simple
    polygon of three or more vertices. ``muted`` regions are kept but not optimised.
    """

    id: int
    prompt: str
    polygon: tuple[tuple[float, float], ...]
    weight: float = 1.0
    name: str = ""
    muted: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ConfigError("a region needs a prompt")
        pts = tuple((float(x), float(y)) for x, y in self.polygon)
        if not 3 <= len(pts) <= MAX_REGION_VERTICES:
            raise ConfigError(f"a region needs 3 to {MAX_REGION_VERTICES} vertices, got {len(pts)}")
        if not all(math.isfinite(v) for p in pts for v in p):
            raise ConfigError("a region's vertices must be finite numbers")
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        if max(xs) - min(xs) < 1 or max(ys) - min(ys) < 1:
            raise ConfigError("a region must be at least 1 px wide and high")
        object.__setattr__(self, "polygon", pts)
        object.__setattr__(self, "weight", _finite(self.weight, "a region's weight"))
        object.__setattr__(self, "id", int(self.id))
        object.__setattr__(self, "muted", bool(self.muted))

    @classmethod
    def rect(
        cls,
        region_id: int,
        x: float,
        y: float,
        w: float,
        h: float,
        prompt: str,
        weight: float = 1.0,
        name: str = "",
    ) -> Region:
        """An axis-aligned rectangle with its top-left corner at ``(x, y)``."""
        if not (w > 0 and h > 0):
            raise ConfigError(f"a region's width and height must be positive, got {w}x{h}")
        corners = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
        return cls(region_id, prompt, corners, weight, name)

    def bbox(self, width: int, height: int) -> tuple[int, int, int, int] | None:
        """Integer pixel bounds ``(x0, y0, x1, y1)`` covering the polygon, clipped to the canvas.

        ``None`` when the region lies outside the canvas.
        """
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
        x1, y1 = min(width, math.ceil(max(xs))), min(height, math.ceil(max(ys)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        return x0, y0, x1, y1

    @property
    def label(self) -> str:
        """Its key in :attr:`Snapshot.scores`."""
        return f"region {self.name or self.id}: {self.prompt}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prompt": self.prompt,
            "weight": self.weight,
            "muted": self.muted,
            "polygon": [[x, y] for x, y in self.polygon],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Region:
        return cls(
            int(data["id"]),
            str(data["prompt"]),
            tuple((float(p[0]), float(p[1])) for p in data["polygon"]),
            data.get("weight", 1.0),
            str(data.get("name", "")),
            bool(data.get("muted", False)),
        )


# ----------------------------------------------------------------------------- all of it


@dataclass(frozen=True)
class Guidance:
    """Image prompts, a style image and regions (see the module docstring).

    ``region_views`` is how many extra CLIP views per step all regions share
    (``None``: half the canvas views, at least one; see :mod:`clipdraw_core.optim.regions`).
    """

    images: tuple[ImagePrompt, ...] = ()
    style: StyleImage | None = None
    regions: tuple[Region, ...] = ()
    region_views: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "regions", tuple(self.regions))
        if len(self.images) > MAX_ITEMS or len(self.regions) > MAX_ITEMS:
            raise ConfigError(f"at most {MAX_ITEMS} image prompts and {MAX_ITEMS} regions")
        ids = [r.id for r in self.regions]
        if len(set(ids)) != len(ids):
            raise ConfigError("region ids must be unique")
        if self.region_views is not None and (
            isinstance(self.region_views, bool)
            or not isinstance(self.region_views, int)
            or not 1 <= self.region_views <= 64
        ):
            raise ConfigError(f"region views per step must be an integer 1-64, got {self.region_views!r}")

    @property
    def empty(self) -> bool:
        return not self.images and self.style is None and not self.regions

    def replace(self, **changes: Any) -> Guidance:
        data = {
            "images": self.images,
            "style": self.style,
            "regions": self.regions,
            "region_views": self.region_views,
        }
        data.update(changes)
        return Guidance(**data)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": [i.to_dict() for i in self.images],
            "style": None if self.style is None else self.style.to_dict(),
            "regions": [r.to_dict() for r in self.regions],
            "region_views": self.region_views,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Guidance:
        """Parse :meth:`to_dict`'s output; problems become :class:`FileFormatError`."""
        if not data:
            return cls()
        try:
            images = tuple(ImagePrompt.from_dict(d) for d in data.get("images", []) or [])
            style_data = data.get("style")
            style = StyleImage.from_dict(style_data) if style_data else None
            regions = tuple(Region.from_dict(d) for d in data.get("regions", []) or [])
            return cls(images, style, regions, data.get("region_views"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, FileFormatError):
                raise
            raise FileFormatError(f"invalid guidance record: {exc}") from exc


def text_prompt_list(config: Any) -> list[tuple[str, float]]:
    """The settings' text prompts as one weighted list ``[(text, weight)]``.

    The main prompt (``prompt_weight``, 1 by default), the extra prompts
    (``extra_weights``, 1 each by default) and the negatives, whose weight is minus
    their push-away strength (``negative_weights``, else ``negative_weight`` each,
    0.3 as in CLIPDraw). The loss is ``-sum_views sum_prompts weight * cos / tau``.
    """
    entries = [(config.prompt, float(config.prompt_weight))]
    extras = list(config.extra_weights) or [1.0] * len(config.extra_prompts)
    entries += [(t, float(w)) for t, w in zip(config.extra_prompts, extras, strict=True)]
    negs = list(config.negative_weights) or [config.negative_weight] * len(config.negative_prompts)
    entries += [(t, -float(w)) for t, w in zip(config.negative_prompts, negs, strict=True)]
    return entries


def check_weights(values: Sequence[Any], what: str) -> None:
    for v in values:
        _finite(v, what)
