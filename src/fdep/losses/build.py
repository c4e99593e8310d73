"""``build_loss``: a named per-map loss wrapped to sum over deep-supervision outputs."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import ConfigError
from .basic import BCELoss, SoftIoULoss
from .eedm import EEDMLoss

LOSSES: dict[str, Callable[..., Callable]] = {"eedm": EEDMLoss, "softiou": SoftIoULoss, "bce": BCELoss}


def _as_target(target: torch.Tensor) -> torch.Tensor:
    return target.unsqueeze(1) if target.dim() == 3 else target


class DeepSupervisionLoss:
    """``loss(outputs, target)``: the per-map loss, summed over a list of outputs (deep supervision).

    A 0-dim tensor in the list is an auxiliary loss term the network computed itself (already
    weighted, e.g. RPCANet's image-reconstruction term) and is added as it is.
    """

    def __init__(self, per_map: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        self.per_map = per_map

    def __call__(self, outputs, target: torch.Tensor) -> torch.Tensor:
        target = _as_target(target)
        if isinstance(outputs, (list, tuple)):
            if not outputs:
                raise ValueError("empty list of outputs")
            return sum(o if o.dim() == 0 else self.per_map(o, target) for o in outputs)
        return self.per_map(outputs, target)

    def __repr__(self) -> str:
        return f"DeepSupervisionLoss({self.per_map!r})"


def build_loss(name: str, **kw) -> DeepSupervisionLoss:
    """``"eedm"`` (edge_weight=4, p=0.5, form="text"|"released") | ``"softiou"`` (smooth=1) | ``"bce"``.

    Returns callable(outputs, target), summed over deep-supervision outputs.
    """
    key = name.lower()
    if key not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}")
    try:
        return DeepSupervisionLoss(LOSSES[key](**kw))
    except TypeError as e:
        raise ConfigError(f"loss {name!r}: {e}") from None
