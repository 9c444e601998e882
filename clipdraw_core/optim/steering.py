"""One step's CLIP objective from the prompt list, image prompts, regions and style.

:class:`Steering` is what a :class:`~clipdraw_core.optim.session.Session` calls to
turn the rendered image into the loss. It holds the encoded targets and rebuilds
them when the settings or the :class:`~clipdraw_core.drawing.guidance.Guidance`
change (text and image embeddings are cached, so a change only encodes what is new).

Per step:

1. the canvas views (``num_augs`` augmentations of the whole image, drawn exactly as
   the original does) and the region views (:mod:`clipdraw_core.optim.regions`) are
   encoded by **one** CLIP call;
2. the canvas term is :func:`~clipdraw_core.optim.losses.weighted_clip_loss` over the
   canvas targets - the text prompts of the settings and the image prompts, each
   with its weight; targets of weight 0 are left out of the loss (so a zero weight
   changes nothing, bit for bit) but still scored;
3. each region adds its own term; the style loss (:mod:`clipdraw_core.optim.style`)
   is added on every ``every``-th step.

With one prompt, no negatives, no guidance this computes exactly what the original
CLIPDraw loss computes, with the same random augmentations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from clipdraw_core.clip.clip_model import ClipModel
from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, Region, png_to_array, text_prompt_list
from clipdraw_core.optim.augment import augment, coverage_views
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.losses import weighted_clip_loss
from clipdraw_core.optim.regions import allocate_views, default_region_views, region_mask, region_views
from clipdraw_core.optim.style import StyleLoss, StyleNetwork, load_style_network

logger = logging.getLogger(__name__)

StyleNetworkLoader = Callable[[], StyleNetwork]


@dataclass
class StepObjective:
    """The loss of one step with what the artist sees of it.

    The scores stay on the compute device (``values``, one detached entry per label)
    so that computing them never waits for a GPU; a session copies them to the host
    with its snapshot. :attr:`score` and :attr:`scores` read them (a device sync) for
    callers that want numbers now.
    """

    loss: Tensor
    #: Labels of ``values``: every prompt (text, ``image: NAME``, ``region NAME: PROMPT``, ``style``).
    labels: tuple[str, ...] = ()
    #: ``[len(labels)]`` detached scores, on the device.
    values: Tensor | None = None
    #: Whether ``values[0]`` is the main prompt's canvas score (no canvas views: no score).
    has_score: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """Mean cosine of the canvas views to the main prompt (``None`` if no canvas views)."""
        if not self.has_score or self.values is None:
            return None
        return float(self.values[0])

    @property
    def scores(self) -> dict[str, float]:
        """Current score of every prompt, read from the device."""
        if self.values is None or not self.labels:
            return {}
        return dict(zip(self.labels, self.values.tolist(), strict=True))


@dataclass(frozen=True)
class StepViews:
    """What CLIP is shown in one step: the views and how they split into canvas and regions."""

    #: ``[V, 3, size, size]``: the canvas views first, then each region's views in order.
    views: Tensor
    n_canvas: int
    #: Views of each region this step (0 for a region left out this step).
    counts: tuple[int, ...]
    #: Seconds spent augmenting (the step's ``augment`` timing).
    seconds: float


@dataclass
class _RegionTarget:
    region: Region
    bbox: tuple[int, int, int, int]
    mask: Tensor
    feature: Tensor


def encode_image_prompt(clip: ClipModel, prompt: ImagePrompt) -> Tensor:
    """CLIP image embedding ``[D]`` of a picture, preprocessed as CLIP's own transform does.

    Shorter side resized to the model's input size (bicubic), centre crop.
    """
    pixels = torch.from_numpy(png_to_array(prompt.png)).permute(2, 0, 1)[None].to(clip.device)
    size = clip.image_size
    h, w = pixels.shape[-2:]
    scale = size / min(h, w)
    new = (max(size, round(h * scale)), max(size, round(w * scale)))
    pixels = F.interpolate(pixels, size=new, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    pixels = pixels[:, :, top : top + size, left : left + size]
    with torch.no_grad():
        return clip.encode_image(pixels)[0]


class Steering:
    """Targets and loss assembly of a session (see the module docstring)."""

    def __init__(self, clip: ClipModel, style_network: StyleNetworkLoader | None = None) -> None:
        self.clip = clip
        self.device = clip.device
        self._style_network_loader = style_network
        self._style_network: StyleNetwork | None = None
        self._image_features: dict[str, Tensor] = {}
        self._labels: list[str] = []
        self._all_targets = torch.zeros(0, 1, device=self.device)
        self._active: Tensor | None = None
        self._active_weights: Tensor | None = None
        self._regions: list[_RegionTarget] = []
        self._region_budget = 0
        self._style: StyleLoss | None = None
        self._style_key: tuple[str, tuple[int, int]] | None = None
        self._style_weight = 0.0
        self._style_every = 1
        self._last_region_scores: dict[str, Tensor] = {}

    # ------------------------------------------------------------------ targets
    def prepare(self, config: SessionConfig, guidance: Guidance, background: tuple[float, ...]) -> None:
        """(Re)build the targets for these settings and guidance; raises ClipDrawError on bad input."""
        texts = text_prompt_list(config)
        labels = [t for t, _ in texts]
        weights = [w for _, w in texts]
        feats = [self.clip.encode_text([t for t, _ in texts])]
        for image in guidance.images:
            key = image.digest
            if key not in self._image_features:
                self._image_features[key] = encode_image_prompt(self.clip, image)
            feats.append(self._image_features[key][None])
            labels.append(image.label)
            weights.append(image.weight)
        targets = torch.cat(feats)
        active = [i for i, w in enumerate(weights) if w != 0]
        self._labels = labels
        self._all_targets = targets
        if active:
            index = torch.tensor(active, device=self.device)
            self._active = targets.index_select(0, index)
            self._active_weights = torch.tensor(
                [weights[i] for i in active], device=self.device, dtype=torch.float32
            )
        else:
            self._active = self._active_weights = None
        self._prepare_regions(config, guidance, background)
        self._prepare_style(config, guidance)

    def _prepare_regions(
        self, config: SessionConfig, guidance: Guidance, background: tuple[float, ...]
    ) -> None:
        regions: list[_RegionTarget] = []
        live = [r for r in guidance.regions if not r.muted and r.weight != 0]
        prompts = self.clip.encode_text([r.prompt for r in live]) if live else None
        for k, region in enumerate(live):
            bbox = region.bbox(config.width, config.height)
            if bbox is None:
                logger.info("region %s lies outside the canvas; ignored", region.id)
                continue
            mask = torch.from_numpy(region_mask(region, bbox)).to(self.device)
            assert prompts is not None
            regions.append(_RegionTarget(region, bbox, mask, prompts[k]))
        self._regions = regions
        self._background = torch.tensor(background, dtype=torch.float32, device=self.device).view(3, 1, 1)
        budget = guidance.region_views or default_region_views(config.num_augs)
        self._region_budget = budget if regions else 0
        keep = {r.region.label for r in regions}
        self._last_region_scores = {k: v for k, v in self._last_region_scores.items() if k in keep}

    def _prepare_style(self, config: SessionConfig, guidance: Guidance) -> None:
        style = guidance.style
        if style is None or style.strength == 0:
            self._style = None
            self._style_key = None
            return
        key = (style.digest, (config.width, config.height))
        if self._style is None or self._style_key != key:
            if self._style_network is None:
                if self._style_network_loader is None:
                    choice = "random" if config.weights == "random" else "imagenet"
                    self._style_network = load_style_network(choice, self.device)
                else:
                    network = self._style_network_loader()
                    network.to(self.device)
                    self._style_network = network
            self._style = StyleLoss(self._style_network, style.png, (config.width, config.height))
            self._style_key = key
        self._style_weight = style.strength / 100.0 * config.num_augs
        self._style_every = style.every

    @property
    def style_network(self) -> StyleNetwork | None:
        """The loaded VGG-16 (``None`` until a style image needs it)."""
        return self._style_network

    @property
    def region_budget(self) -> int:
        """Region views per step (0 without active regions)."""
        return self._region_budget

    # ------------------------------------------------------------------ loss
    def objective(
        self, image: Tensor, config: SessionConfig, gen: torch.Generator, step: int
    ) -> StepObjective:
        """The loss for the rendered image ``[3, H, W]`` (differentiable) at step ``step``.

        :meth:`views`, one CLIP call, then :meth:`loss`: a batch of variations calls the
        two halves itself so that all its members' views share one CLIP call.
        """
        views = self.views(image, config, gen, step)
        t = time.perf_counter()
        features = self.clip.encode_image(views.views)
        objective = self.loss(image, views, features, config, step)
        objective.timings["clip"] += time.perf_counter() - t
        return objective

    def views(self, image: Tensor, config: SessionConfig, gen: torch.Generator, step: int) -> StepViews:
        """The step's CLIP views of ``image``: canvas augmentations, then region views."""
        cfg = config
        size = self.clip.image_size
        counts = allocate_views(len(self._regions), self._region_budget, step)
        with_regions = any(counts)
        canvas_needed = self._active is not None or not with_regions
        t = time.perf_counter()
        parts: list[Tensor] = []
        # a non-square canvas needs more views to be covered (see optim.augment)
        canvas_views = max(cfg.num_augs, coverage_views(cfg.width, cfg.height))
        if canvas_needed:
            parts.append(
                augment(
                    image,
                    canvas_views,
                    size,
                    gen,
                    distortion=cfg.perspective_distortion,
                    crop_scale=(cfg.crop_scale[0], cfg.crop_scale[1]),
                )
            )
        n_canvas = canvas_views if canvas_needed else 0
        for target, count in zip(self._regions, counts, strict=True):
            if count:
                parts.append(
                    region_views(
                        image,
                        target.bbox,
                        target.mask,
                        self._background,
                        count,
                        size,
                        gen,
                        distortion=cfg.perspective_distortion,
                        crop_scale=(cfg.crop_scale[0], cfg.crop_scale[1]),
                    )
                )
        views = parts[0] if len(parts) == 1 else torch.cat(parts)
        return StepViews(views, n_canvas, tuple(counts), time.perf_counter() - t)

    def loss(
        self, image: Tensor, views: StepViews, features: Tensor, config: SessionConfig, step: int
    ) -> StepObjective:
        """The loss from the CLIP ``features`` of ``views`` (plus the style term on ``image``)."""
        cfg = config
        timings: dict[str, float] = {"augment": views.seconds}
        t = time.perf_counter()
        n_canvas, counts = views.n_canvas, views.counts
        canvas = features[:n_canvas]
        if self._active is not None and self._active_weights is not None:
            loss = weighted_clip_loss(canvas, self._active, self._active_weights, cfg.temperature)
        else:
            loss = features.sum() * 0.0  # keeps the graph: regularisers or regions may still pull
        # scores stay on the device, as 0-d views stacked once (no host sync per step)
        scores: dict[str, Tensor] = {}
        if n_canvas:
            with torch.no_grad():
                means = (canvas.detach() @ self._all_targets.T).mean(0)
            for k, label in enumerate(self._labels):
                scores.setdefault(label, means[k])
        offset = n_canvas
        for target, count in zip(self._regions, counts, strict=True):
            if not count:
                continue
            cos = features[offset : offset + count] @ target.feature
            offset += count
            weight = target.region.weight * cfg.num_augs / count
            loss = loss - weight * (cos / cfg.temperature).sum()
            self._last_region_scores[target.region.label] = cos.detach().mean()
        scores.update(self._last_region_scores)
        timings["clip"] = time.perf_counter() - t
        if self._style is not None and step % self._style_every == 0:
            t = time.perf_counter()
            style_loss = self._style(image)
            loss = loss + self._style_weight * style_loss
            scores["style"] = style_loss.detach().reshape(())
            timings["style"] = time.perf_counter() - t
        values = torch.stack([v.float() for v in scores.values()]) if scores else None
        has_score = bool(n_canvas) and bool(self._labels)
        return StepObjective(loss, tuple(scores), values, has_score, timings)

    def region_view_batch(
        self, image: Tensor, config: SessionConfig, gen: torch.Generator, step: int
    ) -> list[Tensor]:
        """The region views this step would show CLIP (for tests and pictures), no grad."""
        counts = allocate_views(len(self._regions), self._region_budget, step)
        out = []
        with torch.no_grad():
            for target, count in zip(self._regions, counts, strict=True):
                if count:
                    out.append(
                        region_views(
                            image,
                            target.bbox,
                            target.mask,
                            self._background,
                            count,
                            self.clip.image_size,
                            gen,
                            distortion=config.perspective_distortion,
                            crop_scale=(config.crop_scale[0], config.crop_scale[1]),
                        )
                    )
        return out
