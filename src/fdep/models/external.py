"""Any PyTorch segmentation network as an fdep network: :class:`ExternalNetwork`.

Networks from other toolboxes return one tensor, a list or tuple (deep supervision, or a
``(side_outputs, output)`` pair), a dict, and some return probabilities after a sigmoid.
:class:`OutputSpec` says which output is the prediction (``select``: None picks the only map, the
last map of a list/tuple, nested pairs included; an index ``"0"``, a key ``"out"`` or a dotted path
``"1.-1"`` picks one) and whether it is ``logits`` or ``probability``. The wrapper gives fdep what
its zoo gives:

- eval mode: one N x 1 x H x W logit map;
- training mode: the prediction, or with deep supervision the list ``[side maps..., prediction]``
  (every other one-channel map the network returned, resized to the input when it is smaller),
  summed by the loss as the zoo's are.

Probabilities become logits, ``logit(p)`` with p clamped to [1e-6, 1 - 1e-6]: ``sigmoid`` gives p
back, so every loss (EEDM, SoftIoU, BCE with logits) computes on the network's own probabilities
its probability form, and ``fdep predict`` applies the same sigmoid as for any network.

The wrapped module is the user's own (``user_module``): saved weights are its state dict and load
into the user's class with ``load_state_dict``. A dry run at construction refuses declarations the
outputs contradict: logits declared but every value in [0, 1] coming out of a sigmoid (or softmax,
or ``1 / (1 + exp(-x))``: read from the autograd graph, because a freshly initialised network's
logits can all lie in [0, 1] too), probabilities declared but values outside [0, 1], and a
prediction that is not one map of the input's size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..choices import OUTPUT_FORMS
from ..errors import ModelError
from .probe import dry_run, ends_in_sigmoid, trace
from .probe import size_multiple as find_size_multiple

#: probabilities are clamped to [EPS, 1 - EPS] before the logit (float32)
EPS = 1e-6


@dataclass(frozen=True)
class OutputSpec:
    """How to read a network's output: which part is the prediction, logits or probabilities, deep supervision."""

    select: str | None = None  #: None: automatic (module doc); else an index, key or dotted path
    form: str = "logits"  #: logits | probability
    deep_supervision: bool | None = None  #: None: train every other one-channel map the network returns

    def __post_init__(self) -> None:
        if self.form not in OUTPUT_FORMS:
            raise ModelError(f"output_form: {self.form!r} is not one of {', '.join(OUTPUT_FORMS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> OutputSpec:
        d = d or {}
        return cls(select=d.get("select"), form=d.get("form", "logits"), deep_supervision=d.get("deep_supervision"))

    def is_default(self) -> bool:
        return self == OutputSpec()


def maps_of(out: Any, path: str = "") -> list[tuple[str, torch.Tensor]]:
    """Every tensor in a (nested) output with its path ("0", "1.2", "out"), in order."""
    if isinstance(out, torch.Tensor):
        return [(path, out)]
    items = out.items() if isinstance(out, dict) else enumerate(out) if isinstance(out, (list, tuple)) else []
    return [m for k, v in items for m in maps_of(v, f"{path}.{k}" if path else str(k))]


def _step(out: Any, part: str, where: str) -> Any:
    if isinstance(out, dict):
        if part not in out:
            raise ModelError(f"output_select: {where!r}: the output has no key {part!r} (keys: "
                             f"{', '.join(map(str, out))})")
        return out[part]
    if isinstance(out, (list, tuple)):
        try:
            return out[int(part)]
        except (ValueError, IndexError):
            raise ModelError(f"output_select: {where!r}: {part!r} is not an index of a {type(out).__name__} "
                             f"of {len(out)}") from None
    raise ModelError(f"output_select: {where!r}: cannot index a {type(out).__name__} with {part!r}")


def select_prediction(out: Any, select: str | None) -> tuple[str, torch.Tensor]:
    """(path, tensor) of the prediction in a network output (module doc)."""
    if isinstance(out, torch.Tensor) and select in (None, ""):
        return "", out
    if select not in (None, ""):
        node = out
        for part in str(select).split("."):
            node = _step(node, part, str(select))
        if not isinstance(node, torch.Tensor):
            raise ModelError(f"output_select: {select!r} picks a {type(node).__name__}, not a tensor")
        return str(select), node
    maps = [(p, t) for p, t in maps_of(out) if t.dim() == 4]
    if not maps:
        raise ModelError(f"the network returns a {type(out).__name__} holding no N x 1 x H x W map")
    if isinstance(out, dict) and len(maps) > 1:
        raise ModelError(f"the network returns a dict with several maps ({', '.join(p for p, _ in maps)}): say which "
                         f"is the prediction with output_select (--output-select KEY)")
    return maps[-1]


def to_logits(t: torch.Tensor, form: str) -> torch.Tensor:
    """Logits of a map: as it is, or ``logit(clamp(p))`` in float32 for probabilities."""
    return torch.logit(t.float(), eps=EPS) if form == "probability" else t


class ExternalNetwork(nn.Module):
    """A network from outside fdep wrapped to return logits as the zoo does (module doc).

    Args:
        module: the user's ``nn.Module``.
        name: the spec or entry-point name it was built from (recorded as ``model_name``).
        in_chans: input channels the dry runs use.
        output: :class:`OutputSpec`.
        init_kwargs: the constructor arguments it was built with (recorded with the weights).
        source: where it came from (:meth:`fdep.models.spec.SpecSource.to_dict`).
        size_multiple: the input size multiple; None finds it by dry runs.
        probe_size: side of the square input of the construction dry run.
    """

    kind = "learned"
    outputs = "logits"
    top_channels = 0
    paper_params_m = None
    paper_unused_params = 0

    def __init__(self, module: nn.Module, name: str, in_chans: int = 1, output: OutputSpec | None = None,
                 init_kwargs: dict | None = None, source: dict | None = None, size_multiple: int | None = None,
                 probe_size: int = 64) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise ModelError(f"{name}: built a {type(module).__name__}, not a torch.nn.Module")
        self.net = module
        self.model_name = name
        self.in_chans = int(in_chans)
        self.output = output or OutputSpec()
        self.init_kwargs = dict(init_kwargs or {})
        #: where it comes from (spec, kind, file path and sha256); not ``source``, which names a zoo network's paper
        self.model_source = dict(source or {"spec": name})
        if size_multiple is None:
            size = (probe_size, probe_size)
            _, records = trace(module, torch.randn(2, self.in_chans, *size), name)
            size_multiple = find_size_multiple(module, self.in_chans, records, size, name)
        self.size_multiple = int(size_multiple)
        self.deep_supervision = self.check_outputs(probe_size)

    @property
    def user_module(self) -> nn.Module:
        """The user's own module (what saved weights are the state dict of)."""
        return self.net

    def network_record(self) -> dict[str, Any]:
        """What config.json records beyond name, in_chans and kwargs (fdep.models.pretrained)."""
        return {"source": self.model_source, "output": self.output.to_dict(), "size_multiple": self.size_multiple}

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_chans:
            raise ModelError(f"{self.model_name}: expected an N x {self.in_chans} x H x W tensor, got shape "
                             f"{tuple(x.shape)}")
        m = self.size_multiple
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ModelError(f"{self.model_name}: input height and width must be multiples of {m}, got "
                             f"{x.shape[-2]} x {x.shape[-1]}")

    def check_outputs(self, probe_size: int) -> bool:
        """Dry runs (eval and training mode) against the declared output; returns whether training gives side maps."""
        side = max(self.size_multiple, probe_size // self.size_multiple * self.size_multiple)
        x = torch.randn(2, self.in_chans, side, side, generator=torch.Generator().manual_seed(0))
        path, pred = select_prediction(dry_run(self.net, x, self.model_name, graph=True), self.output.select)
        squashed = ends_in_sigmoid(pred)
        pred = pred.detach()
        where = f"{self.model_name}: output {path!r}" if path else f"{self.model_name}: output"
        want = (2, 1, side, side)
        if tuple(pred.shape) != want:
            hint = " (a two-class softmax output: give one logit map instead)" if pred.dim() == 4 and \
                pred.shape[1] == 2 else ""
            raise ModelError(f"{where} has shape {tuple(pred.shape)} for a {'x'.join(map(str, x.shape))} input; fdep "
                             f"needs N x 1 x H x W at the input's size{hint} (output_select picks another output)")
        lo, hi = float(pred.min()), float(pred.max())
        if self.output.form == "logits" and lo >= 0.0 and hi <= 1.0 and squashed:
            raise ModelError(f"{where}: every value lies in [0, 1] ({lo:.3g} to {hi:.3g}) and comes out of a sigmoid: "
                             f"the network returns probabilities; set output_form: probability")
        if self.output.form == "probability" and (lo < 0.0 or hi > 1.0):
            raise ModelError(f"{where}: values from {lo:.3g} to {hi:.3g} are not probabilities; set output_form: "
                             f"logits")
        if self.output.deep_supervision is False:
            return False
        sides = len(self._sides(dry_run(self.net, x, self.model_name, training=True), x)[0])
        if self.output.deep_supervision and not sides:
            raise ModelError(f"{self.model_name}: deep_supervision is true, but in training mode the network returns "
                             f"no map besides the prediction")
        return sides > 0

    def _sides(self, out: Any, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(side maps, prediction) of one output, all logits at the input's size."""
        path, pred = select_prediction(out, self.output.select)
        size = tuple(x.shape[-2:])
        sides = []
        for p, t in maps_of(out):
            if p == path or t is pred or t.dim() != 4 or t.shape[1] != 1 or t.shape[0] != x.shape[0]:
                continue
            t = to_logits(t, self.output.form)
            sides.append(t if tuple(t.shape[-2:]) == size else
                         F.interpolate(t, size=size, mode="bilinear", align_corners=False))
        return sides, to_logits(pred, self.output.form)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        out = self.net(x)
        if self.training and self.deep_supervision:
            sides, pred = self._sides(out, x)
            return [*sides, pred]
        return to_logits(select_prediction(out, self.output.select)[1], self.output.form)

