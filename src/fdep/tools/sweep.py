"""``fdep sweep``: run a set of training configs as independent rows (train, then test) and tabulate them.

A row is one config file. Its state lives in its own run directory, so a sweep is idempotent and
restartable by construction:

* ``RUN/sweep_row.json`` with ``"stage": "tested"`` and ``RUN/test_<split>/results.json`` present:
  the row is finished and skipped;
* ``RUN/checkpoints/last.ckpt`` present, training not finished: ``fdep train --resume RUN`` continues
  it from its last completed epoch (a killed or timed-out row);
* training finished, no results: only ``fdep test`` runs;
* otherwise a fresh ``fdep train``.

Each stage runs as a child process ``python -m fdep.cli.main ...`` whose output goes to
``SWEEP/logs/<row>.log``; a failed row is recorded with that log's path and the other rows go on. A
stage stopped by SIGTERM/SIGINT (exit 143/130) is recorded as ``interrupted`` and the local launcher
stops there; the next sweep resumes that row.
Launchers: ``local`` runs rows one after another on this machine; ``slurm`` submits each row as a
Slurm job through submitit (``debug``/``local`` are submitit's in-process and local-subprocess
executors, used by the tests and for trying a sweep without a cluster). Jobs that time out or are
pre-empted are requeued by submitit and resume from their last checkpoint.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..fileio import atomic_write, write_json
from ..metrics.specs import PAPER_SCORES
from ..metrics.units import FA_LABEL
from .seeds import format_mean_std, summarise, summary_note
from .sweep_stage import run_stage, stopped_by_signal

#: paper table name -> dataset folders of configs/ it covers
PAPER_TABLES: dict[str, tuple[str, ...]] = {
    "table1": ("sirst3",),
    "table2": ("nuaa-sirst", "nudt-sirst", "irstd-1k"),
}
LAUNCHERS = ("local", "slurm", "submitit-local", "submitit-debug")
STATUS_FILE = "sweep_row.json"
#: results.json keys shown in the table, with their scale (the paper's units)
METRICS = tuple((s.key, s.scale) for s in PAPER_SCORES)


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


# ----------------------------------------------------------------------------------- choosing rows
def find_configs(specs: Sequence[str], configs_root: str | os.PathLike = "configs") -> list[Path]:
    """Config files named by ``specs``: files, folders (their *.yaml), globs, or a paper table name.

    ``table1`` / ``table2`` select the configs of that table under ``configs_root`` (its datasets'
    folders that exist); a following dataset name (``table2 nuaa-sirst``) narrows it to one dataset.
    """
    specs = list(specs)
    root = Path(configs_root)
    found: list[Path] = []
    i = 0
    while i < len(specs):
        spec = specs[i]
        key = spec.lower().replace(" ", "")
        if key in PAPER_TABLES:
            datasets, named = PAPER_TABLES[key], False
            if i + 1 < len(specs) and specs[i + 1].lower() in {d for ds in PAPER_TABLES.values() for d in ds}:
                if specs[i + 1].lower() not in datasets:
                    raise InputError(f"{spec} has no dataset {specs[i + 1]!r} (it covers {', '.join(datasets)})")
                datasets, named = (specs[i + 1].lower(),), True
                i += 1
            folders = [root / d for d in datasets if named or (root / d).is_dir()] or [root / datasets[0]]
            for folder in folders:
                if not folder.is_dir():
                    raise InputError(f"{folder}: no such config folder (--configs-root points to the repository's "
                                     f"configs/)")
                found += sorted(folder.glob("*.yaml"))
        elif Path(spec).is_dir():
            found += sorted(Path(spec).glob("*.yaml"))
        elif any(c in spec for c in "*?["):
            matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if p.endswith((".yaml", ".yml")))
            if not matches:
                raise InputError(f"{spec}: the pattern matches no YAML config")
            found += matches
        elif Path(spec).is_file():
            found.append(Path(spec))
        else:
            raise InputError(f"{spec}: not a config file, folder, glob or paper table ({', '.join(PAPER_TABLES)})")
        i += 1
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise InputError("no configs selected")
    return unique


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings -> dict (passed to ``fdep train`` as ``--key value``)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {pair!r}: expected KEY=VALUE (e.g. --set epochs=100)")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def _rebase_data(data: str, data_root: str | None) -> str:
    """Point a config's ``data/NAME`` paths (joined by +) at ``data_root``."""
    if not data_root:
        return data
    return "+".join(str(Path(data_root) / Path(p).name) for p in data.split("+"))


