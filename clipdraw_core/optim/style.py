"""The style loss of StyleCLIPDraw (Schaldenbrand et al. 2022) on VGG-16 features.

The drawing (the rendered canvas, not the augmented views) and a style image go
through VGG-16's convolutional part; at the nine ReLU outputs StyleCLIPDraw reads
(``relu1_1, relu1_2, relu2_1, relu2_2, relu3_1, relu3_2, relu3_3, relu4_3, relu5_3``,
indices :data:`STYLE_LAYERS` of ``torchvision.models.vgg16().features``) the loss
compares Gram matrices (channel co-activations averaged over positions, Gatys et al.)::

    style_loss = mean_layers ||G(drawing) - G(style)||^2 / ||G(style)||^2

Each layer's term is relative to the style's own Gram energy, so layers weigh alike
whatever their activation scale, and an empty canvas starts near 1. StyleCLIPDraw
itself matches the features with STROTSS's relaxed earth mover's distance in a separate
inner loop of 50 RMSprop steps every few steps; here the Gram loss is simply added to
the step's loss on every ``every``-th step (one extra VGG pass, see the README for
what that costs), with weight ``strength / 100 * num_augs`` so that strength 100
weighs about as much as the CLIP term.

Weights: torchvision's ImageNet VGG-16 (``VGG16_Weights.IMAGENET1K_V1``), fetched on
first use exactly where ``torchvision.models.vgg16(weights=...)`` keeps it (the torch
hub cache, ``<torch hub dir>/checkpoints/vgg16-397923af.pth``), streamed in chunks with
a progress callback and a cancel event (temporary file, SHA-256 prefix check, atomic
move, as torch.hub's ``download_url_to_file`` does), so either loader finds it
afterwards without network; :func:`install_vgg_file` puts a local copy there. Only the convolutional part is
loaded: the classifier is 90 % of the file and not needed. Offline, a missing file
is one :class:`~clipdraw_core.errors.WeightsError` line saying where to put it;
``"random"`` (what ``--weights random`` selects) builds a seeded random VGG-16 and
``PATH`` loads a local checkpoint.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from clipdraw_core.clip.weights import DownloadCancelled
from clipdraw_core.drawing.guidance import png_to_array
from clipdraw_core.errors import ClipDrawError, WeightsError

logger = logging.getLogger(__name__)

#: ReLU outputs of ``vgg16().features`` that StyleCLIPDraw reads.
STYLE_LAYERS = (1, 3, 6, 8, 11, 13, 15, 22, 29)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Seed of the random VGG-16 used in test mode (reproducible runs).
RANDOM_SEED = 0


@dataclass(frozen=True)
class VggSource:
    """Where the VGG-16 weights come from and how the downloaded file is checked."""

    url: str
    filename: str
    hash_prefix: str | None

    @classmethod
    def torchvision(cls) -> VggSource:
        """torchvision's own ImageNet VGG-16 (the file ``vgg16(weights=IMAGENET1K_V1)`` loads)."""
        from torchvision.models import VGG16_Weights

        return cls.from_url(VGG16_Weights.IMAGENET1K_V1.url)

    @classmethod
    def from_url(cls, url: str) -> VggSource:
        """Name and hash prefix from the URL's file name, as torch.hub derives them."""
        filename = os.path.basename(urlparse(url).path)
        match = re.search(r"-([a-f0-9]*)\.", filename)  # torch.hub.HASH_REGEX
        return cls(url, filename, match.group(1) if match else None)


def vgg_cache_path(source: VggSource | None = None) -> Path:
    """Where torchvision keeps (and looks for) the file: ``<torch hub dir>/checkpoints/NAME``."""
    source = source or VggSource.torchvision()
    return Path(torch.hub.get_dir()) / "checkpoints" / source.filename


def _reachable(url: str, timeout: float) -> bool:
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


ProgressCallback = Callable[[int, "int | None"], None]
#: Bytes read per chunk: progress and cancel are checked this often.
DOWNLOAD_CHUNK = 1 << 20


