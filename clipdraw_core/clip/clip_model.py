"""Loading CLIP through open_clip, and encoding prompts and rendered images.

Weights come from three places, all through open_clip's own loading code so users and
tests exercise the same path:

* a pretrained tag (``"openai"``, ``"laion2b_s34b_b79k"``...): open_clip fetches it
  from the Hugging Face hub into the standard HF cache on first use and reads it from
  the cache afterwards (``clipdraw_core.clip.weights`` can pre-download it with progress);
* a local checkpoint file (an open_clip ``state_dict``);
* ``"random"``: a random-initialised model - meaningless drawings, but the full real
  pipeline runs offline (tests, demos, CI).

A model name may also be a path to an open_clip model-config JSON file, registered on
the fly (the tests' tiny model uses this). The image tower's weights are frozen
(``requires_grad_(False)``): we only need gradients with respect to the input image,
and that is ~1.5x faster than keeping parameter gradients.

For open_clip's ViT towers the image features come from
:class:`~clipdraw_core.clip.fast_vit.FastVisionTower` (the same function, laid out for
input gradients, several times faster), in the precision chosen by
:meth:`ClipModel.set_precision` (see :mod:`clipdraw_core.clip.precision`); every other
tower runs open_clip's own module.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, cast

import torch
import torch.nn.functional as F  # noqa: N812

from clipdraw_core.clip.fast_vit import FastVisionTower
from clipdraw_core.clip.precision import PrecisionChoice, choose_precision
from clipdraw_core.clip.weights import (
    WEIGHTS_FILE,
    WEIGHTS_RANDOM,
    WEIGHTS_TAG,
    cached_weights_path,
    classify_weights,
)
from clipdraw_core.errors import ModelNotFoundError, WeightsError

logger = logging.getLogger(__name__)

#: CLIP's input normalisation (OpenAI statistics), used unless the weights say otherwise.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

#: Prompts whose text features are kept (each is one D-float vector; 256 x 512 floats = 0.5 MB).
TEXT_CACHE_SIZE = 256

_registry_lock = threading.Lock()


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; other names are checked.

    An unavailable device raises :class:`~clipdraw_core.errors.ConfigError` saying what
    to use instead (see :func:`clipdraw_core.clip.model_catalog.resolve_device_choice`).
    """
    if isinstance(name, torch.device):
        return name
    from clipdraw_core.clip.model_catalog import resolve_device_choice

    return torch.device(resolve_device_choice(name).device)


def register_model_config(path: str | os.PathLike[str]) -> str:
    """Register an open_clip model-config JSON file; return the model name it defines."""
    import open_clip

    file = Path(path)
    if not file.is_file():
        raise ModelNotFoundError(f"model config file {file} does not exist")
    with _registry_lock:
        try:
            open_clip.add_model_config(file)
        except Exception as exc:
            raise ModelNotFoundError(f"cannot read model config {file}: {exc}") from exc
    return file.stem


def _resolve_model_name(model_name: str) -> str:
    import open_clip

    if model_name.endswith(".json") and Path(model_name).is_file():
        return register_model_config(model_name)
    if model_name not in open_clip.list_models():
        close = [m for m in open_clip.list_models() if model_name.lower() in m.lower()][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see open_clip.list_models())"
        raise ModelNotFoundError(f"unknown CLIP model {model_name!r}{hint}")
    return model_name


def hub_reachable(timeout: float = 3.0) -> bool:
    """Quick TCP probe of the Hugging Face endpoint, so offline users get an answer in seconds."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _missing_weights_message(model_name: str, tag: str, reason: str) -> str:
    return (
        f"CLIP weights '{model_name}/{tag}' are not in the local cache and could not be downloaded "
        f"({reason}). Connect to the internet and try again (they download once, to the Hugging Face "
        f"cache), or pass a local open_clip checkpoint with --weights PATH, "
        f"or use --weights random to try the pipeline with a random model."
    )


class _ClipNetwork(Protocol):
    """What we call on an open_clip model (open_clip publishes no types)."""

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor: ...

    def encode_image(self, images: torch.Tensor) -> torch.Tensor: ...


#: open_clip's tokenizer: prompts to a [N, context] token tensor.
Tokenizer = Callable[[list[str]], torch.Tensor]


class ClipModel:
    """A loaded open_clip model with cached, normalised text features."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Tokenizer,
        name: str,
        weights: str,
        device: torch.device,
        mean: Sequence[float] = OPENAI_MEAN,
        std: Sequence[float] = OPENAI_STD,
    ) -> None:
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.name = name
        self.weights = weights
        self.device = device
        size = getattr(model.visual, "image_size", 224)
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self._mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, device=device).view(1, 3, 1, 1)
        # Bounded (least recently used out): a long session with a new prompt every
        # minute, or a server resuming many projects, must not grow without limit.
        self._text_cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.fast_tower = FastVisionTower.from_visual(model.visual) if _plain_image_encoder(model) else None
        self.precision = PrecisionChoice("fp32", "default (no precision chosen yet)", "fp32")
        self._choices: dict[str, PrecisionChoice] = {}

    def set_precision(self, requested: str = "auto", batch: int = 4) -> PrecisionChoice:
        """Choose the image pass's precision (``auto`` calibrates once per model; cached)."""
        choice = self._choices.get(requested)
        if choice is None:
            choice = choose_precision(self.fast_tower, self.device, requested, batch)
            self._choices[requested] = choice
        elif self.fast_tower is not None:
            self.fast_tower.prepare(choice.precision, batch)
        self.precision = choice
        return choice

    @property
    def _net(self) -> _ClipNetwork:
        return cast(_ClipNetwork, self.model)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """CLIP's input normalisation for images in [0, 1], shape [B, 3, H, W]."""
        return (images - self._mean) / self._std

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-norm text embeddings [N, D]; each prompt is encoded once and cached.

        The cache keeps the :data:`TEXT_CACHE_SIZE` most recently used prompts.
        """
        if not texts:
            return torch.empty(0, self.embed_dim, device=self.device)
        found: dict[str, torch.Tensor] = {}
        missing: list[str] = []
        for text in dict.fromkeys(texts):
            feat = self._text_cache.get(text)
            if feat is None:
                missing.append(text)
            else:
                found[text] = feat
                self._text_cache.move_to_end(text)
        if missing:
            tokens = self.tokenizer(list(missing)).to(self.device)
            feats = F.normalize(self._net.encode_text(tokens).float(), dim=-1)
            for text, feat in zip(missing, feats, strict=True):
                found[text] = feat
                self._text_cache[text] = feat
        while len(self._text_cache) > TEXT_CACHE_SIZE:
            self._text_cache.popitem(last=False)
        return torch.stack([found[t] for t in texts])

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm image embeddings [B, D] of images in [0, 1] at ``image_size``.

        Differentiable with respect to ``images`` (the weights are frozen).
        """
        pixels = self.normalize(images)
        if self.fast_tower is not None and self.fast_tower.covers(pixels):
            return F.normalize(self.fast_tower(pixels, self.precision.precision), dim=-1)
        return F.normalize(self._net.encode_image(pixels).float(), dim=-1)

    @property
    def embed_dim(self) -> int:
        proj = getattr(self.model, "text_projection", None)
        if isinstance(proj, torch.Tensor):
            return int(proj.shape[-1])
        return int(self._net.encode_text(self.tokenizer(["x"]).to(self.device)).shape[-1])

    def __repr__(self) -> str:
        return f"ClipModel({self.name!r}, weights={self.weights!r}, device={self.device})"


