"""best.ckpt selection: Lightning's ModelCheckpoint with the authors' two extra rules.

The released script keeps the checkpoint with the best validation mIoU, but (1) validates only
from its second epoch (``num_start_test_epochs = 1``) and (2) starts ``best_mIoU`` at 0 and
replaces it only on a strict improvement, so nothing is saved while the IoU is 0. ``select_from``
and ``select_floor`` reproduce both; Lightning's own rule (strictly better than the kept one)
does the rest.
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint


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
