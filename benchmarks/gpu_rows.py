"""One GPU window: train as many NUAA-SIRST "Original" rows as fit, concurrently, and record each.

Meant for one command of at most ~9 minutes on a lent GPU machine (no network, no install), run
from a copy of the working tree with the data beside it:

    python benchmarks/gpu_rows.py --data DATA/NUAA-SIRST --out $OUT --budget-s 500 [--pal PAL_CHECKOUT]

What it does, in order:

1. picks the Table 1 networks lightest first (``--models`` to choose) and starts one
   ``fdep train`` process each, all at once (``configs/nuaa-sirst/<net>_original.yaml``:
   ``protocol: authors``, 400 epochs; ``--crop`` default 256 = the authors' script), CPU threads
   shared out, validation every epoch as the authors do;
2. at the time budget (less a reserve for testing) stops every run still going with SIGINT:
   fdep keeps ``last.ckpt`` and ``best.ckpt``, and the row is reported **partial** with its epochs;
3. runs ``fdep test`` on each row's best.ckpt (last.ckpt when nothing was selected) and writes,
   per row, ``rows/<net>/`` (run directory: metrics.csv, config.yaml, checkpoints, test_test/
   results.json) and ``rows/<net>/curve.png`` (the learning curve), and for all rows
   ``summary.json`` / ``summary.md`` (status, epochs, wall time, best epoch, test scores, the
   paper's Table S4 row and the differences);
4. with ``--pal``, times the same network's training step for fdep and the authors' loop
   (``benchmarks/bench_train_step.py``) and records the ratio in ``summary.json``.

Everything goes under ``--out``. ``--budget-s 60 --epochs 2 --crop 64`` runs it in a minute on a CPU
(``--accelerator cpu``), which is how it is tested.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, src_env

TABLE1 = ("acm", "alcnet", "mlclnet", "dnanet", "msdanet", "alclnet", "gglnet", "uiunet")


def by_size(names: list[str]) -> list[str]:
    """Lightest network first (parameter count)."""
    from fdep.models import count_parameters, create_model

    return sorted(names, key=lambda n: count_parameters(create_model(n, in_chans=3)))


def _default_sigint() -> None:
    """Children take SIGINT again even when this script runs in the background (where bash ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def fdep_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "fdep.cli.main", *args]