def parse_seeds(text: str | None) -> list[int] | None:
    """``--seeds 0,1,2`` (or ``0-4``) -> [0, 1, 2]; None or empty: None."""
    if not text:
        return None
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            lo, sep, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if sep and lo else [int(part)]
    except ValueError:
        raise InputError(f"--seeds {text!r}: expected integers separated by commas, e.g. 0,1,2 or 0-4") from None
    return _unique_seeds(seeds, "--seeds")


def _unique_seeds(seeds: Any, source: str) -> list[int]:
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
        raise InputError(f"{source}: expected a non-empty list of integer seeds, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise InputError(f"{source}: seed listed twice in {seeds}")
    return list(seeds)


def make_rows(configs: Sequence[Path], out: str | os.PathLike | None = None, data_root: str | None = None,
              overrides: dict[str, str] | None = None, seeds: list[int] | None = None) -> list[Row]:
    """One :class:`Row` per config and seed; run directories under ``out`` (default: each config's own ``out``).

    ``seeds`` (``--seeds``), else a config's own ``seeds:`` list, makes one row per seed, named
    ``dataset/config/seedN`` with run directory ``.../config/seedN``; without either a config is one row with
    the seed it sets.
    """
    from ..training.config import safe_load_bounded

    overrides = dict(overrides or {})
    if seeds is not None and "seed" in overrides:
        raise InputError("give either --seeds or --set seed=..., not both")
    rows, names = [], set()
    for path in configs:
        try:
            cfg = safe_load_bounded(path.read_text(encoding="utf-8"), path) or {}
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read the config ({e})") from None
        if not isinstance(cfg, dict) or "model" not in cfg:
            raise InputError(f"{path}: not a training config (no 'model' key)")
        dataset = path.parent.name
        name = f"{dataset}/{path.stem}"
        if name in names:
            raise InputError(f"two configs would share the row name {name}")
        names.add(name)
        run_dir = Path(out) / dataset / path.stem if out else Path(cfg.get("out") or f"runs/{dataset}/{path.stem}")
        data = overrides.get("data") or _rebase_data(str(cfg.get("data", "")), data_root)
        base = Row(name=name, config=str(path), run_dir=str(run_dir.resolve()), data=data,
                   model=str(cfg["model"]), variant=str(cfg.get("variant", "original")), dataset=dataset,
                   epochs=int(overrides.get("epochs", cfg.get("epochs", 0)) or 0),
                   overrides={k: v for k, v in overrides.items() if k != "data"}, group=name)
        row_seeds = seeds if seeds is not None else (
            _unique_seeds(cfg["seeds"], f"{path}: seeds") if cfg.get("seeds") is not None else None)
        if row_seeds is None:
            rows.append(base)
            continue
        for seed in row_seeds:
            rows.append(Row(**{**asdict(base), "name": f"{name}/seed{seed}", "seed": seed,
                               "run_dir": str(Path(base.run_dir) / f"seed{seed}"),
                               "overrides": {**base.overrides, "seed": str(seed)}}))
    return rows


# ----------------------------------------------------------------------------------- one row
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


def row_state(row: Row) -> str:
    """``tested`` (skip), ``trained`` (test only), ``partial`` (resume) or ``new``."""
    status = read_status(row)
    if status.get("stage") == "tested" and (row.test_dir / "results.json").exists():
        if status.get("digest") != config_digest(row):
            raise ConfigError(f"{row.run_dir}: finished with a different config, data or overrides than this sweep's "
                              f"{row.name} (give the sweep another --out, or move that run away)")
        return "tested"
    if training_done(row):
        return "trained"
    if (Path(row.run_dir) / "checkpoints" / "last.ckpt").exists():
        return "partial"
    return "new"


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
            ) -> dict[str, Any]:
    """Bring one row to ``tested``; returns its outcome (never raises for a failed stage).

    ``progress`` gets the training's per-epoch lines as they come; ``forward_signals`` passes a SIGTERM/SIGINT
    of this process on to the running stage (the local launcher; :mod:`.sweep_stage`). In a multi-task Slurm
    job every task runs the training stage (Lightning's SLURM environment makes them one DDP run); only task 0
    tests and records the row.
    """
    rank = _slurm_rank()
    log = Path(log_dir) / (row.name.replace("/", "__") + ("" if rank == 0 else f".rank{rank}") + ".log")
    t0 = time.time()
    try:
        state = row_state(row)
    except ConfigError as e:
        return {"row": row.name, "outcome": "failed", "error": str(e), "log": str(log)}
    if state == "tested":
        return {"row": row.name, "outcome": "skipped", "log": str(log)}
    if state in ("new", "partial"):
        Path(row.run_dir).parent.mkdir(parents=True, exist_ok=True)
        code = _cli(train_args(row, resume=state == "partial"), log, progress, forward_signals)
        if rank != 0:
            return {"row": row.name, "outcome": "worker", "exit_code": code, "log": str(log)}
        if stopped_by_signal(code):  # resumed by the next sweep (its last.ckpt is kept)
            write_status(row, stage="interrupted", interrupted_stage="train", exit_code=code, log=str(log))
            return {"row": row.name, "outcome": "interrupted", "stage": "train", "exit_code": code, "log": str(log)}
        if code != 0:
            write_status(row, stage="failed", failed_stage="train", exit_code=code, log=str(log))
            return {"row": row.name, "outcome": "failed", "stage": "train", "log": str(log)}
    if rank != 0:
        return {"row": row.name, "outcome": "worker", "log": str(log)}
    write_status(row, stage="trained", log=str(log))
    code = _cli(test_args(row), log, progress, forward_signals)
    if stopped_by_signal(code):
        write_status(row, stage="interrupted", interrupted_stage="test", exit_code=code, log=str(log))
        return {"row": row.name, "outcome": "interrupted", "stage": "test", "exit_code": code, "log": str(log)}
    if code != 0:
        write_status(row, stage="failed", failed_stage="test", exit_code=code, log=str(log))
        return {"row": row.name, "outcome": "failed", "stage": "test", "log": str(log)}
    write_status(row, stage="tested", log=str(log), seconds=round(time.time() - t0, 1))
    return {"row": row.name, "outcome": "resumed" if state == "partial" else "done", "log": str(log)}