def _plain_image_encoder(model: torch.nn.Module) -> bool:
    """Whether ``model.encode_image`` is just ``model.visual`` (CLIP, CustomTextCLIP)."""
    import open_clip

    method = getattr(type(model), "encode_image", None)
    return method in (open_clip.CLIP.encode_image, open_clip.CustomTextCLIP.encode_image)


def load_clip(
    model_name: str = "ViT-B-32",
    weights: str = "openai",
    device: str | torch.device = "auto",
    *,
    cache_dir: str | None = None,
    precision: str | None = None,
    batch: int = 4,
) -> ClipModel:
    """Load an open_clip model with frozen weights (see the module docstring).

    ``precision`` (auto/fp32/bf16/fp16), if given, is resolved at once for ``batch``
    images per pass (``auto`` calibrates); otherwise the image pass runs fp32 until
    :meth:`ClipModel.set_precision` is called.
    """
    import open_clip

    dev = resolve_device(device)
    name = _resolve_model_name(model_name)
    weights = (weights or "random").strip()
    kind = classify_weights(weights, name)
    kwargs: dict[str, object] = {}
    mean, std = OPENAI_MEAN, OPENAI_STD
    if kind == WEIGHTS_RANDOM:
        pretrained: str | None = None
        weights = "random"
    elif kind == WEIGHTS_TAG:
        cfg = open_clip.get_pretrained_cfg(name, weights)
        kwargs["force_quick_gelu"] = bool(cfg.get("quick_gelu", False))
        mean, std = cfg.get("mean", mean) or mean, cfg.get("std", std) or std
        # A cached file is loaded as a file: open_clip would otherwise ask the hub for
        # updates first, which offline means a minute of retries before the fallback.
        cached = cached_weights_path(name, weights, cache_dir) if cfg.get("hf_hub") else None
        pretrained = str(cached) if cached is not None else None
        if pretrained is None:
            if not hub_reachable():
                raise WeightsError(_missing_weights_message(name, weights, "the model hub cannot be reached"))
            pretrained = weights
    elif kind == WEIGHTS_FILE:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsError(f"weights file {path} does not exist")
        if not os.access(path, os.R_OK):
            raise WeightsError(f"weights file {path} is not readable (check its permissions)")
        pretrained = str(path)
        weights = str(path)
    else:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(name)) or "none"
        raise WeightsError(
            f"{weights!r} is neither a weights file nor a pretrained tag of {name} "
            f"(tags: {tags}; or 'random')"
        )
    logger.info("loading CLIP %s (weights: %s) on %s", name, weights, dev)
    try:
        model = open_clip.create_model(name, pretrained=pretrained, device=dev, cache_dir=cache_dir, **kwargs)
    except RuntimeError as exc:
        text = str(exc)
        if pretrained is not None and pretrained == weights and "Failed to download" in text:
            raise WeightsError(_missing_weights_message(name, weights, "the download failed")) from exc
        first_line = (text.splitlines() or ["unknown error"])[0][:300]
        raise WeightsError(f"cannot load weights {weights!r} into {name}: {first_line}") from exc
    except Exception as exc:  # torch.load/safetensors raise many types on bad files
        first_line = f"{type(exc).__name__}: " + (str(exc).splitlines() or [""])[0][:300]
        raise WeightsError(f"cannot load weights {weights!r} into {name}: {first_line}") from exc
    tokenizer = open_clip.get_tokenizer(name)
    clip = ClipModel(model, tokenizer, name, weights, dev, mean, std)
    if precision is not None:
        clip.set_precision(precision, batch)
    return clip
