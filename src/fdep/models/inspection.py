"""``fdep models inspect SPEC``: one dry run of any network, to choose ``fdep_at`` and the output keys.

:func:`inspect_network` builds the network as :func:`fdep.models.factory.build_module` does (the
user's own module, unwrapped, so the names are the user's), runs it once on a random input and
reports the parameter count, the input size multiple it needs, what it returns (and which part
fdep would take as the prediction; whether that looks like logits or probabilities) and every
submodule whose output is a feature map, with shape, channels and stride. The deepest encoder
feature is marked: for an fdep network (SIRSTNet) the module whose output *is* ``encode(x).top``;
for any other, of the candidate maps at the largest stride the shallowest-named, last to finish
(:func:`fdep.models.probe.deepest_feature`; a guess: check it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import ModelError
from .base import SIRSTNet, count_parameters
from .external import maps_of, select_prediction
from .factory import build_module
from .probe import LayerRecord, deepest_feature, describe, dry_run, ends_in_sigmoid, size_multiple, trace


@dataclass
class Inspection:
    """What one dry run tells about a network (see the module doc)."""

    spec: str
    source: dict
    params: int
    size: int
    in_chans: int
    size_multiple: int
    output: str  #: description of the eval-mode output
    prediction: str  #: path of the output fdep takes as the prediction ("" for a lone tensor)
    prediction_form: str  #: "probability" when every value is in [0, 1] out of a sigmoid, else "logits"
    train_maps: int  #: one-channel maps returned in training mode (> 1: deep supervision)
    records: list[LayerRecord] = field(default_factory=list)
    deepest: str | None = None
    deepest_how: str = ""

    def candidates(self, every: bool = True) -> list[LayerRecord]:
        """Feature-map candidates (one call, 4-D, >= 2 channels). ``every=False``: blocks and top-level layers
        only (a conv, norm or activation inside a block is left out), and the deepest always."""
        hw = (self.size, self.size)
        return [r for r in self.records if r.is_feature(hw) and
                (every or not r.leaf or "." not in r.name or r.name == self.deepest)]

    def to_dict(self) -> dict[str, Any]:
        hw = (self.size, self.size)
        return {"spec": self.spec, "source": self.source, "params": self.params, "input": [1, self.in_chans, *hw],
                "size_multiple": self.size_multiple, "output": self.output, "prediction": self.prediction,
                "prediction_form": self.prediction_form, "train_maps": self.train_maps, "deepest": self.deepest,
                "deepest_how": self.deepest_how,
                "candidates": [{"name": r.name, "type": r.type_name, "shape": list(r.shape), "channels": r.shape[1],
                                "stride": r.stride(hw)} for r in self.candidates()]}


def encode_top_module(net: SIRSTNet, x: torch.Tensor) -> str | None:
    """The outermost submodule whose output is ``encode(x).top`` (None when none returns it as it is)."""
    seen: list = []
    hooks = [m.register_forward_hook(lambda mod, a, o, n=n: seen.append((n, o))) for n, m in net.named_modules() if n]
    try:
        with torch.no_grad():
            top = net.eval().encode(x).top
    finally:
        for h in hooks:
            h.remove()
    names = [n for n, o in seen if o is top]
    return names[-1] if names else None


def inspect_network(spec: str, in_chans: int = 1, size: int = 256, **kwargs: Any) -> Inspection:
    """Dry-run the network ``spec`` (a name or spec) built with ``kwargs`` on a 2 x in_chans x size x size input."""
    if size < 8:
        raise ModelError(f"--size must be at least 8, got {size}")
    net, source = build_module(spec, in_chans, **kwargs)
    x = torch.randn(2, in_chans, size, size, generator=torch.Generator().manual_seed(0))
    out, records = trace(net, x, spec)
    multiple = int(getattr(net, "size_multiple", 0)) if isinstance(net, SIRSTNet) else 0
    multiple = multiple or size_multiple(net, in_chans, records, (size, size), spec)
    path, pred = select_prediction(dry_run(net, x, spec, graph=True), None)
    squashed = ends_in_sigmoid(pred)
    lo, hi = float(pred.min()), float(pred.max())
    train_out = dry_run(net, x, spec, training=True)
    train_maps = sum(1 for _, t in maps_of(train_out) if t.dim() == 4 and t.shape[1] == 1)
    deepest, how = None, ""
    if isinstance(net, SIRSTNet) and getattr(net, "kind", "learned") != "classical":
        deepest, how = encode_top_module(net, x), "the module returning encode(x).top"
    if deepest is None:
        rec = deepest_feature(records, (size, size))
        deepest, how = (rec.name, "the outermost map at the largest stride; a guess, check it") if rec else (None, "")
    return Inspection(spec=spec, source=source, params=count_parameters(net), size=size, in_chans=in_chans,
                      size_multiple=multiple, output=describe(out), prediction=path,
                      prediction_form="probability" if lo >= 0.0 and hi <= 1.0 and squashed else "logits",
                      train_maps=train_maps, records=records, deepest=deepest, deepest_how=how)
