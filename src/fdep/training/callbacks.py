"""The callbacks of a training run: the checkpoints it keeps, the learning-rate log, weight EMA, and fdep's
console lines (a progress line in a log, one line about a multi-process run)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback, EMAWeightAveraging, LearningRateMonitor

from ..progress import ProgressLine
from .config import TrainConfig
from .selection import PeriodicCheckpoint, SelectionCheckpoint, best_checkpoint, last_checkpoint

log = logging.getLogger("fdep.training")


def run_callbacks(cfg: TrainConfig, ckpt_dir: Path, progress_lines: bool) -> tuple[SelectionCheckpoint, list[Any]]:
    """best.ckpt's callback (its path is exported at the end) and every callback of the run, in Lightning's order.

    ``progress_lines``: show fdep's progress lines (a log, where Lightning's bar would not do).
    """
    best = best_checkpoint(cfg, ckpt_dir)
    callbacks = [best, last_checkpoint(ckpt_dir), LearningRateMonitor(logging_interval="epoch"), ProcessesLine(),
                 *([ProgressLines(cfg.epochs)] if progress_lines else []), *extra_callbacks(cfg, ckpt_dir)]
    return best, callbacks


def extra_callbacks(cfg: TrainConfig, ckpt_dir: Path) -> list[Any]:
    """The optional callbacks of a config: weight EMA (ema_decay) and periodic checkpoints (save_every)."""
    callbacks: list[Any] = []
    if cfg.ema_decay is not None:
        # validation, best.ckpt/last.ckpt's state_dict and the exported light/ network use the averaged weights;
        # the raw weights travel in the checkpoint (current_model_state) so --resume continues both
        callbacks.append(EMAWeightAveraging(decay=cfg.ema_decay))
    if cfg.save_every:
        callbacks.append(PeriodicCheckpoint(ckpt_dir, cfg.save_every))
    return callbacks


class ProgressLines(Callback):
    """``fdep train: epoch E/N, step S/M`` by the progress convention of every command (:mod:`fdep.progress`):
    used when stderr is not a terminal, where Lightning's bar would fill the log with carriage returns. Rank 0
    only."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.line: ProgressLine | None = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self.line = ProgressLine() if trainer.is_global_zero else None

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.line is not None:
            steps = trainer.num_training_batches
            of = f"/{steps}" if isinstance(steps, int) else ""
            self.line(f"fdep train: epoch {trainer.current_epoch + 1}/{self.epochs}, step {batch_idx + 1}{of}")

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.line is not None:
            self.line.close()


class ProcessesLine(Callback):
    """fdep's one line about a multi-process run (Lightning's own lines are muted: fdep.training.quiet)."""

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if trainer.world_size > 1 and trainer.is_global_zero:
            backend = getattr(trainer.strategy, "process_group_backend", None)
            log.info("distributed: %d processes on %d node(s) (%s%s)", trainer.world_size, trainer.num_nodes,
                     type(trainer.strategy).__name__, f", backend {backend}" if backend else "")
