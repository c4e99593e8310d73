"""``fdep benchmark``: parameters, FLOPs and latency of each network under each FDEP variant.

One row per (network, variant), all measured in one run on one device so the
ratios against ``original`` are meaningful even on a noisy machine:

* ``params_m``: parameters of the trained model without the frozen VFM, the
  convention of the paper's "P (M)" column (ACM 0.40 original, 0.85 with FDEP
  for both FDEP rows: the SAMF modules are trained in both).
* ``infer_params_m``: parameters that run at inference, VFM excluded
  (``fdep``: the light branch only, i.e. the original network).
* ``vfm_params_m``: frozen VFM parameters needed at inference (``fdep-main`` only).
* ``gflops``: FLOPs of one inference forward at 1 x C x size x size, VFM included.
* ``time_s``: median seconds of that forward (the paper's "Time (s)"; the variants
  of one network are timed round-robin after ``warmup`` untimed rounds), with
  ``time_ratio`` and ``params_ratio`` relative to the network's ``original`` row.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..cpu import LoadMeter, describe_conditions, timing_conditions
from ..errors import ConfigError, InputError

if TYPE_CHECKING:  # torch is imported by the functions: `fdep benchmark --help` reads VARIANTS without it
    import torch
    from torch import nn

VARIANTS = ("original", "fdep-main", "fdep")
DEFAULT_VFM = "dinov2_vitl14"


def _non_vfm_params(model: nn.Module, vfm: nn.Module | None) -> int:
    skip = {id(p) for p in vfm.parameters()} if vfm is not None else set()
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in skip and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def _variant_models(name: str, variant: str, vfm: nn.Module | None,
                    in_chans: int) -> tuple[nn.Module, nn.Module, bool]:
    """(trained model, inference model, VFM runs at inference) for one variant of one network."""
    from ..models import create_model

    net = create_model(name, in_chans=in_chans).eval()
    if variant == "original":
        return net, net, False
    from ..framework import FDEPModel, export_light

    model = FDEPModel(net, vfm, variant=variant).eval()
    if variant == "fdep":
        return model, export_light(model).eval(), False
    return model, model, True


def benchmark(
    models: Sequence[str],
    variants: Sequence[str] = VARIANTS,
    *,
    size: int = 512,
    device: str | None = "cpu",
    vfm: str = DEFAULT_VFM,
    vfm_weights: str | None = "random",
    vfm_layers: Sequence[int] | str | None = None,
    repeats: int = 10,
    warmup: int = 2,
    in_chans: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure every (network, variant); returns one dict per row (see the module docstring)."""
    import torch

    from ..models import is_model, list_models
    from ..models.profile import count_flops

    models = [m.strip().lower() for m in models if m.strip()]
    unknown = [m for m in models if not is_model(m)]
    if not models or unknown:
        raise ConfigError(f"unknown model(s) {', '.join(unknown) or '(none given)'}; "
                          f"available: {', '.join(list_models())}")
    classical = [m for m in models if m in list_models(kind="classical")]
    if classical:
        raise ConfigError(f"{', '.join(classical)}: classical method(s), which have no FDEP variants; `fdep test "
                          f"--model NAME` reports their latency (benchmarks/bench_classical.py times them)")
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        raise ConfigError(f"unknown variant(s) {', '.join(bad) or '(none given)'}; choose from {', '.join(VARIANTS)}")
    if size < 32 or repeats < 1:
        raise InputError(f"--size must be >= 32 and --repeats >= 1, got {size} and {repeats}")
    from .inference import resolve_device

    dev = resolve_device(device)
    vfm_module = None
    if any(v != "original" for v in variants):
        from ..vfm import load_vfm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the random-weights warning: timing does not depend on weights
            vfm_module = load_vfm(vfm, layers=vfm_layers, weights=vfm_weights)

    rows: list[dict[str, Any]] = []
    for name in models:
        built = {v: _variant_models(name, v, vfm_module, in_chans) for v in variants}
        multiple = getattr(built[variants[0]][1], "size_multiple", None) or 32
        side = (size + multiple - 1) // multiple * multiple
        shape = (1, in_chans, side, side)
        for variant, (trained, infer, _uses) in built.items():
            built[variant] = (trained, infer.to(dev), _uses)
        if progress:
            progress(f"{name}: {', '.join(variants)} on {dev}, input {'x'.join(map(str, shape))}")
        flops = {v: count_flops(b[1], shape) for v, b in built.items()}
        with LoadMeter() as meter:
            times = interleaved_latency({v: b[1] for v, b in built.items()}, shape, dev, repeats, warmup)
        timing = timing_conditions(meter)
        for variant, (trained, infer, uses_vfm) in built.items():
            rows.append({
                "model": name,
                "variant": variant,
                "input": list(shape),
                "device": str(dev),
                "params_m": _non_vfm_params(trained, vfm_module) / 1e6,
                "infer_params_m": _non_vfm_params(infer, vfm_module) / 1e6,
                "vfm_params_m": (sum(p.numel() for p in vfm_module.parameters()) / 1e6) if uses_vfm else 0.0,
                "gflops": flops[variant] / 1e9,
                "time_s": statistics.median(times[variant]),
                "time_min_s": min(times[variant]),
                "repeats": repeats,
                "timing": timing,
            })
        del built
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    _add_ratios(rows)
    return rows


def interleaved_latency(nets: dict[str, nn.Module], shape: tuple[int, ...], device: torch.device, repeats: int,
                        warmup: int) -> dict[str, list[float]]:
    """Seconds per forward of each net, timed round-robin (one call of each per round).

    Interleaving spreads load changes of a shared machine over all variants alike,
    so their ratios stay meaningful. CUDA is synchronised before and after each call.
    """
    import torch

    x = torch.randn(shape, device=device, generator=torch.Generator(device=device).manual_seed(0))
    times: dict[str, list[float]] = {k: [] for k in nets}
    with torch.inference_mode():
        for k in range(warmup + repeats):
            for name, net in nets.items():
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                net(x)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if k >= warmup:
                    times[name].append(time.perf_counter() - t0)
    return times


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    """time_ratio / params_ratio against the same network's original row (None without one)."""
    base = {r["model"]: r for r in rows if r["variant"] == "original"}
    for r in rows:
        b = base.get(r["model"])
        r["time_ratio"] = r["time_s"] / b["time_s"] if b and b["time_s"] > 0 else None
        r["params_ratio"] = r["params_m"] / b["params_m"] if b and b["params_m"] > 0 else None


def format_conditions(rows: list[dict[str, Any]]) -> str:
    """What the timings ran under, one clause per network ('acm: 1 thread, 0.9 of 2 cores busy ...')."""
    per_model = {r["model"]: r.get("timing") for r in rows}  # a network's variants are timed together
    return "; ".join(f"{m}: {describe_conditions(t)}" for m, t in per_model.items())


def _ratio(v: float | None) -> str:
    return f"{v:.2f}" if v is not None else "-"


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table like the paper's "P (M) / Time (s)" columns, with ratios to original."""
    head = ("Model", "Variant", "P (M)", "P infer (M)", "VFM P (M)", "GFLOPs", "Time (s)", "x time", "x P")
    lines = [head]
    for r in rows:
        lines.append((
            r["model"], r["variant"], f"{r['params_m']:.2f}", f"{r['infer_params_m']:.2f}",
            f"{r['vfm_params_m']:.1f}", f"{r['gflops']:.2f}", f"{r['time_s']:.4f}",
            _ratio(r["time_ratio"]), _ratio(r["params_ratio"]),
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in
                             enumerate(zip(line, widths, strict=True))))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
