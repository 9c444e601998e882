"""What a model picker needs to know: which CLIP models exist, how big and how fast they are.

open_clip knows hundreds of (model, pretrained tag) pairs but says nothing a person can
use to choose between them. An artist wants "ViT-B/32: 600 MB download, fast" rather
than a list of names, so this module pairs open_clip's own list with hand-written hints
for the dozen models people actually use for CLIPDraw. Every other model is still
listed, with "unknown" hints, so nothing is hidden.

The hints are approximate: parameter counts and image-encoder GFLOPs come from
open_clip's published model profile; the download size is the fp32 checkpoint
(about 4 bytes per parameter); the relative speed is the image encoder's cost relative
to ViT-B-32, which dominates a CLIPDraw step. They are for choosing, not for promises.

It also resolves the device choice ("auto": CUDA, then Apple MPS, then CPU) into a
device string plus a sentence to show the user, and suggests lighter settings on CPU.
No Qt here: the GUI, the CLI and tests share it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from clipdraw_core.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "openai"

# Rough CPU budget above which a run feels slow on a laptop CPU (strokes x augmentations).
_CPU_COMFORTABLE_PATHS = 128
_CPU_COMFORTABLE_AUGS = 2


@dataclass(frozen=True)
class ModelHint:
    """Hand-written size/speed facts for one model architecture."""

    params_m: float  # total parameters, millions
    image_gflops: float  # image encoder forward GFLOPs at its native resolution
    note: str = ""

    @property
    def download_mb(self) -> int:
        """Approximate fp32 checkpoint size in MB (4 bytes per parameter)."""
        return int(round(self.params_m * 4.0 / 10.0) * 10)

    @property
    def relative_speed(self) -> float:
        """Steps per second relative to ViT-B-32 (1.0); larger is faster."""
        return _HINTS[DEFAULT_MODEL].image_gflops / self.image_gflops


# Numbers from open_clip's docs/model_profile.csv (rounded). Notes are for the artist.
_HINTS: dict[str, ModelHint] = {
    "ViT-B-32": ModelHint(151.3, 4.4, "CLIPDraw's original model; the recommended default"),
    "ViT-B-32-quickgelu": ModelHint(151.3, 4.4, "ViT-B/32 variant used by some LAION checkpoints"),
    "ViT-B-16": ModelHint(149.6, 17.6, "finer detail than B/32, about 4x slower"),
    "ViT-B-16-plus-240": ModelHint(208.4, 33.0, "bigger B/16 at 240 px"),
    "ViT-L-14": ModelHint(427.6, 81.1, "much stronger, needs a GPU"),
    "ViT-L-14-336": ModelHint(427.9, 190.7, "ViT-L/14 at 336 px: GPU only"),
    "ViT-H-14": ModelHint(986.1, 167.4, "very large: a big GPU"),
    "ViT-g-14": ModelHint(1366.7, 267.9, "very large: a big GPU"),
    "ViT-bigG-14": ModelHint(2539.6, 473.0, "huge: a big GPU"),
    "RN50": ModelHint(102.0, 5.4, "ResNet-50 CLIP: smallest download"),
    "RN101": ModelHint(119.7, 9.9, "ResNet-101 CLIP"),
    "RN50x4": ModelHint(178.3, 15.0, "ResNet-50x4 at 288 px"),
    "RN50x16": ModelHint(291.0, 48.0, "ResNet-50x16 at 384 px"),
    "RN50x64": ModelHint(623.3, 253.0, "ResNet-50x64 at 448 px: GPU only"),
    "convnext_base_w": ModelHint(179.4, 14.5, "ConvNeXt-Base (wide)"),
}


@dataclass(frozen=True)
class CatalogEntry:
    """One model architecture with its pretrained tags and the hints to show."""

    model_name: str
    pretrained_tags: tuple[str, ...]
    hint: ModelHint | None
    image_size: int | None

    @property
    def is_default(self) -> bool:
        return self.model_name == DEFAULT_MODEL

    @property
    def recommended_tag(self) -> str | None:
        """The tag to preselect: 'openai' when there is one, else the first listed."""
        if not self.pretrained_tags:
            return None
        return "openai" if "openai" in self.pretrained_tags else self.pretrained_tags[0]

    def size_text(self) -> str:
        """Short text such as '151 M params, ~610 MB download', or 'size unknown'."""
        if self.hint is None:
            return "size unknown"
        mb = self.hint.download_mb
        size = f"~{mb / 1000:.1f} GB" if mb >= 1000 else f"~{mb} MB"
        return f"{self.hint.params_m:.0f} M params, {size} download"

    def speed_text(self) -> str:
        """Short speed label relative to the default model, or 'speed unknown'."""
        if self.hint is None:
            return "speed unknown"
        rel = self.hint.relative_speed
        if rel >= 0.75:
            label = "fast"
        elif rel >= 0.2:
            label = "medium"
        elif rel >= 0.05:
            label = "slow"
        else:
            label = "very slow"
        return f"{label} ({rel:.2f}x ViT-B-32)"

    def summary(self) -> str:
        """One line for a list or tooltip."""
        parts = [self.model_name, self.size_text(), self.speed_text()]
        if self.image_size:
            parts.append(f"{self.image_size} px input")
        if self.hint is not None and self.hint.note:
            parts.append(self.hint.note)
        return " · ".join(parts)


def model_hint(model_name: str) -> ModelHint | None:
    """The hand-written hint for ``model_name`` or None ("unknown")."""
    return _HINTS.get(model_name)


def approx_download_bytes(model_name: str) -> int | None:
    """Approximate checkpoint size in bytes, when the model is one we have hints for."""
    hint = model_hint(model_name)
    return None if hint is None else hint.download_mb * 1_000_000


def _image_size(model_name: str) -> int | None:
    import open_clip

    cfg = open_clip.get_model_config(model_name) or {}
    size = cfg.get("vision_cfg", {}).get("image_size")
    if isinstance(size, (list, tuple)):
        size = size[0]
    return int(size) if isinstance(size, int) else None


def list_catalog(*, only_pretrained: bool = True) -> list[CatalogEntry]:
    """All open_clip models, default first, then those with hints (by speed), then the rest by name.

    With ``only_pretrained`` (the default) only models with at least one pretrained tag are
    listed: a picker offers what can be downloaded.
    """
    import open_clip

    tags: dict[str, list[str]] = {}
    for name, tag in open_clip.list_pretrained():
        tags.setdefault(name, []).append(tag)
    names = set(tags)
    if not only_pretrained:
        names |= set(open_clip.list_models())
    entries = [
        CatalogEntry(name, tuple(tags.get(name, ())), model_hint(name), _image_size(name)) for name in names
    ]

    def key(entry: CatalogEntry) -> tuple[int, float, str]:
        if entry.is_default:
            return (0, 0.0, "")
        if entry.hint is not None:
            return (1, -entry.hint.relative_speed, entry.model_name)
        return (2, 0.0, entry.model_name.lower())

    entries.sort(key=key)
    return entries


def catalog_entry(model_name: str) -> CatalogEntry:
    """The entry for one model; raises ConfigError (a ClipDrawError) for unknown names."""
    import open_clip

    if model_name not in open_clip.list_models():
        raise ConfigError(
            f"Unknown CLIP model {model_name!r}. Pick one of open_clip's models, e.g. {DEFAULT_MODEL}."
        )
    return CatalogEntry(
        model_name,
        tuple(open_clip.list_pretrained_tags_by_model(model_name)),
        model_hint(model_name),
        _image_size(model_name),
    )


# --------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class DeviceChoice:
    """A resolved device: the torch device string and a sentence for the status bar."""

    device: str  # "cuda", "cuda:1", "mps" or "cpu"
    description: str
    accelerated: bool

    @property
    def is_cpu(self) -> bool:
        return self.device == "cpu"


def _cpu_description() -> str:
    cores = os.cpu_count() or 1
    return f"CPU ({cores} cores): slow, expect a few seconds per step"


def _cuda_description(index: int) -> str:
    import torch

    props = torch.cuda.get_device_properties(index)
    mem = props.total_memory / 2**30
    return f"GPU: {props.name} (CUDA, {mem:.0f} GiB): fast"


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device_choice(choice: str = "auto") -> DeviceChoice:
    """Turn "auto" | "cpu" | "cuda" | "cuda:N" | "mps" into an available device.

    "auto" prefers CUDA, then Apple's MPS, then the CPU. An explicit device that is not
    available raises ConfigError with a message saying what is available instead.
    """
    import torch

    choice = (choice or "auto").strip().lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return DeviceChoice("cuda", _cuda_description(torch.cuda.current_device()), True)
        if _mps_available():
            return DeviceChoice("mps", "GPU: Apple Silicon (MPS): fast", True)
        return DeviceChoice("cpu", _cpu_description(), False)
    if choice == "cpu":
        return DeviceChoice("cpu", _cpu_description(), False)
    if choice == "mps":
        if not _mps_available():
            raise ConfigError(
                "Device 'mps' is not available here (it needs Apple Silicon). Use --device auto."
            )
        return DeviceChoice("mps", "GPU: Apple Silicon (MPS): fast", True)
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(
                "Device 'cuda' is not available here (no NVIDIA GPU or a CPU-only PyTorch). "
                "Use --device auto or cpu."
            )
        index = torch.cuda.current_device()
        if ":" in choice:
            try:
                index = int(choice.split(":", 1)[1])
            except ValueError:
                raise ConfigError(f"Bad device {choice!r}: write cuda:0, cuda:1, ...") from None
            if not 0 <= index < torch.cuda.device_count():
                raise ConfigError(
                    f"Device {choice!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)."
                )
        return DeviceChoice(choice, _cuda_description(index), True)
    raise ConfigError(f"Unknown device {choice!r}: use auto, cpu, cuda, cuda:N or mps.")


def cpu_warning(num_paths: int, num_augs: int) -> str | None:
    """A suggestion for CPU runs with heavy settings, or None when they are light enough.

    Cost per step grows with the number of strokes (rendering) and augmentations (CLIP
    passes), so the advice names whichever is above a comfortable CPU budget.
    """
    tips = []
    if num_paths > _CPU_COMFORTABLE_PATHS:
        tips.append(f"fewer strokes (e.g. {_CPU_COMFORTABLE_PATHS} instead of {num_paths})")
    if num_augs > _CPU_COMFORTABLE_AUGS:
        tips.append(f"fewer augmentations (e.g. {_CPU_COMFORTABLE_AUGS} instead of {num_augs})")
    if not tips:
        return None
    return "Running on the CPU is slow. For quicker results try " + " and ".join(tips) + "."
