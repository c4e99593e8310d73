"""The checkpoints a run keeps: best.ckpt (Lightning's ModelCheckpoint with the authors' two extra rules),
last.ckpt after every epoch, and every N epochs on request (``save_every``).

The released script keeps the checkpoint with the best validation mIoU, but (1) validates only
from its second epoch (``num_start_test_epochs = 1``) and (2) starts ``best_mIoU`` at 0 and
replaces it only on a strict improvement, so nothing is saved while the IoU is 0. ``select_from``
and ``select_floor`` reproduce both; Lightning's own rule (strictly better than the kept one)
does the rest.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

from .config import TrainConfig


class SelectionCheckpoint(ModelCheckpoint):
    """A top-1 ModelCheckpoint that ignores epochs before ``select_from`` and values not above ``floor``."""

    def __init__(self, *args: Any, select_from: int = 1, floor: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.select_from = int(select_from)
        self.floor = floor

    def selectable(self, epoch: int, value: float | None) -> bool:
        """Whether the validation of 1-based ``epoch`` scoring ``value`` may become best.ckpt."""
        if epoch < self.select_from or value is None or math.isnan(value):
            return False
        return self.floor is None or value > self.floor

    def _save_topk_checkpoint(self, trainer: Any, monitor_candidates: dict[str, Any]) -> None:
        value = monitor_candidates.get(self.monitor) if self.monitor else None
        if value is not None and not self.selectable(trainer.current_epoch + 1, float(value)):
            return
        super()._save_topk_checkpoint(trainer, monitor_candidates)


class PeriodicCheckpoint(ModelCheckpoint):
    """Keep ``epoch=NNNN.ckpt`` (1-based, as fdep's epoch lines count) every ``every`` epochs (``save_every``).

    For studies of the whole run (for example testing every kept epoch afterwards: how far the held-out
    best.ckpt lands from the epoch a test-split selection would pick) without a second validation set.
    """

    def __init__(self, dirpath: Any, every: int) -> None:
        super().__init__(dirpath=dirpath, filename="epoch={epoch:04d}", auto_insert_metric_name=False, monitor=None,
                         save_top_k=-1, every_n_epochs=int(every), save_on_train_epoch_end=True,
                         enable_version_counter=False)
        self.every = int(every)

    @property
    def state_key(self) -> str:
        return f"PeriodicCheckpoint{{every={self.every}}}"

    def format_checkpoint_name(self, metrics: dict[str, Any], filename: str | None = None,
                               ver: int | None = None, prefix: str | None = None) -> str:
        metrics = dict(metrics)
        if "epoch" in metrics:  # Lightning counts from 0; fdep's lines and metrics from 1
            metrics["epoch"] = int(metrics["epoch"]) + 1
        return super().format_checkpoint_name(metrics, filename=filename, ver=ver, prefix=prefix)


def best_checkpoint(cfg: TrainConfig, ckpt_dir: Path) -> SelectionCheckpoint:
    """The callback keeping best.ckpt: the highest ``val/<select_metric>``, or the final epoch (``last``)."""
    # select_metric last: best.ckpt is the final epoch (Lightning's monitor candidates hold the epoch number)
    monitor = "epoch" if cfg.select_metric == "last" else f"val/{cfg.select_metric}"
    return SelectionCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode="max", save_top_k=1,
                               save_last=False, auto_insert_metric_name=False, enable_version_counter=False,
                               select_from=cfg.select_from, floor=cfg.select_floor)


def last_checkpoint(ckpt_dir: Path) -> ModelCheckpoint:
    """The callback writing last.ckpt after every epoch."""
    # (Lightning 2.6 writes save_last=True checkpoints only when another checkpoint was saved in the same step, so
    # "last" is a top-1 checkpoint without a monitor, i.e. the latest one.)
    return ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None, save_top_k=1, save_last=False,
                           save_on_train_epoch_end=True, every_n_epochs=1, enable_version_counter=False)
