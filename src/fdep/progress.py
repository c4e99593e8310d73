"""Progress output, one convention for every command: throttled lines, clean in a log file.

A terminal gets one line rewritten in place (carriage return) at most every ``TTY_EVERY_S``; a log
file or pipe (``fdep test > log 2>&1``) gets a new, complete line at most every ``LOG_EVERY_S``, so a
10-minute job says where it is and a log holds no carriage returns. Nothing is shown before the first
interval has passed: short work prints no progress at all.

:class:`ProgressLine` shows a text; :class:`Counter` (``update(n)``) and :func:`track` (over an iterable)
count work in items or bytes the way tqdm does, through a ProgressLine. A leaf module (imports nothing
of fdep), so the CLI, ``tools``, ``training`` and ``data`` share it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

TTY_EVERY_S = 1.0
LOG_EVERY_S = 10.0

T = TypeVar("T")


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (a log file, pipe or captured stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed file
        return False


class ProgressLine:
    """``line(text)`` shows ``text`` if enough time has passed since the start or the last one shown."""

    def __init__(self, stream: TextIO | None = None, every_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.tty = is_terminal(self.stream)
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
            self.shown = False


def _amount(n: float, unit: str) -> str:
    if unit != "B":
        return f"{int(n)}"
    for scale, name in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "kB")):
        if n >= scale:
            return f"{n / scale:.1f} {name}"
    return f"{int(n)} B"


class Counter:
    """Counts work done and shows ``LABEL DONE/TOTAL UNIT (what)`` through a :class:`ProgressLine`
    (``fdep test: image 12/214 (Misc_12)``, ``fdep data: download 120.0 MB/450.0 MB``).

    ``unit="B"`` shows byte counts in kB/MB/GB; ``total`` None shows the count alone. ``enabled=False``
    shows nothing (``--quiet``). A context manager: leaving it ends a rewritten terminal line.
    """

    def __init__(self, label: str, total: int | None = None, unit: str = "", enabled: bool = True,
                 line: ProgressLine | None = None) -> None:
        self.label, self.total, self.unit, self.enabled = label, total, unit, enabled
        self.done = 0
        self.line = line if line is not None else (ProgressLine() if enabled else None)

    def text(self, what: str = "") -> str:
        unit = f" {self.unit}" if self.unit and self.unit != "B" else ""
        count = _amount(self.done, self.unit)
        if self.total is not None:
            count += f"/{_amount(self.total, self.unit)}"
        return f"{self.label} {count}{unit}" + (f" ({what})" if what else "")

    def update(self, n: int = 1, what: str = "") -> None:
        self.done += n
        if self.enabled and self.line is not None:
            self.line(self.text(what))

    def close(self) -> None:
        if self.line is not None:
            self.line.close()

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], label: str, total: int | None = None, unit: str = "", enabled: bool = True
          ) -> Iterator[T]:
    """Yield ``items``, counting each one (see :class:`Counter`); ``total`` defaults to ``len(items)``."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Counter(label, total, unit, enabled) as counter:
        for item in items:
            yield item
            counter.update(1)
