"""torch's default CPU threads against fdep's choice (fdep.cpu), on a quiet machine and beside a busy process.

Four conditions in one run: {torch default threads, fdep's choice} x {no competitor, with competing busy
processes this script starts itself (``--competitors``, default one per core but one; each spins a core)}.
Each condition runs in a fresh Python process, so the thread choice and OpenMP's wait policy are made at
start-up exactly as the ``fdep`` CLI makes them (``fdep.cpu.configure_threads()`` before torch is
imported); the default condition imports torch and leaves it alone. $OMP_NUM_THREADS and
$OMP_WAIT_POLICY are removed from the workers' environment. Workloads (median seconds per call):

* ``forward``: ACM inference, batch 1, 1 x 256 x 256 (what ``fdep test``/``predict`` time per image);
* ``train-step``: ACM forward + backward + SGD step, batch 4, 1 x 128 x 128 (what ``fdep train`` repeats).

Printed: the seconds, the threads each worker ran with, the ratio default / fdep (above 1: fdep's choice
is faster) and the slowdown the competitor causes to each. The other processes' load at the start is
printed too: "no competitor" is only idle on an otherwise idle machine.

    PYTHONPATH=src python benchmarks/bench_threads.py [--repeats 20] [--warmup 3] [--competitors N]
    PYTHONPATH=src python benchmarks/bench_threads.py --write-docs docs/benchmarks.md

``--write-docs`` rewrites only the part of the file between ``<!-- bench_threads:begin -->`` and
``<!-- bench_threads:end -->``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from common import DocSection, src_env, use_src

SECTION = DocSection("bench_threads")
WORKLOADS = ("forward", "train-step")
SPIN = "while True:\n    pass\n"


def worker(mode: str, workload: str, repeats: int, warmup: int, size: int) -> dict:
    """Run in a fresh process: choose threads as ``mode`` says, then time ``workload``."""
    choice = None
    if mode == "fdep":
        from fdep.cpu import configure_threads

        choice = configure_threads()
    import statistics

    import torch

    from fdep.models import create_model

    torch.manual_seed(0)
    net = create_model("acm")
    if workload == "forward":
        net.eval()
        x = torch.randn(1, 1, size, size)

        def call() -> None:
            with torch.inference_mode():
                net(x)
    else:
        net.train()
        x, y = torch.randn(4, 1, size // 2, size // 2), (torch.rand(4, 1, size // 2, size // 2) > 0.99).float()
        opt = torch.optim.SGD(net.parameters(), lr=1e-3)

        def call() -> None:
            out = net(x)
            out = out[-1] if isinstance(out, (list, tuple)) else out
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    times = []
    for k in range(warmup + repeats):
        t0 = time.perf_counter()
        call()
        if k >= warmup:
            times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "threads": torch.get_num_threads(),
            "wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
            "busy_at_choice": None if choice is None else choice.busy}


def run_worker(mode: str, workload: str, args: argparse.Namespace) -> dict:
    env = src_env({k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")})
    cmd = [sys.executable, __file__, "--worker", mode, "--workload", workload, "--repeats", str(args.repeats),
           "--warmup", str(args.warmup), "--size", str(args.size)]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:  # a starved condition is a result too: "more than TIMEOUT s"
        res = {"median_s": None, "threads": "?", "wait_policy": "?", "busy_at_choice": None}
    else:
        if r.returncode != 0:
            raise SystemExit(f"worker {mode}/{workload} failed: {r.stderr.strip()[-800:]}")
        res = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"  {workload} with {mode} threads: {time.perf_counter() - t0:.1f} s wall in all", file=sys.stderr)
    return res


def measure(args: argparse.Namespace) -> tuple[dict, str]:
    """{(load, workload, mode): worker result} and a line describing the machine."""
    use_src()
    from fdep.cpu import busy_cores, usable_cores

    cores = usable_cores()
    n_comp = args.competitors if args.competitors is not None else max(1, cores - 1)
    other0 = busy_cores(1.0)
    results: dict = {}
    for load in ("no competitor", f"{n_comp} busy process(es)"):
        spinners = []
        try:
            if load != "no competitor":
                spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n_comp)]
                time.sleep(args.settle)
            print(f"{load}:", file=sys.stderr)
            for workload in args.workloads:
                for mode in ("default", "fdep"):
                    results[(load, workload, mode)] = run_worker(mode, workload, args)
        finally:
            for p in spinners:
                p.kill()
                p.wait()
    import torch

    machine = (f"{platform.node()}: {cores} usable core(s) ({platform.processor() or platform.machine()}), torch "
               f"{torch.__version__}, Python {platform.python_version()}; other processes kept "
               f"{'?' if other0 is None else f'{other0:.1f}'} core(s) busy at the start; {args.repeats} timed calls "
               f"after {args.warmup} warm-up, median; {datetime.date.today().isoformat()}")
    return results, machine


def table(results: dict, workloads: list[str], timeout: float) -> str:
    def secs(r: dict) -> str:
        return f"> {timeout:g} (timed out)" if r["median_s"] is None else f"{r['median_s']:.4f}"

    def ratio(a: dict, b: dict) -> str:
        if a["median_s"] is None or b["median_s"] is None:
            return "-"
        return f"{a['median_s'] / b['median_s']:.2f}"

    loads = list(dict.fromkeys(k[0] for k in results))
    lines = ["| workload | machine | torch default: s (threads) | fdep's choice: s (threads) | default / fdep |",
             "|---|---|---|---|---|"]
    for w in workloads:
        for load in loads:
            d, f = results[(load, w, "default")], results[(load, w, "fdep")]
            lines.append(f"| {w} | {load} | {secs(d)} ({d['threads']}) | {secs(f)} "
                         f"({f['threads']}, {f['wait_policy'].lower()} wait) | **{ratio(d, f)}** |")
    lines.append("")
    for w in workloads:
        for mode in ("default", "fdep"):
            idle, busy = (results[(load, w, mode)] for load in loads)
            lines.append(f"- {w}, {'torch default' if mode == 'default' else 'fdep'}: the competitor slows it "
                         f"{ratio(busy, idle)}x")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20, help="timed calls per condition (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls first (default 3)")
    ap.add_argument("--size", type=int, default=256, help="forward input side (train-step: half; default 256)")
    ap.add_argument("--workloads", type=lambda s: s.split(","), default=list(WORKLOADS),
                    help=f"comma-separated, from {','.join(WORKLOADS)} (default both)")
    ap.add_argument("--competitors", type=int, default=None,
                    help="busy processes started for the loaded half (default: usable cores - 1, at least 1)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds between starting them and timing")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds per worker; a condition that takes longer is reported as timed out (default 600)")
    ap.add_argument("--write-docs", type=Path, help="replace the bench_threads block of this Markdown file")
    ap.add_argument("--worker", choices=("default", "fdep"), help=argparse.SUPPRESS)
    ap.add_argument("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.workload, args.repeats, args.warmup, args.size)))
        return 0
    bad = [w for w in args.workloads if w not in WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s) {', '.join(bad)}; choose from {', '.join(WORKLOADS)}")
    if args.write_docs:
        use_src()
        from fdep.errors import InputError

        try:
            SECTION.check(args.write_docs)  # fail before measuring
        except InputError as e:
            ap.error(str(e))
    results, machine = measure(args)
    text = f"{machine}\n\n{table(results, args.workloads, args.timeout)}"
    print(text)
    if args.write_docs:
        SECTION.write(args.write_docs, f"`benchmarks/bench_threads.py` on {text}")
        print(f"wrote {args.write_docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
