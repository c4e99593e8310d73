"""Stopping a run with SIGTERM or SIGINT (``kill``, ``docker stop``, Slurm, Ctrl-C) as a stop, not a success.

Lightning answers SIGTERM by raising ``SIGTERMException``, a ``SystemExit`` without a code, so a
stopped run used to exit 0 as if it had finished; Ctrl-C becomes ``sys.exit(1)``. fdep installs its
own handlers for the whole run (also before and after ``Trainer.fit``; Lightning composes its SIGTERM
handler with ours): the first signal is recorded and stops the run at once by raising
``KeyboardInterrupt``. :func:`fdep.training.train.train` then turns whatever the stop unwound into one
:class:`fdep.errors.RunInterrupted` line (:func:`stopped_error`: epoch reached, last.ckpt, the ``--resume``
command) and the shell's exit status 128 + signal (143 for SIGTERM, 130 for SIGINT). last.ckpt is written atomically
after each finished epoch, so the stop keeps the previous one intact.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import FdepError, RunInterrupted

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """Records the first stop signal received while :meth:`installed` is active."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # a second Ctrl-C while stopping: the first one is already unwinding
            return
        self.signum = signum
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Handle SIGTERM and SIGINT for the duration of the block (main thread only; restored after).

        SIGINT is handled even when the process inherited it ignored (a job started with ``&`` from
        a script): a user's stop request must not be dropped silently.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
        for s in STOP_SIGNALS:
            signal.signal(s, self._handle)
        try:
            yield self
        finally:
            for s, handler in previous.items():
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def stopped_error(epochs: int, out: Path | None, stop: StopRequest) -> RunInterrupted:
    """The one line of a run of ``epochs`` epochs in ``out`` stopped by a signal: how far it got, what is kept,
    how to go on."""
    from .checkpoint import finished_epochs, read_checkpoint

    last = out / "checkpoints" / "last.ckpt" if out is not None else None
    if last is None or not last.is_file():
        where = f" (run directory {out})" if out is not None and out.exists() else ""
        return RunInterrupted(f"stopped by {stop.name} before the first epoch finished; nothing to resume{where}",
                              stop.signum)
    try:
        done = f"after {finished_epochs(read_checkpoint(last))} of {epochs} epoch(s)"
    except FdepError:  # pragma: no cover - last.ckpt is written atomically
        done = "during training"
    return RunInterrupted(f"stopped by {stop.name} {done}; {last} is kept; continue with: fdep train --resume {out}",
                          stop.signum)
