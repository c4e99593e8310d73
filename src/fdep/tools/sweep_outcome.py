"""What a row of ``fdep sweep`` ended as: one typed record instead of a dict built by hand at each exit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    """How bringing a row to ``tested`` ended (its ``outcome`` field; a str, so it compares with plain names)."""

    DONE = "done"  #: trained (or only tested) and tested now
    RESUMED = "resumed"  #: a killed run resumed from its last checkpoint, then tested
    SKIPPED = "skipped"  #: finished by an earlier sweep
    FAILED = "failed"  #: a stage exited non-zero, or the row was refused (another config's finished run)
    INTERRUPTED = "interrupted"  #: a stage stopped by SIGTERM/SIGINT; the next sweep resumes it
    WORKER = "worker"  #: a Slurm task other than 0 of a multi-task row: trained, task 0 tests and records

    @property
    def finished(self) -> bool:
        """Whether the row has its test results."""
        return self in (Outcome.DONE, Outcome.RESUMED, Outcome.SKIPPED)


@dataclass(frozen=True)
class RowOutcome:
    """One row's outcome; ``stage`` (train/test) and ``exit_code`` say where and how a stage ended early."""

    row: str
    outcome: Outcome
    log: str
    stage: str | None = None
    exit_code: int | None = None
    error: str | None = None  #: why a row was refused, or why its submitit job died
    job_id: str | None = None  #: the submitit job of a row whose job died

    def as_dict(self) -> dict[str, Any]:
        """The plain form in a sweep's summary: the fields that are set, the outcome by its name."""
        fields = {"row": self.row, "outcome": self.outcome.value, "stage": self.stage, "exit_code": self.exit_code,
                  "error": self.error, "log": self.log, "job_id": self.job_id}
        return {k: v for k, v in fields.items() if v is not None}

    def console_line(self) -> str:
        """The outcome as the local launcher shows it after the row (a failed one with its log)."""
        if self.outcome is Outcome.FAILED:
            return f"{self.outcome.value} ({self.stage or ''} failed; log {self.log})"
        return self.outcome.value