def _slurm_rank() -> int:
    return int(os.environ.get("SLURM_PROCID", "0") or 0)


class RowJob:
    """A row as a submitit job: on timeout or pre-emption it is requeued and resumes from last.ckpt."""

    def __init__(self, row: Row, log_dir: str):
        self.row, self.log_dir = row, log_dir

    def __call__(self) -> dict[str, Any]:
        return run_row(self.row, self.log_dir)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(RowJob(self.row, self.log_dir))


# ----------------------------------------------------------------------------------- the sweep
@dataclass
class SlurmOptions:
    partition: str | None = None
    gpus_per_job: int = 1
    nodes: int = 1
    cpus_per_task: int = 8
    time_min: int = 24 * 60
    concurrency: int = 8
    extra: dict[str, Any] = field(default_factory=dict)


def submit_rows(rows: list[Row], sweep_dir: Path, launcher: str, slurm: SlurmOptions) -> list[dict[str, Any]]:
    """Run ``rows`` through submitit (Slurm, or its local/debug executors); waits for every job."""
    try:
        import submitit
    except ImportError:
        raise ConfigError("the slurm launcher needs submitit: pip install submitit") from None
    cluster = {"slurm": "slurm", "submitit-local": "local", "submitit-debug": "debug"}[launcher]
    executor = submitit.AutoExecutor(folder=str(sweep_dir / "submitit" / "%j"), cluster=cluster)
    params: dict[str, Any] = {"timeout_min": slurm.time_min, "name": "fdep-sweep"}
    if cluster == "slurm":
        # one task per GPU so Lightning's SLURM environment drives DDP across the job's GPUs and nodes
        params.update(slurm_partition=slurm.partition, gpus_per_node=slurm.gpus_per_job, nodes=slurm.nodes,
                      tasks_per_node=max(1, slurm.gpus_per_job), cpus_per_task=slurm.cpus_per_task,
                      slurm_array_parallelism=slurm.concurrency, **slurm.extra)
        params = {k: v for k, v in params.items() if v is not None}
    executor.update_parameters(**params)
    if cluster == "slurm":  # the job's GPUs and nodes are the run's DDP world unless the user said otherwise
        defaults = {"accelerator": "gpu", "devices": str(max(1, slurm.gpus_per_job)), "num_nodes": str(slurm.nodes)}
        rows = [Row(**{**asdict(r), "overrides": {**defaults, **r.overrides}}) for r in rows]
    log_dir = str(sweep_dir / "logs")
    jobs = [executor.submit(RowJob(r, log_dir)) for r in rows]
    outcomes = []
    for row, job in zip(rows, jobs):
        try:
            result = job.result()
            outcomes.append(result[0] if isinstance(result, list) else result)  # task 0's outcome
        except Exception as e:  # noqa: BLE001 - a job that died is a failed row, the others still count
            outcomes.append({"row": row.name, "outcome": "failed", "error": f"{type(e).__name__}: {e}"[:300],
                             "log": str(Path(log_dir) / (row.name.replace("/", "__") + ".log")),
                             "job_id": getattr(job, "job_id", None)})
    return outcomes


