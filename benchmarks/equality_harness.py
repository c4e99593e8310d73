"""The pieces of a weight-for-weight equality check of a zoo network against its authors' reference code.

The reference's state is randomised so that no check passes by a trivial initialisation, copied
into ours through a key mapping (every tensor of ours written exactly once), and the outputs of
both are compared as lists. Two randomisations exist because the recorded comparisons used them
(docs/equality.md): ``randomise`` draws new values for the learned state of PAL's eight Table-1
networks (compare_with_pal.py), ``perturb`` adds noise around the reference's own initialisation
(compare_with_references.py: SCTransNet, SDSNet, MTU-Net).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MappingError(RuntimeError):
    """The two networks' tensors cannot be paired one to one."""


def randomise(net: nn.Module, gen: torch.Generator) -> None:
    """Random parameters and normalisation state (affine, running mean/var, counter); constant filters kept."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
                if isinstance(m, nn.BatchNorm2d) and m.track_running_stats:
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.2)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.5)
                    m.num_batches_tracked.fill_(int(torch.randint(1, 100, (1,), generator=gen)))
            else:
                for n, p in m.named_parameters(recurse=False):
                    if n == "bias":
                        p.add_(torch.randn(p.shape, generator=gen) * 0.05)
                    else:  # keep the init's scale, new values
                        std = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 0.1
                        p.copy_(torch.randn(p.shape, generator=gen) * std)


def perturb(model: nn.Module, seed: int) -> None:
    """Perturb every parameter (by half its spread) and BN buffer so that no check passes by a trivial init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            spread = float(p.std()) if p.numel() > 1 else 0.0
            p.add_((0.5 * spread if spread > 0 else 0.1) * torch.randn(p.shape, generator=g))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def transfer(source: nn.Module, ours: nn.Module, pairs: Sequence[tuple[tuple[str, ...], str]]) -> None:
    """Copy the source's tensors into ours: each pair (source keys, our key) writes our tensor from one source
    tensor, or from several concatenated along dim 0; every tensor of ours must be written exactly once."""
    ss, os_ = source.state_dict(), ours.state_dict()
    written = set()
    for sk, ok in pairs:
        missing = [k for k in sk if k not in ss]
        if missing or ok not in os_:
            raise MappingError(f"{sk} -> {ok}: {missing or ok} not in the {'source' if missing else 'target'}")
        src = ss[sk[0]] if len(sk) == 1 else torch.cat([ss[k] for k in sk], 0)
        if src.shape != os_[ok].shape:
            raise MappingError(f"{sk} {tuple(src.shape)} -> {ok} {tuple(os_[ok].shape)}")
        if ok in written:
            raise MappingError(f"{ok} written twice")
        os_[ok] = src.clone()
        written.add(ok)
    missing = set(os_) - written
    if missing:
        raise MappingError(f"our tensors without a source: {sorted(missing)[:6]}")
    ours.load_state_dict(os_)


def as_list(out) -> list[torch.Tensor]:
    """A network's output as a list of maps (deep supervision returns several)."""
    return list(out) if isinstance(out, (list, tuple)) else [out]
