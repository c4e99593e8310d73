"""fdep sweep: choosing rows, row states, a 3-row local sweep end to end, and submitit's executors
(a killed job resumed from its last checkpoint)."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
import yaml

from fdep.cli.main import main
from fdep.errors import ConfigError, InputError
from fdep.tools.sweep import run_sweep
from fdep.tools.sweep_row import Row, row_state, write_status
from fdep.tools.sweep_select import find_configs, make_rows, parse_overrides

TINY = {"batch_size": 4, "crop": 64, "val_every": 1, "num_workers": 0, "accelerator": "cpu", "devices": "1",
        "loss": "softiou", "lr": 0.003, "log_every": 1, "export_light": False}


def write_config(folder: Path, name: str, model: str, epochs: int = 1, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"model": model, "variant": "original", "data": "data/tiny", "epochs": epochs,
                                    **TINY, **extra}))
    return path


# ------------------------------------------------------------------------------------ row selection
def test_find_configs_folder_glob_file_and_paper_table(tmp_path):
    a = write_config(tmp_path / "nuaa-sirst", "acm_original", "acm")
    b = write_config(tmp_path / "nuaa-sirst", "alcnet_fdep", "alcnet")
    c = write_config(tmp_path / "sirst3", "acm_fdep", "acm")
    write_config(tmp_path / "nudt-sirst", "acm_original", "acm")
    assert find_configs([str(tmp_path / "nuaa-sirst")]) == [a.resolve(), b.resolve()]
    globbed = find_configs([str(tmp_path / "*" / "acm_*.yaml")])
    assert len(globbed) == 3 and a.resolve() in globbed and b.resolve() not in globbed
    assert find_configs([str(c), str(c)]) == [c.resolve()]  # duplicates collapse
    assert find_configs(["table1"], tmp_path) == [c.resolve()]
    assert len(find_configs(["table2"], tmp_path)) == 3
    assert find_configs(["table2", "nuaa-sirst"], tmp_path) == [a.resolve(), b.resolve()]
    with pytest.raises(InputError, match="no dataset 'sirst3'"):
        find_configs(["table2", "sirst3"], tmp_path)
    with pytest.raises(InputError, match="irstd-1k: no such config folder"):
        find_configs(["table2", "irstd-1k"], tmp_path)
    with pytest.raises(InputError, match="matches no YAML"):
        find_configs([str(tmp_path / "*.none")])
    with pytest.raises(InputError, match="not a config file"):
        find_configs([str(tmp_path / "missing.yaml")])


def test_paper_configs_of_the_repository_are_selectable():
    root = Path(__file__).resolve().parents[2] / "configs"
    rows = make_rows(find_configs(["table2", "nuaa-sirst"], root), out="runs/x")
    assert len(rows) == 24 and {r.dataset for r in rows} == {"nuaa-sirst"}
    assert {r.variant for r in rows} == {"original", "fdep-main", "fdep"}
    assert len(find_configs(["table1"], root)) == 24


def test_overrides_and_data_root(tmp_path):
    assert parse_overrides(["epochs=3", "batch-size = 8"]) == {"epochs": "3", "batch_size": "8"}
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_overrides(["epochs"])
    cfg = write_config(tmp_path / "sirst3", "acm_original", "acm", data="data/NUAA-SIRST+data/IRSTD-1K")
    (row,) = make_rows([cfg], out=tmp_path / "sw", data_root="/d", overrides={"epochs": "5"})
    assert row.data == "/d/NUAA-SIRST+/d/IRSTD-1K"
    assert row.epochs == 5 and row.overrides == {"epochs": "5"}
    assert Path(row.run_dir) == (tmp_path / "sw" / "sirst3" / "acm_original").resolve()


def test_row_state_follows_the_run_directory(tmp_path):
    cfg = write_config(tmp_path / "c", "acm_original", "acm", epochs=3)
    (row,) = make_rows([cfg], out=tmp_path / "sw")
    assert row_state(row) == "new"
    write_status(row, stage="tested")
    assert row_state(row) == "new"  # no results.json: not finished, whatever the status says
    row.test_dir.mkdir(parents=True)
    (row.test_dir / "results.json").write_text("{}")
    assert row_state(row) == "tested"
    changed = Row(**{**row.__dict__, "overrides": {"epochs": "9"}})
    with pytest.raises(ConfigError, match="different config"):
        row_state(changed)


# ------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def sweep_data(tmp_path_factory):
    from fdep.data import generate_synthetic

    root = tmp_path_factory.mktemp("sweepdata")
    generate_synthetic(root, n=16, size=64, seed=0, name="tiny")
    return root


def test_local_sweep_three_rows_one_failing_then_rerun_skips(tmp_path, sweep_data, capsys):
    cfgs = tmp_path / "cfg" / "tiny"
    write_config(cfgs, "acm_original", "acm")
    write_config(cfgs, "broken_original", "no-such-network")
    write_config(cfgs, "mlclnet_original", "mlclnet")
    out = tmp_path / "sweep"
    args = ["sweep", str(cfgs), "--out", str(out), "--data-root", str(sweep_data)]
    assert main(args) == 1  # one row failed, the others ran
    text = capsys.readouterr().out
    assert "2/3 rows finished" in text
    assert "row tiny/broken_original failed in train" in text
    log = out / "logs" / "tiny__broken_original.log"
    assert str(log) in text and "no-such-network" in log.read_text()
    for name in ("acm_original", "mlclnet_original"):
        results = json.loads((out / "tiny" / name / "test_test" / "results.json").read_text())
        assert results["model"] == name.split("_")[0] and 0 <= results["hse"] <= 1
    table = (out / "results.md").read_text()
    assert "| tiny/acm_original | tested |" in table and "| tiny/broken_original | failed |" in table
    csv_rows = (out / "results.csv").read_text().splitlines()
    assert len(csv_rows) == 4 and csv_rows[0].startswith("row,model,variant,dataset,stage")
    assert (out / "report.html").read_text().count("acm") > 0
    # a second run skips the finished rows and only retries the failed one
    mtime = (out / "tiny" / "acm_original" / "test_test" / "results.json").stat().st_mtime_ns
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "tiny/acm_original: finished, skipped" in text and "tiny/mlclnet_original: skipped" in text
    assert (out / "tiny" / "acm_original" / "test_test" / "results.json").stat().st_mtime_ns == mtime


def test_a_row_on_synthetic_data_is_tested_on_the_data_its_run_generated(tmp_path, capsys):
    """configs/cpu/*.yaml say `data: synthetic`: the test stage reads RUN/data/synthetic, not a folder 'synthetic'."""
    cfgs = tmp_path / "cfg" / "cpu"
    write_config(cfgs, "acm_synthetic_original", "acm", data="synthetic", synthetic_n=12, synthetic_size=64)
    out = tmp_path / "sweep"
    assert main(["sweep", str(cfgs), "--out", str(out)]) == 0, capsys.readouterr().out
    run = out / "cpu" / "acm_synthetic_original"
    results = json.loads((run / "test_test" / "results.json").read_text())
    assert Path(results["dataset"]) == run / "data" / "synthetic" and results["n_images"] > 0
    assert "| cpu/acm_synthetic_original | tested |" in (out / "results.md").read_text()


def test_dry_run_lists_rows_without_running(tmp_path, sweep_data, capsys):
    cfgs = tmp_path / "cfg" / "tiny"
    write_config(cfgs, "acm_original", "acm")
    assert main(["sweep", str(cfgs), "--out", str(tmp_path / "s"), "--dry-run"]) == 0
    assert "tiny/acm_original: training ->" in capsys.readouterr().out
    assert not (tmp_path / "s").exists()


def test_sweep_errors_are_one_line(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nothing")]) == 2
    assert "not a config file" in capsys.readouterr().err
    write_config(tmp_path / "c", "a", "acm")
    assert main(["sweep", str(tmp_path / "c"), "--concurrency", "0"]) == 2
    assert "--concurrency must be positive" in capsys.readouterr().err


submitit = pytest.importorskip("submitit")


def test_submitit_debug_executor_runs_rows(tmp_path, sweep_data):
    cfg = write_config(tmp_path / "cfg" / "tiny", "acm_original", "acm")
    rows = make_rows([cfg], out=tmp_path / "sw", data_root=str(sweep_data))
    summary = run_sweep(rows, tmp_path / "sw", launcher="submitit-debug", echo=lambda *_: None)
    assert summary["failed"] == [] and summary["outcomes"][0]["outcome"] == "done"
    assert summary["records"][0]["stage"] == "tested" and summary["records"][0]["hse"] is not None


def test_local_job_submitted_with_sigint_ignored_still_cancels(tmp_path):
    """A sweep started with SIGINT ignored (nohup, `cmd &` from a script, CI) passes that on to submitit's job
    process, which then ignored submitit's cancel (a SIGINT) and ran on: fdep submits with SIGINT handled."""
    import functools
    import signal

    from fdep.tools.sweep_launchers import submit_cancellable

    executor = submitit.AutoExecutor(folder=str(tmp_path / "submitit" / "%j"), cluster="local")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        job = submit_cancellable(executor, functools.partial(time.sleep, 120))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert signal.getsignal(signal.SIGINT) is previous  # the caller's disposition is back
    time.sleep(2)  # the job's process is up (a SIGINT before Python starts would end it anyway)
    assert not job.done()
    job.cancel()
    deadline = time.time() + 60
    while not job.done() and time.time() < deadline:
        time.sleep(0.2)
    assert job.done()


def test_submitit_local_job_killed_then_resumed_from_last_checkpoint(tmp_path, sweep_data):
    from fdep.tools.sweep_launchers import RowJob, submit_cancellable
    from fdep.training.checkpoint import finished_epochs, read_checkpoint

    # enough tiny epochs that the cancel lands mid-run (the cancel is sent once the first epoch is saved)
    epochs = 20
    cfg = write_config(tmp_path / "cfg" / "tiny", "acm_original", "acm", epochs=epochs)
    (row,) = make_rows([cfg], out=tmp_path / "sw", data_root=str(sweep_data))
    executor = submitit.AutoExecutor(folder=str(tmp_path / "sw" / "submitit" / "%j"), cluster="local")
    executor.update_parameters(timeout_min=10)
    job = submit_cancellable(executor, RowJob(row, str(tmp_path / "sw" / "logs")))
    last = Path(row.run_dir) / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while time.time() < deadline:
        if last.exists():
            try:
                if finished_epochs(read_checkpoint(last)) >= 1:
                    break
            except Exception:  # noqa: BLE001 - caught between the atomic rename and reading
                pass
        assert not job.done(), f"the job ended before it could be killed: {job.stderr()}"
        time.sleep(0.5)
    else:
        pytest.fail("no checkpoint written in time")
    job.cancel()
    deadline = time.time() + 60
    while not job.done() and time.time() < deadline:
        time.sleep(0.5)
    assert job.done()
    done_before = finished_epochs(read_checkpoint(last))
    assert 1 <= done_before < epochs
    assert row_state(row) == "partial"
    summary = run_sweep([row], tmp_path / "sw", launcher="local", echo=lambda *_: None)
    assert summary["outcomes"][0]["outcome"] == "resumed"
    assert finished_epochs(read_checkpoint(last)) == epochs
    metrics = (Path(row.run_dir) / "metrics.csv").read_text()
    assert metrics.count("\n") > 1
    assert "--resume" in (tmp_path / "sw" / "logs" / "tiny__acm_original.log").read_text()


def test_table_uses_the_packaged_paper_rows():
    from fdep.tools.sweep import paper_numbers

    # row.dataset is the configs/ folder name
    assert paper_numbers("acm", "fdep", "nuaa-sirst") == {"hse": 80.09, "hse_p": 89.60, "hse_t": 89.39,
                                                          "iou": 70.34, "pd": 94.68}
    assert paper_numbers("msdanet", "original", "sirst3")["fa"] == 12.53
    assert paper_numbers("acm", "fdep", "synthetic") is None


def test_row_stopped_by_a_signal_is_interrupted_not_done(tmp_path, monkeypatch, capsys):
    """`fdep train` stopped by SIGTERM exits 143 (tests/training/test_stop_signals.py): the sweep records the
    row as interrupted (its last.ckpt resumes it next time), runs no test for it and stops there."""
    import fdep.tools.sweep_row as sweep

    cfgs = tmp_path / "cfg" / "tiny"
    write_config(cfgs, "acm_original", "acm")
    write_config(cfgs, "mlclnet_original", "mlclnet")
    calls = []

    def stopped_train(args, log, *_):
        calls.append(args[0])
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("fdep train: error: stopped by SIGTERM after 3 of 400 epoch(s)\n")
        return 143

    monkeypatch.setattr(sweep, "_cli", stopped_train)
    out = tmp_path / "sweep"
    assert main(["sweep", str(cfgs), "--out", str(out), "--data-root", str(tmp_path)]) == 143
    text = capsys.readouterr().out
    assert calls == ["train"]  # no test of the stopped row, no next row
    assert "0/2 rows finished" in text and "row tiny/acm_original interrupted in train (exit 143)" in text
    status = json.loads((out / "tiny" / "acm_original" / "sweep_row.json").read_text())
    assert status["stage"] == "interrupted" and status["exit_code"] == 143
    assert "| tiny/acm_original | interrupted |" in (out / "results.md").read_text()


def _fake_tested(row: Row, hse: float) -> None:
    """A row's run directory as a finished sweep leaves it (status tested, results.json), without training."""
    write_status(row, stage="tested", log="")
    row.test_dir.mkdir(parents=True, exist_ok=True)
    (row.test_dir / "results.json").write_text(json.dumps(
        {"hse": hse, "iou": 0.4, "pd": 0.9, "fa": 1e-5, "params_m": 0.1, "latency_s": 0.01, "model": row.model,
         "variant": row.variant, "dataset": "tiny", "dataset_name": "tiny", "split": "test"}))


def test_a_refused_row_keeps_the_earlier_rows_and_shows_no_numbers_of_another_config(tmp_path):
    """A rerun whose only row is refused (its run finished with another config) rewrites the table with the
    earlier rows still in it, and that row as refused, not with the numbers of the other config's run."""
    cfgs = tmp_path / "cfg" / "tiny"
    a, b = write_config(cfgs, "acm_original", "acm"), write_config(cfgs, "mlclnet_original", "mlclnet")
    out = tmp_path / "sweep"
    rows = make_rows([a, b], out=out)
    _fake_tested(rows[0], 0.5)
    _fake_tested(rows[1], 0.25)
    run_sweep(rows, out, echo=lambda *_: None)
    table = (out / "results.md").read_text()
    assert "| tiny/acm_original | tested | 50.00" in table and "| tiny/mlclnet_original | tested | 25.00" in table
    (changed,) = make_rows([a], out=out, overrides={"epochs": "9"})
    summary = run_sweep([changed], out, echo=lambda *_: None)
    assert summary["outcomes"][0]["outcome"] == "failed" and "different config" in summary["outcomes"][0]["error"]
    table = (out / "results.md").read_text()
    assert "| tiny/mlclnet_original | tested | 25.00" in table  # the earlier row is still there
    acm = [line for line in table.splitlines() if line.startswith("| tiny/acm_original |")]
    assert len(acm) == 1 and acm[0].startswith("| tiny/acm_original | refused | - (")
    assert "50.00" not in acm[0]
    assert [r["name"] for r in json.loads((out / "rows.json").read_text())] == ["tiny/acm_original",
                                                                               "tiny/mlclnet_original"]
    # the other config's run is untouched
    assert json.loads((rows[0].test_dir / "results.json").read_text())["hse"] == 0.5


# ------------------------------------------------------------------------------------ a stand-in child
FAKE_FDEP = '''
import os, signal, sys, time
from pathlib import Path
args = sys.argv[3:]  # after "-m fdep.cli.main"
if args[0] != "train":
    sys.exit(1)
here = Path(os.environ["FAKE_DIR"])
def stop(signum, frame):
    (here / "stopped_by").write_text(signal.Signals(signum).name)
    sys.exit(128 + signum)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
(here / "pid").write_text(str(os.getpid()))
print("epoch 1/2  val: hse 1.00")
print("a line that is not progress")
for _ in range(600):  # until the sweep has shown epoch 1 (or a signal stops us)
    if (here / "seen").exists():
        break
    time.sleep(0.1)
print(f"epoch 2/2  seen={(here / 'seen').exists()}")
if os.environ.get("FAKE_WAIT"):
    time.sleep(120)
'''


def _fake_python(tmp_path: Path, monkeypatch) -> Path:
    """An executable standing in for ``python -m fdep.cli.main``: a quick `fdep train` printing epoch lines."""
    import sys

    fake = tmp_path / "fake-python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_FDEP}")
    fake.chmod(0o755)
    monkeypatch.setenv("FAKE_DIR", str(tmp_path))
    return fake


@contextlib.contextmanager
def _driver_with_fake_child(tmp_path: Path, driver: str, timeout_s: float):
    """Run ``python -c DRIVER`` (the fdep these tests import, in a session of its own) until its fake ``fdep
    train`` child has written its pid; yields (driver process, child pid) and kills whatever is left at the end."""
    import os
    import signal
    import subprocess
    import sys

    import fdep
    from fdep.fileio import pid_alive

    src = Path(fdep.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(src), FAKE_WAIT="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", driver], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    child = None
    try:
        deadline = time.monotonic() + timeout_s
        while not (tmp_path / "pid").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert (tmp_path / "pid").exists(), proc.communicate(timeout=60)[0]
        child = int((tmp_path / "pid").read_text())
        yield proc, child
    finally:
        proc.kill()
        if child is not None and pid_alive(child):
            os.kill(child, signal.SIGKILL)


def test_sweep_shows_each_epoch_of_a_row_while_it_trains(tmp_path, monkeypatch):
    import sys

    fake = _fake_python(tmp_path, monkeypatch)
    monkeypatch.setattr(sys, "executable", str(fake))
    cfgs = tmp_path / "cfg" / "tiny"
    (row,) = make_rows([write_config(cfgs, "acm_original", "acm", epochs=2)], out=tmp_path / "sweep")
    lines = []

    def echo(line):
        lines.append(line)
        if "epoch 1/2" in line:
            (tmp_path / "seen").touch()

    run_sweep([row], tmp_path / "sweep", echo=echo)
    assert "[1/1] tiny/acm_original: epoch 1/2  val: hse 1.00" in lines
    assert "[1/1] tiny/acm_original: epoch 2/2  seen=True" in lines  # shown while the child was still running
    assert not any("not progress" in line for line in lines)
    assert "a line that is not progress" in (tmp_path / "sweep" / "logs" / "tiny__acm_original.log").read_text()


def test_sigterm_to_the_sweep_alone_stops_its_child_and_records_the_row_interrupted(tmp_path, monkeypatch):
    """`kill SWEEP_PID` (not the process group): the sweep passes the signal to its running fdep train, which stops;
    the row is interrupted and the sweep exits 143 instead of dying with its child left running."""
    import os
    import signal

    from fdep.fileio import pid_alive

    fake = _fake_python(tmp_path, monkeypatch)
    cfgs = tmp_path / "cfg" / "tiny"
    write_config(cfgs, "acm_original", "acm", epochs=2)
    out = tmp_path / "sweep"
    driver = (f"import sys; sys.executable = {str(fake)!r}\nfrom fdep.cli.main import main\n"
              f"sys.exit(main(['sweep', {str(cfgs)!r}, '--out', {str(out)!r}]))")
    # the sweep imports torch to look at the row's checkpoints
    with _driver_with_fake_child(tmp_path, driver, timeout_s=600) as (sweep, child):
        (tmp_path / "seen").touch()
        os.kill(sweep.pid, signal.SIGTERM)  # the sweep only, not its process group
        text, _ = sweep.communicate(timeout=300)
        assert sweep.returncode == 143, text
        assert (tmp_path / "stopped_by").read_text() == "SIGTERM"
        deadline = time.monotonic() + 10
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(child)
        assert "row tiny/acm_original interrupted in train (exit 143)" in text and "Traceback" not in text
        status = json.loads((out / "tiny" / "acm_original" / "sweep_row.json").read_text())
        assert status["stage"] == "interrupted" and status["exit_code"] == 143


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_sigint_to_a_stage_runner_alone_reaches_its_child(tmp_path, monkeypatch, inherited):
    """submitit's cancel of a local job sends SIGINT to the job's process only, not its group: run_stage (not
    passing signals on) must still stop its fdep train child, and report the stage as stopped (130); also when
    the runner was started with SIGINT ignored (nohup, `cmd &` from a script, a parent ignoring it)."""
    import os
    import signal

    from fdep.fileio import pid_alive

    fake = _fake_python(tmp_path, monkeypatch)
    log = tmp_path / "stage.log"
    ignore = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n" if inherited == "ignored" else ""
    driver = (ignore + "import sys\nfrom pathlib import Path\nfrom fdep.tools.sweep_stage import run_stage\n"
              f"sys.exit(run_stage([{str(fake)!r}, '-m', 'fdep.cli.main', 'train'], Path({str(log)!r}), 'h'))")
    with _driver_with_fake_child(tmp_path, driver, timeout_s=120) as (runner, child):
        (tmp_path / "seen").touch()
        time.sleep(0.5)  # the child is in its 120 s wait
        os.kill(runner.pid, signal.SIGINT)  # the runner only, as submitit does
        text, _ = runner.communicate(timeout=60)
        assert runner.returncode == 130, text
        assert (tmp_path / "stopped_by").read_text() == "SIGINT"
        assert not pid_alive(child)


def test_a_row_with_a_network_file_trains_and_tests_the_same_network(tmp_path, sweep_data, capsys):
    """Sweep stages are separate processes: they rebuild a network of the user's own from the row's config."""
    net = tmp_path / "nets" / "small.py"
    net.parent.mkdir()
    net.write_text("import torch.nn.functional as F\nfrom torch import nn\n\n"
                   "class Small(nn.Module):\n"
                   "    def __init__(self, width=4):\n"
                   "        super().__init__()\n"
                   "        self.enc = nn.Conv2d(1, width, 3, 2, 1)\n"
                   "        self.head = nn.Conv2d(width, 1, 1)\n"
                   "    def forward(self, x):\n"
                   "        return F.interpolate(self.head(F.relu(self.enc(x))), size=x.shape[-2:])\n")
    cfgs = tmp_path / "cfg" / "tiny"
    write_config(cfgs, "small_original", f"{net}:Small", model_kwargs={"width": 6})
    out = tmp_path / "sweep"
    assert main(["sweep", str(cfgs), "--out", str(out), "--data-root", str(sweep_data)]) == 0, capsys.readouterr().out
    results = json.loads((out / "tiny" / "small_original" / "test_test" / "results.json").read_text())
    assert results["model"] == f"{net}:Small" and 0 <= results["hse"] <= 1
    from fdep.training.checkpoint import read_checkpoint

    ckpt = read_checkpoint(out / "tiny" / "small_original" / "checkpoints" / "best.ckpt")
    assert ckpt["state_dict"]["model.network.net.enc.weight"].shape[0] == 6  # model_kwargs reached the network
    assert ckpt["fdep"]["model_source"]["path"] == str(net)
