"""``fdep train``: resolve the config, set up the run directory, fit with Lightning, export the light network.

DDP, mixed precision, gradient clipping and progress bars are Lightning's. In
multi-process runs every rank executes this function; only global rank 0
checks/creates the run directory, writes config.yaml and exports.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FdepError, OutputExistsError, WeightsError
from .config import TrainConfig, save_yaml

log = logging.getLogger("fdep.training")


def global_rank() -> int:
    """This process's rank from the launcher's environment (0 when not launched by one)."""
    from lightning.fabric.utilities.rank_zero import _get_rank

    return int(_get_rank() or 0)


def is_launched_child() -> bool:
    """True in processes started by Lightning's DDP launcher or torchrun other than rank 0."""
    return global_rank() != 0


def resolve_resume(resume: str, out: str | None) -> tuple[Path, Path]:
    """(checkpoint, run directory) of ``--resume`` (a run directory, a .ckpt, or "" meaning --out)."""
    target = Path(resume) if resume else (Path(out) if out else None)
    if target is None:
        raise ConfigError("--resume needs a run directory or checkpoint (or --out RUN_DIR)")
    if target.is_dir():
        ckpt = target / "checkpoints" / "last.ckpt"
        if not ckpt.exists():
            raise WeightsError(f"{ckpt}: checkpoint not found (nothing to resume in {target})")
        return ckpt, target
    if not target.exists():
        raise WeightsError(f"{target}: checkpoint not found")
    run_dir = target.parent.parent if target.parent.name == "checkpoints" else target.parent
    return target, run_dir


def prepare_run_dir(cfg: TrainConfig, overwrite: bool, resuming: bool) -> Path:
    """Create RUN_DIR; refuse to reuse a non-empty one unless resuming or --overwrite."""
    if not cfg.out:
        raise ConfigError("no output directory given: set out (--out RUN_DIR)")
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out}: exists and is not a directory")
    if not resuming and not overwrite and out.is_dir() and any(out.iterdir()):
        raise OutputExistsError(f"{out}: run directory exists and is not empty (use --overwrite to write into it, "
                                f"or --resume to continue it)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def train(cfg: TrainConfig, resume: str | None = None, overwrite: bool = False) -> Path:
    """Train per ``cfg``; ``resume``: checkpoint to continue from. Returns the run directory.

    A run that fails before writing anything leaves no empty run directory behind (only a
    directory this call created, and only while it is still empty, is removed).
    """
    from ..models import get_model_factory

    if getattr(get_model_factory(cfg.model), "kind", "learned") == "classical":  # before any output or data work
        raise ConfigError(f"model: {cfg.model!r} is a classical method and has nothing to train; run it with "
                          f"`fdep test --model {cfg.model}` or `fdep predict --model {cfg.model}`")
    out = Path(cfg.out) if cfg.out else None
    created = out is not None and not out.exists()
    try:
        return _train(cfg, resume, overwrite)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def _train(cfg: TrainConfig, resume: str | None, overwrite: bool) -> Path:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from .checkpoint import AtomicCheckpointIO, remove_stale_temporaries
    from .datamodule import SIRSTDataModule, ensure_synthetic, normalisation
    from .module import SIRSTModule

    rank0 = not is_launched_child()
    if rank0:
        out = prepare_run_dir(cfg, overwrite, resuming=resume is not None)
        if resume is not None:
            remove_stale_temporaries(out / "checkpoints")
        ensure_synthetic(cfg)
    else:
        out = Path(cfg.out)
    mean, std = normalisation(cfg)
    cfg = cfg.replace(mean=mean, std=std)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    cache = open_cache(cfg) if cfg.vfm_cache else None
    # trained from cached features, variant fdep never runs the VFM (validation uses the light branch)
    vfm = cache.vfm_info if cache is not None and cfg.variant == "fdep" else None
    module = SIRSTModule(vfm_module=vfm, **cfg.to_dict())
    if cache is not None:
        if module.model.vfm is not None:
            cache.check(module.model.vfm.describe())
        module.set_feature_cache(cache)
    if cfg.variant != "original" and cfg.vfm_layers is None:  # record the layers actually used
        cfg = cfg.replace(vfm_layers=list(module.model.vfm_info["layers"]))
        module.hparams["vfm_layers"] = cfg.vfm_layers
    if rank0:
        save_yaml(cfg, out / "config.yaml")
        log.info("run directory %s (effective config: %s)", out, out / "config.yaml")
    dm = SIRSTDataModule(cfg)

    ckpt_dir = out / "checkpoints"
    best_cb = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val/hse", mode="max", save_top_k=1,
                              save_last=False, auto_insert_metric_name=False, enable_version_counter=False)
    # last.ckpt after every epoch. (Lightning 2.6 writes save_last=True checkpoints only when another checkpoint
    # was saved in the same step, so "last" is a top-1 checkpoint without a monitor, i.e. the latest one.)
    last_cb = ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None, save_top_k=1, save_last=False,
                              save_on_train_epoch_end=True, every_n_epochs=1, enable_version_counter=False)
    loggers = [CSVLogger(save_dir=str(out), name="", version=""),
               TensorBoardLogger(save_dir=str(out), name="tensorboard", version="", default_hp_metric=False)]
    devices: Any = int(cfg.devices) if cfg.devices.isdigit() else cfg.devices
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*Checkpoint directory.*exists and is not empty.*")
        warnings.filterwarnings("ignore", message=".*Experiment logs directory.*")
        trainer = L.Trainer(
            max_epochs=cfg.epochs,
            accelerator=cfg.accelerator,
            devices=devices,
            num_nodes=cfg.num_nodes,
            strategy=cfg.strategy,
            precision=cfg.precision,
            gradient_clip_val=cfg.grad_clip,
            check_val_every_n_epoch=cfg.val_every,
            num_sanity_val_steps=0,
            log_every_n_steps=cfg.log_every,
            limit_train_batches=None if cfg.limit_train_batches == 1.0 else (
                int(cfg.limit_train_batches) if cfg.limit_train_batches > 1 else cfg.limit_train_batches),
            callbacks=[best_cb, last_cb, LearningRateMonitor(logging_interval="epoch")],
            logger=loggers,
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=cfg.progress,
            enable_model_summary=rank0 and cfg.progress,
            default_root_dir=str(out),
        )
        try:
            trainer.fit(module, datamodule=dm, ckpt_path=str(resume) if resume else None)
        except torch.OutOfMemoryError:
            raise ConfigError(out_of_memory_message(cfg)) from None
        except RuntimeError as e:
            if "out of memory" in str(e).lower() or "can't allocate memory" in str(e).lower():
                raise ConfigError(out_of_memory_message(cfg)) from None
            raise
    if trainer.interrupted:
        raise FdepError(f"training interrupted; continue with: fdep train --resume {out}")
    if trainer.is_global_zero and cfg.export_light:
        export_run(out, cfg)
    return out


