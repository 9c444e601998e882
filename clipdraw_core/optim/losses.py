"""The CLIPDraw objective and the optional regularisers of the seed document.

The original loss, summed over the augmented views ``v`` of one step::

    loss = - sum_v cos(text, image_v)  [+ 0.3 * sum_v sum_neg cos(neg, image_v)]

We generalise it to several weighted positive prompts and a temperature ``tau``
(cosines divided by ``tau``); with one prompt, no negatives and ``tau = 1`` it is the
original exactly. The regularisers are off (weight 0) by default and cost nothing
then.
"""

from __future__ import annotations

import torch
from torch import Tensor


def clip_loss(
    image_features: Tensor,
    prompt_features: Tensor,
    prompt_weights: Tensor,
    negative_features: Tensor | None = None,
    negative_weight: float = 0.3,
    temperature: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """Return ``(loss, score)``; features are unit-norm ``[B, D]`` / ``[P, D]`` / ``[N, D]``.

    ``score`` is the mean cosine similarity of the views to the first (main) prompt,
    the number shown to the artist.
    """
    cos = image_features @ prompt_features.T  # [B, P]
    loss = -(cos / temperature * prompt_weights).sum()
    if negative_features is not None and negative_features.shape[0] > 0 and negative_weight:
        loss = loss + negative_weight * (image_features @ negative_features.T / temperature).sum()
    return loss, cos[:, 0].detach().mean()


def weighted_clip_loss(
    image_features: Tensor, targets: Tensor, weights: Tensor, temperature: float = 1.0
) -> Tensor:
    """``-sum_views sum_targets weight * cos(target, view) / tau`` for unit-norm features.

    The prompt-list form of :func:`clip_loss`: targets are text or image embeddings
    ``[T, D]``, a negative weight pushes away. One target of weight 1 at ``tau = 1``
    is the original CLIPDraw loss, computed by the same operations.
    """
    cos = image_features @ targets.T  # [B, T]
    return -(cos / temperature * weights).sum()


def l2_penalty(values: Tensor, anchor: Tensor, scale: float = 1.0) -> Tensor:
    """Mean squared drift of ``values`` from where they started (keeps a seed recognisable)."""
    if values.numel() == 0:
        return values.sum()
    return ((values - anchor) / scale).pow(2).mean()


def smoothness_penalty(cubics: Tensor, scale: float) -> Tensor:
    """Mean squared second difference of each cubic's control polygon (penalises kinks)."""
    if cubics.numel() == 0:
        return cubics.sum()
    second = cubics[:, 2:] - 2 * cubics[:, 1:-1] + cubics[:, :-2]
    return (second / scale).pow(2).sum(-1).mean()


def diversity_penalty(
    cubics: Tensor, seg_stroke: Tensor, colors: Tensor, num_strokes: int, scale: float, sigma: float = 0.1
) -> Tensor:
    """Penalise pairs of strokes that are both close in colour and close in space.

    Spatial closeness is a Chamfer distance between the strokes' control points
    (normalised by the canvas size); colour closeness a Gaussian of the RGB distance.
    Only for modest stroke counts: the cost is quadratic in the number of strokes.
    """
    if num_strokes < 2:
        return colors.sum() * 0
    pts = cubics.reshape(-1, 2) / scale  # [C*4, 2]
    owner = seg_stroke.repeat_interleave(4)
    dist = torch.cdist(pts, pts)  # [N, N]
    big = torch.finfo(dist.dtype).max / 4
    # min over the other stroke's points: reduce columns by owner with amin
    per_point = torch.full((pts.shape[0], num_strokes), big, dtype=dist.dtype, device=dist.device)
    per_point = per_point.scatter_reduce(1, owner.expand(pts.shape[0], -1), dist, reduce="amin")
    per_stroke = torch.zeros(num_strokes, num_strokes, dtype=dist.dtype, device=dist.device)
    per_stroke = per_stroke.index_add(0, owner, per_point)
    counts = torch.bincount(owner, minlength=num_strokes).clamp(min=1).to(dist.dtype)
    chamfer = per_stroke / counts[:, None]
    chamfer = 0.5 * (chamfer + chamfer.T)
    rgb = colors[:, :3]
    colour_sim = torch.exp(-torch.cdist(rgb, rgb).pow(2) / (2 * sigma**2))
    spatial_sim = torch.exp(-chamfer / sigma)
    off_diag = 1 - torch.eye(num_strokes, dtype=dist.dtype, device=dist.device)
    return (colour_sim * spatial_sim * off_diag).sum() / (num_strokes * (num_strokes - 1))
