"""The fast image path computes open_clip's function: same features, same input gradients.

Towers are real open_clip modules with random weights; every 1-D parameter (norms,
biases, LayerScale) is randomised too, so a skipped norm or a wrong bias cannot hide
behind open_clip's ones/zeros initialisation.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from clipdraw_core.clip.fast_vit import FastVisionTower, unsupported_reason

REL_TOL = 1e-5
MIN_COS = 0.99999


def _randomise(module: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 1:
                p.add_(0.2 * torch.randn(p.shape, generator=gen))
    return module.eval().requires_grad_(False)


def _vit(**kwargs) -> torch.nn.Module:
    from open_clip.transformer import VisionTransformer

    torch.manual_seed(0)
    args = dict(image_size=64, patch_size=16, width=64, layers=2, heads=2, mlp_ratio=4.0, output_dim=32)
    args.update(kwargs)
    return _randomise(VisionTransformer(**args))


def _pass(fn, images: torch.Tensor, direction: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = images.clone().requires_grad_(True)
    y = fn(x)
    (F.normalize(y.double(), dim=-1) @ direction).sum().backward()
    return y.detach().double(), x.grad.double()


def _agreement(visual: torch.nn.Module, precision: str = "fp32", kernel: str | None = None, batch: int = 3):
    tower = FastVisionTower.from_visual(visual)
    assert tower is not None, unsupported_reason(visual)
    if kernel is not None:
        from clipdraw_core.clip.fast_vit import DTYPES

        tower._kernels[(DTYPES[precision], 0)] = kernel
    gen = torch.Generator().manual_seed(3)
    size = visual.image_size
    images = torch.randn(batch, 3, size[0], size[1], generator=gen)
    direction = torch.randn(visual.output_dim, generator=gen, dtype=torch.float64)
    ref_y, ref_g = _pass(visual, images, direction)
    y, g = _pass(lambda x: tower(x, precision), images, direction)
    rel = float((y - ref_y).norm() / ref_y.norm())
    cos = float(F.cosine_similarity(g.flatten(), ref_g.flatten(), dim=0))
    return rel, cos


def _quick_gelu():
    from open_clip.transformer import QuickGELU

    return QuickGELU


def _fp32_norm():
    from open_clip.transformer import LayerNormFp32

    return LayerNormFp32


VARIANTS = {
    "gelu": {},
    "quick_gelu": {"act_layer": "quick"},
    "tanh_gelu": {"act_layer": "tanh"},
    "layerscale": {"ls_init_value": 0.5},
    "avg_pool": {"pool_type": "avg"},
    "avg_pool_ln_after": {"pool_type": "avg", "final_ln_after_pool": True},
    "tok_ln_after": {"final_ln_after_pool": True},
    "no_ln_pre": {"no_ln_pre": True},
    "no_pool": {"pool_type": "none"},
    "ln_fp32": {"norm_layer": "fp32"},
    "rectangular": {"image_size": (64, 48)},
}


def _build(variant: str) -> torch.nn.Module:
    kwargs = dict(VARIANTS[variant])
    if kwargs.get("act_layer") == "quick":
        kwargs["act_layer"] = _quick_gelu()
    elif kwargs.get("act_layer") == "tanh":
        kwargs["act_layer"] = lambda: torch.nn.GELU(approximate="tanh")
    if kwargs.get("norm_layer") == "fp32":
        kwargs["norm_layer"] = _fp32_norm()
    return _vit(**kwargs)


@pytest.mark.parametrize("kernel", ["sdpa", "matmul"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fp32_matches_open_clip(variant, kernel):
    rel, cos = _agreement(_build(variant), kernel=kernel)
    assert rel < REL_TOL and cos >= MIN_COS, (rel, cos)


def test_tanh_gelu_is_not_confused_with_exact_gelu():
    """The check must be sharp enough to tell the two GELUs apart (else it proves nothing)."""
    exact = _vit()
    tanh = _vit(act_layer=lambda: torch.nn.GELU(approximate="tanh"))
    tanh.load_state_dict(exact.state_dict())
    tower = FastVisionTower.from_visual(exact)
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (tower(images) - tanh(images)).norm() / tanh(images).norm()
    assert diff > REL_TOL


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_gradients_agree(precision):
    rel, cos = _agreement(_build("quick_gelu"), precision=precision, batch=2)
    assert rel < 0.05 and cos >= 0.999, (rel, cos)


def test_tiny_clip_model_uses_the_fast_path_and_matches(tiny_clip):
    assert tiny_clip.fast_tower is not None
    assert tiny_clip.precision.precision == "fp32"
    images = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    direction = torch.randn(64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref_y, ref_g = _pass(
        lambda x: F.normalize(tiny_clip.model.encode_image(tiny_clip.normalize(x)), dim=-1), images, direction
    )
    y, g = _pass(tiny_clip.encode_image, images, direction)
    assert float((y - ref_y).norm() / ref_y.norm()) < REL_TOL
    assert float(F.cosine_similarity(g.flatten(), ref_g.flatten(), dim=0)) >= MIN_COS


def test_other_inputs_fall_back_to_open_clip(tiny_clip):
    """A size the fast path was not built for goes to open_clip (which then decides)."""
    tower = tiny_clip.fast_tower
    assert tower.covers(torch.zeros(1, 3, 224, 224))
    assert not tower.covers(torch.zeros(1, 3, 192, 192))
    assert not tower.covers(torch.zeros(3, 224, 224))


@pytest.mark.slow
def test_vit_b32_random_matches_open_clip():
    import open_clip

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True)
    visual = _randomise(model.visual)
    rel, cos = _agreement(visual, batch=1)
    assert rel < REL_TOL and cos >= MIN_COS, (rel, cos)


# ------------------------------------------------------------------- fallbacks
def test_unsupported_towers_keep_open_clip():
    from open_clip.transformer import VisionTransformer

    assert unsupported_reason(_vit()) is None
    pooled = _vit(attentional_pool=True, attn_pooler_queries=4, attn_pooler_heads=2)
    assert "attentional pooling" in unsupported_reason(pooled)
    custom = _vit(qk_norm=True)
    assert "CustomResidualAttentionBlock" in unsupported_reason(custom)
    tokens = _vit(output_tokens=True)
    assert "tokens" in unsupported_reason(tokens)
    swapped = _vit()
    swapped.transformer.resblocks[1].mlp.gelu = torch.nn.SiLU()
    assert "SiLU" in unsupported_reason(swapped)

    class Subclass(VisionTransformer):
        pass

    assert "Subclass" in unsupported_reason(Subclass(64, 16, 64, 1, 2, 4.0, output_dim=32))
    assert FastVisionTower.from_visual(custom) is None


def test_resnet_tower_runs_open_clip_in_fp32(tmp_path):
    import json

    from clipdraw_core.clip.clip_model import load_clip

    config = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 16, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    path = tmp_path / "clipdraw-test-resnet.json"
    path.write_text(json.dumps(config))
    clip = load_clip(str(path), "random", device="cpu", precision="bf16")
    assert type(clip.model.visual).__name__ == "ModifiedResNet"
    assert clip.fast_tower is None
    assert clip.precision.precision == "fp32" and "no fast path" in clip.precision.reason
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    expected = F.normalize(clip.model.encode_image(clip.normalize(images)), dim=-1)
    assert torch.equal(clip.encode_image(images), expected)


def test_towers_of_one_shape_share_the_measured_attention_kernel(monkeypatch):
    """A second model of the same shape (a reload, a server session beside a local one)
    uses the kernel measured first, so both give the same numbers whatever its own timing."""
    from clipdraw_core.clip import fast_vit

    monkeypatch.setattr(fast_vit, "_MEASURED_KERNELS", {})
    first_timings = iter([2.0, 1.0])  # sdpa slower: matmul wins
    monkeypatch.setattr(fast_vit, "time_call", lambda fn, device, repeats: next(first_timings))
    first = FastVisionTower.from_visual(_vit())
    assert first.prepare("fp32", 4) == "matmul"

    monkeypatch.setattr(fast_vit, "time_call", lambda fn, device, repeats: pytest.fail("timed again"))
    second = FastVisionTower.from_visual(_vit())
    assert second.prepare("fp32", 4) == "matmul"
    assert second.kernel(torch.float32, 4) == "matmul"

    other_shape = FastVisionTower.from_visual(_vit(width=32))
    monkeypatch.setattr(fast_vit, "time_call", lambda fn, device, repeats: 1.0)
    assert other_shape.prepare("fp32", 4) == "sdpa"  # a new shape is measured on its own
