"""Model cost: parameter and FLOP counts, CPU latency, one summary row per registered network.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (PyTorch's own
counter): it counts convolutions, transposed convolutions and matrix products
as 2 x multiply-accumulates; element-wise ops, pooling, normalisation and
interpolation are not counted (the convention of fvcore/thop, whose "FLOPs"
are MACs). ``macs = flops / 2``.

Counting runs the network on the ``meta`` device (shapes only, no memory, no
arithmetic); a network that cannot run there (data-dependent control flow) is
counted on the CPU instead, with identical results.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..errors import ModelError
from .base import count_parameters
from .factory import create_model
from .registry import get_model_factory, list_models


def count_flops(model: nn.Module, input_size: Sequence[int] = (1, 1, 256, 256)) -> int:
    """FLOPs (2 x MACs of conv/linear/matmul) of one eval-mode forward pass at ``input_size``.

    The input is created on the device of the model's first parameter (``meta``
    works). The model's training flag is restored afterwards.
    """
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(tuple(input_size), device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def _flops_of(name: str, in_chans: int, input_size: Sequence[int]) -> int:
    """Count on ``meta`` when the network supports it, else on the CPU."""
    try:
        with torch.device("meta"):
            model = create_model(name, in_chans=in_chans)
        return count_flops(model, input_size)
    except ModelError:
        raise
    except (NotImplementedError, RuntimeError):
        return count_flops(create_model(name, in_chans=in_chans), input_size)


@dataclass
class ModelSummary:
    """One row of ``fdep models``."""

    name: str
    params: int
    params_m: float
    paper_params_m: float | None
    params_diff_pct: float | None
    input_size: tuple[int, ...]
    gflops: float | None  #: None for classical methods (their cost is not convolutions/matmuls)
    gmacs: float | None
    top_channels: int
    top_stride: int
    size_multiple: int
    deep_supervision: bool
    kind: str = "learned"
    source: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d


def summarize_model(name: str, size: int | tuple[int, int] = 256, in_chans: int = 1) -> ModelSummary:
    """Parameters, FLOPs at 1 x in_chans x size x size and the contract attributes of one network.

    A classical method has 0 parameters and no FLOP count (``gflops``/``gmacs`` None).
    """
    cls = get_model_factory(name)
    h, w = (size, size) if isinstance(size, int) else size
    input_size = (1, in_chans, h, w)
    with torch.device("meta"):
        params = count_parameters(create_model(name, in_chans=in_chans))
    # a classical method's work (filters, solves, SVDs) is not what the FLOP counter counts
    flops = None if getattr(cls, "kind", "learned") == "classical" else _flops_of(name, in_chans, input_size)
    paper = getattr(cls, "paper_params_m", None)
    params_m = params / 1e6
    # the paper counts what the reference code builds, used in forward or not: compare like with like
    compared_m = (params + int(getattr(cls, "paper_unused_params", 0))) / 1e6
    return ModelSummary(
        name=name.lower(),
        params=params,
        params_m=params_m,
        paper_params_m=paper,
        params_diff_pct=None if not paper else 100.0 * (compared_m - paper) / paper,
        input_size=input_size,
        gflops=None if flops is None else flops / 1e9,
        gmacs=None if flops is None else flops / 2e9,
        top_channels=int(getattr(cls, "top_channels", 0)),
        top_stride=int(getattr(cls, "top_stride", 0)),
        size_multiple=int(getattr(cls, "size_multiple", 0)),
        deep_supervision=bool(getattr(cls, "deep_supervision", False)),
        kind=str(getattr(cls, "kind", "learned")),
        source=str(getattr(cls, "source", "")),
    )


def summarize_models(
    names: Sequence[str] | None = None, size: int | tuple[int, int] = 256, in_chans: int = 1
) -> list[ModelSummary]:
    """:func:`summarize_model` for each name (default: every registered network)."""
    return [summarize_model(n, size, in_chans) for n in (names or list_models())]


def measure_latency(
    model: nn.Module, input_size: Sequence[int] = (1, 1, 256, 256), repeats: int = 10, warmup: int = 2
) -> list[float]:
    """Wall-clock seconds of ``repeats`` eval-mode forward passes (after ``warmup``) under inference_mode.

    Returns every timing so callers can take the median (robust to a shared machine).
    """
    if repeats < 1 or warmup < 0:
        raise ModelError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.randn(tuple(input_size), device=device)
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                t0 = time.perf_counter()
                model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    return times


def median_latency(
    model: nn.Module, input_size: Sequence[int] = (1, 1, 256, 256), repeats: int = 10, warmup: int = 2
) -> float:
    """Median of :func:`measure_latency` in seconds."""
    return statistics.median(measure_latency(model, input_size, repeats, warmup))