def out_of_memory_message(cfg: TrainConfig) -> str:
    return (f"out of memory on a training batch (batch_size {cfg.batch_size}, crop {cfg.crop}, "
            f"precision {cfg.precision}): try a smaller --batch-size or --crop, or --precision bf16-mixed")


def export_run(out: Path, cfg: TrainConfig) -> Path | None:
    """Export the inference network of the best (else last) checkpoint to RUN_DIR/light.

    Variant fdep-main needs the VFM at inference, so there is no light network to export.
    """
    from ..models import save_pretrained
    from .checkpoint import load_model_from_checkpoint

    if cfg.variant == "fdep-main":
        log.info("variant fdep-main runs the VFM at inference: no light network exported")
        return None
    ckpts = out / "checkpoints"
    src = ckpts / "best.ckpt" if (ckpts / "best.ckpt").exists() else ckpts / "last.ckpt"
    net, meta = load_model_from_checkpoint(src)
    dest = out / "light"
    extra = {"variant": meta["variant"], "vfm": meta["vfm"], "checkpoint": str(src),
             "epochs_trained": meta["epochs_trained"]}
    # written beside and moved into place file by file, so an earlier export is only replaced by a complete one
    tmp = Path(tempfile.mkdtemp(prefix=".light.", dir=out))
    try:
        save_pretrained(net, tmp / "light", mean=meta["mean"], std=meta["std"], extra=extra)
        dest.mkdir(exist_ok=True)
        for f in sorted((tmp / "light").iterdir()):
            os.replace(f, dest / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported the %s network (%s, from %s) to %s", meta["model"], meta["variant"], src.name, dest)
    return dest


def open_cache(cfg: TrainConfig) -> Any:
    """The fdep.vfm feature-cache reader for ``cfg.vfm_cache``, checked against the configured VFM."""
    from ..vfm import FeatureCache

    if cfg.variant == "original":
        raise ConfigError("vfm_cache is set but variant original uses no VFM")
    cache = FeatureCache(cfg.vfm_cache)
    info = cache.vfm_info
    if str(info.get("name")) != str(cfg.vfm):
        raise ConfigError(f"feature cache {cfg.vfm_cache} was built with VFM {info.get('name')!r}, the config uses "
                          f"{cfg.vfm!r}")
    if cfg.vfm_layers is not None and list(cfg.vfm_layers) != list(info.get("layers", [])):
        raise ConfigError(f"feature cache {cfg.vfm_cache} holds VFM layers {info.get('layers')}, the config asks "
                          f"for {cfg.vfm_layers}")
    return cache


def env_summary() -> str:
    return f"pid {os.getpid()} rank {global_rank()}"
