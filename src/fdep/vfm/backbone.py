"""The frozen VFM module: a DINO-family ViT returning the hidden states of chosen blocks as maps."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ModelError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _blocks(model: nn.Module) -> nn.ModuleList:
    """The transformer blocks of an HF DINOv2 / DINOv2-with-registers / DINOv3 model."""
    if hasattr(model, "encoder") and hasattr(model.encoder, "layer"):
        return model.encoder.layer
    if hasattr(model, "model") and hasattr(model.model, "layer"):
        return model.model.layer
    raise ModelError(f"unsupported VFM class {type(model).__name__}: expected a DINOv2/DINOv3 ViT")


def _final_norm(model: nn.Module) -> nn.Module:
    return model.layernorm if hasattr(model, "layernorm") else model.norm


class VFM(nn.Module):
    """A frozen ViT: ``vfm(x)`` maps N x C x H x W images in [0, 1] to a list of N x Cd x h x w maps.

    The image is replicated to 3 channels, ImageNet-normalised, then zero-padded (bottom/right, in
    normalised space, i.e. with the ImageNet mean colour) to a multiple of the patch size;
    h = ceil(H / p), w = ceil(W / p) and map cell (i, j) covers pixels [i*p, (i+1)*p) of the padded
    image. Each selected block's patch tokens pass through the model's final LayerNorm (as
    DINOv2's ``get_intermediate_layers(norm=True)`` does). Blocks after the deepest selected one
    are dropped. The module never computes gradients and stays in eval mode through ``.train()``.
    """

    def __init__(self, model: nn.Module, name: str, layers: tuple[int, ...] | None = None, norm: bool = True):
        super().__init__()
        cfg = model.config
        self.depth = len(_blocks(model))
        from .names import default_layers

        layers = tuple(int(i) for i in (layers or default_layers(self.depth)))
        bad = [i for i in layers if not 1 <= i <= self.depth]
        if bad or not layers:
            raise ConfigError(f"VFM layers {list(layers)} out of range: {name} has blocks 1..{self.depth}")
        self.layers = layers
        self.name = name
        self.norm = norm
        ps = cfg.patch_size
        self.patch_size = int(ps[0] if isinstance(ps, (tuple, list)) else ps)
        self.embed_dim = int(cfg.hidden_size)
        self.num_prefix_tokens = 1 + int(getattr(cfg, "num_register_tokens", 0) or 0)
        blocks = _blocks(model)
        del blocks[max(layers) :]  # never computed: saves time and memory
        self.model = model
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> VFM:
        """Frozen: always eval mode (dropout off, statistics fixed)."""
        return super().train(False)

    def grid_size(self, h: int, w: int) -> tuple[int, int]:
        return math.ceil(h / self.patch_size), math.ceil(w / self.patch_size)

    def describe(self) -> dict:
        """What a trainable checkpoint records instead of the VFM weights."""
        return {"name": self.name, "layers": list(self.layers), "patch_size": self.patch_size,
                "embed_dim": self.embed_dim}

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ModelError(f"VFM input must be N x 1 x H x W or N x 3 x H x W in [0, 1], got {tuple(x.shape)}")
        x = x.to(self.mean.dtype)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        gh, gw = self.grid_size(*x.shape[-2:])
        p = self.patch_size
        x = F.pad(x, (0, gw * p - x.shape[-1], 0, gh * p - x.shape[-2]))
        dtype = next(self.model.parameters()).dtype
        hidden = self.model(pixel_values=x.to(dtype), output_hidden_states=True).hidden_states
        norm = _final_norm(self.model)
        out = []
        for i in self.layers:
            h = norm(hidden[i]) if self.norm else hidden[i]
            tok = h[:, self.num_prefix_tokens :, :]
            out.append(tok.transpose(1, 2).reshape(x.shape[0], self.embed_dim, gh, gw).float())
        return out
