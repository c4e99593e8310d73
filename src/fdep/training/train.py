"""``fdep train``: resolve the config, set up the run directory, fit with Lightning, export the light network.

DDP, mixed precision, gradient clipping and progress bars are Lightning's. In
multi-process runs every rank executes this function; only global rank 0
checks/creates the run directory, writes config.yaml and exports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FdepError, OutputError, RunInterrupted
from ..fileio import check_output_folder
from ..progress import is_terminal
from .config import TrainConfig, save_yaml
from .stopping import StopRequest

log = logging.getLogger("fdep.training")


def global_rank() -> int:
    """This process's rank (0 when not launched by a DDP launcher or torchrun): Lightning's public
    ``rank_zero_only.rank``, read from the launcher's environment when Lightning is imported."""
    from lightning.pytorch.utilities import rank_zero_only

    return int(getattr(rank_zero_only, "rank", 0))


def is_launched_child() -> bool:
    """True in processes started by Lightning's DDP launcher or torchrun other than rank 0."""
    return global_rank() != 0


def train(cfg: TrainConfig, resume: str | None = None, overwrite: bool = False) -> Path:
    """Train per ``cfg``; ``resume``: checkpoint to continue from. Returns the run directory.

    Settings this machine cannot run and an unusable ``out`` are refused before anything is written. A run
    that fails before its first checkpoint leaves nothing behind (what it wrote is removed, and a directory
    this call created). SIGTERM/SIGINT stop the run as :class:`fdep.errors.RunInterrupted` (see
    :mod:`fdep.training.stopping`). RUN_DIR is locked while training runs; see
    :func:`fdep.training.rundir.open_run_dir` for ``overwrite``/``resume``.
    """
    kind, multiple = network_facts(cfg)
    if kind == "classical":  # before any output or data work
        raise ConfigError(f"model: {cfg.model!r} is a classical method and has nothing to train; run it with "
                          f"`fdep test --model {cfg.model}` or `fdep predict --model {cfg.model}`")
    if cfg.crop % multiple:  # training crops are not padded: the network would refuse the first batch
        lower = cfg.crop // multiple * multiple
        raise ConfigError(f"crop: {cfg.crop} is not a multiple of {multiple}, which {cfg.model} needs; use a crop "
                          f"that is a multiple of {multiple} (e.g. {max(lower, multiple)} or {lower + multiple})")
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
                raise stopped_error(cfg, out, stop) from None
            raise


def network_facts(cfg: TrainConfig) -> tuple[str, int]:
    """(kind, input size multiple) of the config's network, checked before anything is written.

    A zoo name is looked up; any other network (a spec, an entry point, model_kwargs, output keys,
    fdep_at) is built once here, so a bad spec, constructor, output declaration or fdep_at layer is one
    line before the run directory or the data are touched.
    """
    from ..models import get_model_factory, is_model

    plain = is_model(cfg.model) and not cfg.model_kwargs and not cfg.fdep_at
    if plain:
        from .build import output_spec

        if output_spec(cfg) is None:
            factory = get_model_factory(cfg.model)
            return getattr(factory, "kind", "learned"), int(getattr(factory, "size_multiple", 1))
    from .build import build_network

    net = build_network(cfg)
    if getattr(net, "kind", "learned") == "classical":
        return "classical", 1
    if cfg.fdep_at and cfg.variant != "original":
        from ..framework.layer_tap import LayerTap

        if cfg.variant == "fdep" and cfg.share != "encoder+decoder":
            raise ConfigError(f"share: {cfg.share!r} needs the encoder/decoder split of encode/decode; with fdep_at "
                              f"only share encoder+decoder (the paper's CO-ISD) is possible")
        LayerTap(net, cfg.fdep_at, cfg.in_chans, net.size_multiple)
    return "learned", int(net.size_multiple)


def stopped_error(cfg: TrainConfig, out: Path | None, stop: StopRequest) -> RunInterrupted:
    """The one line of a run stopped by a signal: how far it got, what is kept, how to go on."""
    from .checkpoint import finished_epochs, read_checkpoint

    last = out / "checkpoints" / "last.ckpt" if out is not None else None
    if last is None or not last.is_file():
        where = f" (run directory {out})" if out is not None and out.exists() else ""
        return RunInterrupted(f"stopped by {stop.name} before the first epoch finished; nothing to resume{where}",
                              stop.signum)
    try:
        done = f"after {finished_epochs(read_checkpoint(last))} of {cfg.epochs} epoch(s)"
    except FdepError:  # pragma: no cover - last.ckpt is written atomically
        done = "during training"
    return RunInterrupted(f"stopped by {stop.name} {done}; {last} is kept; continue with: fdep train --resume {out}",
                          stop.signum)