def run_sweep(rows: list[Row], sweep_dir: str | os.PathLike, launcher: str = "local",
              slurm: SlurmOptions | None = None, echo: Any = None) -> dict[str, Any]:
    """Run every row (skipping finished ones), then write the results table; returns a summary."""
    echo = echo or _say
    if launcher not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {launcher!r} (choose from {', '.join(LAUNCHERS)})")
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    table_rows = record_rows(rows, sweep_dir)
    if launcher == "local":
        outcomes = []
        for i, row in enumerate(rows, 1):
            echo(f"[{i}/{len(rows)}] {row.name}: {row_state_label(row)}")
            outcome = run_row(row, sweep_dir / "logs", forward_signals=True,
                              progress=lambda line, i=i, row=row: echo(f"[{i}/{len(rows)}] {row.name}: {line}"))
            echo(f"[{i}/{len(rows)}] {row.name}: {outcome['outcome']}"
                 + (f" ({outcome.get('stage', '')} failed; log {outcome['log']})" if outcome["outcome"] == "failed"
                    else ""))
            outcomes.append(outcome)
            if outcome["outcome"] == "interrupted":  # the user stopped the sweep: the other rows wait for a rerun
                echo(f"stopped at row {row.name}; rerun the same fdep sweep to resume it")
                break
    else:
        echo(f"submitting {len(rows)} rows with the {launcher} launcher")
        outcomes = submit_rows(rows, sweep_dir, launcher, slurm or SlurmOptions())
    table = write_results(table_rows, sweep_dir)
    failed = [o for o in outcomes if o["outcome"] == "failed"]
    interrupted = [o for o in outcomes if o["outcome"] == "interrupted"]
    return {"outcomes": outcomes, "failed": failed, "interrupted": interrupted, **table}


def _say(line: str) -> None:
    print(line, flush=True)  # a sweep's console may be a log file: each line as it happens


def row_state_label(row: Row) -> str:
    try:
        return {"tested": "finished, skipped", "trained": "trained, testing", "partial": "resuming",
                "new": "training"}[row_state(row)]
    except ConfigError as e:
        return f"refused ({e})"


