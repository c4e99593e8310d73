"""Meta's original DINOv2 checkpoints (``dinov2_vit*14[_reg4]_pretrain.pth``) <-> Hugging Face layout.

Meta's files hold the state dict of ``dinov2.models.vision_transformer.DinoVisionTransformer``;
transformers' ``Dinov2Model`` uses other key names and splits the fused q/k/v projection
(and, for ViT-g, the fused SwiGLU input projection). The config is rebuilt from the tensor
shapes; the number of attention heads is not stored anywhere, so it follows DINOv2's fixed
head size of 64 (ViT-S 6, ViT-B 12, ViT-L 16, ViT-g 24 heads).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import WeightsError
from ..torchload import load_failure_reason

HEAD_DIM = 64
_BLOCK = re.compile(r"^blocks\.(?:\d+\.)?(\d+)\.(.+)$")

# per-block keys with a one-to-one rename (Meta suffix -> HF suffix)
_BLOCK_RENAMES = {
    "norm1.weight": "norm1.weight",
    "norm1.bias": "norm1.bias",
    "attn.proj.weight": "attention.o_proj.weight",
    "attn.proj.bias": "attention.o_proj.bias",
    "ls1.gamma": "layer_scale1.lambda1",
    "norm2.weight": "norm2.weight",
    "norm2.bias": "norm2.bias",
    "mlp.fc1.weight": "mlp.fc1.weight",
    "mlp.fc1.bias": "mlp.fc1.bias",
    "mlp.fc2.weight": "mlp.fc2.weight",
    "mlp.fc2.bias": "mlp.fc2.bias",
    "mlp.w3.weight": "mlp.down_proj.weight",
    "mlp.w3.bias": "mlp.down_proj.bias",
    "ls2.gamma": "layer_scale2.lambda1",
}
_TOP_RENAMES = {
    "cls_token": "embeddings.cls_token",
    "mask_token": "embeddings.mask_token",
    "pos_embed": "embeddings.position_embeddings",
    "register_tokens": "embeddings.register_tokens",
    "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
    "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
    "norm.weight": "layernorm.weight",
    "norm.bias": "layernorm.bias",
}


def meta_to_hf(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename/split a Meta DINOv2 state dict into transformers' Dinov2(WithRegisters)Model keys."""
    out: dict[str, torch.Tensor] = {}
    for key, v in sd.items():
        if key.startswith("head."):
            continue
        if key in _TOP_RENAMES:
            out[_TOP_RENAMES[key]] = v
            continue
        m = _BLOCK.match(key)
        if not m:
            raise WeightsError(f"unexpected key {key!r} in a DINOv2 checkpoint (not a Meta dinov2_vit*14 file?)")
        i, rest = m.group(1), m.group(2)
        pre = f"encoder.layer.{i}."
        if rest in ("attn.qkv.weight", "attn.qkv.bias"):
            q, k, vv = v.chunk(3, dim=0)
            suffix = rest.rsplit(".", 1)[1]
            out[pre + f"attention.q_proj.{suffix}"] = q
            out[pre + f"attention.k_proj.{suffix}"] = k
            out[pre + f"attention.v_proj.{suffix}"] = vv
        elif rest in ("mlp.w12.weight", "mlp.w12.bias"):
            gate, up = v.chunk(2, dim=0)
            suffix = rest.rsplit(".", 1)[1]
            out[pre + f"mlp.gate_proj.{suffix}"] = gate
            out[pre + f"mlp.up_proj.{suffix}"] = up
        elif rest in _BLOCK_RENAMES:
            out[pre + _BLOCK_RENAMES[rest]] = v
        else:
            raise WeightsError(f"unexpected key {key!r} in a DINOv2 checkpoint (not a Meta dinov2_vit*14 file?)")
    return out


