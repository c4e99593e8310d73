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

This module runs the rows through a launcher and writes the table; the parts: choosing rows
(:mod:`.sweep_select`), one row (:mod:`.sweep_row`), its stages (:mod:`.sweep_stage`), what it ended as
(:mod:`.sweep_outcome`) and the launchers, local and submitit/Slurm (:mod:`.sweep_launchers`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from ..fileio import atomic_write, write_json
from ..metrics.specs import PAPER_SCORES
from ..metrics.units import FA_LABEL
from .seeds import format_mean_std, summarise, summary_note
from .sweep_launchers import SlurmOptions, make_launcher
from .sweep_outcome import Outcome
from .sweep_row import Row, config_digest, read_status

#: results.json keys shown in the table, with their scale (the paper's units)
METRICS = tuple((s.key, s.scale) for s in PAPER_SCORES)


def run_sweep(rows: list[Row], sweep_dir: str | os.PathLike, launcher: str = "local",
              slurm: SlurmOptions | None = None, echo: Any = None) -> dict[str, Any]:
    """Run every row (skipping finished ones) with the launcher named ``launcher``, then write the results table;
    returns a summary: the outcomes (plain dicts), the failed, interrupted and finished ones, and the table."""
    echo = echo or _say
    chosen = make_launcher(launcher, slurm)
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    table_rows = record_rows(rows, sweep_dir)
    outcomes = chosen.run(rows, sweep_dir, echo)
    table = write_results(table_rows, sweep_dir)
    return {"outcomes": [o.as_dict() for o in outcomes],
            "failed": [o.as_dict() for o in outcomes if o.outcome is Outcome.FAILED],
            "interrupted": [o.as_dict() for o in outcomes if o.outcome is Outcome.INTERRUPTED],
            "finished": [o.as_dict() for o in outcomes if o.outcome.finished], **table}


def _say(line: str) -> None:
    print(line, flush=True)  # a sweep's console may be a log file: each line as it happens


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

