"""TensorBoard logging of a run (RUN/tensorboard/) whose failed writes are one line, not a traceback.

TensorBoard writes its event file from a background thread: a full disk there is recorded, printed
by Python as "Exception in thread ..." with a traceback, and raised again at the next write from the
training loop as a bare ``OSError`` that names no file (or, from ``log_metrics``, as Lightning's
misleading "you tried to log ... not supported"). :func:`tensorboard_logger` returns Lightning's logger
with each write turned into one :class:`fdep.errors.OutputError` naming the folder, and the writer
thread's copy of the error kept off the console (the training loop reports it).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger

from ..fileio import write_failure


class ReportingTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoardLogger whose writes raise one OutputError naming its folder (see the module).

    Lightning re-raises a failed ``add_scalar`` as ``ValueError("you tried to log ... which is currently not
    supported")``; a full disk behind it is reported as what it is.
    """

    @contextlib.contextmanager
    def _reporting(self) -> Iterator[None]:
        try:
            yield
        except OSError as e:
            raise write_failure(Path(self.log_dir), e) from None
        except ValueError as e:
            if isinstance(e.__cause__, OSError):
                raise write_failure(Path(self.log_dir), e.__cause__) from None
            raise

    @property
    def experiment(self) -> Any:  # created lazily; its first event is written then
        with self._reporting():
            return super().experiment

    def log_metrics(self, *args: Any, **kwargs: Any) -> None:
        with self._reporting():
            super().log_metrics(*args, **kwargs)

    def log_hyperparams(self, *args: Any, **kwargs: Any) -> None:
        with self._reporting():
            super().log_hyperparams(*args, **kwargs)

    def log_graph(self, *args: Any, **kwargs: Any) -> None:
        with self._reporting():
            super().log_graph(*args, **kwargs)

    def save(self) -> None:
        with self._reporting():
            super().save()

    def finalize(self, status: str) -> None:
        with self._reporting():
            super().finalize(status)


def tensorboard_logger(out: Path) -> ReportingTensorBoardLogger:
    """The logger of a run writing to ``out/tensorboard`` (see the module)."""
    _quiet_writer_threads()
    return ReportingTensorBoardLogger(save_dir=str(out), name="tensorboard", version="", default_hp_metric=False)


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
