"""``clipdraw-cli`` options for the prompt list, image and style prompts and regions (issue 12).

Kept apart from :mod:`clipdraw_core.cli` so the settings' own options and these
composite ones (a text with an optional ``:W`` weight, a rectangle plus a prompt)
evolve independently. The option names are a contract:

``--add-prompt TEXT[:W]`` (repeatable), ``--negative TEXT[:W]`` (one or more, as
before, now with weights), ``--image-prompt FILE[:W]`` (repeatable, W may be
negative), ``--style-image FILE`` with ``--style-strength S`` (0-100),
``--region X,Y,W,H TEXT[:W]`` (canvas pixels, repeatable). ``W`` is a number
(default 1; for negatives the push-away strength, default ``--negative-weight``); a
trailing ``:...`` that is not a number is part of the text.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, TypeVar

from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, Region, StyleImage, split_weight
from clipdraw_core.errors import ConfigError

_T = TypeVar("_T")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the issue-12 options (``--negative`` comes from its setting, parsed here for weights)."""
    group = parser.add_argument_group("prompt list, image prompts, style and regions")
    group.add_argument(
        "--add-prompt",
        action="append",
        default=[],
        metavar="TEXT[:W]",
        help="another positive prompt with weight W (default 1; negative W pushes away); repeatable",
    )
    group.add_argument(
        "--image-prompt",
        action="append",
        default=[],
        metavar="FILE[:W]",
        help="an image whose CLIP embedding is a target with weight W (default 1; negative: 'not like this')",
    )
    group.add_argument(
        "--style-image", metavar="FILE", help="match the style of this image (VGG-16 style loss)"
    )
    group.add_argument(
        "--style-strength", type=float, default=50.0, metavar="S", help="style strength 0-100 (default 50)"
    )
    group.add_argument(
        "--style-every",
        type=int,
        default=1,
        metavar="N",
        help="apply the style loss every N steps (default 1)",
    )
    group.add_argument(
        "--style-weights",
        default=None,
        metavar="imagenet|random|PATH",
        help="VGG-16 weights of the style loss (default imagenet, fetched once; --weights random: random)",
    )
    group.add_argument(
        "--region",
        nargs=2,
        action="append",
        default=[],
        metavar=("X,Y,W,H", "TEXT[:W]"),
        help="a rectangle of the canvas (pixels) with its own prompt and weight; repeatable",
    )
    group.add_argument(
        "--region-views",
        type=int,
        default=None,
        metavar="N",
        help="extra CLIP views per step shared by all regions (default: half of --augs)",
    )


def prompt_settings(args: argparse.Namespace) -> dict[str, Any]:
    """SessionConfig fields for ``--add-prompt`` and ``--negative`` (weights included).

    ``--negative`` stays a list of one or more prompts as before; a prompt's ``:W``
    gives its own push-away strength, the others take ``--negative-weight``.
    """
    extras = [split_weight(spec) for spec in args.add_prompt]
    negatives = [split_weight(spec, default=math.nan) for spec in args.negative]
    settings: dict[str, Any] = {
        "extra_prompts": tuple(t for t, _ in extras),
        "extra_weights": tuple(w for _, w in extras),
    }
    if any(not math.isnan(w) for _, w in negatives):
        settings["negative_weights"] = tuple(
            args.negative_weight if math.isnan(w) else w for _, w in negatives
        )
    settings["negative_prompts"] = tuple(t for t, _ in negatives)
    return settings


def parse_rect(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        x, y, w, h = (float(p) for p in parts)
    except ValueError as exc:
        raise ConfigError(
            f"--region expects X,Y,W,H in canvas pixels (e.g. 20,20,100,80), got {text!r}"
        ) from exc
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ConfigError(f"--region values must be finite numbers, got {text!r}")
    return x, y, w, h


def guidance_from_args(args: argparse.Namespace, canvas: tuple[int, int] | None = None) -> Guidance:
    """The image prompts, style image and regions the options ask for (files are read now).

    ``canvas`` (width, height) checks the regions against; default ``--size`` (W or WxH).
    """
    size = args.size if isinstance(args.size, tuple) else (args.size, args.size)
    width, height = canvas or size
    images = []
    for spec in args.image_prompt:
        path, weight = split_weight(spec)
        images.append(ImagePrompt.from_file(path, weight))
    style = None
    if args.style_image:
        style = StyleImage.from_file(args.style_image, args.style_strength, args.style_every)
    regions = []
    for k, (rect, spec) in enumerate(args.region):
        x, y, w, h = parse_rect(rect)
        prompt, weight = split_weight(spec)
        region = Region.rect(k + 1, x, y, w, h, prompt, weight, name=str(k + 1))
        if region.bbox(width, height) is None:
            raise ConfigError(f"--region {rect} lies outside the {width}x{height} canvas")
        regions.append(region)
    return Guidance(tuple(images), style, tuple(regions), args.region_views)


def merge_guidance(
    project: Guidance, args: argparse.Namespace, given: set[str], canvas: tuple[int, int]
) -> Guidance:
    """``--resume``: the project's guidance, the parts the command line gives replaced."""
    options = guidance_from_args(args, canvas)
    changes: dict[str, Any] = {}
    if "image_prompt" in given:
        changes["images"] = options.images
    if "style_image" in given:
        changes["style"] = options.style
    elif project.style is not None and {"style_strength", "style_every"} & given:
        base = project.style
        strength = args.style_strength if "style_strength" in given else base.strength
        every = args.style_every if "style_every" in given else base.every
        changes["style"] = StyleImage(base.name, base.png, strength, every)
    if "region" in given:
        changes["regions"] = options.regions
    if "region_views" in given:
        changes["region_views"] = options.region_views
    return project.replace(**changes) if changes else project


def style_weights_choice(args: argparse.Namespace) -> str:
    """``--style-weights``, else random in test mode (``--weights random``), else ImageNet."""
    if args.style_weights:
        return str(args.style_weights)
    return "random" if (args.weights or "").strip().lower() == "random" else "imagenet"


def constant(value: _T) -> Callable[[], _T]:
    """A loader that hands back an object already loaded (the CLI preloads the style network)."""
    return lambda: value