# ----------------------------------------------------------------------------------- the table
def record_rows(rows: list[Row], sweep_dir: Path) -> list[tuple[Row, str | None]]:
    """SWEEP/rows.json: the rows of earlier runs of this sweep folder, updated with ``rows``; returns them all.

    Each row is kept with the digest of the config it ran with, so the table can tell a run directory
    of this row from one another config left there. A row of ``rows`` replaces the earlier one of its name.
    """
    merged: dict[str, tuple[Row, str | None]] = {}
    try:
        earlier = json.loads((sweep_dir / "rows.json").read_text())
    except (OSError, ValueError):
        earlier = []
    names = {f.name for f in fields(Row)}
    for entry in earlier if isinstance(earlier, list) else []:
        try:
            row = Row(**{k: v for k, v in entry.items() if k in names})
        except TypeError:  # not a row of this fdep version: left out of the table
            continue
        merged[row.name] = (row, entry.get("digest") or _digest_or_none(row))
    for row in rows:
        merged[row.name] = (row, config_digest(row))
    write_json(sweep_dir / "rows.json", [{**asdict(r), "digest": d} for r, d in merged.values()])
    return list(merged.values())


def _digest_or_none(row: Row) -> str | None:
    try:
        return config_digest(row)
    except OSError:  # the config file is gone: nothing to compare the run directory with
        return None


def paper_numbers(model: str, variant: str, dataset: str) -> dict[str, float] | None:
    """The paper's published row for (network, variant, dataset) in the paper's units (fdep.paper), or None."""
    from ..paper import paper_row

    row = paper_row(model, variant, dataset)
    if row is None:
        return None
    return {k: v for k, v in row.values.items() if k in dict(METRICS)}


def row_stage(row: Row, digest: str | None) -> tuple[str, dict[str, Any]]:
    """(stage shown in the table, the run directory's status) of a row that ran with the config ``digest``.

    A status written for another config is not this row's: a finished one is shown as ``refused`` (the
    sweep would not overwrite it), any other as ``not run``. ``digest`` None: the status is taken as it is.
    """
    status = read_status(row)
    stage = status.get("stage", "not run")
    if digest is not None and status and status.get("digest") != digest:
        return ("refused" if stage == "tested" else "not run"), {}
    return stage, status


def table_records(rows: list[Row] | list[tuple[Row, str | None]]) -> list[dict[str, Any]]:
    """One dict per row: status, our metrics (paper units), the paper's, and the differences.

    ``rows``: rows, or (row, digest of the config it ran with) pairs (:func:`record_rows`); for a bare row the
    digest of its config file as it is now.
    """
    records = []
    for item in rows:
        row, digest = item if isinstance(item, tuple) else (item, _digest_or_none(item))
        stage, status = row_stage(row, digest)
        rec: dict[str, Any] = {"row": row.name, "model": row.model, "variant": row.variant, "dataset": row.dataset,
                               "stage": stage, "log": status.get("log", "")}
        results_path = row.test_dir / "results.json"
        ours = json.loads(results_path.read_text()) if stage == "tested" and results_path.exists() else {}
        cross = ours.get("cross_dataset")
        paper = {} if cross else (paper_numbers(row.model, row.variant, row.dataset) or {})
        if cross:  # the paper's rows are in-dataset: none is this row's comparison
            rec["stage"] = f"{stage} ({cross})"
        for key, scale in METRICS:
            mine = ours.get(key)
            rec[key] = None if mine is None else round(scale * float(mine), 2)
            theirs = paper.get(key)
            rec[f"paper_{key}"] = None if theirs is None else round(float(theirs), 2)
            rec[f"diff_{key}"] = (None if rec[key] is None or rec[f"paper_{key}"] is None
                                  else round(rec[key] - rec[f"paper_{key}"], 2))
        rec["params_m"] = None if ours.get("params_m") is None else round(float(ours["params_m"]), 3)
        rec["collapsed"] = bool(ours.get("collapsed", False))
        rec["seed"], rec["group"] = row.seed, row.group or row.name
        records.append(rec)
    return records


