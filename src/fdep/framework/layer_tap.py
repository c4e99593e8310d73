"""FDEP at a named layer: the output of one submodule, measured by a dry run and replaced on demand.

For networks without ``encode``/``decode`` the deepest encoder feature is the output of a named
submodule (``fdep_at: encoder.layer4``). :class:`LayerTap` finds it (closest names offered when
it does not exist), checks with one dry run that it runs once per forward and returns an
N x C x h x w map, records its channels and stride, and :meth:`LayerTap.replaced` runs the
network with a forward hook that returns ``fn(output)`` in its place: the rest of the network
(decoder, skip connections, heads) then sees the fused feature, exactly as ``decode`` would.
The hook exists only during that call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ..errors import ModelError
from ..models.probe import describe, dry_run, find_submodule


def user_root(network: nn.Module) -> nn.Module:
    """The module whose submodule names ``fdep_at`` uses: the user's own for a wrapped network."""
    return getattr(network, "user_module", network)


class LayerTap:
    """The named submodule ``name`` of ``network`` (module doc). Holds the name only, never the module,
    so copies and device moves of the network need nothing from it."""

    def __init__(self, network: nn.Module, name: str, in_chans: int, size_multiple: int = 32, size: int = 128):
        what = getattr(network, "model_name", "") or type(network).__name__
        module = find_submodule(user_root(network), name, what)
        side = max(size_multiple, -(-size // size_multiple) * size_multiple)
        seen: list = []
        handle = module.register_forward_hook(lambda m, args, out: seen.append(out))
        try:
            dtype = next((p.dtype for p in network.parameters() if p.is_floating_point()), torch.float32)
            x = torch.randn(2, in_chans, side, side, generator=torch.Generator().manual_seed(0)).to(dtype)
            dry_run(network, x, what)
        finally:
            handle.remove()
        if not seen:
            raise ModelError(f"fdep_at: {name!r} of {what} does not run in a forward pass; name a module that does "
                             f"(fdep models inspect lists them)")
        if len(seen) > 1:
            raise ModelError(f"fdep_at: {name!r} of {what} runs {len(seen)} times per forward pass (a module reused "
                             f"in several places); name one that runs once")
        out = seen[0]
        if not isinstance(out, torch.Tensor) or out.dim() != 4 or not out.is_floating_point():
            raise ModelError(f"fdep_at: {name!r} of {what} returns {describe(out)}, not an N x C x H x W feature map; "
                             f"name the module whose output is the feature (fdep models inspect lists them)")
        h, w = out.shape[-2:]
        if side % h or side % w or side // h != side // w:
            raise ModelError(f"fdep_at: {name!r} of {what} returns a {h} x {w} map for a {side} x {side} input: not "
                             f"a feature at an integer stride")
        self.name = name
        self.channels = int(out.shape[1])
        self.stride = side // h

    @contextlib.contextmanager
    def replaced(self, network: nn.Module, fn: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
        """Within the block, the layer's output is ``fn(output)`` in every forward of ``network``."""
        module = user_root(network).get_submodule(self.name)
        handle = module.register_forward_hook(lambda m, args, out: fn(out))
        try:
            yield
        finally:
            handle.remove()
