"""Progress lines for long commands, throttled: nothing on short work, a line now and then on long work.

A terminal gets one line rewritten in place at most every ``TTY_EVERY_S``; a log file or pipe gets a
new line at most every ``LOG_EVERY_S`` (so a 10-minute job on one huge image says where it is, and a
run over a few small images prints nothing). The first line comes only once that interval has passed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

TTY_EVERY_S = 1.0
LOG_EVERY_S = 10.0


class ProgressLine:
    """``line(text)`` shows ``text`` if enough time has passed since the start or the last one shown."""

    def __init__(self, stream: TextIO | None = None, every_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = every_s if every_s is not None else (TTY_EVERY_S if self.tty else LOG_EVERY_S)
        self.clock = clock
        self.last = clock()
        self.shown = False

    def __call__(self, text: str) -> None:
        now = self.clock()
        if now - self.last < self.every_s:
            return
        self.last, self.shown = now, True
        if self.tty:
            print(f"\r\033[K{text}", end="", file=self.stream, flush=True)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """End a rewritten terminal line, so the next output starts on its own line."""
        if self.tty and self.shown:
            print(file=self.stream, flush=True)