def seed_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary record per config run over seeds: the mean, the std (``KEY_std``) and which seeds count."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        if rec.get("seed") is not None:
            groups.setdefault(rec["group"], []).append(rec)
    out = []
    keys = [k for k, _ in METRICS]
    for group, recs in groups.items():
        summary = summarise(recs, keys)
        first = recs[0]
        rec = {"row": f"{group} (mean ± std)", "model": first["model"], "variant": first["variant"],
               "dataset": first["dataset"], "stage": summary_note(summary), "log": ""}
        for key in keys:
            mean, std = summary[key], summary[f"{key}_std"]
            rec[key] = None if mean is None else round(mean, 2)
            rec[f"{key}_std"] = None if std is None else round(std, 2)
            rec[f"paper_{key}"] = first[f"paper_{key}"]
            rec[f"diff_{key}"] = (None if rec[key] is None or rec[f"paper_{key}"] is None
                                  else round(rec[key] - rec[f"paper_{key}"], 2))
        rec["params_m"] = first["params_m"]
        rec["collapsed"] = bool(summary["collapsed"])
        rec["seed"], rec["group"] = "+".join(str(r["seed"]) for r in recs), group
        out.append(rec)
    return out


def _fmt(v: Any, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.2f}" if signed else (f"{v:.2f}" if isinstance(v, float) else str(v))


def write_results(rows: list[Row] | list[tuple[Row, str | None]], sweep_dir: Path) -> dict[str, Any]:
    """SWEEP/results.csv, results.md and (for tested rows) report.html; returns their paths and records.

    ``rows`` as :func:`table_records` takes them."""
    records = table_records(rows)
    summaries = seed_records(records)
    buf = io.StringIO()
    fieldnames = list(records[0]) if records else ["row"]
    for rec in summaries:
        fieldnames += [k for k in rec if k not in fieldnames]
    writer = csv.DictWriter(buf, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(records + summaries)
    with atomic_write(sweep_dir / "results.csv", "w") as f:
        f.write(buf.getvalue())
    heads = [FA_LABEL if k == "fa" else k for k, _ in METRICS]
    lines = ["| row | stage | " + " | ".join(f"{h} (paper, diff)" for h in heads) + " | params (M) |",
             "|---|---|" + "---|" * (len(METRICS) + 1)]
    for r in records:
        cells = []
        for k, _ in METRICS:
            cells.append(f"{_fmt(r[k])} ({_fmt(r[f'paper_{k}'])}, {_fmt(r[f'diff_{k}'], signed=True)})")
        stage = r["stage"] + (" (collapsed: constant output)" if r.get("collapsed") else "")
        lines.append(f"| {r['row']} | {stage} | " + " | ".join(cells) + f" | {_fmt(r['params_m'])} |")
    for r in summaries:
        cells = []
        for k, _ in METRICS:
            cells.append(f"{format_mean_std(r[k], r[f'{k}_std'])} ({_fmt(r[f'paper_{k}'])}, "
                         f"{_fmt(r[f'diff_{k}'], signed=True)})")
        lines.append(f"| **{r['row']}** | {r['stage']} | " + " | ".join(cells) + f" | {_fmt(r['params_m'])} |")
    note = (f"\nHSE, HSE-P, HSE-T, IoU, nIoU, Pd x100; {FA_LABEL}. "
            "Paper numbers from fdep's copy of the paper's tables"
            + ("; a row over seeds: mean ± sample std of its tested seeds, each seed listed above it" if summaries
               else "") + ".\n")
    with atomic_write(sweep_dir / "results.md", "w") as f:
        f.write("\n".join(lines) + "\n" + note)
    out = {"records": records, "seed_summaries": summaries, "csv": str(sweep_dir / "results.csv"),
           "markdown": str(sweep_dir / "results.md")}
    tested = [item[0] if isinstance(item, tuple) else item for item, rec in zip(rows, records)
              if rec["stage"] == "tested"]
    if tested:
        from .report import write_report

        out["html"] = str(write_report([r.run_dir for r in tested], sweep_dir / "report.html", split="test",
                                       overwrite=True))
    return out

