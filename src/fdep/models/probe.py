"""Dry runs of any ``nn.Module``: what each submodule returns, strides, the input size multiple.

Used by ``fdep models inspect``, by :class:`fdep.models.external.ExternalNetwork` (the size
multiple of a network from outside fdep) and by FDEP's named-layer path (the channels and
stride of the layer it fuses into). Every run is under ``torch.no_grad`` with forward hooks that
are removed afterwards; a run in training mode puts the module's buffers (BatchNorm statistics)
and the random number generators back as they were.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ModelError


@dataclass
class LayerRecord:
    """What one named submodule returned in a dry run."""

    name: str
    type_name: str
    calls: int  #: times it ran in one forward (a module reused in several places runs more than once)
    order: int  #: when its (last) call finished, counted over all modules
    shape: tuple[int, ...] | None  #: of its output when that is one tensor, else None
    output: str  #: a short description of the output ("tensor 2x64x16x16", "tuple of 2", ...)
    leaf: bool = True  #: a module without submodules (a conv, a norm, an activation)

    def stride(self, size: tuple[int, int]) -> int | None:
        """Input size / output size when the output is an N x C x h x w map with an integer stride."""
        if self.shape is None or len(self.shape) != 4:
            return None
        h, w = self.shape[-2:]
        if not h or not w or size[0] % h or size[1] % w or size[0] // h != size[1] // w:
            return None
        return size[0] // h

    def is_feature(self, size: tuple[int, int]) -> bool:
        """A candidate deepest encoder feature: one call, a 4-D map with >= 2 channels, larger than 1 x 1."""
        return (self.calls == 1 and self.stride(size) is not None and self.shape[1] >= 2
                and (self.shape[-2] > 1 or self.shape[-1] > 1))


def describe(out) -> str:
    """A short description of a module output."""
    if isinstance(out, torch.Tensor):
        return f"tensor {'x'.join(map(str, out.shape))}" + ("" if out.is_floating_point() else f" {out.dtype}")
    if isinstance(out, (list, tuple)):
        return f"{type(out).__name__} of {len(out)}"
    if isinstance(out, dict):
        return f"dict ({', '.join(map(str, list(out)[:6]))}{', ...' if len(out) > 6 else ''})"
    return type(out).__name__


@contextlib.contextmanager
def restored_state(module: nn.Module) -> Iterator[None]:
    """Put back the module's buffers and the RNG state after a dry run (training-mode runs move them)."""
    saved = {k: v.detach().clone() for k, v in module.named_buffers()}
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        with torch.no_grad():
            for k, v in module.named_buffers():
                if k in saved:
                    v.copy_(saved[k])


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300]}" if text else type(e).__name__


def dry_run(net: nn.Module, x: torch.Tensor, what: str = "network", training: bool = False, graph: bool = False):
    """``net(x)`` under no_grad (``graph``: with autograd, to read how the output was made) in eval (or training)
    mode, state kept; ModelError (one line) if it fails."""
    was = net.training
    net.train(training)
    try:
        with torch.set_grad_enabled(graph), restored_state(net):
            return net(x)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's network: its failure is reported on one line
        raise ModelError(f"{what}: a dry run on a {'x'.join(map(str, x.shape))} input failed: {first_line(e)} "
                         f"(check in_chans / model_kwargs, or the input size)") from None
    finally:
        net.train(was)


#: autograd nodes a squashing output ends in (torch.sigmoid / nn.Sigmoid, softmax)
_SQUASH = ("SigmoidBackward", "SoftmaxBackward")
#: nodes that keep values as they are or bound them further (looked through, first input only)
_PASS = ("Clamp", "View", "Reshape", "Unsafe", "Squeeze", "Unsqueeze", "Slice", "Select", "Expand", "Permute",
         "Transpose", "Clone", "ToCopy", "Index", "Upsample", "Mul", "Alias", "Contiguous")


