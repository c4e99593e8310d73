"""Benchmark the model zoo: parameters, FLOPs at two sizes, CPU latency and latency relative to a baseline.

Every registered network is measured in one run (batch 1, eval mode,
torch.inference_mode, median of ``--repeats`` timed passes after ``--warmup``).
The last column divides each latency by the baseline's (ACM by default)
measured in the same run, which is the figure to compare across machines.

    PYTHONPATH=src python benchmarks/bench_models.py                      # print the table
    PYTHONPATH=src python benchmarks/bench_models.py --write-docs docs/models.md

``--write-docs`` rewrites only the part of the file between the
``<!-- bench_models:begin -->`` and ``<!-- bench_models:end -->`` markers.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import sys
from pathlib import Path

import torch

from common import DocSection
from fdep.errors import FdepError, InputError, ModelError
from fdep.models import create_model, is_model, list_models
from fdep.models.profile import median_latency, summarize_model

SECTION = DocSection("bench_models")
BEGIN, END = SECTION.markers
#: (text, body, where="<text>"): ``text`` with the section's body replaced
replace_section = SECTION.replace
DEFAULT_BASELINE = "acm"


def pick_baseline(names: list[str], requested: str | None) -> str:
    """The baseline network: the requested one, else ACM when registered, else the first benchmarked."""
    if requested is not None:
        if not is_model(requested):
            raise ModelError(f"unknown baseline model {requested!r}; available: {', '.join(list_models())}")
        return requested.lower()
    return DEFAULT_BASELINE if is_model(DEFAULT_BASELINE) else names[0]


def run_benchmark(
    names: list[str], latency_size: int, flops_sizes: list[int], repeats: int, warmup: int, baseline: str
) -> list[dict]:
    """One dict per network; the baseline is timed too (and listed) when it is not among ``names``."""
    todo = list(names) + ([baseline] if baseline not in names else [])
    rows = []
    for name in todo:
        s = summarize_model(name, size=flops_sizes[0])
        row = {"name": name, "params_m": s.params_m, "paper_params_m": s.paper_params_m}
        row["gflops"] = {flops_sizes[0]: s.gflops}
        for size in flops_sizes[1:]:
            row["gflops"][size] = summarize_model(name, size=size).gflops
        torch.manual_seed(0)
        model = create_model(name)
        row["latency_ms"] = 1e3 * median_latency(model, (1, 1, latency_size, latency_size), repeats, warmup)
        del model
        gc.collect()
        rows.append(row)
        print(f"  {name}: {row['latency_ms']:.1f} ms", file=sys.stderr)
    base = next(r["latency_ms"] for r in rows if r["name"] == baseline)
    for r in rows:
        r["ratio"] = r["latency_ms"] / base
    return rows


def markdown_table(rows: list[dict], latency_size: int, flops_sizes: list[int], baseline: str) -> str:
    head = ["model", "params (M)", "paper (M)"]
    head += [f"GFLOPs @{s}" for s in flops_sizes]
    head += [f"CPU latency @{latency_size} (ms)", f"latency / {baseline}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in rows:
        cells = [r["name"], f"{r['params_m']:.2f}", f"{r['paper_params_m']:.2f}" if r["paper_params_m"] else "-"]
        cells += [f"{r['gflops'][s]:.2f}" for s in flops_sizes]
        cells += [f"{r['latency_ms']:.1f}", f"{r['ratio']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment_note(threads: int, repeats: int, warmup: int) -> str:
    day = datetime.date.today().isoformat()
    return (
        f"Measured {day} with torch {torch.__version__} on {platform.machine()} "
        f"({os.cpu_count()} logical CPUs, {threads} torch thread(s)); batch 1, eval, inference_mode, "
        f"median of {repeats} runs after {warmup} warm-up. FLOPs = 2 x MACs of conv/matmul "
        f"(torch.utils.flop_counter). Absolute latencies depend on the machine; compare the ratio column."
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="networks to benchmark (default: all learned networks)")
    p.add_argument("--size", type=int, default=256, help="latency input height/width (default: 256)")
    p.add_argument("--flops-sizes", type=int, nargs="+", default=[256, 512], help="FLOPs input sizes")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per network (default: 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default: 2)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default: 1)")
    p.add_argument("--baseline", default=None, help="latency baseline network (default: acm when registered)")
    p.add_argument("--write-docs", type=Path, default=None, help="rewrite the marked table section of this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        for s in [args.size, *args.flops_sizes]:
            if s < 32 or s % 32:
                raise InputError(f"sizes must be positive multiples of 32, got {s}")
        names = [n.lower() for n in (args.names or list_models(kind="learned"))]
        for n in names:
            if not is_model(n):
                raise ModelError(f"unknown model {n!r}; available: {', '.join(list_models())}")
            if n in list_models(kind="classical"):
                raise ModelError(f"{n} is a classical method (no FLOPs to count): time it with "
                                 f"benchmarks/bench_classical.py")
        baseline = pick_baseline(names, args.baseline)
        if args.write_docs:
            SECTION.check(args.write_docs)  # fail before measuring
        torch.set_num_threads(args.threads)
        rows = run_benchmark(names, args.size, args.flops_sizes, args.repeats, args.warmup, baseline)
        table = markdown_table(rows, args.size, args.flops_sizes, baseline)
        note = environment_note(args.threads, args.repeats, args.warmup)
        print(table)
        print()
        print(note)
        if args.write_docs:
            SECTION.write(args.write_docs, table + "\n\n" + note)
            print(f"wrote the table into {args.write_docs}", file=sys.stderr)
    except FdepError as e:
        print(f"bench_models: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
