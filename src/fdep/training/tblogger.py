"""TensorBoard logging of a run (RUN/tensorboard/) whose failed writes are one line, not a traceback.

TensorBoard writes its event file from a background thread: a full disk there is recorded, printed
by Python as "Exception in thread ..." with a traceback, and raised again at the next write from the
training loop as a bare ``OSError`` that names no file. :func:`tensorboard_logger` returns Lightning's
logger with each write turned into one :class:`fdep.errors.OutputError` naming the folder, and the
writer thread's copy of the error kept off the console (the training loop reports it).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

from ..fileio import write_failure

#: the logger's methods that write the event file
WRITES = ("log_metrics", "log_hyperparams", "log_graph", "save", "finalize")


def tensorboard_logger(out: Path) -> Any:
    """Lightning's TensorBoardLogger writing to ``out/tensorboard`` (see the module)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(save_dir=str(out), name="tensorboard", version="", default_hp_metric=False)
    folder = out / "tensorboard"
    for name in WRITES:
        setattr(logger, name, _reporting(getattr(logger, name), folder))
    _quiet_writer_threads()
    return logger


def _reporting(write: Any, folder: Path) -> Any:
    @functools.wraps(write)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return write(*args, **kwargs)
        except OSError as e:
            raise write_failure(folder, e) from None

    return checked


def _quiet_writer_threads() -> None:
    """Keep Python's report of TensorBoard's failed writer thread off the console (installed once)."""
    from tensorboard.summary.writer.event_file_writer import _AsyncWriterThread

    previous = threading.excepthook
    if getattr(previous, "fdep_tensorboard", False):
        return

    def hook(args: Any) -> None:
        if isinstance(args.thread, _AsyncWriterThread) and isinstance(args.exc_value, Exception):
            return  # kept by the writer and raised again at the next write (see the module)
        previous(args)

    hook.fdep_tensorboard = True  # type: ignore[attr-defined]
    threading.excepthook = hook
