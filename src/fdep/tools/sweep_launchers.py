"""Where the rows of ``fdep sweep`` run: one :class:`Launcher` per ``--launcher`` name (:data:`LAUNCHERS`).

``local`` runs rows one after another on this machine; ``slurm`` submits each row as a Slurm job through
submitit; ``submitit-local`` / ``submitit-debug`` are submitit's local-subprocess and in-process executors
(the tests, and trying a sweep without a cluster). Jobs that time out or are pre-empted are requeued by
submitit and resume from their last checkpoint (:class:`RowJob`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError
from .sweep_outcome import Outcome, RowOutcome
from .sweep_row import Row, row_log, row_state_label, run_row
from .sweep_stage import sigint_raises

Echo = Callable[[str], None]


@dataclass
class SlurmOptions:
    partition: str | None = None
    gpus_per_job: int = 1
    nodes: int = 1
    cpus_per_task: int = 8
    time_min: int = 24 * 60
    concurrency: int = 8
    extra: dict[str, Any] = field(default_factory=dict)


class Launcher(Protocol):
    """Runs a sweep's rows and returns what each ended as (in the order of ``rows``, possibly fewer)."""

    def run(self, rows: list[Row], sweep_dir: Path, echo: Echo) -> list[RowOutcome]: ...


class LocalLauncher:
    """One row after another on this machine, each stage's epoch lines on the console. A SIGTERM/SIGINT to the
    sweep is passed on to the running stage; the row is then ``interrupted`` and the sweep stops there."""

    def run(self, rows: list[Row], sweep_dir: Path, echo: Echo) -> list[RowOutcome]:
        outcomes = []
        for i, row in enumerate(rows, 1):
            prefix = f"[{i}/{len(rows)}] {row.name}"
            echo(f"{prefix}: {row_state_label(row)}")
            outcome = run_row(row, sweep_dir / "logs", forward_signals=True,
                              progress=lambda line, prefix=prefix: echo(f"{prefix}: {line}"))
            echo(f"{prefix}: {outcome.console_line()}")
            outcomes.append(outcome)
            if outcome.outcome is Outcome.INTERRUPTED:  # the user stopped the sweep: the other rows wait for a rerun
                echo(f"stopped at row {row.name}; rerun the same fdep sweep to resume it")
                break
        return outcomes


class RowJob:
    """A row as a submitit job: on timeout or pre-emption it is requeued and resumes from last.ckpt."""

    def __init__(self, row: Row, log_dir: str):
        self.row, self.log_dir = row, log_dir

    def __call__(self) -> RowOutcome:
        return run_row(self.row, self.log_dir)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(RowJob(self.row, self.log_dir))


def submit_cancellable(executor: Any, job: Callable[[], Any]) -> Any:
    """``executor.submit(job)`` with SIGINT not ignored while submitit starts the job's process.

    submitit cancels a local job with a SIGINT to the process it started, which inherits this process's
    SIGINT disposition: started from a process that ignores SIGINT (``nohup``, ``cmd &`` from a script, CI)
    it would ignore the cancel and run on. The job's process gets Python's default handler instead."""
    with sigint_raises():
        return executor.submit(job)


@dataclass
class SubmititLauncher:
    """Each row as a job of submitit's executor ``cluster``; waits for every job. A job that died is a failed
    row, the others still count."""

    name: str  #: the --launcher name, for the console
    cluster: str  #: submitit's executor: "local" or "debug" (SlurmLauncher: "slurm")
    options: SlurmOptions

    def parameters(self) -> dict[str, Any]:
        """The executor's parameters."""
        return {"timeout_min": self.options.time_min, "name": "fdep-sweep"}

    def job_rows(self, rows: list[Row]) -> list[Row]:
        """The rows as the jobs run them."""
        return rows

    def run(self, rows: list[Row], sweep_dir: Path, echo: Echo) -> list[RowOutcome]:
        echo(f"submitting {len(rows)} rows with the {self.name} launcher")
        try:
            import submitit
        except ImportError:
            raise ConfigError("the slurm launcher needs submitit: pip install submitit") from None
        executor = submitit.AutoExecutor(folder=str(sweep_dir / "submitit" / "%j"), cluster=self.cluster)
        executor.update_parameters(**self.parameters())
        rows = self.job_rows(rows)
        log_dir = str(sweep_dir / "logs")
        jobs = [submit_cancellable(executor, RowJob(r, log_dir)) for r in rows]
        outcomes = []
        for row, job in zip(rows, jobs):
            try:
                result = job.result()
                outcomes.append(result[0] if isinstance(result, list) else result)  # task 0's outcome
            except Exception as e:  # noqa: BLE001 - a job that died is a failed row, the others still count
                outcomes.append(RowOutcome(row.name, Outcome.FAILED, str(row_log(row, log_dir)),
                                           error=f"{type(e).__name__}: {e}"[:300], job_id=getattr(job, "job_id", None)))
        return outcomes


class SlurmLauncher(SubmititLauncher):
    """Each row as a Slurm job: one task per GPU, so Lightning's SLURM environment drives DDP across the job's
    GPUs and nodes, which are the run's DDP world unless the row's overrides say otherwise."""

    def parameters(self) -> dict[str, Any]:
        slurm = self.options
        params = {**super().parameters(), "slurm_partition": slurm.partition, "gpus_per_node": slurm.gpus_per_job,
                  "nodes": slurm.nodes, "tasks_per_node": max(1, slurm.gpus_per_job),
                  "cpus_per_task": slurm.cpus_per_task, "slurm_array_parallelism": slurm.concurrency, **slurm.extra}
        return {k: v for k, v in params.items() if v is not None}

    def job_rows(self, rows: list[Row]) -> list[Row]:
        slurm = self.options
        defaults = {"accelerator": "gpu", "devices": str(max(1, slurm.gpus_per_job)), "num_nodes": str(slurm.nodes)}
        return [replace(r, overrides={**defaults, **r.overrides}) for r in rows]


#: --launcher name -> the launcher it makes from the Slurm options
LAUNCHERS: dict[str, Callable[[SlurmOptions], Launcher]] = {
    "local": lambda options: LocalLauncher(),
    "slurm": lambda options: SlurmLauncher("slurm", "slurm", options),
    "submitit-local": lambda options: SubmititLauncher("submitit-local", "local", options),
    "submitit-debug": lambda options: SubmititLauncher("submitit-debug", "debug", options),
}


def make_launcher(name: str, options: SlurmOptions | None = None) -> Launcher:
    """The launcher ``--launcher name`` stands for (:class:`ConfigError` for an unknown name)."""
    if name not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {name!r} (choose from {', '.join(LAUNCHERS)})")
    return LAUNCHERS[name](options or SlurmOptions())
