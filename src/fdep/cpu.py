"""CPU threads for torch on a shared machine: the free cores, fdep's choice, and the load a timing ran under.

torch starts one intra-op thread per core. When other jobs keep cores busy, each parallel operation
then waits for its slowest thread, and OpenMP's spinning waiters take CPU from everyone: measured on
a 2-core machine with one competing job, MPCM ``fdep test`` took 124 s with torch's default threads
and 4.7 s with one. So every fdep command that computes with torch starts with at most as many
threads as there are free cores (:func:`choose_threads`; ``--threads`` overrides it, and so does
``OMP_NUM_THREADS``), and on a shared machine OpenMP is asked to wait passively
(``OMP_WAIT_POLICY=PASSIVE``), which only works when set before torch is imported
(:func:`configure_threads` is called by the CLI before any command imports torch).

"Busy" is measured, not guessed from the load average alone: the cores' busy time in
``/proc/stat`` over a short window, on the cores this process may use, minus this process's own CPU
time. The 1-minute load average reacts within minutes and counts this process's own recent work;
it is the fallback where ``/proc/stat`` does not exist, and it is recorded beside a latency.
A leaf module: imports nothing of fdep but :mod:`fdep.errors`, and torch only when applying threads.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

#: seconds of /proc/stat sampling behind a thread choice (the price of each torch command's start-up)
SAMPLE_S = 0.25
#: a core counts as free when at least this much of it is idle (noise of a quiet machine stays "free")
FREE_SLACK = 0.25


def usable_cores() -> int:
    """Cores this process may run on: its affinity mask, capped by a cgroup CPU quota (containers)."""
    cores = len(_affinity())
    try:  # cgroup v2: "max 100000" or "<quota> <period>"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _cpu_ticks() -> dict[int, tuple[int, int]] | None:
    """Per core: (busy, total) clock ticks since boot, from /proc/stat; None without it."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    ticks = {}
    for line in lines:
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            v = [int(x) for x in values[:8]]  # user nice system idle iowait irq softirq steal
            ticks[int(name[3:])] = (sum(v) - v[3] - v[4], sum(v))
    return ticks or None


def _affinity() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return set(range(os.cpu_count() or 1))


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, all cores), or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover - Windows
        return None


class LoadMeter:
    """Cores kept busy by other processes while a block runs (this process's own CPU time subtracted).

    ``with LoadMeter() as m: work()`` (or ``m = LoadMeter().start()`` ... ``m.stop()``) then ``m.other_busy``
    (cores, or None without /proc/stat; ``m.all_busy`` with this process, ``m.own`` this process alone); the
    1-minute load average at the end is ``m.load_avg``.
    """

    def __enter__(self) -> LoadMeter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> LoadMeter:
        self.other_busy: float | None = None
        self.all_busy: float | None = None
        self.own: float | None = None
        self.load_avg: float | None = None
        self._ticks = _cpu_ticks()
        self._own, self._wall = time.process_time(), time.perf_counter()
        return self

    def stop(self) -> LoadMeter:
        ticks, own = _cpu_ticks(), time.process_time() - self._own
        wall = time.perf_counter() - self._wall
        self.load_avg = load_average()
        if ticks is None or self._ticks is None or wall <= 0:
            return self
        # the cores this process may use now (a scheduler may re-pin it meanwhile), each core's busy share
        cpus = _affinity() & set(ticks) & set(self._ticks)
        shares = [(ticks[c][0] - self._ticks[c][0]) / (ticks[c][1] - self._ticks[c][1]) for c in cpus
                  if ticks[c][1] > self._ticks[c][1]]
        if not shares:
            return self
        # busy cores (the idle cores' shares count 0), less what this process used itself
        self.all_busy, self.own = sum(shares) * len(cpus) / len(shares), own / wall
        self.other_busy = max(0.0, self.all_busy - self.own)
        return self


def busy_cores(window: float = SAMPLE_S) -> float | None:
    """Cores kept busy by other processes now (sampled over ``window`` s); the load average without /proc/stat."""
    with LoadMeter() as m:
        time.sleep(window)
    if m.other_busy is not None:
        return m.other_busy
    return m.load_avg