def _same_dir(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _train(cfg: TrainConfig, resume: str | None, overwrite: bool) -> Path:
    from .rundir import discard_if_unstarted, open_run_dir, restore_if_untouched

    check_combination(cfg)
    precision = effective_precision(cfg)
    if precision != cfg.precision:
        if cfg.precision == "auto":
            log.info("precision auto: this run uses %s", precision)
        else:
            log.info("precision %s needs CUDA; this run uses %s (the authors' fp16 autocast is CUDA-only too)",
                     cfg.precision, precision)
        cfg = cfg.replace(precision=precision)
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
    import torch
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint

    from .checkpoint import AtomicCheckpointIO, finished_epochs, read_checkpoint, remove_stale_temporaries
    from .datamodule import SIRSTDataModule, ensure_synthetic, normalisation, training_input_range
    from .module import SIRSTModule
    from .rundir import METRICS, checkpoint_run_dir, history_csv_logger, keep_history
    from .selection import SelectionCheckpoint
    from .tblogger import tensorboard_logger

    out = Path(cfg.out)
    if rank0:
        if resume is not None:
            remove_stale_temporaries(out / "checkpoints")
            ck = read_checkpoint(resume)
            src = checkpoint_run_dir(Path(resume))
            source = src / METRICS if src is not None and not _same_dir(src, out) else None
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

    ckpt_dir = out / "checkpoints"
    # select_metric last: best.ckpt is the final epoch (Lightning's monitor candidates hold the epoch number)
    monitor = "epoch" if cfg.select_metric == "last" else f"val/{cfg.select_metric}"
    best_cb = SelectionCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode="max",
                                  save_top_k=1, save_last=False, auto_insert_metric_name=False,
                                  enable_version_counter=False, select_from=cfg.select_from, floor=cfg.select_floor)
    # last.ckpt after every epoch. (Lightning 2.6 writes save_last=True checkpoints only when another checkpoint
    # was saved in the same step, so "last" is a top-1 checkpoint without a monitor, i.e. the latest one.)
    last_cb = ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None, save_top_k=1, save_last=False,
                              save_on_train_epoch_end=True, every_n_epochs=1, enable_version_counter=False)
    loggers = [history_csv_logger(out), tensorboard_logger(out)]
    devices: Any = int(cfg.devices) if cfg.devices.isdigit() else cfg.devices
    if rank0:
        n = sum(p.numel() for p in module.parameters() if p.requires_grad)
        log.info("training %s (%s): %.2f M trainable parameters, %d DataLoader worker(s)%s", cfg.model, cfg.variant,
                 n / 1e6, dm.workers(), " (auto)" if cfg.num_workers is None else "")
    # Lightning's bar on a terminal; in a log (stderr not a terminal) fdep's clean lines instead (fdep.progress)
    terminal_bar = is_terminal(sys.stderr)
    with quiet_lightning(), trainer_arguments_checked():
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
            callbacks=[best_cb, last_cb, LearningRateMonitor(logging_interval="epoch"), _processes_line(),
                       *([_progress_lines(cfg.epochs)] if cfg.progress and not terminal_bar else []),
                       *extra_callbacks(cfg, ckpt_dir)],
            logger=loggers,
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=cfg.progress and terminal_bar,
            enable_model_summary=False,  # fdep logs its own one-line summary above
            default_root_dir=str(out),
        )
    with quiet_lightning():
        try:
            trainer.fit(module, datamodule=dm, ckpt_path=str(resume) if resume else None)
        except torch.OutOfMemoryError:
            raise ConfigError(out_of_memory_message(cfg)) from None
        except FdepError as e:
            raise worker_error_line(e) from None
        except RuntimeError as e:
            if "out of memory" in str(e).lower() or "can't allocate memory" in str(e).lower():
                raise ConfigError(out_of_memory_message(cfg)) from None
            raise
    if trainer.interrupted:
        raise FdepError(f"training interrupted; continue with: fdep train --resume {out}")
    if trainer.is_global_zero and cfg.export_light:
        export_run(out, cfg, best=best_cb.best_model_path)
    return out


