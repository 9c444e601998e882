"""Regions with their own prompt (issue 12): shared views, masking, locality of their pull."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from clipdraw_core.drawing.commands import SetRegions
from clipdraw_core.drawing.guidance import Guidance, Region
from clipdraw_core.drawing.strokes import Drawing, Stroke
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.regions import allocate_views, region_mask
from clipdraw_core.optim.session import Session


def cfg(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 0, "num_steps": 100, "num_augs": 2}
    base.update(kw)
    return SessionConfig(**base)


def strokes_at(centres, first_id=0, half_width=2.0):
    rng = np.random.default_rng(0)
    out = []
    for k, (x, y) in enumerate(centres):
        pts = np.array([[x - 6, y], [x - 2, y - 4], [x + 2, y + 4], [x + 6, y]], float) + rng.normal(
            0, 0.5, (4, 2)
        )
        out.append(Stroke(first_id + k, pts, half_width, tuple(rng.random(3)) + (1.0,)))
    return out


def test_allocate_views_shares_the_budget_round_robin():
    assert allocate_views(1, 2, 0) == [2]
    assert allocate_views(2, 2, 5) == [1, 1]
    assert sum(allocate_views(3, 7, 2)) == 7
    # More regions than views: every region gets its turn within ceil(5 / 2) = 3 steps.
    seen = np.zeros(5, int)
    for step in range(3):
        counts = allocate_views(5, 2, step)
        assert sum(counts) == 2 and max(counts) == 1
        seen += counts
    assert (seen > 0).all()


def test_region_validation():
    with pytest.raises(ConfigError, match="prompt"):
        Region(0, " ", ((0, 0), (10, 0), (0, 10)))
    with pytest.raises(ConfigError, match="vertices"):
        Region(0, "sky", ((0, 0), (10, 0)))
    with pytest.raises(ConfigError, match="positive"):
        Region.rect(0, 0, 0, -5, 10, "sky")
    with pytest.raises(ConfigError, match="unique"):
        Guidance(regions=(Region.rect(1, 0, 0, 9, 9, "a"), Region.rect(1, 5, 5, 9, 9, "b")))
    assert Region.rect(0, 300, 300, 10, 10, "x").bbox(224, 224) is None
    assert Region.rect(0, -5, 10.5, 20, 20, "x").bbox(224, 224) == (0, 10, 15, 31)


def test_region_mask_is_the_polygon():
    triangle = Region(0, "a hill", ((0, 0), (40, 0), (0, 40)))
    mask = region_mask(triangle, triangle.bbox(224, 224))
    assert mask.shape == (40, 40)
    assert mask[2, 2] == 1.0 and mask[37, 37] == 0.0
    assert mask.sum() == pytest.approx(800, rel=0.02)  # the triangle's area


def test_region_views_are_masked_to_the_background(tiny_clip):
    """Pixels outside the region are exactly the background colour, inside is the drawing."""
    background = (0.2, 0.6, 0.9)
    black = Stroke(0, [[0, 112], [74, 112], [150, 112], [224, 112]], 200.0, (0, 0, 0, 1))
    drawing = Drawing(224, 224, background, (black,))
    triangle = Region(7, "a hill", ((20, 20), (148, 20), (20, 148)))
    config = cfg(perspective_distortion=0.0, crop_scale=(1.0, 1.0))
    session = Session(config, tiny_clip, drawing=drawing, guidance=Guidance(regions=(triangle,)))
    image = session.render_image()
    assert float(image.max()) < 1e-4  # the wide stroke covers the canvas
    (views,) = session.steering.region_view_batch(image, config, torch.Generator().manual_seed(0), 0)
    assert views.shape == (1, 3, 224, 224)  # 2 canvas views -> 1 region view
    # The square bounding box (128 px) is shown whole: map the mask to the view's pixels.
    mask = torch.from_numpy(region_mask(triangle, triangle.bbox(224, 224)))[None, None]
    up = F.interpolate(mask, size=224, mode="nearest")[0, 0]
    outside = F.max_pool2d(up[None, None], 9, stride=1, padding=4)[0, 0] == 0
    inside = -F.max_pool2d(-up[None, None], 9, stride=1, padding=4)[0, 0] == 1
    inside[:4], inside[:, :4] = False, False  # the box's edge blends with the fill, as torchvision's does
    bg = torch.tensor(background).view(3, 1)
    view = views[0]
    assert outside.sum() > 10_000 and inside.sum() > 10_000
    assert torch.equal(view[:, outside], bg.expand(3, int(outside.sum())))
    assert float(view[:, inside].abs().max()) < 1e-3


def region_similarity(session: Session, clip, region: Region) -> float:
    """Cosine of the masked, un-augmented bounding box to the region's prompt."""
    with torch.no_grad():
        image = session.render_image()
        x0, y0, x1, y1 = region.bbox(session.config.width, session.config.height)
        mask = torch.from_numpy(region_mask(region, (x0, y0, x1, y1)))
        bg = torch.tensor(session.snapshot().drawing.background).view(3, 1, 1)
        crop = (image[:, y0:y1, x0:x1] - bg) * mask + bg
        feats = clip.encode_image(F.interpolate(crop[None], size=clip.image_size, mode="bilinear"))
        return float(feats[0] @ clip.encode_text([region.prompt])[0])


