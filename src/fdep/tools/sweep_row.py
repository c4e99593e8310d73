"""One row of ``fdep sweep``: the config it runs, its state on disk (``RUN/sweep_row.json``, its checkpoints) and
bringing it to ``tested``, one stage at a time as a child process (:mod:`.sweep_stage`)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..fileio import write_json
from .sweep_outcome import Outcome, RowOutcome
from .sweep_stage import run_stage, stopped_by_signal

STATUS_FILE = "sweep_row.json"


@dataclass
class Row:
    """One config of a sweep and where its run goes."""

    name: str
    config: str
    run_dir: str
    data: str
    model: str
    variant: str
    dataset: str
    epochs: int
    overrides: dict[str, str] = field(default_factory=dict)
    #: the seed of this row when its config runs over several (``seeds:`` / ``--seeds``), else None
    seed: int | None = None
    #: the config's row name shared by its seeds (``dataset/config``); a single-seed row's own name
    group: str = ""

    @property
    def test_dir(self) -> Path:
        return Path(self.run_dir) / "test_test"


class RowState(str, Enum):
    """Where a row's run directory stands, so what the sweep does with it (a str: compares with plain names)."""

    TESTED = "tested"  #: finished: skipped
    TRAINED = "trained"  #: training finished: only the test runs
    PARTIAL = "partial"  #: a last.ckpt of unfinished training: resumed
    NEW = "new"  #: nothing yet: a fresh fdep train

    @property
    def label(self) -> str:
        """What the sweep does with a row in this state, as the console and ``--dry-run`` say it."""
        return {RowState.TESTED: "finished, skipped", RowState.TRAINED: "trained, testing",
                RowState.PARTIAL: "resuming", RowState.NEW: "training"}[self]


def config_digest(row: Row) -> str:
    """What makes a row's result: its config file's text, data and overrides."""
    text = Path(row.config).read_text() + json.dumps([row.data, sorted(row.overrides.items())])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_status(row: Row) -> dict[str, Any]:
    path = Path(row.run_dir) / STATUS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_status(row: Row, **status: Any) -> None:
    write_json(Path(row.run_dir) / STATUS_FILE, {"row": row.name, "config": row.config,
                                                 "digest": config_digest(row), **status})


def training_done(row: Row) -> bool:
    """True when the row's last checkpoint holds every configured epoch."""
    from ..training.checkpoint import finished_epochs, read_checkpoint

    last = Path(row.run_dir) / "checkpoints" / "last.ckpt"
    if not last.exists():
        return False
    try:
        return finished_epochs(read_checkpoint(last)) >= row.epochs > 0
    except Exception:  # noqa: BLE001 - an unreadable last.ckpt is "not done": training reports it precisely
        return False


def row_state(row: Row) -> RowState:
    """``tested`` (skip), ``trained`` (test only), ``partial`` (resume) or ``new``."""
    status = read_status(row)
    if status.get("stage") == "tested" and (row.test_dir / "results.json").exists():
        if status.get("digest") != config_digest(row):
            raise ConfigError(f"{row.run_dir}: finished with a different config, data or overrides than this sweep's "
                              f"{row.name} (give the sweep another --out, or move that run away)")
        return RowState.TESTED
    if training_done(row):
        return RowState.TRAINED
    if (Path(row.run_dir) / "checkpoints" / "last.ckpt").exists():
        return RowState.PARTIAL
    return RowState.NEW


def row_state_label(row: Row) -> str:
    try:
        return row_state(row).label
    except ConfigError as e:
        return f"refused ({e})"


def _cli(args: list[str], log: Path, progress: Any = None, forward_signals: bool = False) -> int:
    """Run ``python -m fdep.cli.main ARGS`` appending its output to ``log``; returns its exit code
    (see :mod:`.sweep_stage`)."""
    return run_stage([sys.executable, "-m", "fdep.cli.main", *args], log, f"$ fdep {' '.join(args)}", progress=progress,
                     forward_signals=forward_signals)


