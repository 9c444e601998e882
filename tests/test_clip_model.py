"""CLIP loading through the users' code paths, with a tiny model built here."""

from __future__ import annotations

import time

import pytest
import torch

from clipdraw_core.clip.clip_model import load_clip, resolve_device
from clipdraw_core.errors import ConfigError, ModelNotFoundError, WeightsError


def test_checkpoint_is_really_loaded(tiny_clip_files):
    import open_clip

    config_path, checkpoint = tiny_clip_files
    loaded = load_clip(str(config_path), str(checkpoint), device="cpu")
    reference = open_clip.create_model(config_path.stem, pretrained=None)
    reference.load_state_dict(torch.load(checkpoint, weights_only=True))
    random_model = load_clip(str(config_path), "random", device="cpu")
    tokens = open_clip.get_tokenizer(config_path.stem)(["a red cat"])
    with torch.no_grad():
        expected = torch.nn.functional.normalize(reference.encode_text(tokens), dim=-1)
    torch.testing.assert_close(loaded.encode_text(["a red cat"]), expected)
    assert not torch.allclose(random_model.encode_text(["a red cat"]), expected)


def test_weights_frozen_but_image_gradient_flows(tiny_clip):
    assert all(not p.requires_grad for p in tiny_clip.model.parameters())
    image = torch.rand(2, 3, 224, 224, requires_grad=True)
    feats = tiny_clip.encode_image(image)
    assert feats.shape == (2, 64)
    torch.testing.assert_close(feats.norm(dim=-1), torch.ones(2))
    feats.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_text_features_are_cached(tiny_clip):
    first = tiny_clip.encode_text(["a cat", "a dog"])
    assert "a cat" in tiny_clip._text_cache
    again = tiny_clip.encode_text(["a dog", "a cat"])
    torch.testing.assert_close(again, first.flip(0))


def test_unknown_model_name():
    with pytest.raises(ModelNotFoundError, match="unknown CLIP model 'ViT-Q-99'"):
        load_clip("ViT-Q-99", "random", device="cpu")


def test_missing_and_unreadable_weights(tmp_path, tiny_clip_files):
    config_path, _ = tiny_clip_files
    with pytest.raises(WeightsError, match="does not exist"):
        load_clip(str(config_path), str(tmp_path / "nope.pt"), device="cpu")
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(WeightsError, match="cannot load weights"):
        load_clip(str(config_path), str(bad), device="cpu")
    wrong = tmp_path / "wrong.pt"
    torch.save({"not": torch.zeros(3)}, wrong)
    with pytest.raises(WeightsError, match="cannot load weights"):
        load_clip(str(config_path), str(wrong), device="cpu")
    with pytest.raises(WeightsError, match="neither a weights file nor a pretrained tag"):
        load_clip(str(config_path), "laion-nonsense", device="cpu")


def test_missing_pretrained_weights_offline_is_quick_and_actionable(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(WeightsError) as info:
        load_clip("ViT-B-32", "openai", device="cpu", cache_dir=str(tmp_path))
    message = str(info.value)
    assert "ViT-B-32/openai" in message and "--weights PATH" in message and "--weights random" in message
    assert time.perf_counter() - start < 30


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="'cuda' is not available"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="Unknown device 'tpu'"):
        resolve_device("tpu")


def test_the_text_feature_cache_is_bounded_lru(tiny_clip, monkeypatch):
    """Issue 15, defect 12: one entry per distinct prompt forever is now the 256 latest."""
    from clipdraw_core.clip import clip_model

    monkeypatch.setattr(clip_model, "TEXT_CACHE_SIZE", 8)
    tiny_clip._text_cache.clear()
    first = tiny_clip.encode_text(["prompt 0"]).clone()
    for k in range(1, 20):
        tiny_clip.encode_text([f"prompt {k}", "prompt 0"])  # prompt 0 stays recently used
    assert len(tiny_clip._text_cache) == 8
    assert "prompt 0" in tiny_clip._text_cache and "prompt 19" in tiny_clip._text_cache
    assert "prompt 1" not in tiny_clip._text_cache
    assert torch.equal(tiny_clip.encode_text(["prompt 0"]), first)
    many = [f"batch {k}" for k in range(12)]  # more than the cache in one call still works
    feats = tiny_clip.encode_text(many)
    assert feats.shape[0] == 12 and len(tiny_clip._text_cache) == 8
    assert torch.allclose(tiny_clip.encode_text(["batch 0"]), feats[:1], atol=1e-6)
