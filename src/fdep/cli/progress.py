"""The CLI's progress lines: :mod:`fdep.progress` (one convention for every command, shared by the packages the
commands call), under the name the command modules have always imported."""

from __future__ import annotations

from ..progress import LOG_EVERY_S, TTY_EVERY_S, Counter, ProgressLine, track

__all__ = ["LOG_EVERY_S", "TTY_EVERY_S", "Counter", "ProgressLine", "track"]
