"""fdep test with several checkpoints (the seeds of one row): each tested, then their mean ± std."""

from __future__ import annotations

import json
import statistics

import pytest

from fdep.cli.main import main


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    runs = []
    for seed in (0, 1):
        out = root / f"seed{seed}"
        assert main(["train", "--data", "synthetic", "--synthetic-n", "12", "--synthetic-size", "64", "--crop", "64",
                     "--epochs", "1", "--batch-size", "4", "--model", "acm", "--variant", "original", "--seed",
                     str(seed), "--num-workers", "0", "--quiet", "--export-light", "false", "--out", str(out)]) == 0
        runs.append(out)
    return runs


def test_several_checkpoints_print_each_and_the_mean_and_std(two_seeds, capsys):
    ckpts = [str(r / "checkpoints" / "best.ckpt") for r in two_seeds]
    assert main(["test", "--checkpoint", *ckpts, "--data", "synthetic", "--quiet", "--no-preds"]) == 0
    out = capsys.readouterr().out
    results = [json.loads((r / "test_test" / "results.json").read_text()) for r in two_seeds]
    assert [r["train_config"]["seed"] for r in results] == [0, 1]
    hse = [100 * r["hse"] for r in results]
    line = next(ln for ln in out.splitlines() if ln.startswith("mean ± std over 2 checkpoints (seeds 0, 1)"))
    assert f"HSE {statistics.mean(hse):.2f} ± {statistics.stdev(hse):.2f}" in line
    assert sum(ckpt in out for ckpt in ckpts) == 2


def test_several_checkpoints_refuse_one_out(two_seeds, tmp_path, capsys):
    ckpts = [str(r / "checkpoints" / "best.ckpt") for r in two_seeds]
    assert main(["test", "--checkpoint", *ckpts, "--data", "synthetic", "--out", str(tmp_path / "o")]) == 2
    assert "--out takes one checkpoint" in capsys.readouterr().err