def train_args(row: Row, resume: bool) -> list[str]:
    args = ["train", "--config", row.config, "--out", row.run_dir, "--data", row.data, "--quiet"]
    for k, v in row.overrides.items():
        args += ["--" + k.replace("_", "-"), v]
    if resume:
        args += ["--resume", row.run_dir]
    return args


def test_args(row: Row) -> list[str]:
    ckpts = Path(row.run_dir) / "checkpoints"
    ckpt = ckpts / "best.ckpt" if (ckpts / "best.ckpt").exists() else ckpts / "last.ckpt"
    device = "cpu" if row.overrides.get("accelerator") == "cpu" else "auto"
    return ["test", "--checkpoint", str(ckpt), "--data", row.data, "--split", "test", "--out", str(row.test_dir),
            "--overwrite", "--quiet", "--device", device]


def run_row(row: Row, log_dir: str | os.PathLike, progress: Any = None, forward_signals: bool = False
            ) -> RowOutcome:
    """Bring one row to ``tested``; returns its outcome (never raises for a failed stage).

    ``progress`` gets the training's per-epoch lines as they come; ``forward_signals`` passes a SIGTERM/SIGINT
    of this process on to the running stage (the local launcher; :mod:`.sweep_stage`). In a multi-task Slurm
    job every task runs the training stage (Lightning's SLURM environment makes them one DDP run); only task 0
    tests and records the row.
    """
    rank = _slurm_rank()
    log = str(row_log(row, log_dir, rank))
    t0 = time.time()
    try:
        state = row_state(row)
    except ConfigError as e:
        return RowOutcome(row.name, Outcome.FAILED, log, error=str(e))
    if state is RowState.TESTED:
        return RowOutcome(row.name, Outcome.SKIPPED, log)
    if state in (RowState.NEW, RowState.PARTIAL):
        Path(row.run_dir).parent.mkdir(parents=True, exist_ok=True)
        code = _cli(train_args(row, resume=state is RowState.PARTIAL), Path(log), progress, forward_signals)
        if rank != 0:
            return RowOutcome(row.name, Outcome.WORKER, log, exit_code=code)
        ended = _stage_ended_early(row, "train", code, log)
        if ended is not None:
            return ended
    if rank != 0:
        return RowOutcome(row.name, Outcome.WORKER, log)
    write_status(row, stage="trained", log=log)
    code = _cli(test_args(row), Path(log), progress, forward_signals)
    ended = _stage_ended_early(row, "test", code, log)
    if ended is not None:
        return ended
    write_status(row, stage="tested", log=log, seconds=round(time.time() - t0, 1))
    return RowOutcome(row.name, Outcome.RESUMED if state is RowState.PARTIAL else Outcome.DONE, log)


def row_log(row: Row, log_dir: str | os.PathLike, rank: int = 0) -> Path:
    """The log of a row's stages in ``log_dir`` (``dataset__config.log``; a Slurm task's other than 0: ``.rankN``)."""
    return Path(log_dir) / (row.name.replace("/", "__") + ("" if rank == 0 else f".rank{rank}") + ".log")


def _stage_ended_early(row: Row, stage: str, code: int, log: str) -> RowOutcome | None:
    """The outcome of a stage that did not succeed, recorded in the row's status; None when it succeeded.

    A stage stopped by a signal is ``interrupted`` (the next sweep resumes the row: its last.ckpt is kept)."""
    if stopped_by_signal(code):
        write_status(row, stage="interrupted", interrupted_stage=stage, exit_code=code, log=log)
        return RowOutcome(row.name, Outcome.INTERRUPTED, log, stage=stage, exit_code=code)
    if code != 0:
        write_status(row, stage="failed", failed_stage=stage, exit_code=code, log=log)
        return RowOutcome(row.name, Outcome.FAILED, log, stage=stage)
    return None


def _slurm_rank() -> int:
    return int(os.environ.get("SLURM_PROCID", "0") or 0)
