"""Augmentations: same geometry as torchvision's perspective + resized crop, differentiable."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
import torchvision.transforms.functional as TF  # noqa: N812
from torchvision.transforms import InterpolationMode

from clipdraw_core.optim.augment import augment, crop_params, perspective_params, view_grid


def smooth_image(seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return F.avg_pool2d(torch.rand(1, 3, 224, 224), 9, 1, 4)[0]


def test_identity_and_crop_match_torchvision_exactly():
    img = smooth_image()
    corners = [[0, 0], [223, 0], [223, 223], [0, 223]]
    for crop in [(0, 0, 224, 224), (10, 20, 190, 180)]:
        ref = TF.resized_crop(img[None], *crop, [224, 224], antialias=False)
        ours = (
            F.grid_sample(
                img[None] - 1, view_grid(224, 224, 224, corners, corners, crop)[None], align_corners=False
            )
            + 1
        )
        # torchvision slices the crop before resizing, so its outermost output pixels
        # clamp to the crop edge; we sample the real neighbours there.
        assert (ref - ours)[..., 1:-1, 1:-1].abs().max() < 1e-4


def test_perspective_matches_torchvision_inside_the_warped_image():
    img = smooth_image(1)
    gen = torch.Generator().manual_seed(5)
    start, end = perspective_params(224, 224, 0.5, gen)
    full = (0, 0, 224, 224)
    ref = TF.perspective(img[None], start, end, interpolation=InterpolationMode.BILINEAR, fill=[1.0] * 3)
    ours = (
        F.grid_sample(img[None] - 1, view_grid(224, 224, 224, start, end, full)[None], align_corners=False)
        + 1
    )
    # torchvision blends the fill differently on the warped border; elsewhere they agree.
    inside = ((ref < 0.97).all(1) & (ours < 0.97).all(1)).float()
    inside = -F.max_pool2d(-inside[None], 7, 1, 3)[0] > 0.5  # keep away from the border
    diff = (ref - ours).abs().amax(1)[inside]
    assert inside.float().mean() > 0.3
    assert diff.mean() < 1e-4 and torch.quantile(diff, 0.99) < 1e-3
    # with the crop as well: one resampling instead of torchvision's two, same geometry
    crop = crop_params(224, 224, (0.7, 0.9), gen)
    ref2 = TF.resized_crop(ref, *crop, [224, 224], antialias=False)
    ours2 = (
        F.grid_sample(img[None] - 1, view_grid(224, 224, 224, start, end, crop)[None], align_corners=False)
        + 1
    )
    inside2 = (ref2 < 0.97).all(1) & (ours2 < 0.97).all(1)
    assert (ref2 - ours2).abs().amax(1)[inside2].mean() < 0.01


def test_parameter_ranges_follow_torchvision():
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        start, end = perspective_params(224, 224, 0.5, gen)
        assert start == [[0, 0], [223, 0], [223, 223], [0, 223]]
        assert 0 <= end[0][0] <= 56 and 0 <= end[0][1] <= 56 and 167 <= end[2][0] <= 223
        top, left, h, w = crop_params(224, 224, (0.7, 0.9), gen)
        assert 0.6 * 224 * 224 <= h * w <= 0.95 * 224 * 224
        assert 0 <= top <= 224 - h and 0 <= left <= 224 - w


def test_augment_is_reproducible_and_differentiable():
    img = smooth_image(2).requires_grad_(True)
    a = augment(img, 4, 224, torch.Generator().manual_seed(1))
    b = augment(img, 4, 224, torch.Generator().manual_seed(1))
    assert a.shape == (4, 3, 224, 224)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a[0], a[1])
    assert a.max() <= 1.0 + 1e-5 and a.min() >= -1e-5
    a.mean().backward()
    assert img.grad is not None and img.grad.abs().sum() > 0


def test_white_outside_and_larger_canvas():
    img = torch.zeros(3, 448, 448)
    out = augment(img, 2, 224, torch.Generator().manual_seed(3))
    assert out.shape == (2, 3, 224, 224)
    assert out.max() > 0.99  # the fill (white) shows where the perspective pulls the image in