def start_at_output_prior(module: Any, cfg: TrainConfig) -> Any:
    """Set the network's output biases so that it starts at ``cfg.output_prior`` (fdep.training.prior)."""
    from .prior import apply_output_prior

    network = module.network
    return apply_output_prior(network, cfg.output_prior, in_chans=cfg.in_chans,
                              size_multiple=int(getattr(network, "size_multiple", 32)),
                              probabilities=getattr(network, "outputs", "logits") == "probability")


def extra_callbacks(cfg: TrainConfig, ckpt_dir: Path) -> list[Any]:
    """The optional callbacks of a config: weight EMA (ema_decay) and periodic checkpoints (save_every)."""
    from lightning.pytorch.callbacks import EMAWeightAveraging

    from .selection import PeriodicCheckpoint

    callbacks: list[Any] = []
    if cfg.ema_decay is not None:
        # validation, best.ckpt/last.ckpt's state_dict and the exported light/ network use the averaged weights;
        # the raw weights travel in the checkpoint (current_model_state) so --resume continues both
        callbacks.append(EMAWeightAveraging(decay=cfg.ema_decay))
    if cfg.save_every:
        callbacks.append(PeriodicCheckpoint(ckpt_dir, cfg.save_every))
    return callbacks


def uses_cuda(cfg: TrainConfig) -> bool:
    """Whether the Trainer will run on CUDA devices (accelerator gpu/cuda, or auto with CUDA present)."""
    import torch

    acc = cfg.accelerator.lower()
    return acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available())


def fast_bf16_flags(flags: set[str]) -> bool:
    """Whether CPU ``flags`` (of /proc/cpuinfo) mean bf16 autocast trains faster than fp32: AMX-BF16 only.

    Measured (docs/benchmarks.md, ACM, crop 256, whole training epochs): on a 2-core Xeon with AMX, an
    ACM step took 0.89 s in bf16 vs 1.25 s in fp32; on a 2-core Xeon with AVX512-BF16 but no AMX, bf16 +
    channels_last was slower than fp32 (7.73 s vs 5.89 s per epoch with 2 threads, 10.66 s vs 9.92 s with
    1), so AVX512-BF16 alone does not count.
    """
    return "amx_bf16" in flags


def cpu_has_fast_bf16() -> bool:
    """:func:`fast_bf16_flags` of this machine's CPU (False where /proc/cpuinfo cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return fast_bf16_flags(set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def effective_precision(cfg: TrainConfig) -> str:
    """The precision a run really uses.

    ``auto``: on CUDA the authors' fp16 autocast + GradScaler under ``protocol: authors`` and bf16
    otherwise (fp16 overflowed on SAMF-fused activations, docs/training.md); on a CPU bf16-mixed
    where it is native (:func:`cpu_has_fast_bf16`), else 32-true. 16-bit float mixed precision off
    CUDA runs 32-true: fp16 autocast is a CUDA feature (Lightning refuses 16-mixed on CPU) and the
    authors' script wraps its steps in ``torch.cuda.amp.autocast``, which does nothing on CPU.
    """
    if cfg.precision == "auto":
        if uses_cuda(cfg):
            return "16-mixed" if cfg.protocol == "authors" else "bf16-mixed"
        return "bf16-mixed" if cpu_has_fast_bf16() else "32-true"
    if cfg.precision.startswith("16") and not uses_cuda(cfg):
        return "32-true"
    return cfg.precision


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
    n = _device_count(cfg.devices)
    if uses_cuda(cfg):
        have, what = torch.cuda.device_count(), "CUDA GPU(s)"
    elif acc in ("cpu", "auto"):  # (not the affinity mask: importing torch's OpenMP can pin this thread to one core)
        have, what = os.cpu_count() or 1, "CPU core(s) (one training process each)"
    else:
        return
    if n is not None and n > have:
        raise ConfigError(f"devices: {cfg.devices!r} asks for {n} devices, but this machine has {have} {what}")


def _device_count(devices: str) -> int | None:
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


def check_combination(cfg: TrainConfig) -> None:
    """Refuse settings that cannot work together (one-line ConfigError)."""
    if cfg.vfm_cache and cfg.augment == "authors":
        raise ConfigError("vfm_cache cannot follow augment: authors (its rotations, shifts and scalings move pixels "
                          "the cached VFM maps cannot follow): use augment: flips, or train without vfm_cache")


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


def _progress_lines(epochs: int) -> Any:
    """A callback showing ``fdep train: epoch E/N, step S/M`` by the progress convention of every command
    (:mod:`fdep.progress`): used when stderr is not a terminal, where Lightning's bar would fill the log with
    carriage returns. Rank 0 only."""
    from lightning.pytorch.callbacks import Callback

    from ..progress import ProgressLine

    class ProgressLines(Callback):
        def __init__(self) -> None:
            self.line: ProgressLine | None = None

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self.line = ProgressLine() if trainer.is_global_zero else None

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            if self.line is not None:
                steps = trainer.num_training_batches
                of = f"/{steps}" if isinstance(steps, int) else ""
                self.line(f"fdep train: epoch {trainer.current_epoch + 1}/{epochs}, step {batch_idx + 1}{of}")

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            if self.line is not None:
                self.line.close()

    return ProgressLines()


def _processes_line() -> Any:
    """A callback logging fdep's one line about a multi-process run (Lightning's own lines are muted)."""
    from lightning.pytorch.callbacks import Callback

    class ProcessesLine(Callback):
        def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
            if trainer.world_size > 1 and trainer.is_global_zero:
                backend = getattr(trainer.strategy, "process_group_backend", None)
                log.info("distributed: %d processes on %d node(s) (%s%s)", trainer.world_size, trainer.num_nodes,
                         type(trainer.strategy).__name__, f", backend {backend}" if backend else "")

    return ProcessesLine()


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Keep Lightning's own chatter off the user's terminal while training: its info lines ("GPU
    available", tips such as "litlogger", "`Trainer.fit` stopped") and every warning raised from
    Lightning's code (deprecations such as ``LeafSpec``, "does not have many workers", ...). fdep's
    own lines, the progress bar and errors still show."""
    names = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"(lightning|pytorch_lightning|lightning_fabric|lightning_utilities)"
                                                 r"(\.|$)")
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*Checkpoint directory.*exists and is not empty.*")
        warnings.filterwarnings("ignore", message=".*Experiment logs directory.*")
        warnings.filterwarnings("ignore", message=".*The dirpath has changed from.*")
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def worker_error_line(e: FdepError) -> FdepError:
    """``e`` itself, or, when a DataLoader worker raised it (PyTorch re-raises it in the main process with
    the worker's whole traceback as its message), the same error with the original one-line message."""
    text = str(e).strip()
    if not (text.startswith("Caught ") and "Original Traceback" in text):
        return e
    last = text.splitlines()[-1]
    for prefix in (f"{type(e).__module__}.{type(e).__name__}: ", f"{type(e).__name__}: "):
        if last.startswith(prefix):
            return type(e)(last[len(prefix):])
    return type(e)(last)


