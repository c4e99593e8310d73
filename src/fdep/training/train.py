"""``fdep train``: check the settings, open the run directory, fit with Lightning, export the light network.

The orchestration only; each step is a module of its own: what is refused before anything is written
(:mod:`.start_checks`, :mod:`.hardware`), the precision a run really uses (:mod:`.precision`), the run
directory (:mod:`.rundir`), the callbacks (:mod:`.callbacks`), Lightning's messages kept off the terminal
(:mod:`.quiet`), the one-line errors of a fit (:mod:`.fit_errors`), stopping (:mod:`.stopping`) and the
export (:mod:`.light_export`). DDP, mixed precision, gradient clipping and progress bars are Lightning's. In
multi-process runs every rank executes this function; only global rank 0 (:mod:`.rank`) checks/creates the
run directory, writes config.yaml and exports.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FdepError
from ..fileio import check_output_folder
from ..progress import is_terminal
from .config import TrainConfig, save_yaml
from .hardware import check_hardware
from .rank import is_launched_child
from .start_checks import check_combination, check_trainable
from .stopping import StopRequest, stopped_error

log = logging.getLogger("fdep.training")


def train(cfg: TrainConfig, resume: str | None = None, overwrite: bool = False) -> Path:
    """Train per ``cfg``; ``resume``: checkpoint to continue from. Returns the run directory.

    Settings this machine cannot run and an unusable ``out`` are refused before anything is written. A run
    that fails before its first checkpoint leaves nothing behind (what it wrote is removed, and a directory
    this call created). SIGTERM/SIGINT stop the run as :class:`fdep.errors.RunInterrupted` (see
    :mod:`fdep.training.stopping`). RUN_DIR is locked while training runs; see
    :func:`fdep.training.rundir.open_run_dir` for ``overwrite``/``resume``.
    """
    check_trainable(cfg)
    check_hardware(cfg)
    out = Path(cfg.out) if cfg.out else None
    if out is not None:
        check_output_folder(out)
    created = out is not None and not out.exists()
    stop = StopRequest()
    with stop.installed():
        try:
            return _train(cfg, resume, overwrite)
        except BaseException:
            if created and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
            if stop.signum is not None:
                raise stopped_error(cfg.epochs, out, stop) from None
            raise


def _train(cfg: TrainConfig, resume: str | None, overwrite: bool) -> Path:
    from .precision import with_effective_precision
    from .rundir import discard_if_unstarted, open_run_dir, restore_if_untouched

    check_combination(cfg)
    cfg = with_effective_precision(cfg)
    rank0 = not is_launched_child()
    run = None
    if rank0:
        run = open_run_dir(cfg, overwrite, resume)
    try:
        return _fit(cfg, resume, rank0)
    except BaseException:
        if run is not None:
            discard_if_unstarted(run)
            if run.moved_aside is not None:
                restore_if_untouched(run)
        raise
    finally:
        if run is not None:
            run.close()


def _fit(cfg: TrainConfig, resume: str | None, rank0: bool) -> Path:
    import lightning as L

    from .callbacks import run_callbacks
    from .checkpoint import AtomicCheckpointIO, finished_epochs, read_checkpoint, remove_stale_temporaries
    from .datamodule import SIRSTDataModule, ensure_synthetic, normalisation, training_input_range
    from .fit_errors import fit_errors_as_one_line
    from .hardware import trainer_arguments_checked, trainer_hardware
    from .light_export import export_run
    from .module import SIRSTModule
    from .quiet import quiet_lightning
    from .rundir import METRICS, checkpoint_run_dir, history_csv_logger, keep_history, same_dir
    from .tblogger import tensorboard_logger

    out = Path(cfg.out)
    if rank0:
        if resume is not None:
            remove_stale_temporaries(out / "checkpoints")
            ck = read_checkpoint(resume)
            src = checkpoint_run_dir(Path(resume))
            source = src / METRICS if src is not None and not same_dir(src, out) else None
            keep_history(out, finished_epochs(ck), int(ck.get("global_step", 0)), source)
            del ck
        ensure_synthetic(cfg)
    mean, std = normalisation(cfg)
    cfg = cfg.replace(mean=mean, std=std)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    cache = open_cache(cfg) if cfg.vfm_cache else None
    # trained from cached features, variant fdep never runs the VFM (validation uses the light branch)
    vfm = cache.vfm_info if cache is not None and cfg.variant == "fdep" else None
    module = SIRSTModule(vfm_module=vfm, **cfg.to_dict())
    module.input_range = training_input_range(cfg)  # recorded in every checkpoint (fdep.inputrange)
    if cache is not None:
        if module.model.vfm is not None:
            cache.check(module.model.vfm.describe())
        module.set_feature_cache(cache)
    if resume is None and cfg.output_prior is not None:
        prior = start_at_output_prior(module, cfg)
        if rank0:
            log.info(prior.summary())
    if cfg.variant != "original" and cfg.vfm_layers is None:  # record the layers actually used
        cfg = cfg.replace(vfm_layers=list(module.model.vfm_info["layers"]))
        module.hparams["vfm_layers"] = cfg.vfm_layers
    if rank0:
        save_yaml(cfg, out / "config.yaml")
        log.info("run directory %s (effective config: %s)", out, out / "config.yaml")
        log.info(protocol_summary(cfg))
    dm = SIRSTDataModule(cfg)
    loggers = [history_csv_logger(out), tensorboard_logger(out)]
    if rank0:
        n = sum(p.numel() for p in module.parameters() if p.requires_grad)
        log.info("training %s (%s): %.2f M trainable parameters, %d DataLoader worker(s)%s", cfg.model, cfg.variant,
                 n / 1e6, dm.workers(), " (auto)" if cfg.num_workers is None else "")
    # Lightning's bar on a terminal; in a log (stderr not a terminal) fdep's clean lines instead (fdep.progress)
    terminal_bar = is_terminal(sys.stderr)
    with quiet_lightning(), trainer_arguments_checked():
        best, callbacks = run_callbacks(cfg, out / "checkpoints", progress_lines=cfg.progress and not terminal_bar)
        trainer = L.Trainer(
            max_epochs=cfg.epochs,
            **trainer_hardware(cfg),
            gradient_clip_val=cfg.grad_clip,
            check_val_every_n_epoch=cfg.val_every,
            num_sanity_val_steps=0,
            log_every_n_steps=cfg.log_every,
            limit_train_batches=None if cfg.limit_train_batches == 1.0 else (
                int(cfg.limit_train_batches) if cfg.limit_train_batches > 1 else cfg.limit_train_batches),
            callbacks=callbacks,
            logger=loggers,
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=cfg.progress and terminal_bar,
            enable_model_summary=False,  # fdep logs its own one-line summary above
            default_root_dir=str(out),
        )
    with quiet_lightning(), fit_errors_as_one_line(cfg):
        trainer.fit(module, datamodule=dm, ckpt_path=str(resume) if resume else None)
    if trainer.interrupted:
        raise FdepError(f"training interrupted; continue with: fdep train --resume {out}")
    if trainer.is_global_zero and cfg.export_light:
        export_run(out, cfg, best=best.best_model_path)
    return out


def start_at_output_prior(module: Any, cfg: TrainConfig) -> Any:
    """Set the network's output biases so that it starts at ``cfg.output_prior`` (fdep.training.prior)."""
    from .prior import apply_output_prior

    network = module.network
    return apply_output_prior(network, cfg.output_prior, in_chans=cfg.in_chans,
                              size_multiple=int(getattr(network, "size_multiple", 32)),
                              probabilities=getattr(network, "outputs", "logits") == "probability")


