"""``fdep sweep``: train and test a set of configs (a folder, a glob, a paper table) locally or on Slurm."""

from __future__ import annotations

import argparse
import logging


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..tools.sweep_launchers import LAUNCHERS

    p = sub.add_parser(
        "sweep",
        help="train + test many configs (paper tables) locally or on a Slurm cluster",
        description="Run each config as an independent row: fdep train, then fdep test on the test split. "
        "Finished rows are skipped, killed rows resume from their last checkpoint, a failed row is reported with "
        "its log and the others go on. Writes SWEEP/results.csv, results.md and report.html with the paper's "
        "numbers beside each row. See docs/training.md.",
    )
    p.add_argument("configs", nargs="+", metavar="CONFIGS",
                   help="config files, folders, globs, or a paper table: table1 | table2 [DATASET]")
    p.add_argument("--out", default="runs/sweep",
                   help="sweep folder: logs, tables and the runs SWEEP/<dataset>/<config> (default: runs/sweep)")
    p.add_argument("--runs-in-config-out", action="store_true",
                   help="put each run where its config's `out` says instead of under --out")
    p.add_argument("--configs-root", default="configs", help="where paper-table configs live (default: configs)")
    p.add_argument("--data-root", default=None, help="folder holding the datasets (replaces the configs' data/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting in every row, e.g. --set epochs=100 --set accelerator=gpu (repeatable)")
    p.add_argument("--seeds", default=None, metavar="LIST",
                   help="run each config once per seed (0,1,2 or 0-4): rows CONFIG/seedN, then their mean ± std "
                   "(default: a config's own seeds: list, else its seed)")
    p.add_argument("--launcher", default="local", choices=list(LAUNCHERS),
                   help="local: one row after another here (default); slurm: one Slurm job per row via submitit; "
                   "submitit-local / submitit-debug: submitit's executors without a cluster")
    p.add_argument("--partition", default=None, help="Slurm partition")
    p.add_argument("--gpus-per-job", type=int, default=1, help="GPUs per row (DDP inside the job; default 1)")
    p.add_argument("--nodes", type=int, default=1, help="nodes per row (multi-node DDP; default 1)")
    p.add_argument("--cpus-per-task", type=int, default=8, help="CPUs per Slurm task (default 8)")
    p.add_argument("--time", type=int, default=24 * 60, metavar="MINUTES",
                   help="time limit per job in minutes; a job that hits it is requeued and resumes (default 1440)")
    p.add_argument("--concurrency", type=int, default=8, help="at most this many rows running at once (Slurm)")
    p.add_argument("--dry-run", action="store_true", help="list the rows and what would happen to each, run nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..tools.sweep import run_sweep
    from ..tools.sweep_launchers import SlurmOptions
    from ..tools.sweep_row import row_state_label
    from ..tools.sweep_select import find_configs, make_rows, parse_overrides, parse_seeds

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("gpus_per_job", "nodes", "cpus_per_task", "time", "concurrency"):
        if getattr(args, name) < (0 if name == "gpus_per_job" else 1):
            raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    configs = find_configs(args.configs, args.configs_root)
    rows = make_rows(configs, out=None if args.runs_in_config_out else args.out, data_root=args.data_root,
                     overrides=parse_overrides(args.overrides), seeds=parse_seeds(args.seeds))
    if args.dry_run:
        for row in rows:
            print(f"{row.name}: {row_state_label(row)} -> {row.run_dir}")
        return 0
    slurm = SlurmOptions(partition=args.partition, gpus_per_job=args.gpus_per_job, nodes=args.nodes,
                         cpus_per_task=args.cpus_per_task, time_min=args.time, concurrency=args.concurrency)
    summary = run_sweep(rows, args.out, launcher=args.launcher, slurm=slurm)
    print(f"fdep sweep: {len(summary['finished'])}/{len(rows)} rows finished; table {summary['markdown']}"
          + (f", report {summary['html']}" if summary.get("html") else ""))
    for f in summary["failed"]:
        print(f"fdep sweep: row {f['row']} failed" + (f" in {f['stage']}" if f.get("stage") else "")
              + (f": {f['error']}" if f.get("error") else "") + f"; log {f['log']}")
    for f in summary.get("interrupted", []):
        print(f"fdep sweep: row {f['row']} interrupted in {f['stage']} (exit {f['exit_code']}); rerun this sweep to "
              f"resume it; log {f['log']}")
    if summary.get("interrupted"):
        return int(summary["interrupted"][0]["exit_code"]) if summary["interrupted"][0]["exit_code"] > 0 else 130
    return 1 if summary["failed"] else 0
