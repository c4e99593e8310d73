"""Start-up time of the ``fdep`` CLI: wall seconds of ``--help`` style calls in fresh processes.

Each command line runs ``--repeats`` times as ``python -m fdep.cli.main ARGS`` (this checkout's src
first on the path), round-robin so a load change affects every line alike; the median and the
minimum are printed with the machine's cores and load average, and whether the process imported
torch (``-X importtime`` is not needed: the probe asks ``sys.modules`` at exit).

    PYTHONPATH=src python benchmarks/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

from common import src_env

LINES = (["--help"], ["train", "--help"], ["test", "--help"], ["models", "--help"], ["--version"])
PROBE = ("import sys, atexit\n"
         "atexit.register(lambda: sys.stderr.write('torch imported: %s\\n' % ('torch' in sys.modules)))\n"
         "from fdep.cli.main import main\nsys.exit(main(sys.argv[1:]))\n")


def run_once(args: list[str]) -> tuple[float, bool]:
    env = src_env()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"fdep {' '.join(args)} failed: {r.stderr.strip()[-500:]}")
    return wall, "torch imported: True" in r.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs per command line (default 5)")
    args = ap.parse_args()
    times: dict[str, list[float]] = {" ".join(a): [] for a in LINES}
    torch_seen: dict[str, bool] = {}
    load0 = os.getloadavg()[0]
    for _ in range(args.repeats):
        for a in LINES:
            wall, torch_in = run_once(list(a))
            times[" ".join(a)].append(wall)
            torch_seen[" ".join(a)] = torch_in
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
          f"{load0:.2f} -> {os.getloadavg()[0]:.2f}; {args.repeats} runs per line, round-robin")
    print(f"{'command':24s} {'median s':>9s} {'min s':>7s}  torch imported")
    for line, ts in times.items():
        print(f"fdep {line:19s} {statistics.median(ts):9.2f} {min(ts):7.2f}  {'yes' if torch_seen[line] else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