@dataclass(frozen=True)
class ThreadChoice:
    """The threads torch runs with, and why (printed by the CLI, recorded by fdep test)."""

    threads: int
    cores: int
    busy: float | None  #: cores busy with other work when chosen (None: unknown)
    source: str  #: "--threads", "OMP_NUM_THREADS" or "free cores"

    @property
    def reduced(self) -> bool:
        """Fewer threads than cores because other processes keep cores busy (worth telling the user)."""
        return self.source == "free cores" and self.threads < self.cores

    def describe(self) -> str:
        busy = "" if self.busy is None else f", {self.busy:.1f} busy with other work"
        how = {"free cores": "the free cores; --threads N to override"}.get(self.source, self.source)
        return f"{self.threads} CPU thread(s) ({self.cores} core(s){busy}; from {how})"


def parse_threads(value: str | int | None, what: str = "--threads") -> int | None:
    """A positive thread count, or None for "auto"/unset; one-line error otherwise."""
    if value is None or str(value).strip().lower() in ("", "auto"):
        return None
    try:
        n = int(str(value).strip())
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{what}: expected a positive number of threads or 'auto', got {value!r}")
    return n


def choose_threads(requested: str | int | None = None, window: float = SAMPLE_S) -> ThreadChoice:
    """Threads for torch: ``requested`` (--threads), else $OMP_NUM_THREADS, else the free cores (at least 1).

    Free cores = usable cores - cores busy with other work, counting a core as free when at least
    3/4 of it is idle: never more compute threads than free cores.
    """
    cores = usable_cores()
    n = parse_threads(requested)
    if n is not None:
        return ThreadChoice(n, cores, None, "--threads")
    env = parse_threads(os.environ.get("OMP_NUM_THREADS"), what="OMP_NUM_THREADS")
    if env is not None:
        return ThreadChoice(env, cores, None, "OMP_NUM_THREADS")
    busy = busy_cores(window)
    free = cores if busy is None else cores - busy
    return ThreadChoice(max(1, min(cores, math.floor(free + FREE_SLACK))), cores, busy, "free cores")


def configure_threads(requested: str | int | None = None) -> ThreadChoice:
    """Choose the threads and apply them: OMP_WAIT_POLICY=PASSIVE on a shared machine (unless set), then torch.

    Call before anything imports torch, or the wait policy has no effect (the thread count still does).
    """
    global _applied
    choice = choose_threads(requested)
    if choice.busy is not None and choice.busy >= FREE_SLACK or choice.threads < choice.cores:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(choice.threads)
    _applied = choice
    return choice


#: the choice configure_threads applied in this process (None: torch's threads were left as they were)
_applied: ThreadChoice | None = None


def timing_conditions(load: LoadMeter) -> dict:
    """What a timing ran under (results.json "timing"): torch's threads and where they came from, the usable
    cores, OpenMP's wait policy, the cores other processes kept busy meanwhile and the load average at its end."""
    import torch

    threads = torch.get_num_threads()
    source = _applied.source if _applied is not None and _applied.threads == threads else "torch default"
    return {"threads": threads, "threads_from": source, "cores": usable_cores(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
            "other_busy_cores": None if load.other_busy is None else round(load.other_busy, 2),
            "load_avg_1min": None if load.load_avg is None else round(load.load_avg, 2)}


def describe_conditions(t: dict | None) -> str:
    """'1 thread, 1.9 of 2 cores busy with other work, load average 3.50' for a "timing" dict ('' for None)."""
    if not t:
        return ""
    busy = ("other load unknown" if t.get("other_busy_cores") is None
            else f"{t['other_busy_cores']:.1f} of {t['cores']} cores busy with other work")
    load = "" if t.get("load_avg_1min") is None else f", load average {t['load_avg_1min']:.2f}"
    return f"{t['threads']} thread{'s' if t['threads'] != 1 else ''}, {busy}{load}"
