"""The weighted prompt list and image prompts (issue 12), with the tiny real CLIP model."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from clipdraw_core.drawing.commands import SetImagePrompts, SetPrompt
from clipdraw_core.drawing.guidance import Guidance, ImagePrompt, split_weight, text_prompt_list
from clipdraw_core.errors import ConfigError, FileFormatError
from clipdraw_core.optim.augment import augment
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.steering import Steering, encode_image_prompt


def cfg(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 24, "num_steps": 100, "num_augs": 2}
    base.update(kw)
    return SessionConfig(**base)


def png_of(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def disc_png(size: int = 96) -> bytes:
    yy, xx = np.mgrid[:size, :size]
    img = np.full((size, size, 3), 255, np.uint8)
    inside = (xx - size / 2) ** 2 + (yy - size / 2) ** 2 < (size / 3) ** 2
    img[inside] = (200, 30, 30)
    return png_of(img)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("a cat", ("a cat", 1.0)),
        ("a cat:0.5", ("a cat", 0.5)),
        ("a cat:-2", ("a cat", -2.0)),
        ("ratio 16:9 poster", ("ratio 16:9 poster", 1.0)),
        ("note: red", ("note: red", 1.0)),
        ("time 10:30", ("time 10", 30.0)),  # a numeric tail is always a weight
        ("a cat:inf", ("a cat:inf", 1.0)),
        (":3", (":3", 1.0)),
        ("a cat:", ("a cat:", 1.0)),
        ("a cat:1e-1", ("a cat", 0.1)),
    ],
)
def test_split_weight(spec, expected):
    assert split_weight(spec) == expected


def test_prompt_list_from_settings():
    config = cfg(
        prompt_weight=0.7,
        extra_prompts=("a dog",),
        extra_weights=(2.0,),
        negative_prompts=("blurry", "ugly"),
        negative_weights=(0.5, 1.5),
    )
    assert text_prompt_list(config) == [
        ("a red cat", 0.7),
        ("a dog", 2.0),
        ("blurry", -0.5),
        ("ugly", -1.5),
    ]
    # Without per-negative weights every negative pushes with negative_weight (CLIPDraw: 0.3).
    assert text_prompt_list(cfg(negative_prompts=("blurry",)))[-1] == ("blurry", -0.3)
    with pytest.raises(ConfigError, match="one weight per negative"):
        cfg(negative_prompts=("a", "b"), negative_weights=(1.0,)).validate()
    with pytest.raises(ConfigError, match="finite"):
        cfg(prompt_weight=float("nan")).validate()


def test_loss_is_the_weighted_sum_and_scores_are_per_prompt(tiny_clip):
    config = cfg(
        prompt_weight=0.7,
        extra_prompts=("a dog",),
        extra_weights=(2.0,),
        negative_prompts=("blurry",),
        negative_weights=(0.5,),
        temperature=0.5,
        num_augs=3,
    )
    shot = ImagePrompt("disc.png", disc_png(), -1.25)
    steering = Steering(tiny_clip)
    steering.prepare(config, Guidance(images=(shot,)), (1.0, 1.0, 1.0))
    image = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(1))
    got = steering.objective(image, config, torch.Generator().manual_seed(7), step=0)

    views = augment(image, 3, tiny_clip.image_size, torch.Generator().manual_seed(7))
    feats = tiny_clip.encode_image(views)
    texts = tiny_clip.encode_text(["a red cat", "a dog", "blurry"])
    target = encode_image_prompt(tiny_clip, shot)
    cos = {
        "a red cat": feats @ texts[0],
        "a dog": feats @ texts[1],
        "blurry": feats @ texts[2],
        "image: disc.png": feats @ target,
    }
    expected = (
        -(
            0.7 * cos["a red cat"].sum()
            + 2.0 * cos["a dog"].sum()
            - 0.5 * cos["blurry"].sum()
            - 1.25 * cos["image: disc.png"].sum()
        )
        / 0.5
    )
    assert float(got.loss) == pytest.approx(float(expected), rel=1e-5, abs=1e-6)
    assert set(got.scores) == set(cos)
    for label, values in cos.items():
        assert got.scores[label] == pytest.approx(float(values.mean()), abs=1e-6)
    assert got.score == pytest.approx(float(cos["a red cat"].mean()), abs=1e-6)


def test_default_prompt_list_is_the_original_loss(tiny_clip):
    config = cfg(num_augs=4)
    steering = Steering(tiny_clip)
    steering.prepare(config, Guidance(), (1.0, 1.0, 1.0))
    image = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(2))
    got = steering.objective(image, config, torch.Generator().manual_seed(3), step=0)
    views = augment(image, 4, tiny_clip.image_size, torch.Generator().manual_seed(3))
    original = -torch.cosine_similarity(
        tiny_clip.encode_image(views), tiny_clip.encode_text(["a red cat"])
    ).sum()
    assert float(got.loss) == pytest.approx(float(original), abs=1e-6)


def run_session(tiny_clip, config, guidance=None, steps=3):
    session = Session(config, tiny_clip, guidance=guidance)
    snaps = [session.step() for _ in range(steps)]
    return session, snaps


def test_zero_weight_changes_nothing(tiny_clip):
    """A weight-0 text, negative or image prompt: the same losses and the same strokes, bit for bit."""
    plain, plain_snaps = run_session(tiny_clip, cfg())
    zeros = cfg(
        extra_prompts=("a dog",),
        extra_weights=(0.0,),
        negative_prompts=("blurry",),
        negative_weights=(0.0,),
    )
    muted, muted_snaps = run_session(tiny_clip, zeros, Guidance(images=(ImagePrompt("d", disc_png(), 0.0),)))
    assert [s.loss for s in plain_snaps] == [s.loss for s in muted_snaps]
    for a, b in zip(plain.drawing().strokes, muted.drawing().strokes, strict=True):
        assert np.array_equal(a.points, b.points) and a.color == b.color and a.half_width == b.half_width
    # ... but the muted prompts are still scored, for the prompt table.
    assert {"a dog", "blurry", "image: d"} <= set(muted_snaps[-1].scores)


def test_zero_weight_gradient_equals_without(tiny_clip):
    image = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(4))
    grads = []
    for config in (cfg(), cfg(extra_prompts=("a dog",), extra_weights=(0.0,))):
        leaf = image.clone().requires_grad_(True)
        steering = Steering(tiny_clip)
        steering.prepare(config, Guidance(), (1.0, 1.0, 1.0))
        steering.objective(leaf, config, torch.Generator().manual_seed(5), 0).loss.backward()
        grads.append(leaf.grad)
    assert torch.equal(grads[0], grads[1])


def test_weighted_prompts_change_mid_run(tiny_clip):
    session = Session(cfg(), tiny_clip)
    session.step()
    session.submit(
        SetPrompt(
            "a blue house",
            negative_prompts=("blurry",),
            extra_prompts=("a tree",),
            prompt_weights=(0.5,),
            prompt_weight=2.0,
            negative_weights=(0.8,),
        )
    )
    snap = session.step()
    assert text_prompt_list(session.config) == [("a blue house", 2.0), ("a tree", 0.5), ("blurry", -0.8)]
    assert set(snap.scores) == {"a blue house", "a tree", "blurry"}


def clean_similarity(session: Session, clip, target: torch.Tensor) -> float:
    """Cosine of the un-augmented drawing (resized to CLIP's input) to an image embedding."""
    with torch.no_grad():
        img = session.render_image()[None]
        feats = clip.encode_image(torch.nn.functional.interpolate(img, size=clip.image_size, mode="bilinear"))
        return float(feats[0] @ target)


def test_image_prompt_similarity_rises(tiny_clip):
    shot = ImagePrompt("disc.png", disc_png(), 1.0)
    target = encode_image_prompt(tiny_clip, shot)
    session = Session(
        cfg(prompt_weight=0.0, num_augs=2, seed=3), tiny_clip, guidance=Guidance(images=(shot,))
    )
    before = clean_similarity(session, tiny_clip, target)
    scores = [session.step().scores["image: disc.png"] for _ in range(30)]
    after = clean_similarity(session, tiny_clip, target)
    assert after > before + 0.01, (before, after)
    assert np.mean(scores[-5:]) > np.mean(scores[:5])


def test_image_prompts_change_mid_run_and_bad_images_are_refused(tiny_clip, tmp_path):
    session = Session(cfg(), tiny_clip)
    session.step()
    path = tmp_path / "ref.png"
    path.write_bytes(disc_png(800))
    shot = ImagePrompt.from_file(path, weight=-1.0)
    assert max(Image.open(io.BytesIO(shot.png)).size) == 512  # stored reduced
    session.submit(SetImagePrompts((shot,)))
    snap = session.step()
    assert "image: ref.png" in snap.scores and snap.guidance.images == (shot,)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    with pytest.raises(FileFormatError, match="not an image"):
        ImagePrompt.from_file(bad)
    session.submit(SetImagePrompts(()))
    assert "image: ref.png" not in session.step().scores
