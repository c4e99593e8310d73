"""One stage of an ``fdep sweep`` row as a child process: output to the row's log, progress to the console,
stop signals passed on.

The child writes straight into the log file (so the log is complete whatever happens to the sweep);
the sweep reads the new lines of that log while it waits and shows the per-epoch ones
(``epoch 3/400  val: ...``), so a row is not silent between "training" and "done". With
``forward_signals`` (the local launcher) the child runs in its own process group: a SIGTERM or SIGINT
sent to the sweep alone (``kill PID``, Ctrl-C, which then reaches only the sweep) is passed to the child
once, which stops cleanly and exits 143/130; the sweep records the row as interrupted instead of dying
and leaving its ``fdep train`` running.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

#: the child's lines shown on the sweep's console (fdep train's one line per epoch)
PROGRESS_LINE = re.compile(r"^epoch \d+/\d+")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stopped_by_signal(code: int) -> bool:
    """Whether a stage's exit status says it was stopped (fdep's 130/143, or killed by SIGINT/SIGTERM)."""
    return code in (130, 143, -2, -15)


class LogTail:
    """The complete lines appended to a file since ``offset`` (a partial last line waits for its end)."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path, self.offset, self.rest = path, offset, b""

    def new_lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]


class SignalsPassedOn:
    """While active, SIGTERM/SIGINT received by this process are sent on to ``child`` (main thread only);
    ``signum`` is the last one passed on."""

    def __init__(self, child: subprocess.Popen) -> None:
        self.child, self.signum, self.previous = child, None, {}

    def _forward(self, signum: int, frame: object) -> None:
        self.signum = signum
        with contextlib.suppress(ProcessLookupError):
            self.child.send_signal(signum)

    def __enter__(self) -> SignalsPassedOn:
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
            for s in STOP_SIGNALS:
                signal.signal(s, self._forward)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self.previous.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def run_stage(cmd: list[str], log: Path, header: str, progress: Callable[[str], None] | None = None,
              forward_signals: bool = False, poll_s: float = 1.0) -> int:
    """Run ``cmd`` with its output appended to ``log`` (after ``header``); returns its exit code.

    ``progress`` gets each per-epoch line of the child as it appears. ``forward_signals``: see the module; a
    child that finished anyway after a signal was passed on counts as stopped (128 + the signal), so the sweep
    stops there as asked (the next one sees the finished stage and goes on from it).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # lines reach the log (and the console) as they are printed
    with contextlib.ExitStack() as stack:
        if not forward_signals:
            stack.enter_context(sigint_raises())
        return _run_stage(cmd, log, header, env, progress, forward_signals, poll_s)


@contextlib.contextmanager
def sigint_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here while the stage runs, also when this process inherited it as ignored
    (started by ``nohup`` or ``cmd &`` from a script, or by a parent that ignores it): submitit cancels a local
    job with a SIGINT to the job's process, which must reach its fdep train child (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _run_stage(cmd: list[str], log: Path, header: str, env: dict[str, str], progress: Callable[[str], None] | None,
               forward_signals: bool, poll_s: float) -> int:
    with open(log, "a") as f:
        f.write(f"\n{header}\n")
        f.flush()
        tail = LogTail(log, f.tell())
        child = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=forward_signals)
    signals = SignalsPassedOn(child) if forward_signals else None
    stop = None  # the stop signal this process received while not passing signals on
    with signals or contextlib.nullcontext():
        code = None
        while code is None:
            try:
                code = child.wait(timeout=poll_s)
            except subprocess.TimeoutExpired:
                pass
            except KeyboardInterrupt:  # not passing signals on: a Ctrl-C reached the child's process group too,
                # but a SIGINT sent to this process alone (submitit's cancel of a local job) did not: send it on,
                # which a child already stopping ignores (fdep keeps the first signal), and let it stop cleanly
                stop = signal.SIGINT
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGINT)
                try:
                    code = child.wait(timeout=120)
                except subprocess.TimeoutExpired:  # pragma: no cover - a child that does not stop
                    child.kill()
                    raise
            for line in tail.new_lines() if progress else ():
                if PROGRESS_LINE.match(line):
                    progress(line)
    if signals is not None:
        stop = signals.signum
    if code == 0 and stop is not None:  # finished anyway after the stop request: still a stop, as asked
        return 128 + stop
    return code