def test_region_score_rises(tiny_clip):
    """The region's prompt similarity rises, and more than the canvas prompt alone makes it rise."""
    region = Region.rect(0, 16, 16, 112, 112, "a yellow sun", 2.0, "sun")
    results = {}
    for name, guidance in (("control", Guidance()), ("region", Guidance(regions=(region,)))):
        session = Session(cfg(num_paths=96, seed=2), tiny_clip, guidance=guidance)
        before = region_similarity(session, tiny_clip, region)
        snaps = [session.step() for _ in range(30)]
        results[name] = region_similarity(session, tiny_clip, region)
    assert results["region"] > before + 0.01, (before, results)
    assert results["region"] > results["control"] + 0.005, results
    scores = [s.scores["region sun: a yellow sun"] for s in snaps]
    assert np.mean(scores[-5:]) > np.mean(scores[:5])


def test_strokes_outside_the_region_box_are_not_pulled(tiny_clip):
    """Canvas prompt weight 0: only the region pulls, and only on strokes in its box."""
    inside = strokes_at([(40, 40), (60, 70), (80, 50)])
    outside = strokes_at([(170, 170), (190, 150), (160, 200), (200, 40)], first_id=10)
    drawing = Drawing(224, 224, (1, 1, 1), tuple(inside + outside))
    region = Region.rect(0, 20, 20, 90, 90, "a yellow sun")
    config = cfg(prompt_weight=0.0)
    session = Session(config, tiny_clip, drawing=drawing, guidance=Guidance(regions=(region,)))

    image = session._render(1)  # one step's loss, by hand, to look at the gradient itself
    objective = session.steering.objective(image, config, torch.Generator().manual_seed(0), 0)
    objective.loss.backward()
    grad = session._points.grad.reshape(len(drawing.strokes), 4, 2)
    assert float(grad[: len(inside)].abs().sum()) > 0
    assert torch.count_nonzero(grad[len(inside) :]) == 0
    assert torch.count_nonzero(session._colors.grad[len(inside) :]) == 0
    assert torch.count_nonzero(session._widths.grad[len(inside) :]) == 0
    session._optimizer.zero_grad()

    for _ in range(5):
        snap = session.step()
    after = {s.id: s for s in snap.drawing.strokes}
    for s in outside:
        assert np.array_equal(after[s.id].points, s.points) and after[s.id].color == s.color
    assert any(not np.array_equal(after[s.id].points, s.points) for s in inside)
    assert "a red cat" not in snap.scores  # no canvas views were computed for a weight-0 canvas


def test_region_views_share_one_clip_pass(tiny_clip, monkeypatch):
    calls: list[int] = []
    real = tiny_clip.encode_image

    def counting(images):
        calls.append(images.shape[0])
        return real(images)

    monkeypatch.setattr(tiny_clip, "encode_image", counting)
    regions = tuple(Region.rect(k, 10 + 40 * k, 10, 30, 30, f"thing {k}") for k in range(3))
    session = Session(cfg(num_paths=8, num_augs=4), tiny_clip, guidance=Guidance(regions=regions))
    for _ in range(3):
        snap = session.step()
    assert calls == [4 + 2] * 3  # canvas views + the default budget (half), one pass per step
    assert {f"region {k}: thing {k}" for k in range(3)} <= set(snap.scores)
    calls.clear()
    session.submit(SetRegions(regions, region_views=3))
    session.step()
    assert calls == [7]
    session.submit(SetRegions((replace(Region.rect(0, 10, 10, 30, 30, "x"), muted=True),)))
    calls.clear()
    assert not any(k.startswith("region") for k in session.step().scores)
    assert calls == [4]
