"""What stops ``Trainer.fit`` as one line: running out of memory on a batch, an error raised in a DataLoader
worker (whose traceback PyTorch makes the message)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..errors import ConfigError, FdepError
from .config import TrainConfig


@contextlib.contextmanager
def fit_errors_as_one_line(cfg: TrainConfig) -> Iterator[None]:
    """Out of memory as a ConfigError with advice; a worker's FdepError as its own one-line message."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError:
        raise ConfigError(out_of_memory_message(cfg)) from None
    except FdepError as e:
        raise worker_error_line(e) from None
    except RuntimeError as e:
        if "out of memory" in str(e).lower() or "can't allocate memory" in str(e).lower():
            raise ConfigError(out_of_memory_message(cfg)) from None
        raise


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
    """The advice for a training batch that did not fit in memory."""
    return (f"out of memory on a training batch (batch_size {cfg.batch_size}, crop {cfg.crop}, "
            f"precision {cfg.precision}): try a smaller --batch-size or --crop, or --precision bf16-mixed")