def protocol_summary(cfg: TrainConfig) -> str:
    """One line saying how this run validates, selects, schedules and augments."""
    where = (f"{cfg.val_fraction:.0%} of '{cfg.train_split}' held out" if cfg.val_split == "carve"
             else f"split '{cfg.val_split}'")
    lr = (f"constant lr {cfg.lr:g}" if cfg.scheduler == "none" and not cfg.warmup_epochs
          else f"lr {cfg.lr:g} {cfg.scheduler}" + (f" to {cfg.min_lr:g}" if cfg.scheduler == "cosine" else ""))
    norm = f"normalisation {cfg.normalisation}"
    if cfg.mean is not None and cfg.std is not None:
        norm += f" (mean {cfg.mean:.2f}, std {cfg.std:.2f})"
    select = "the last epoch" if cfg.select_metric == "last" else f"val/{cfg.select_metric}"
    return (f"protocol {cfg.protocol}: validation on {where} every {cfg.val_every} epoch(s), best.ckpt by "
            f"{select}; {lr}; precision {cfg.precision}; augment {cfg.augment} (crop {cfg.crop}); "
            f"{norm}; loss {cfg.loss}" + (f" ({cfg.eedm_form})" if cfg.loss == "eedm" else "")
            + f"; in_chans {cfg.in_chans}")


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
