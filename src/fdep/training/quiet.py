"""Lightning's own messages kept off the user's terminal while ``fdep train`` runs (fdep's lines still show)."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator


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
