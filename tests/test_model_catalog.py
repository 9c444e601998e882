"""The model picker's data and the device choice: real open_clip lists, no downloads."""

from __future__ import annotations

import pytest
import torch

from clipdraw_core.clip import model_catalog as mc
from clipdraw_core.errors import ConfigError


def test_catalog_lists_open_clip_models_default_first() -> None:
    import open_clip

    entries = mc.list_catalog()
    names = [e.model_name for e in entries]
    assert names[0] == "ViT-B-32" and entries[0].is_default
    assert len(names) == len(set(names))
    assert set(names) == {name for name, _ in open_clip.list_pretrained()}
    first = entries[0]
    assert "openai" in first.pretrained_tags and first.recommended_tag == "openai"
    assert first.image_size == 224
    assert "610 MB" in first.size_text() and first.speed_text().startswith("fast (1.00x")


def test_hinted_models_come_before_unknown_ones_fastest_first() -> None:
    entries = mc.list_catalog()[1:]
    hinted = [e for e in entries if e.hint is not None]
    first_unknown = next(i for i, e in enumerate(entries) if e.hint is None)
    assert all(e.hint is not None for e in entries[:first_unknown])
    speeds = [e.hint.relative_speed for e in hinted]
    assert speeds == sorted(speeds, reverse=True)
    unknown = entries[first_unknown]
    assert unknown.size_text() == "size unknown" and unknown.speed_text() == "speed unknown"


def test_hints_are_plausible() -> None:
    b32, b16, l14, rn50 = (mc.catalog_entry(n) for n in ("ViT-B-32", "ViT-B-16", "ViT-L-14", "RN50"))
    assert b16.hint.relative_speed < b32.hint.relative_speed
    assert l14.hint.relative_speed < b16.hint.relative_speed
    assert rn50.hint.download_mb < b32.hint.download_mb < l14.hint.download_mb
    assert "slow" in l14.speed_text()
    assert "ViT-L-14" in l14.summary() and "224 px" in l14.summary()
    assert "~1.7 GB download" in l14.size_text()
    assert mc.approx_download_bytes("no-such-model") is None


@pytest.mark.parametrize(
    "name", ["ViT-B-32", "ViT-B-16", "RN50", "RN101", "convnext_base_w", "ViT-B-16-plus-240"]
)
def test_hint_param_counts_match_real_models(name: str) -> None:
    """The hand-written parameter counts agree with open_clip's real (random-init) models."""
    import open_clip

    model = open_clip.create_model(name, pretrained=None)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(params - mc.model_hint(name).params_m) / params < 0.02


def test_unknown_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Unknown CLIP model 'ViT-Z-99'"):
        mc.catalog_entry("ViT-Z-99")


def test_auto_device_falls_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(mc, "_mps_available", lambda: False)
    choice = mc.resolve_device_choice("auto")
    assert choice.device == "cpu" and choice.is_cpu and not choice.accelerated
    assert "CPU" in choice.description and "slow" in choice.description

    monkeypatch.setattr(mc, "_mps_available", lambda: True)
    assert mc.resolve_device_choice("auto").device == "mps"

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(mc, "_cuda_description", lambda i: f"GPU {i}")
    choice = mc.resolve_device_choice("auto")
    assert choice.device == "cuda" and choice.accelerated and choice.description == "GPU 0"


def test_explicit_unavailable_device_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(mc, "_mps_available", lambda: False)
    with pytest.raises(ConfigError, match="'cuda' is not available"):
        mc.resolve_device_choice("cuda")
    with pytest.raises(ConfigError, match="'mps' is not available"):
        mc.resolve_device_choice("mps")
    with pytest.raises(ConfigError, match="Unknown device 'tpu'"):
        mc.resolve_device_choice("tpu")
    assert mc.resolve_device_choice("CPU").device == "cpu"


def test_real_device_resolution_here() -> None:
    choice = mc.resolve_device_choice("auto")
    assert choice.device == ("cuda" if torch.cuda.is_available() else choice.device)
    assert choice.description


def test_cpu_warning() -> None:
    assert mc.cpu_warning(64, 2) is None
    msg = mc.cpu_warning(256, 4)
    assert msg and "fewer strokes" in msg and "fewer augmentations" in msg and "256" in msg
    only_paths = mc.cpu_warning(512, 1)
    assert only_paths and "strokes" in only_paths and "augmentations" not in only_paths
