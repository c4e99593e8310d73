"""Checkpoints: atomic writes, safe loading, and rebuilding a model from one.

Lightning writes checkpoints through fsspec, whose local "transaction" stages
the file in the system temp folder and moves it with ``shutil.move``: across
file systems that is a copy onto the destination, which a SIGKILL can leave
truncated. :class:`AtomicCheckpointIO` writes to a temporary file beside the
target, fsyncs it and ``os.replace``-s it, so ``last.ckpt`` is always either
the previous complete checkpoint or the new complete one.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch import nn

from ..errors import ModelError, WeightsError
from ..fileio import atomic_write, write_failure
from ..torchload import load_failure_reason
from .config import TrainConfig

#: SAMF form of checkpoints written before the form was recorded (fdep.framework.samf.LEGACY_SAMF_FORM)
LEGACY_SAMF_FORM = "literal"


class AtomicCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO whose saves are atomic on local file systems."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        path = Path(path)
        try:  # a temporary beside path, fsynced, given the usual permissions and renamed onto path
            with atomic_write(path, "wb") as f:
                torch.save(checkpoint, f)
        except RuntimeError as e:  # torch's writer reports a full disk as "[enforce fail at inline_container.cc...]"
            if "PytorchStreamWriter" not in str(e) and "write failed" not in str(e):
                raise
            raise write_failure(path, OSError(errno.ENOSPC, f"{_writer_failure(e)}; is the disk full?")) from None
        with contextlib.suppress(OSError):  # make the rename itself durable
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return read_checkpoint(path, map_location=map_location or "cpu")


def _writer_failure(e: RuntimeError) -> str:
    """torch's file-writer error without its C++ source location: "PytorchStreamWriter failed writing ..."."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else "write failed"
    return text.split("] ", 1)[-1].lstrip(". ").strip() or text


def remove_stale_temporaries(ckpt_dir: str | os.PathLike) -> int:
    """Delete temporary files a killed save left behind (only our own ``.<name>.ckpt.*.tmp`` names)."""
    n = 0
    for p in Path(ckpt_dir).glob(".*.ckpt.*.tmp"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


def read_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """torch.load(weights_only=True) with one-line WeightsErrors for missing, corrupt or foreign files."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: checkpoint not found")
    if path.is_dir():
        from .rundir import pass_instead

        raise WeightsError(f"{path}: is a folder, not a .ckpt file; {pass_instead(path, exported=False)}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to unpickle a file means it is damaged or foreign
        reason, unsafe = load_failure_reason(e)
        if unsafe:
            raise WeightsError(f"{path}: not a safe fdep checkpoint: {reason}") from None
        raise WeightsError(f"{path}: cannot read checkpoint (corrupt or truncated?): {reason}") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "hyper_parameters" not in ckpt:
        raise WeightsError(f"{path}: not an fdep training checkpoint (no state_dict/hyper_parameters)")
    return ckpt


def recorded_hyper_parameters(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's hyper_parameters, with the keys that older fdep versions did not record filled in
    with the value those versions used."""
    hp = dict(ckpt.get("hyper_parameters") or {})
    hp.setdefault("samf_form", LEGACY_SAMF_FORM)
    return hp


def finished_epochs(ckpt: dict[str, Any]) -> int:
    """Training epochs fully done when the checkpoint was written (Lightning's own ``epoch`` field is the
    0-based index of the epoch being finished, except in the save at the very end of fit)."""
    try:
        return int(ckpt["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except (KeyError, TypeError):
        return int(ckpt.get("epoch", -1)) + 1


def config_from_checkpoint(ckpt: dict[str, Any], path: Any = "checkpoint") -> TrainConfig:
    """The TrainConfig a checkpoint was trained with (one without ``samf_form`` predates the SAMF
    forms: it was trained with the literal form, whatever today's default is)."""
    hp = recorded_hyper_parameters(ckpt)
    try:
        return TrainConfig.from_dict(hp, source=f"{path}: hyper_parameters")
    except Exception as e:  # a config from a newer/older fdep
        raise WeightsError(f"{path}: checkpoint config is not usable by this fdep version ({e})") from None


def load_model_from_checkpoint(
    path: str | os.PathLike,
    map_location: Any = "cpu",
    model: str | None = None,
    variant: str | None = None,
    vfm_weights: str | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the inference model of a training checkpoint.

    Returns ``(module, meta)``: an eval-mode module mapping a normalised
    N x C x H x W image to N x 1 x H x W logits (variants original and fdep: the
    plain network, i.e. the light branch; fdep-main: the FDEPModel, whose VFM
    is rebuilt from the recorded name/weights, or ``vfm_weights``), and
    ``meta`` = dict(model, variant, in_chans, mean, std, size_multiple, vfm,
    vfm_layers, config). ``model``/``variant``, when given, must match the
    checkpoint (ModelError otherwise).
    """
    from .build import build_model

    ckpt = read_checkpoint(path, map_location=map_location)
    cfg = config_from_checkpoint(ckpt, path)
    for key, want in (("model", model), ("variant", variant)):
        if want is not None and str(want).lower() != str(getattr(cfg, key)).lower():
            raise ModelError(f"{path}: checkpoint is {key} {getattr(cfg, key)!r}, but {want!r} was asked for")
    info = (ckpt.get("fdep") or {}).get("vfm")
    # a network file of the user's: rebuilt only when it is still there, unchanged since training
    source = (ckpt.get("fdep") or {}).get("model_source")
    if cfg.variant == "fdep" and info:
        # the light branch never runs the VFM: its recorded description is enough to rebuild the module
        full = build_model(cfg, vfm=dict(info), source=source, where=str(path))
    else:
        full = build_model(cfg, vfm_weights=vfm_weights, source=source, where=str(path))
    trainable = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    own = full.state_dict()
    expected = set(full.trainable_state_dict())
    missing = sorted(expected - set(trainable))
    unexpected = sorted(set(trainable) - set(own))
    if missing or unexpected:
        what = (f"missing {len(missing)} weights (e.g. {missing[0]})" if missing
                else f"{len(unexpected)} unknown weights (e.g. {unexpected[0]})")
        raise WeightsError(f"{path}: weights do not fit model {cfg.model!r} variant {cfg.variant!r}: {what}")
    merged = {**own, **trainable}
    try:
        full.load_state_dict(merged, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise WeightsError(f"{path}: weights do not fit model {cfg.model!r}: {' '.join(first[:2])[:300]}") from None
    if cfg.variant in ("original", "fdep"):
        from ..framework import export_light

        module = export_light(full)
    else:
        module = full
    module.eval()
    network = getattr(full, "network", module)
    vfm_info = getattr(full, "vfm_info", None) or {}
    meta = {
        "model": cfg.model,
        "variant": cfg.variant,
        "in_chans": cfg.in_chans,
        "mean": float(cfg.mean),
        "std": float(cfg.std),
        "size_multiple": int(getattr(network, "size_multiple", 32)),
        "vfm": cfg.vfm if cfg.variant != "original" else None,
        "vfm_layers": list(vfm_info.get("layers") or cfg.vfm_layers or []) or None,
        "epochs_trained": finished_epochs(ckpt),
        "config": cfg.to_dict(),
        # the gray range of the training images (fdep.inputrange); None in checkpoints of earlier fdep versions
        "input_range": (ckpt.get("fdep") or {}).get("input_range"),
    }
    return module, meta
