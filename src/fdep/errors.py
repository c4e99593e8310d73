"""Errors a user can cause. Each carries a message fit to print on one line.

The CLI catches :class:`FdepError`, prints its message and exits non-zero;
anything else is a bug and keeps its traceback.
"""


class FdepError(Exception):
    """Base class for every user-facing error."""

    exit_code = 2


class InputError(FdepError):
    """Bad input data: unreadable file, wrong size, NaN values, missing ids..."""


class DataError(FdepError):
    """A dataset failed validation or cannot be found/prepared."""


class ModelError(FdepError):
    """Unknown model name, unsupported input shape, incompatible network."""


class WeightsError(FdepError):
    """Missing or unusable weights (checkpoints, VFM weights)."""


class ConfigError(FdepError):
    """Invalid configuration: unknown keys, bad values."""


class OutputExistsError(FdepError):
    """An output would overwrite something the user already has."""


class FolderInUseError(FdepError):
    """Another live fdep process holds the lock of the folder (a run directory being trained into)."""


class TrainingError(FdepError):
    """Training cannot go on: non-finite loss, out of memory on a batch."""


class OutputError(FdepError, OSError):
    """An output cannot be written: disk full, quota, read-only file system. Also an ``OSError``, so code
    that handles failed writes keeps working; ``reason`` is the system's words (e.g. "No space left on device")."""

    exit_code = 1

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class RunInterrupted(FdepError):
    """A run stopped by SIGTERM or SIGINT; exits 128 + the signal number (143, 130) as a shell does."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + int(signum)