def _fetch_to(source: VggSource, target: Path, progress: ProgressCallback | None,
              cancel: threading.Event | None, timeout: float) -> None:
    """Stream ``source.url`` into a temporary file next to ``target``, check, rename.

    Hand-written rather than ``torch.hub.download_url_to_file`` because that function
    has neither a progress callback (only a tqdm bar on stderr) nor a way to stop it.
    Same guarantees: SHA-256 prefix check, atomic ``os.replace``, and the temporary file
    is deleted on any failure or cancel, so the cache never holds a partial file.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{source.filename}.", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(source.url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress is not None:
                progress(0, total)
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled("Download cancelled.")
                chunk = response.read(DOWNLOAD_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if source.hash_prefix and not digest.hexdigest().startswith(source.hash_prefix):
            raise WeightsError(
                f"The VGG-16 weights downloaded from {urlparse(source.url).netloc} are corrupt "
                "(checksum mismatch); nothing was kept. Retry."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def download_vgg(
    source: VggSource | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 5.0,
) -> Path:
    """Fetch the VGG-16 weights into the torch hub cache (once); return the file.

    ``progress(done_bytes, total_bytes_or_None)`` is called per chunk (1 MiB) from the
    calling thread; ``cancel`` is checked between chunks and a set event raises
    :class:`~clipdraw_core.clip.weights.DownloadCancelled` with nothing left behind.
    Failures are one-line WeightsErrors.
    """
    source = source or VggSource.torchvision()
    target = vgg_cache_path(source)
    if target.is_file():
        if progress is not None:
            size = target.stat().st_size
            progress(size, size)
        return target
    host = urlparse(source.url).netloc or source.url
    advice = (
        f"Connect and retry, copy {source.filename} into {target.parent}, "
        "or use --weights random (a random style network, for trying things out)."
    )
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled("Download cancelled.")
    if not _reachable(source.url, timeout):
        raise WeightsError(
            f"The VGG-16 weights for the style loss are not in {target.parent} and {host} "
            f"cannot be reached (offline?). {advice}"
        )
    try:
        logger.info("downloading VGG-16 weights from %s to %s", source.url, target)
        _fetch_to(source, target, progress, cancel, timeout)
    except urllib.error.HTTPError as exc:
        raise WeightsError(
            f"Cannot download the VGG-16 weights: {host} answered HTTP {exc.code}. {advice}"
        ) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise WeightsError(f"Cannot download the VGG-16 weights: {host} is unreachable. {advice}") from exc
    except ClipDrawError:
        raise
    except OSError as exc:
        raise WeightsError(
            f"Cannot save the VGG-16 weights to {target.parent}: {exc.strerror or exc}"
        ) from exc
    return target


def install_vgg_file(path: str | os.PathLike[str], source: VggSource | None = None) -> Path:
    """Check that ``path`` is a usable VGG-16 checkpoint and copy it into the cache.

    For an artist who already has the file (offline machine): afterwards
    ``"imagenet"`` finds it where torchvision would. The file is loaded first (a bad
    file is a WeightsError and nothing is copied); the copy goes through a temporary
    file and an atomic rename. Returns the cached path.
    """
    src = Path(path).expanduser()
    _load_features(src)  # validates; raises WeightsError
    target = vgg_cache_path(source)
    if target.exists() and target.resolve() == src.resolve():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise WeightsError(
            f"Cannot copy the VGG-16 weights to {target.parent}: {exc.strerror or exc}"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("VGG-16 weights installed from %s to %s", src, target)
    return target


class StyleNetwork(nn.Module):
    """VGG-16's convolutional part up to ``relu5_3``, frozen, returning the style layers."""

    def __init__(self, features: nn.Sequential, description: str) -> None:
        super().__init__()
        self.features = features[: max(STYLE_LAYERS) + 1]
        self.description = description
        for module in self.features:
            if isinstance(module, nn.ReLU):
                module.inplace = False  # captured activations must not be overwritten
        self.requires_grad_(False).eval()
        self.mean: Tensor
        self.std: Tensor
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: Tensor) -> list[Tensor]:
        """Activations at :data:`STYLE_LAYERS` for images ``[B, 3, H, W]`` in [0, 1]."""
        x = (images - self.mean) / self.std
        out: list[Tensor] = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in STYLE_LAYERS:
                out.append(x)
        return out