def env_with_threads(threads: int) -> dict[str, str]:
    return src_env(OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")


def read_metrics(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def epoch_series(rows: list[dict[str, str]], key: str) -> list[tuple[int, float]]:
    return [(int(r["epoch"]) + 1, float(r[key])) for r in rows if r.get(key) not in (None, "") and r.get("epoch")]


def plot_curve(run: Path, name: str) -> Path | None:
    """curve.png: validation IoU/HSE (%) and the training p(target)/p(background) per epoch."""
    rows = read_metrics(run / "metrics.csv")
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, label in (("val/iou", "IoU"), ("val/hse", "HSE"), ("val/hse_p", "HSE-P")):
        s = epoch_series(rows, key)
        if s:
            ax[0].plot([e for e, _ in s], [100 * v for _, v in s], label=label)
    ax[0].set(xlabel="epoch", ylabel="%", title=f"{name}: validation (test split)")
    for key, label in (("train/p_target", "p(target)"), ("train/p_background", "p(background)")):
        s = epoch_series(rows, key)
        if s:
            ax[1].plot([e for e, _ in s], [v for _, v in s], label=label)
    ax[1].set(xlabel="epoch", ylabel="mean probability", title="training batches", yscale="log")
    for axis in ax:
        if axis.get_legend_handles_labels()[0]:
            axis.legend()
    fig.tight_layout()
    out = run / "curve.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def epochs_done(run: Path) -> int:
    rows = read_metrics(run / "metrics.csv")
    eps = [int(r["epoch"]) for r in rows if r.get("train/loss_epoch")]
    return max(eps) + 1 if eps else 0


def best_epoch(run: Path, metric: str = "val/iou") -> int | None:
    s = [(e, v) for e, v in epoch_series(read_metrics(run / "metrics.csv"), metric) if e >= 2 and v > 0]
    if not s:
        return None
    top = max(v for _, v in s)
    return min(e for e, v in s if v == top)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the NUAA-SIRST folder (BasicIRSTD layout)")
    ap.add_argument("--out", required=True, help="output folder (e.g. $OUT)")
    ap.add_argument("--budget-s", type=float, default=500, help="wall-clock budget of the whole script (s)")
    ap.add_argument("--test-reserve-s", type=float, default=60, help="seconds kept for testing at the end")
    ap.add_argument("--models", default=",".join(TABLE1), help="networks to train (lightest first)")
    ap.add_argument("--max-rows", type=int, default=4, help="at most this many rows at once")
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--accelerator", default="gpu")
    ap.add_argument("--pal", help="PAL checkout: also time fdep's vs the authors' training step")
    a = ap.parse_args(argv)
    t_start = time.monotonic()
    out = Path(a.out)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    names = by_size([n.strip() for n in a.models.split(",") if n.strip()])[: a.max_rows]
    threads = max(1, (os.cpu_count() or 2) // max(1, len(names)))
    procs: dict[str, tuple[subprocess.Popen, float]] = {}
    for n in names:
        run = out / "rows" / n
        cmd = fdep_cmd("train", "--config", str(ROOT / "configs" / "nuaa-sirst" / f"{n}_original.yaml"),
                       "--data", a.data, "--out", str(run), "--crop", str(a.crop), "--epochs", str(a.epochs),
                       "--accelerator", a.accelerator, "--quiet", "--num-workers", "1", "--overwrite")
        with open(out / "rows" / f"{n}.log", "w") as log:  # the child keeps its own handle
            procs[n] = (subprocess.Popen(cmd, env=env_with_threads(threads), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=str(ROOT), preexec_fn=_default_sigint), time.monotonic())
        print(f"started {n} ({threads} threads): {' '.join(cmd[2:])}", flush=True)
    deadline = t_start + a.budget_s - a.test_reserve_s
    status: dict[str, dict] = {}
    while procs:
        for n, (p, t0) in list(procs.items()):
            if p.poll() is not None:
                status[n] = {"exit": p.returncode, "wall_s": time.monotonic() - t0, "stopped": False}
                del procs[n]
        if not procs or time.monotonic() >= deadline:
            break
        time.sleep(2)
    for p, _ in procs.values():  # stop what is still running, cleanly
        p.send_signal(signal.SIGINT)
    for n, (p, t0) in procs.items():
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        status[n] = {"exit": p.returncode, "wall_s": time.monotonic() - t0, "stopped": True}
    summary = {"machine": os.uname().nodename, "crop": a.crop, "epochs_asked": a.epochs, "rows": []}
    for n in names:
        run = out / "rows" / n
        done = epochs_done(run)
        ck = run / "checkpoints" / ("best.ckpt" if (run / "checkpoints" / "best.ckpt").is_file() else "last.ckpt")
        st = status.get(n, {})
        state = ("done" if done >= a.epochs else f"partial ({done} epochs)" if st.get("stopped")
                 else f"failed (exit {st.get('exit')}, see rows/{n}.log)")
        row = {"model": n, **st, "epochs": done, "best_epoch": best_epoch(run), "status": state}
        if ck.is_file():
            test = subprocess.run(fdep_cmd("test", "--checkpoint", str(ck), "--data", a.data, "--out",
                                           str(run / "test_test"), "--no-preds", "--quiet", "--overwrite",
                                           "--device", "cuda" if a.accelerator == "gpu" else "cpu"),
                                  env=env_with_threads(os.cpu_count() or 1), capture_output=True, text=True,
                                  cwd=str(ROOT), timeout=max(30.0, a.test_reserve_s))
            row["test_output"] = (test.stdout + test.stderr).strip().splitlines()[-3:]
            res_path = run / "test_test" / "results.json"
            if res_path.is_file():
                res = json.loads(res_path.read_text())
                row["tested"] = ck.name
                row["test"] = {k: res.get(k) for k in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa", "auc")}
                row["paper"] = res.get("paper")
        curve = plot_curve(run, n)
        row["curve"] = str(curve.relative_to(out)) if curve else None
        summary["rows"].append(row)
        print(f"{n}: {row['status']}, best epoch {row['best_epoch']}, test {row.get('test')}", flush=True)
    if a.pal:
        from bench_train_step import run as time_steps

        dev = "cuda" if a.accelerator == "gpu" else "cpu"
        summary["step_timing"] = [time_steps(Path(a.pal), n, a.crop, 16, 10, 3, dev, "auto", False)
                                  for n in names[:2]]
    summary["wall_s"] = time.monotonic() - t_start
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    lines = ["| network | status | epochs | best epoch | HSE | IoU | Pd | paper HSE | paper IoU |", "|---|---|---|---|"
             "---|---|---|---|---|"]
    for r in summary["rows"]:
        t = r.get("test") or {}
        p = {m["metric"]: m["paper"] for m in ((r.get("paper") or {}).get("metrics") or [])}

        def f(v, scale=100.0):
            return "-" if v is None else f"{scale * v:.2f}"

        lines.append(f"| {r['model']} | {r['status']} | {r['epochs']} | {r['best_epoch']} | {f(t.get('hse'))} | "
                     f"{f(t.get('iou'))} | {f(t.get('pd'))} | {f(p.get('hse'), 1)} | {f(p.get('iou'), 1)} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    for t in summary.get("step_timing", []):
        print(f"step {t['model']} on {t['device']}: fdep {t['fdep_step_s']:.4f} s ({t['fdep_precision']}), authors "
              f"{t['authors_step_s']:.4f} s; ratio {t['ratio_fdep_over_authors']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