def out_of_memory_message(cfg: TrainConfig) -> str:
    return (f"out of memory on a training batch (batch_size {cfg.batch_size}, crop {cfg.crop}, "
            f"precision {cfg.precision}): try a smaller --batch-size or --crop, or --precision bf16-mixed")


def export_run(out: Path, cfg: TrainConfig, best: str | os.PathLike | None = None) -> Path | None:
    """Export the inference network of this run's best (else last) checkpoint to RUN_DIR/light.

    ``best``: the best checkpoint the run's callback recorded (used only when it lies in
    RUN_DIR/checkpoints). Variant fdep-main needs the VFM at inference, so there is no light
    network to export.
    """
    from ..models import save_pretrained
    from .checkpoint import load_model_from_checkpoint

    if cfg.variant == "fdep-main":
        log.info("variant fdep-main runs the VFM at inference: no light network exported")
        return None
    ckpts = out / "checkpoints"
    if best is None:
        best = ckpts / "best.ckpt"
    best = Path(best) if best else None
    usable = best is not None and best.is_file() and _same_dir(best.parent, ckpts)
    src = best if usable else ckpts / "last.ckpt"
    net, meta = load_model_from_checkpoint(src)
    dest = out / "light"
    extra = {"variant": meta["variant"], "vfm": meta["vfm"], "checkpoint": str(src),
             "epochs_trained": meta["epochs_trained"], "train_config": cfg.to_dict(),
             "input_range": meta.get("input_range")}
    # written beside and moved into place file by file, so an earlier export is only replaced by a complete one
    tmp = Path(tempfile.mkdtemp(prefix=".light.", dir=out))
    try:
        save_pretrained(net, tmp / "light", mean=meta["mean"], std=meta["std"], extra=extra)
        dest.mkdir(exist_ok=True)
        for f in sorted((tmp / "light").iterdir()):
            os.replace(f, dest / f.name)
    except OutputError as e:  # name the file of RUN/light it was for, not the temporary folder's
        raise OutputError(str(e).replace(str(tmp / "light"), str(dest)), e.reason) from None
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