def _features_state(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Accept a full vgg16 state_dict, a ``features.*`` one or the Sequential's own keys."""
    if any(k.startswith("features.") for k in state):
        return {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    return dict(state)


def vgg16_features() -> nn.Sequential:
    """torchvision's VGG-16 convolutional part, initialised as ``vgg16(weights=None)`` is.

    Built with torchvision's own ``make_layers`` rather than ``vgg16()`` so the 120 M
    classifier parameters (470 MB) are never allocated.
    """
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["D"], batch_norm=False)
    for module in features.modules():
        if isinstance(module, nn.Conv2d):  # as torchvision.models.VGG._initialize_weights
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.constant_(module.bias, 0)
    assert isinstance(features, nn.Sequential)
    return features


def _load_features(path: Path) -> nn.Sequential:
    """VGG-16's convolutional part with the weights of the checkpoint at ``path``."""
    if not path.is_file():
        raise WeightsError(f"VGG-16 weights file {path} does not exist")
    features = vgg16_features()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        features.load_state_dict(_features_state(state), strict=True)
    except Exception as exc:  # torch.load raises many types on bad files
        first = (str(exc).splitlines() or [""])[0][:200]
        raise WeightsError(f"cannot load VGG-16 weights from {path}: {type(exc).__name__}: {first}") from exc
    return features


def load_style_network(
    weights: str = "imagenet", device: str | torch.device = "cpu", *, source: VggSource | None = None
) -> StyleNetwork:
    """The style network: ``"imagenet"`` (cached or downloaded), ``"random"``, or a checkpoint PATH."""
    choice = (weights or "imagenet").strip()
    if choice.lower() == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED)
            features = vgg16_features()
        return StyleNetwork(features, "random").to(device)
    path = download_vgg(source) if choice.lower() == "imagenet" else Path(choice).expanduser()
    features = _load_features(path)
    logger.info("style network: VGG-16 from %s", path)
    return StyleNetwork(features, str(path)).to(device)


def gram(features: Tensor) -> Tensor:
    """Gram matrices ``[B, C, C]`` of ``[B, C, H, W]`` activations, averaged over positions."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


class StyleLoss:
    """The style loss against one style image (its Gram matrices are computed once)."""

    def __init__(self, network: StyleNetwork, style_png: bytes, canvas_size: tuple[int, int]) -> None:
        self.network = network
        device = next(network.buffers()).device
        pixels = torch.from_numpy(png_to_array(style_png)).permute(2, 0, 1)[None].to(device)
        # As StyleCLIPDraw: the style image with its long edge resized to the canvas's.
        long_edge = max(canvas_size)
        h, w = pixels.shape[-2:]
        scale = long_edge / max(h, w)
        size = (max(16, round(h * scale)), max(16, round(w * scale)))
        pixels = F.interpolate(pixels, size=size, mode="bilinear", align_corners=False, antialias=True)
        with torch.no_grad():
            self.targets = [gram(f) for f in network(pixels.clamp(0, 1))]
        self.energy = [t.pow(2).sum() for t in self.targets]

    def __call__(self, image: Tensor) -> Tensor:
        """The loss for a rendered canvas ``[3, H, W]`` in [0, 1] (differentiable)."""
        feats = self.network(image[None])
        terms = [
            (gram(f) - t).pow(2).sum() / e.clamp_min(1e-12)
            for f, t, e in zip(feats, self.targets, self.energy, strict=True)
        ]
        return torch.stack(terms).mean()
