"""fdep.cpu: never more torch threads than free cores, --threads / OMP_NUM_THREADS override, passive OpenMP
waits on a shared machine, and a load meter that sees other processes but not this one."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from fdep import cpu
from fdep.errors import ConfigError

SPIN = "import time\nt = time.time()\nwhile time.time() - t < 30: pass\n"


@pytest.fixture
def two_cores(monkeypatch):
    """A 2-core machine whose other load the test sets; torch's threads restored afterwards."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(cpu, "usable_cores", lambda: 2)
    busy = {"cores": 0.0}
    monkeypatch.setattr(cpu, "busy_cores", lambda window=cpu.SAMPLE_S: busy["cores"])
    before = torch.get_num_threads()
    yield busy
    torch.set_num_threads(before)


@pytest.mark.parametrize("other, threads", [(0.0, 2), (0.1, 2), (0.9, 1), (1.0, 1), (1.8, 1), (5.0, 1)])
def test_threads_are_the_free_cores(two_cores, other, threads):
    two_cores["cores"] = other
    choice = cpu.choose_threads()
    assert (choice.threads, choice.source) == (threads, "free cores")


def test_explicit_threads_and_omp_num_threads_win(two_cores, monkeypatch):
    two_cores["cores"] = 2.0
    assert cpu.choose_threads("2").threads == 2 and cpu.choose_threads(2).source == "--threads"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert cpu.choose_threads().threads == 2 and cpu.choose_threads().source == "OMP_NUM_THREADS"
    assert cpu.choose_threads("1").threads == 1  # --threads over the environment
    assert cpu.choose_threads("auto").source == "OMP_NUM_THREADS"


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_threads_is_one_clear_error(two_cores, bad):
    with pytest.raises(ConfigError, match=f"--threads: expected a positive number.*{bad!r}"):
        cpu.choose_threads(bad)


def test_configure_sets_torch_threads_and_passive_waits_when_shared(two_cores, monkeypatch):
    two_cores["cores"] = 1.0
    choice = cpu.configure_threads()
    assert torch.get_num_threads() == choice.threads == 1
    assert cpu.os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert "1 CPU thread(s)" in choice.describe() and "1.0 busy" in choice.describe() and choice.reduced
    assert not cpu.choose_threads("1").reduced  # asked for: nothing to tell


def test_configure_leaves_wait_policy_on_an_idle_machine_and_a_users_choice(two_cores, monkeypatch):
    cpu.configure_threads()
    assert "OMP_WAIT_POLICY" not in cpu.os.environ
    two_cores["cores"] = 1.0
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    cpu.configure_threads()
    assert cpu.os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.skipif(cpu._cpu_ticks() is None, reason="no /proc/stat")
def test_load_meter_sees_a_competing_process_but_not_this_one():
    with cpu.LoadMeter() as own_spin:
        t, wall = time.process_time(), time.perf_counter()
        # this process spins (0.3 s of its own CPU time, however loaded the machine): not "other" load
        while time.process_time() - t < 0.3 and time.perf_counter() - wall < 20:
            pass
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        time.sleep(0.3)
        with cpu.LoadMeter() as m:
            time.sleep(0.6)
    finally:
        spinner.kill()
        spinner.wait()
    # the competitor keeps (a share of) a core busy; the own spin is subtracted: others' load alone
    assert m.other_busy is not None and m.other_busy >= 0.5
    # the own spin shows in the cores' busy time and is taken out of the other processes' load
    assert own_spin.own > 0.01 and own_spin.other_busy == pytest.approx(max(0.0, own_spin.all_busy - own_spin.own))
    assert own_spin.all_busy >= own_spin.own - 0.1  # /proc/stat saw the spin too (same clock, coarser ticks)
    assert m.load_avg is not None


def test_cli_says_when_other_load_cost_threads_but_an_error_stays_one_line(two_cores, tiny_data, tmp_path, capsys):
    from fdep.cli.main import main

    two_cores["cores"] = 1.0
    assert main(["test", "--model", "acm", "--data", str(tiny_data), "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fdep test: error:")
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(tmp_path / "b"), "--no-preds"]) == 0
    captured = capsys.readouterr()
    assert "fdep test: ran with 1 CPU thread(s) (2 core(s), 1.0 busy with other work" in captured.err
    assert "1 thread," in captured.out and torch.get_num_threads() == 1
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(tmp_path / "c"), "--no-preds",
                 "--quiet"]) == 0
    assert "ran with" not in capsys.readouterr().err
