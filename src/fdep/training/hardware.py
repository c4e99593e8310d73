"""The Trainer's hardware arguments (accelerator, devices, num_nodes, strategy, precision): built from the config,
refused before anything is written when this machine cannot run them, and Lightning's own refusals in one line.

These settings go to Lightning's Trainer and nowhere else; what precision a run really uses is
:mod:`fdep.training.precision`'s decision, made before the Trainer is built.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError
from .config import TrainConfig


def uses_cuda(cfg: TrainConfig) -> bool:
    """Whether the Trainer will run on CUDA devices (accelerator gpu/cuda, or auto with CUDA present)."""
    import torch

    acc = cfg.accelerator.lower()
    return acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available())


def trainer_hardware(cfg: TrainConfig) -> dict[str, Any]:
    """The Trainer's keyword arguments for where and how the run computes (``devices`` "4" as the number 4)."""
    devices: Any = int(cfg.devices) if cfg.devices.isdigit() else cfg.devices
    return {"accelerator": cfg.accelerator, "devices": devices, "num_nodes": cfg.num_nodes, "strategy": cfg.strategy,
            "precision": cfg.precision}


def check_hardware(cfg: TrainConfig) -> None:
    """Refuse, before anything is written, an accelerator, strategy or device count this machine cannot run."""
    import torch
    from lightning.pytorch.accelerators import AcceleratorRegistry
    from lightning.pytorch.strategies import StrategyRegistry

    acc = cfg.accelerator.lower()
    known = sorted({"auto", "gpu", *AcceleratorRegistry.available_accelerators()})
    if acc not in known:
        raise ConfigError(f"accelerator: {cfg.accelerator!r} is not one of {', '.join(known)}")
    if acc in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"accelerator: {cfg.accelerator!r} asks for a CUDA GPU, but PyTorch sees none "
                          f"(torch.cuda.is_available() is False); use --accelerator cpu, or auto")
    strategies = sorted({"auto", *StrategyRegistry.available_strategies()})
    if cfg.strategy not in strategies:
        raise ConfigError(f"strategy: {cfg.strategy!r} is not one of {', '.join(strategies)}")
    n = requested_devices(cfg.devices)
    if uses_cuda(cfg):
        have, what = torch.cuda.device_count(), "CUDA GPU(s)"
    elif acc in ("cpu", "auto"):  # (not the affinity mask: importing torch's OpenMP can pin this thread to one core)
        have, what = os.cpu_count() or 1, "CPU core(s) (one training process each)"
    else:
        return
    if n is not None and n > have:
        raise ConfigError(f"devices: {cfg.devices!r} asks for {n} devices, but this machine has {have} {what}")


def requested_devices(devices: str) -> int | None:
    """Devices a ``devices`` setting asks for: N, or the ids "0,1" (None: auto/-1, decided by Lightning)."""
    text = devices.strip()
    if text.lower() == "auto" or text == "-1":
        return None
    try:
        if "," in text or text.startswith("["):
            ids = [int(v) for v in text.strip("[]").split(",") if v.strip()]
            return max(ids) + 1 if ids else None
        n = int(text)
    except ValueError:
        raise ConfigError(f"devices: cannot use {devices!r} (give a number, a list of ids such as 0,1, or auto)") \
            from None
    if n < 1 and n != -1:
        raise ConfigError(f"devices: must be >= 1 (or -1/auto for all), got {devices!r}")
    return n


@contextlib.contextmanager
def trainer_arguments_checked() -> Iterator[None]:
    """Lightning's refusals of Trainer arguments fdep does not check itself, as one-line ConfigErrors."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        yield
    except (MisconfigurationException, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"accelerator/devices/strategy/precision: {first}") from None
