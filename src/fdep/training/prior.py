"""The output prior: start every output pixel at a small target probability (the focal-loss prior).

A freshly initialised network predicts p ~ 0.5 on every pixel. In a SIRST image about one pixel in
a thousand is target, so the first thing training must do is push the whole background down, and
EEDM's hardest-half selection then sees almost only background: ACM sat at chance for 93 epochs in
the authors' protocol and ALCNet's seed 0 collapsed to a constant map (docs/results.md). Setting the
bias of the convolution that produces each output so that the output starts at p = ``prior``
(RetinaNet, Lin et al. 2017, Sec. 3.3 and 4.1) removes that phase.

The convolution is found by measurement, so the same code serves the zoo and a user's own network:
one dry run on a copy of the network records every convolution with one output channel (target maps
are one-channel maps); for each output, the last-run candidate whose bias moves that output one for
one (nothing but linear, constant-preserving steps such as upsampling follow it) is its head. Its
bias is then shifted so that the output's mean probability on the dry-run batch equals ``prior``
(for an output whose logits are all equal this is the focal-loss bias ``log(prior / (1 - prior))``;
a wide initial spread needs a lower bias for the same mean). Heads are calibrated in the order they
run, so a fused output built from side outputs (UIU-Net) is calibrated after its inputs. An output with no such head (a
normalisation or a nonlinearity after its last convolution, a convolution without bias) is left as
initialised and reported.

A head whose input is non-negative (a ReLU before it, as in every zoo network's FCN head) also gets
its weights made non-negative (``align=True``). With non-negative features, a negative weight can
only pull the output below the bias: when all of a thin head's weights start negative (ALCNet's FCN
head reads 2 channels, so one seed in four; its seed 3 on NUAA-SIRST), p(target) is capped at the
prior and training pushes the features of targets to zero instead of up. It sat at p = 0.012 for 40
epochs (docs/results.md). With every weight non-negative, a feature can only raise the output, the
configuration every seed that started had reached after its first epoch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: the dry-run batch: 2 images of 2 x size_multiple (at least 64) pixels, N(0, 1) like normalised images
_DRY_BATCH = 2
_DRY_SEED = 20240917
#: a head must move its output by the bias step to this tolerance (float32 sums over a few hundred terms)
_LINEAR_ATOL = 1e-3


@dataclass(frozen=True)
class PriorResult:
    """What :func:`apply_output_prior` did: one entry per output map of the network."""

    prior: float
    heads: tuple[str | None, ...]  # the module name whose bias was set, or None (output left as initialised)
    mean_probability: tuple[float, ...]  # each output's mean probability on the dry-run batch afterwards
    aligned: tuple[str, ...] = ()  # heads whose negative weights were made non-negative (their input is >= 0)

    def summary(self) -> str:
        """One line for the training log."""
        done = [h for h in self.heads if h is not None]
        text = (f"output prior p={self.prior:g}: bias of {', '.join(done)} set "
                f"(mean p after: {', '.join(f'{p:.4f}' for p in self.mean_probability)})") if done else \
            f"output prior p={self.prior:g}: no output convolution with a bias found"
        skipped = [i for i, h in enumerate(self.heads) if h is None]
        if done and skipped:
            text += f"; output(s) {', '.join(map(str, skipped))} left as initialised (no linear head with a bias)"
        if self.aligned:
            text += f"; weights of {', '.join(self.aligned)} made non-negative (their input is non-negative)"
        return text


def output_maps(out: Any) -> list[torch.Tensor]:
    """The N x 1 x H x W maps of a network's output, in order: a tensor, or a (nested) list, tuple or dict of them.

    Only one-channel maps are target maps; other tensors a network returns (features, embeddings) are not.
    """
    if isinstance(out, torch.Tensor):
        return [out] if out.dim() == 4 and out.shape[1] == 1 and out.is_floating_point() else []
    if isinstance(out, dict):
        return [m for v in out.values() for m in output_maps(v)]
    if isinstance(out, (list, tuple)):
        return [m for v in out for m in output_maps(v)]
    return []


def _logit(p: torch.Tensor) -> torch.Tensor:
    p = p.double().clamp(1e-12, 1 - 1e-12)
    return torch.log(p) - torch.log1p(-p)


def apply_output_prior(network: nn.Module, prior: float, in_chans: int, size_multiple: int = 32,
                       probabilities: bool = False,
                       call: Callable[[nn.Module, torch.Tensor], Any] | None = None,
                       align: bool = True) -> PriorResult:
    """Set the bias of each output's last convolution so that the output starts at probability ``prior``.

    ``network`` is changed in place (the heads' biases; with ``align``, the weights of a head whose
    input is non-negative, made non-negative before the bias is set). ``probabilities``: the network's outputs are
    probabilities (a sigmoid inside), compared in logit space. ``call``: how to run the network
    (default ``network(x)``). The dry runs use a deep copy in training mode (what the first step
    sees: every deep-supervision output, batch statistics), so running statistics are not touched.
    """
    if not 0.0 < prior < 1.0:
        raise ValueError(f"prior must lie in (0, 1), got {prior}")
    side = max(64, 2 * int(size_multiple))
    gen = torch.Generator().manual_seed(_DRY_SEED)
    x = torch.randn(_DRY_BATCH, in_chans, side, side, generator=gen)
    probe = copy.deepcopy(network).float().train()
    run = call or (lambda net, inp: net(inp))

    executed: list[str] = []
    names = {id(m): n for n, m in probe.named_modules()}

    def record(module: nn.Module, _inp: Any, _out: Any) -> None:
        name = names[id(module)]
        if name not in executed:
            executed.append(name)

    hooks = [m.register_forward_hook(record) for m in probe.modules() if isinstance(m, nn.modules.conv._ConvNd)]

    def logits() -> list[torch.Tensor]:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(_DRY_SEED)  # the same dropout draws in every rerun
            maps = output_maps(run(probe, x))
        return [_logit(m) if probabilities else m.double() for m in maps]

    try:
        base = logits()
    finally:
        for h in hooks:
            h.remove()
    modules = dict(probe.named_modules())
    heads: list[str | None] = []
    for i, out in enumerate(base):
        heads.append(_find_head(modules, executed, out, i, logits))
    # calibrate in execution order: a fused output is set after the side outputs it is built from
    order = sorted((i for i, h in enumerate(heads) if h is not None), key=lambda i: executed.index(heads[i]))
    aligned = []
    for i in order:  # one head at a time: a fused head's inputs are judged once its inputs are calibrated
        conv = modules[heads[i]]
        if align and bool((conv.weight < 0).any()) and _input_is_non_negative(conv, logits):
            with torch.no_grad():
                conv.weight.abs_()
            aligned.append(heads[i])
        shift = shift_to_mean_probability(logits()[i], prior)
        with torch.no_grad():
            modules[heads[i]].bias.add_(shift)
    final = logits()
    for i in order:  # copy the calibrated heads into the caller's network
        target = dict(network.named_modules())[heads[i]]
        with torch.no_grad():
            target.bias.copy_(modules[heads[i]].bias)
            target.weight.copy_(modules[heads[i]].weight)
    return PriorResult(prior=prior, heads=tuple(heads),
                       mean_probability=tuple(float(torch.sigmoid(f).mean()) for f in final),
                       aligned=tuple(aligned))


def _input_is_non_negative(conv: nn.Module, logits: Callable[[], list[torch.Tensor]]) -> bool:
    """Whether every input ``conv`` saw in a dry run was >= 0 (it reads a ReLU's or a sigmoid's output)."""
    seen: list[bool] = []
    hook = conv.register_forward_hook(lambda _m, inp, _out: seen.append(bool((inp[0] >= 0).all())))
    try:
        logits()
    finally:
        hook.remove()
    return bool(seen) and all(seen)


def shift_to_mean_probability(logits: torch.Tensor, prior: float) -> float:
    """The constant s with mean(sigmoid(logits + s)) = prior (bisection; the mean is increasing in s)."""
    z = logits.double().flatten()
    lo = math.log(prior / (1 - prior)) - float(z.max()) - 1.0
    hi = math.log(prior / (1 - prior)) - float(z.min()) + 1.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if float(torch.sigmoid(z + mid).mean()) < prior:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _find_head(modules: dict[str, nn.Module], executed: list[str], out: torch.Tensor, index: int,
               logits: Callable[[], list[torch.Tensor]]) -> str | None:
    """The last-run convolution whose bias moves output ``index`` one for one, or None."""
    channels = out.shape[1]
    for name in reversed(executed):
        conv = modules[name]
        if conv.bias is None or conv.out_channels != channels:
            continue
        with torch.no_grad():
            conv.bias.add_(1.0)
        try:
            moved = logits()[index] - out
        finally:
            with torch.no_grad():
                conv.bias.sub_(1.0)
        if torch.allclose(moved, torch.ones_like(moved), atol=_LINEAR_ATOL, rtol=0):
            return name
    return None