def ends_in_sigmoid(t: torch.Tensor, depth: int = 8) -> bool:
    """Whether a tensor made with autograd on comes out of a sigmoid or softmax (also ``1 / (1 + exp(-x))``),
    through at most ``depth`` value-keeping steps (clamp, reshape, resize, ...)."""
    node = t.grad_fn
    for _ in range(depth):
        if node is None:
            return False
        name = type(node).__name__
        if name.startswith(_SQUASH):
            return True
        if name.startswith(("ReciprocalBackward", "DivBackward")):
            return _has_exp(node, 3)
        if not name.startswith(_PASS):
            return False
        node = next((n for n, _ in node.next_functions if n is not None and
                     type(n).__name__ != "AccumulateGrad"), None)
    return False


def _has_exp(node, depth: int) -> bool:
    if node is None or depth < 0:
        return False
    if type(node).__name__.startswith("ExpBackward"):
        return True
    return any(_has_exp(n, depth - 1) for n, _ in node.next_functions if n is not None)


def trace(net: nn.Module, x: torch.Tensor, what: str = "network") -> tuple[object, list[LayerRecord]]:
    """(the network's output, a record per named submodule that ran) of one eval-mode dry run."""
    records: dict[str, LayerRecord] = {}
    counter = [0]
    handles = []

    def hook(name: str):
        def fn(module, args, out):
            counter[0] += 1
            rec = records.get(name)
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
            if rec is None:
                records[name] = LayerRecord(name, type(module).__name__, 1, counter[0], shape, describe(out),
                                            leaf=next(module.children(), None) is None)
            else:
                rec.calls += 1
                rec.order, rec.shape, rec.output = counter[0], shape, describe(out)

        return fn

    for name, module in net.named_modules():
        if name:
            handles.append(module.register_forward_hook(hook(name)))
    try:
        out = dry_run(net, x, what)
    finally:
        for h in handles:
            h.remove()
    return out, sorted(records.values(), key=lambda r: r.order)


def deepest_feature(records: list[LayerRecord], size: tuple[int, int]) -> LayerRecord | None:
    """The likely deepest encoder feature: of the candidate maps at the largest stride, those named at the
    shallowest depth (a network's own stages before the layers inside them: U-blocks reach the largest
    stride inside decoder stages too), and of those the last to finish (a block finishes after its layers,
    so the outermost module returning that map is named)."""
    feats = [r for r in records if r.is_feature(size)]
    if not feats:
        return None
    top = max(r.stride(size) for r in feats)
    return min((r for r in feats if r.stride(size) == top), key=lambda r: (r.name.count("."), -r.order))


def find_submodule(root: nn.Module, name: str, what: str = "network") -> nn.Module:
    """The submodule named ``name`` (dotted, as ``named_modules`` spells it); ModelError offering close names."""
    modules = dict(root.named_modules())
    if name and name in modules:
        return modules[name]
    close = difflib.get_close_matches(name, [n for n in modules if n], n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise ModelError(f"fdep_at: {what} has no submodule {name!r}{hint} (fdep models inspect lists them)")


def size_multiple(net: nn.Module, in_chans: int, records: list[LayerRecord], size: tuple[int, int],
                  what: str = "network", limit: int = 1024) -> int:
    """The input size multiple the network needs: the largest power-of-two stride of its maps, doubled until
    an input of 3 x that size runs and returns a map of the input's size."""
    strides = [r.stride(size) for r in records if r.stride(size)]
    m = 1
    for s in strides:
        while m < s:
            m *= 2
    while m <= limit:
        side = 3 * m
        try:
            out = dry_run(net, torch.randn(2, in_chans, side, side), what)
        except ModelError:
            m *= 2
            continue
        maps = [t for t in _tensors(out) if t.dim() == 4]
        if any(t.shape[-2:] == (side, side) for t in maps):  # the prediction (whichever it is) has the input's size
            return m
        m *= 2
    raise ModelError(f"{what}: no input size multiple up to {limit} gives an output of the input's size "
                     f"(does the network take only one fixed input size?)")


def _tensors(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    return []
