"""fdep test / fdep benchmark say what their latency was measured under: threads, cores, other load."""

from __future__ import annotations

import json
import os

import pytest

from fdep import cpu
from tests.run_helpers import fdep_subprocess


def test_fdep_test_records_and_prints_its_threads_and_load(tiny_data, tmp_path):
    out = tmp_path / "mpcm"
    r = fdep_subprocess(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(out), "--threads", "1",
                         "--no-preds"], env_extra={"OMP_WAIT_POLICY": None})
    assert r.returncode == 0, r.stderr
    timing = json.loads((out / "results.json").read_text())["timing"]
    assert timing["threads"] == 1 and timing["threads_from"] == "--threads"
    assert 1 <= timing["cores"] <= os.cpu_count()  # (a scheduler may re-pin processes: not compared)
    assert set(timing) >= {"other_busy_cores", "load_avg_1min", "omp_wait_policy"}
    if cpu._cpu_ticks() is not None:
        assert 0 <= timing["other_busy_cores"] <= timing["cores"] + 0.5
    if timing["cores"] > 1:  # fewer threads than cores: OpenMP told to wait passively, before torch started
        assert timing["omp_wait_policy"] == "PASSIVE"
    assert "1 thread" in r.stdout and "busy with other work" in r.stdout  # and the latency says what it ran under


def test_bad_threads_is_a_one_line_error(tiny_data, tmp_path):
    r = fdep_subprocess(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(tmp_path / "o"),
                         "--threads", "0"])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "fdep test: error: --threads: expected a positive number of threads or 'auto', got '0'"
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no affinity mask")
def test_benchmark_rows_say_what_they_ran_under(monkeypatch):
    from fdep.tools.benchmark import benchmark, format_conditions

    rows = benchmark(["acm"], ["original"], size=32, repeats=1, warmup=0, device="cpu")
    t = rows[0]["timing"]
    assert t["threads"] >= 1 and 1 <= t["cores"] <= os.cpu_count() and "load_avg_1min" in t
    assert f"{t['threads']} thread" in format_conditions(rows)

