"""A faster image pass for open_clip's ``VisionTransformer``, laid out for input gradients.

CLIPDraw back-propagates through CLIP's image tower every step, only to get the
gradient with respect to the *image* (the weights are frozen). open_clip's module is
written for training: it keeps tokens as 3-D ``[B, T, C]`` tensors, so every linear
layer's backward goes through ``bmm`` with an expanded copy of the weight, and the
stride-32 patch convolution has a slow backward. On a 2-core CPU that is ~40 % and
~10 % of the pass. This module computes **the same function with the same weights**:

* every linear layer works on 2-D ``[B*T, C]`` token matrices (one GEMM each way);
* the patch convolution (kernel = stride, no padding) is a reshape plus one matmul;
* in the last block, with class-token pooling, only the class token's query, MLP and
  residual are computed (the other tokens' outputs are never read);
* the attention kernel (``scaled_dot_product_attention`` or a plain matmul-softmax) is
  chosen by timing both at the real shape, per device and dtype;
* for bf16/fp16 the weights are cast once (open_clip's module in bf16 on a CPU is
  several times *slower* than fp32: it falls back to copies and generic ``bmm``).

No existing library does this (open_clip, timm and torch's own ``MultiheadAttention``
all keep the 3-D training layout), hence the hand-written code. It is deliberately
narrow: :func:`unsupported_reason` checks every module of the tower against exactly
what is implemented here (activation, norms, LayerScale, pooling, projection...) and
anything else - other block types, attentional pooling, ResNet/ConvNeXt/timm towers -
keeps open_clip's own module. It must never silently compute something different.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

logger = logging.getLogger(__name__)

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

#: fp16 gradients of a deep network underflow; they are scaled up inside the pass.
_FP16_GRAD_SCALE = 1024.0


def _layer_norm_kinds() -> tuple[type, ...]:
    from open_clip.transformer import LayerNorm, LayerNormFp32

    return (nn.LayerNorm, LayerNorm, LayerNormFp32)


def _check_norm(module: Any, where: str) -> str | None:
    if type(module) is nn.Identity:
        return None
    if type(module) not in _layer_norm_kinds():
        return f"{where} is {type(module).__name__}"
    return None


def _check_scale(module: Any, where: str) -> str | None:
    from open_clip.transformer import LayerScale

    if type(module) in (nn.Identity, LayerScale):
        return None
    return f"{where} is {type(module).__name__}"


def _check_block(block: Any, i: int) -> str | None:
    from open_clip.transformer import QuickGELU, ResidualAttentionBlock

    if type(block) is not ResidualAttentionBlock:
        return f"block {i} is {type(block).__name__}"
    if hasattr(block, "ln_1_kv"):
        return f"block {i} is a cross-attention block"
    attn = block.attn
    if type(attn) is not nn.MultiheadAttention or not attn._qkv_same_embed_dim:
        return f"block {i} has a non-standard attention"
    if attn.bias_k is not None or attn.bias_v is not None or attn.add_zero_attn:
        return f"block {i}'s attention has extra key/value biases"
    if attn.dropout and attn.training:
        return f"block {i}'s attention has dropout"
    mlp = block.mlp
    names = [name for name, _ in mlp.named_children()]
    if type(mlp) is not nn.Sequential or names != ["c_fc", "gelu", "c_proj"]:
        return f"block {i}'s MLP is not c_fc/act/c_proj"
    if not (isinstance(mlp.c_fc, nn.Linear) and isinstance(mlp.c_proj, nn.Linear)):
        return f"block {i}'s MLP layers are not linear"
    act = mlp.gelu
    if type(act) not in (nn.GELU, QuickGELU):
        return f"block {i}'s activation is {type(act).__name__}"
    for where, norm in (("ln_1", block.ln_1), ("ln_2", block.ln_2)):
        if type(norm) not in _layer_norm_kinds():
            return f"block {i}'s {where} is {type(norm).__name__}"
    for where, scale in (("ls_1", block.ls_1), ("ls_2", block.ls_2)):
        reason = _check_scale(scale, f"block {i}'s {where}")
        if reason:
            return reason
    return None


def unsupported_reason(visual: Any) -> str | None:
    """Why the fast path cannot compute exactly what ``visual`` computes (None: it can)."""
    try:
        from open_clip.transformer import PatchDropout, Transformer, VisionTransformer
    except ImportError:  # pragma: no cover - open_clip is a dependency
        return "open_clip is not importable"
    if type(visual) is not VisionTransformer:
        return f"the image tower is {type(visual).__name__}, not open_clip's VisionTransformer"
    if visual.output_tokens:
        return "the tower returns tokens too"
    if visual.attn_pool is not None:
        return "attentional pooling"
    if visual.pool_type not in ("tok", "avg", "none"):
        return f"pooling {visual.pool_type!r}"
    conv = visual.conv1
    if type(conv) is not nn.Conv2d:
        return "the patch embedding is not a convolution"
    if (
        conv.kernel_size != conv.stride
        or conv.padding != (0, 0)
        or conv.dilation != (1, 1)
        or conv.groups != 1
        or conv.padding_mode != "zeros"
    ):
        return "the patch convolution overlaps or pads"
    if type(visual.patch_dropout) not in (nn.Identity, PatchDropout):
        return "unknown patch dropout"
    reason = _check_norm(visual.ln_pre, "ln_pre") or _check_norm(visual.ln_post, "ln_post")
    if reason:
        return reason
    transformer = visual.transformer
    if type(transformer) is not Transformer:
        return f"the transformer is {type(transformer).__name__}"
    for i, block in enumerate(transformer.resblocks):
        reason = _check_block(block, i)
        if reason:
            return reason
    grid = visual.grid_size
    if visual.positional_embedding.shape[0] != grid[0] * grid[1] + 1:
        return "the positional embedding does not match the patch grid"
    return None


# ---------------------------------------------------------------------------- weights
@dataclass
class _Norm:
    weight: torch.Tensor | None
    bias: torch.Tensor | None
    eps: float
    fp32: bool  # open_clip's LayerNormFp32: normalise in fp32, cast back

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.fp32 and x.dtype != torch.float32:
            w = None if self.weight is None else self.weight.float()
            b = None if self.bias is None else self.bias.float()
            return F.layer_norm(x.float(), x.shape[-1:], w, b, self.eps).to(x.dtype)
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)


@dataclass
class _Block:
    ln_1: _Norm
    in_w: torch.Tensor
    in_b: torch.Tensor | None
    out_w: torch.Tensor
    out_b: torch.Tensor | None
    ls_1: torch.Tensor | None
    ln_2: _Norm
    fc_w: torch.Tensor
    fc_b: torch.Tensor | None
    proj_w: torch.Tensor
    proj_b: torch.Tensor | None
    ls_2: torch.Tensor | None


@dataclass
class _Weights:
    patch: torch.Tensor  # [C, 3*p*p]
    patch_bias: torch.Tensor | None
    cls: torch.Tensor  # [C]
    pos: torch.Tensor  # [T, C]
    ln_pre: _Norm | None
    blocks: list[_Block]
    ln_post: _Norm | None
    proj: torch.Tensor | None


def _cast(t: Any, dtype: torch.dtype) -> torch.Tensor:
    out: torch.Tensor = t.detach().to(dtype)
    return out


def _cast_opt(t: Any, dtype: torch.dtype) -> torch.Tensor | None:
    return None if t is None else _cast(t, dtype)


def _norm(module: Any, dtype: torch.dtype) -> _Norm | None:
    from open_clip.transformer import LayerNormFp32

    if type(module) is nn.Identity:
        return None
    fp32 = type(module) is LayerNormFp32
    keep = torch.float32 if fp32 else dtype
    return _Norm(_cast_opt(module.weight, keep), _cast_opt(module.bias, keep), float(module.eps), fp32)


def _block_norm(module: Any, dtype: torch.dtype) -> _Norm:
    norm = _norm(module, dtype)
    assert norm is not None  # unsupported_reason() requires a LayerNorm in every block
    return norm


def _scale(module: Any, dtype: torch.dtype) -> torch.Tensor | None:
    return None if type(module) is nn.Identity else _cast(module.gamma, dtype)


def _weights(visual: Any, dtype: torch.dtype) -> _Weights:
    conv = visual.conv1
    blocks = []
    for b in visual.transformer.resblocks:
        blocks.append(
            _Block(
                ln_1=_block_norm(b.ln_1, dtype),
                in_w=_cast(b.attn.in_proj_weight, dtype),
                in_b=_cast_opt(b.attn.in_proj_bias, dtype),
                out_w=_cast(b.attn.out_proj.weight, dtype),
                out_b=_cast_opt(b.attn.out_proj.bias, dtype),
                ls_1=_scale(b.ls_1, dtype),
                ln_2=_block_norm(b.ln_2, dtype),
                fc_w=_cast(b.mlp.c_fc.weight, dtype),
                fc_b=_cast_opt(b.mlp.c_fc.bias, dtype),
                proj_w=_cast(b.mlp.c_proj.weight, dtype),
                proj_b=_cast_opt(b.mlp.c_proj.bias, dtype),
                ls_2=_scale(b.ls_2, dtype),
            )
        )
    return _Weights(
        patch=_cast(conv.weight.reshape(conv.out_channels, -1), dtype),
        patch_bias=_cast_opt(conv.bias, dtype),
        cls=_cast(visual.class_embedding, dtype),
        pos=_cast(visual.positional_embedding, dtype),
        ln_pre=_norm(visual.ln_pre, dtype),
        blocks=blocks,
        ln_post=_norm(visual.ln_post, dtype),
        proj=_cast_opt(visual.proj, dtype),
    )


# -------------------------------------------------------------------------- attention
def _attention_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return F.scaled_dot_product_attention(q, k, v)


def _attention_matmul(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    scores = (q * (q.shape[-1] ** -0.5)) @ k.transpose(-2, -1)
    out: torch.Tensor = scores.softmax(dim=-1) @ v
    return out


ATTENTION_KERNELS = {"sdpa": _attention_sdpa, "matmul": _attention_matmul}

#: The kernel measured for each (device, dtype, attention shape), shared by every tower
#: in the process: two models of one shape (a reload, a server's session beside a
#: local one) then compute with the same kernel and give the same numbers, whatever
#: the timing of their own loads would have said.
_MEASURED_KERNELS: dict[tuple[str, torch.dtype, tuple[int, ...]], str] = {}
_MEASURED_LOCK = threading.Lock()


def synchronize(device: torch.device) -> None:
    """Wait for queued work (timing only: never called inside a drawing step)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_call(fn: Any, device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after one warm-up."""
    fn()
    synchronize(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return samples[len(samples) // 2]


class _GradScale(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``scale`` going backwards."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.scale, None


# ------------------------------------------------------------------------------ tower
class FastVisionTower:
    """open_clip ``VisionTransformer`` forward for input gradients, in 2-D token layout.

    Build it with :meth:`from_visual` (None when the tower is not covered). Call it as
    ``tower(images, "fp32" | "bf16" | "fp16")`` with CLIP-normalised images; it returns
    float32 features exactly like ``visual(images)``. Weights are read from the
    module (fp32: the same tensors, no copy) or cast once per low precision.
    """

    def __init__(self, visual: Any) -> None:
        self.visual = visual
        self.patch = tuple(int(p) for p in visual.conv1.kernel_size)
        self.grid = tuple(int(g) for g in visual.grid_size)
        self.width = int(visual.conv1.out_channels)
        self.heads = int(visual.transformer.resblocks[0].attn.num_heads)
        self.pool = str(visual.pool_type)
        self.final_ln_after_pool = bool(visual.final_ln_after_pool)
        act = visual.transformer.resblocks[0].mlp.gelu
        self.quick_gelu = type(act) is not nn.GELU
        self.gelu_approximate = "none" if self.quick_gelu else str(act.approximate)
        self.device = visual.positional_embedding.device
        self._weights: dict[torch.dtype, _Weights] = {}
        #: Attention kernel per (dtype, batch), chosen by measurement in :meth:`prepare`.
        self._kernels: dict[tuple[torch.dtype, int], str] = {}

    @classmethod
    def from_visual(cls, visual: Any) -> FastVisionTower | None:
        reason = unsupported_reason(visual)
        if reason is not None:
            logger.info("fast image path not used (%s): open_clip's own module runs", reason)
            return None
        return cls(visual)

    def covers(self, images: torch.Tensor) -> bool:
        """Whether this input is one the fast path computes exactly (else use open_clip)."""
        h, w = self.grid[0] * self.patch[0], self.grid[1] * self.patch[1]
        return (
            images.dim() == 4
            and tuple(images.shape[1:]) == (3, h, w)
            and not self.visual.training
            and images.device == self.device
        )

    def weights(self, dtype: torch.dtype) -> _Weights:
        if dtype not in self._weights:
            self._weights[dtype] = _weights(self.visual, dtype)
        return self._weights[dtype]

    def release(self, dtype: torch.dtype) -> None:
        """Drop the cast copy of the weights for ``dtype`` (memory)."""
        if dtype != torch.float32:
            self._weights.pop(dtype, None)
            for key in [k for k in self._kernels if k[0] == dtype]:
                del self._kernels[key]

    def kernel(self, dtype: torch.dtype, batch: int) -> str:
        return self._kernels.get((dtype, batch)) or self._kernels.get((dtype, 0)) or "sdpa"

    def prepare(self, precision: str, batch: int) -> str:
        """Cast the weights and time both attention kernels at this shape; return the winner.

        Runs outside any drawing step (it synchronises the device to time).
        """
        dtype = DTYPES[precision]
        self.weights(dtype)
        key = (dtype, batch)
        if key in self._kernels:
            return self._kernels[key]
        tokens = self.grid[0] * self.grid[1] + 1
        head_dim = self.width // self.heads
        gen = torch.Generator(device="cpu").manual_seed(0)
        shape = (batch, self.heads, tokens, head_dim)
        qkv = [
            torch.randn(shape, generator=gen).to(self.device, dtype).requires_grad_(True) for _ in range(3)
        ]
        grad = torch.randn(shape, generator=gen).to(self.device, dtype)

        def run(kernel: Any) -> None:
            out = kernel(*qkv)
            torch.autograd.grad(out, qkv, grad)

        measured_key = (str(self.device), dtype, shape)
        with _MEASURED_LOCK:
            best = _MEASURED_KERNELS.get(measured_key, "")
            if not best:
                times = {
                    name: time_call(lambda k=k: run(k), self.device, 3)
                    for name, k in ATTENTION_KERNELS.items()
                }
                best = min(times, key=times.__getitem__)
                _MEASURED_KERNELS[measured_key] = best
                logger.info(
                    "attention kernel for %s batch %d on %s: %s (%s)",
                    precision,
                    batch,
                    self.device.type,
                    best,
                    ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in times.items()),
                )
        self._kernels[key] = best
        if (dtype, 0) not in self._kernels:
            self._kernels[(dtype, 0)] = best
        return best

    def __call__(self, images: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
        dtype = DTYPES[precision]
        w = self.weights(dtype)
        attention = ATTENTION_KERNELS[self.kernel(dtype, images.shape[0])]
        fp16 = dtype == torch.float16
        x = images.to(dtype)
        if fp16:
            x = _GradScale.apply(x, 1.0 / _FP16_GRAD_SCALE)
        batch = x.shape[0]
        (gh, gw), (ph, pw), width = self.grid, self.patch, self.width
        patches = x.reshape(batch, 3, gh, ph, gw, pw).permute(0, 2, 4, 1, 3, 5).reshape(batch * gh * gw, -1)
        t = F.linear(patches, w.patch, w.patch_bias).view(batch, gh * gw, width)
        t = torch.cat([w.cls.view(1, 1, width).expand(batch, 1, width), t], dim=1) + w.pos
        tokens = t.shape[1]
        if w.ln_pre is not None:
            t = w.ln_pre(t)
        t = t.reshape(batch * tokens, width)
        # With class-token pooling only token 0 of the last block's output is read (and
        # ln_post is per token, so it does not matter whether it runs before the pool).
        cls_only_last = self.pool == "tok"
        heads, head_dim = self.heads, width // self.heads
        last = len(w.blocks) - 1
        for i, b in enumerate(w.blocks):
            h = b.ln_1(t)
            qkv = F.linear(h, b.in_w, b.in_b).view(batch, tokens, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            if i == last and cls_only_last:
                q = q[:, :, :1]
                t = t.view(batch, tokens, width)[:, 0]
            o = attention(q, k, v).transpose(1, 2).reshape(-1, width)
            o = F.linear(o, b.out_w, b.out_b)
            t = t + (o * b.ls_1 if b.ls_1 is not None else o)
            h = F.linear(b.ln_2(t), b.fc_w, b.fc_b)
            h = (
                h * torch.sigmoid(1.702 * h)
                if self.quick_gelu
                else F.gelu(h, approximate=self.gelu_approximate)
            )
            h = F.linear(h, b.proj_w, b.proj_b)
            t = t + (h * b.ls_2 if b.ls_2 is not None else h)
        pooled = self._pool(t, w, batch, tokens, cls_only_last)
        if w.proj is not None:
            pooled = pooled @ w.proj
        if fp16:
            pooled = _GradScale.apply(pooled, _FP16_GRAD_SCALE)
        return pooled.float()

    def _pool(self, t: torch.Tensor, w: _Weights, batch: int, tokens: int, cls_only: bool) -> torch.Tensor:
        """open_clip's ``VisionTransformer._pool`` without attentional pooling."""
        if cls_only:
            x = t  # [B, C]: already the class token
            return w.ln_post(x) if w.ln_post is not None else x
        x = t.view(batch, tokens, self.width)
        if not self.final_ln_after_pool and w.ln_post is not None:
            x = w.ln_post(x)
        if self.pool == "avg":
            pooled = x[:, 1:].mean(dim=1)
        elif self.pool == "tok":
            pooled = x[:, 0]
        else:
            pooled = x
        if self.final_ln_after_pool and w.ln_post is not None:
            pooled = w.ln_post(pooled)
        return pooled

    def flops_hint(self) -> float:
        """Forward FLOPs per image (matmuls only), for logs and the benchmark."""
        tokens = self.grid[0] * self.grid[1] + 1
        c = self.width
        mlp = self.visual.transformer.resblocks[0].mlp.c_fc.out_features
        per_block = 2 * tokens * (3 * c * c + c * c + 2 * c * mlp) + 4 * tokens * tokens * c
        patch = 2 * self.grid[0] * self.grid[1] * c * 3 * self.patch[0] * self.patch[1]
        return float(patch + len(self.visual.transformer.resblocks) * per_block)