def hf_to_meta(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of :func:`meta_to_hf` (used by tests and to write Meta-format files)."""
    top = {v: k for k, v in _TOP_RENAMES.items()}
    blk = {v: k for k, v in _BLOCK_RENAMES.items()}
    out: dict[str, torch.Tensor] = {}
    pending: dict[tuple[str, str, str], dict[str, torch.Tensor]] = {}
    for key, v in sd.items():
        if key in top:
            out[top[key]] = v
            continue
        m = re.match(r"^encoder\.layer\.(\d+)\.(.+)$", key)
        if not m:
            raise WeightsError(f"unexpected key {key!r} in a Hugging Face DINOv2 state dict")
        i, rest = m.groups()
        part = re.match(r"^(attention\.[qkv]_proj|mlp\.gate_proj|mlp\.up_proj)\.(weight|bias)$", rest)
        if part:
            group = "qkv" if part.group(1).startswith("attention") else "w12"
            pending.setdefault((i, group, part.group(2)), {})[part.group(1)] = v
        elif rest in blk:
            out[f"blocks.{i}.{blk[rest]}"] = v
        else:
            raise WeightsError(f"unexpected key {key!r} in a Hugging Face DINOv2 state dict")
    for (i, group, suffix), parts in pending.items():
        if group == "qkv":
            names = ("attention.q_proj", "attention.k_proj", "attention.v_proj")
            out[f"blocks.{i}.attn.qkv.{suffix}"] = torch.cat([parts[n] for n in names], 0)
        else:
            out[f"blocks.{i}.mlp.w12.{suffix}"] = torch.cat([parts["mlp.gate_proj"], parts["mlp.up_proj"]], 0)
    return out


def config_from_meta(sd: dict[str, torch.Tensor]):
    """Build a Dinov2Config / Dinov2WithRegistersConfig matching a Meta state dict's shapes."""
    from transformers import Dinov2Config, Dinov2WithRegistersConfig

    try:
        hidden = sd["cls_token"].shape[-1]
        patch = sd["patch_embed.proj.weight"].shape[-1]
        n_pos = sd["pos_embed"].shape[1] - 1
    except KeyError as e:
        raise WeightsError(f"not a Meta DINOv2 checkpoint: key {e.args[0]!r} is missing") from None
    depth = 1 + max(int(m.group(1)) for k in sd if (m := _BLOCK.match(k)))
    side = round(n_pos**0.5)
    if side * side != n_pos:
        raise WeightsError(f"pos_embed holds {n_pos} patch positions, not a square grid")
    swiglu = any(k.endswith("mlp.w12.weight") for k in sd)
    if swiglu:
        mlp_ratio = 4  # SwiGLU keeps 2/3 of 4x hidden rounded to 8: the file's shapes follow from it
    else:
        inter = sd["blocks.0.mlp.fc1.weight"].shape[0]
        if inter % hidden:
            raise WeightsError(f"MLP width {inter} is not a multiple of the embedding size {hidden}")
        mlp_ratio = inter // hidden
    kw = dict(
        hidden_size=hidden,
        num_hidden_layers=depth,
        num_attention_heads=max(1, hidden // HEAD_DIM),
        mlp_ratio=mlp_ratio,
        patch_size=patch,
        image_size=side * patch,
        use_swiglu_ffn=swiglu,
        layerscale_value=1.0,
        layer_norm_eps=1e-6,
    )
    if "register_tokens" in sd:
        return Dinov2WithRegistersConfig(num_register_tokens=sd["register_tokens"].shape[1], **kw)
    return Dinov2Config(**kw)


def load_meta_checkpoint(path: str | Path) -> tuple[object, dict[str, torch.Tensor]]:
    """Read a Meta ``.pth`` safely (weights only) -> (HF config, HF state dict)."""
    try:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the user's to fix
        reason, unsafe = load_failure_reason(e)
        if unsafe:
            raise WeightsError(f"{path}: not a safe DINOv2 weights file: {reason}") from None
        raise WeightsError(f"cannot read DINOv2 checkpoint {path}: {type(e).__name__}: {reason}") from None
    if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
        sd = sd["model"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors")
    sd = {k.removeprefix("module.").removeprefix("backbone."): v for k, v in sd.items()}
    return config_from_meta(sd), meta_to_hf(sd)
