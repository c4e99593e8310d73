"""The contract every network in the zoo honours.

A network is a plain ``nn.Module`` split into ``encode(x) -> Features`` and
``decode(features) -> logits`` with ``forward(x) == decode(encode(x))``.
``features.top`` is the deepest encoder feature (``top_channels`` channels at
stride ``top_stride``); FDEP replaces it by a tensor of the same shape and
calls ``decode`` again, which is all it needs to know about a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from ..errors import ModelError


@dataclass
class Features:
    """What ``encode`` hands to ``decode``.

    ``top``: the deepest encoder feature F(t). ``skips``: whatever else the
    decoder needs (shallower features, the input size, auxiliary branches), in
    an order only the network itself interprets.
    """

    top: torch.Tensor
    skips: tuple[Any, ...] = field(default_factory=tuple)

    def with_top(self, top: torch.Tensor) -> Features:
        """A copy with ``top`` replaced (shapes must agree)."""
        if top.shape != self.top.shape:
            raise ModelError(f"replacement top feature has shape {tuple(top.shape)}, expected {tuple(self.top.shape)}")
        return replace(self, top=top)


class SIRSTNet(nn.Module):
    """Base class of the encoder-decoder networks in the zoo.

    Subclasses set the class attributes and implement ``encode``/``decode``.
    ``decode`` returns a list of logits (final map last) when the network has
    deep supervision and is in training mode, otherwise one N x 1 x H x W map.
    """

    #: registered name (set by the registry)
    model_name: str = ""
    #: the paper's parameter count in millions (Table 1 / S3), for comparison
    paper_params_m: float | None = None
    #: parameters the reference code builds but its forward never uses, which the paper's count
    #: includes (we do not build them); compare ``count_parameters(net) + paper_unused_params``
    paper_unused_params: int = 0
    #: channels and stride of ``Features.top``
    top_channels: int = 0
    top_stride: int = 1
    #: input H and W must be multiples of this
    size_multiple: int = 32
    #: True when training mode returns a list of side outputs
    deep_supervision: bool = False
    #: "learned" (trained network) or "classical" (fixed filter/optimisation method, no training)
    kind: str = "learned"
    #: where the design (and the implementation our default equals) comes from: paper and code
    source: str = ""
    #: what ``forward`` returns in eval mode: "logits" (networks) or "probability" (classical methods)
    outputs: str = "logits"

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__()
        if in_chans < 1:
            raise ModelError(f"in_chans must be >= 1, got {in_chans}")
        self.in_chans = in_chans

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ModelError for inputs the network cannot take."""
        if x.dim() != 4:
            raise ModelError(f"{self.model_name}: expected an N x C x H x W tensor, got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_chans:
            raise ModelError(
                f"{self.model_name}: expected {self.in_chans} input channel(s), got {x.shape[1]}"
            )
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ModelError(
                f"{self.model_name}: input height and width must be multiples of {m}, got {h} x {w} "
                f"(pad the image, e.g. with fdep.data pad-to-multiple)"
            )

    def encode(self, x: torch.Tensor) -> Features:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, features: Features) -> torch.Tensor | list[torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        self.check_input(x)
        return self.decode(self.encode(x))


def final_output(out: torch.Tensor | list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The final logit map of a network output (the last one of a deep-supervision list)."""
    return out[-1] if isinstance(out, (list, tuple)) else out


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared parameters counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
