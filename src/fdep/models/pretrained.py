"""Plain network checkpoints: ``save_pretrained(net, dir)`` / ``load_pretrained(dir)``.

A folder with ``model.safetensors`` (the state dict) and ``config.json``::

    {"format": "fdep-pretrained", "version": 1, "model_name": "acm", "in_chans": 1,
     "kwargs": {...}, "normalization": {"mean": 101.06, "std": 34.62} | null,
     "num_parameters": 398000, "extra": {...}}

A network from outside fdep (:class:`fdep.models.external.ExternalNetwork`) stores the state dict of
the user's own module (it loads into the user's class with ``load_state_dict``) and adds
``"source"`` (its spec; for a file also the path and sha256), ``"output"`` (which output is the
prediction, logits or probabilities) and ``"size_multiple"`` to config.json.

This module is serialisation only (files in, dicts and state dicts out); rebuilding the network
from a folder is :func:`fdep.models.factory.load_pretrained`.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import ModelError, OutputExistsError, WeightsError
from ..fileio import atomic_path, write_failure, write_json
from .base import SIRSTNet, count_parameters
from .pretrained_config import FORMAT, read_config_json, validate_config
from .registry import get_model_factory, is_known, is_model
from .spec import is_spec

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


def model_kwargs(net: SIRSTNet) -> dict:
    """Constructor arguments beyond ``in_chans`` a network records in ``init_kwargs`` (default none)."""
    return dict(getattr(net, "init_kwargs", None) or {})


def save_pretrained(net: SIRSTNet, out_dir: str | Path, mean: float | None = None, std: float | None = None,
                    extra: dict | None = None) -> Path:
    """Write ``net`` to ``out_dir`` (created; refuses to overwrite an existing checkpoint there)."""
    out = Path(out_dir)
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        if (out / name).exists():
            raise OutputExistsError(f"{out / name} already exists; choose another output folder")
    name = getattr(net, "model_name", "")
    if not name or not (is_spec(name) or is_known(name)):
        raise ModelError(f"cannot save {type(net).__name__}: its model_name {name!r} is not a registered network "
                         f"nor a spec (path/to/file.py:Name, package.module:Name)")
    # the user's own module for a network from outside fdep: its weights load into the user's class
    module = getattr(net, "user_module", net)
    # safetensors refuses tensors sharing memory: store each one as its own contiguous copy
    state = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / WEIGHTS_NAME) as tmp:
        try:
            save_file(state, str(tmp), metadata={"format": FORMAT, "model_name": net.model_name})
        except SafetensorError as e:  # its I/O errors (a full disk) are not OSErrors
            raise write_failure(out / WEIGHTS_NAME, OSError(safetensors_reason(e))) from None
    norm = {"mean": float(mean), "std": float(std)} if mean is not None and std is not None else None
    record = getattr(net, "network_record", None)
    write_json(out / CONFIG_NAME, {
        "format": FORMAT, "version": 1, "model_name": net.model_name, "in_chans": int(net.in_chans),
        "kwargs": model_kwargs(net), "normalization": norm, "num_parameters": count_parameters(net),
        **(record() if callable(record) else {}), "extra": extra or {},
    })
    return out


def safetensors_reason(e: BaseException) -> str:
    """The system's words in a safetensors error (``IoError(Os { ..., message: "No space left on device" })``)."""
    m = re.search(r'message: "([^"]+)"', str(e))
    return m.group(1) if m else (str(e).strip().splitlines() or [type(e).__name__])[0]


def read_pretrained_config(path: str | Path) -> dict:
    """The config.json of a saved network, every field checked before anything is built (WeightsError when
    absent, not ours or invalid: :mod:`fdep.models.pretrained_config`)."""
    cfg_path = Path(path) / CONFIG_NAME
    cfg = read_config_json(cfg_path)
    name = cfg.get("model_name")
    registered = isinstance(name, str) and not cfg.get("source") and is_model(name)
    return validate_config(cfg, cfg_path, get_model_factory(name) if registered else None)


def read_state(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The state dict of a saved folder's model.safetensors (WeightsError when missing or damaged)."""
    weights = Path(path) / WEIGHTS_NAME
    if not weights.is_file():
        raise WeightsError(f"{weights} not found")
    try:
        return load_file(str(weights), device=str(map_location))
    except Exception as e:  # noqa: BLE001 - a damaged file is the user's to replace
        raise WeightsError(f"cannot read {weights}: {e}") from None


def load_state_checked(net: torch.nn.Module, state: dict[str, torch.Tensor], where: str | Path, name: str) -> None:
    """``net.load_state_dict(state, strict=True)`` with one-line WeightsErrors naming the mismatch."""
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise WeightsError(f"{where} does not match network {name!r}: missing keys {missing[:3]}"
                           f"{'...' if len(missing) > 3 else ''}, unexpected keys {unexpected[:3]}"
                           f"{'...' if len(unexpected) > 3 else ''}")
    bad = [k for k in expected if expected[k].shape != state[k].shape]
    if bad:
        raise WeightsError(f"{where}: tensor {bad[0]!r} has shape {tuple(state[bad[0]].shape)}, network {name!r} "
                           f"expects {tuple(expected[bad[0]].shape)}")
    net.load_state_dict(state, strict=True)
