"""End-to-end training on tiny synthetic data: outputs, checkpoints, export, exact resume."""

from __future__ import annotations

import csv
import shutil

import pytest
import torch

from fdep.cli.main import main
from fdep.training.checkpoint import finished_epochs, load_model_from_checkpoint, read_checkpoint
from fdep.training.config import load_yaml, resolve
from tests.run_helpers import train_args


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def original_run(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "orig"
    assert main(train_args(tiny_data, out, "--variant", "original")) == 0
    return out


@pytest.fixture(scope="module")
def fdep_run(tiny_data, tiny_vfm, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "fdep"
    assert main(train_args(tiny_data, out, "--variant", "fdep", "--vfm", str(tiny_vfm), "--vfm-layers", "2,4")) == 0
    return out


def test_run_directory_layout(original_run):
    out = original_run
    for rel in ("config.yaml", "checkpoints/last.ckpt", "checkpoints/best.ckpt", "light/model.safetensors",
                "light/config.json", "metrics.csv"):
        assert (out / rel).is_file(), rel
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    rows = _read_csv(out / "metrics.csv")
    hse = [float(r["val/hse"]) for r in rows if r.get("val/hse")]
    assert len(hse) == 2  # validated after each of the 2 epochs
    assert any(r.get("train/loss_epoch") for r in rows)
    # the effective config repeats the run: every field, normalisation filled in from the data
    cfg = resolve(out / "config.yaml", {})
    assert cfg.epochs == 2 and cfg.mean is not None and cfg.std is not None
    assert set(load_yaml(out / "config.yaml")) == set(cfg.to_dict())
    ckpt = read_checkpoint(out / "checkpoints" / "last.ckpt")
    assert finished_epochs(ckpt) == 2 and ckpt["hyper_parameters"] == cfg.to_dict()


def test_best_checkpoint_is_the_last_epoch_under_the_fdep_protocol(original_run):
    """protocol fdep selects no epoch on the small held-out set (docs/results.md: it picked epoch 30 of 100,
    6 HSE below the final one): best.ckpt is the final epoch of the cosine schedule."""
    rows = _read_csv(original_run / "metrics.csv")
    epochs = [int(r["epoch"]) for r in rows if r.get("val/hse")]
    best = read_checkpoint(original_run / "checkpoints" / "best.ckpt")
    last = read_checkpoint(original_run / "checkpoints" / "last.ckpt")
    assert best["epoch"] == max(epochs) == last["epoch"]
    assert all(torch.equal(v, last["state_dict"][k]) for k, v in best["state_dict"].items())


def test_fdep_checkpoint_has_no_vfm_weights_and_exports_light(fdep_run, tiny_vfm):
    from fdep.framework import FDEPModel
    from fdep.models import load_pretrained

    ckpt = read_checkpoint(fdep_run / "checkpoints" / "last.ckpt")
    keys = list(ckpt["state_dict"])
    assert any(k.startswith("model.fusions.") for k in keys)  # SAMF weights are trained and kept
    assert not any(".vfm." in k or k.startswith("model.vfm") or "embeddings.patch_embeddings" in k for k in keys)
    assert ckpt["hyper_parameters"]["vfm_layers"] == [2, 4]
    net, meta = load_model_from_checkpoint(fdep_run / "checkpoints" / "best.ckpt")
    assert not isinstance(net, FDEPModel) and not net.training
    assert meta["variant"] == "fdep" and meta["model"] == "acm" and meta["vfm_layers"] == [2, 4]
    exported = load_pretrained(fdep_run / "light")
    x = torch.randn(1, 1, 64, 96)
    torch.testing.assert_close(exported(x), net(x), rtol=0, atol=0)
    # the light network is exactly the FDEP model's eval output (it never runs the VFM)
    cfg = resolve(fdep_run / "config.yaml", {})
    from fdep.training.module import SIRSTModule

    mod = SIRSTModule(**cfg.to_dict())
    best = read_checkpoint(fdep_run / "checkpoints" / "best.ckpt")
    mod.on_load_checkpoint(best)
    mod.load_state_dict(best["state_dict"])
    mod.eval()
    torch.testing.assert_close(mod.model(x), net(x), rtol=0, atol=0)


def test_fdep_main_keeps_vfm_at_inference(tiny_data, tiny_vfm, tmp_path):
    from fdep.framework import FDEPModel

    out = tmp_path / "main"
    assert main(train_args(tiny_data, out, "--variant", "fdep-main", "--vfm", str(tiny_vfm), epochs=1)) == 0
    assert not (out / "light").exists()  # fdep-main needs the VFM at inference: nothing light to export
    model, meta = load_model_from_checkpoint(out / "checkpoints" / "last.ckpt")
    assert isinstance(model, FDEPModel) and model.vfm is not None and meta["variant"] == "fdep-main"
    assert model(torch.zeros(1, 1, 64, 64)).shape == (1, 1, 64, 64)
    from fdep.models import count_parameters
    from fdep.tools.tester import run_test

    res = run_test(out / "checkpoints" / "last.ckpt", str(tiny_data), out=tmp_path / "t", progress=False)
    # params: what runs besides the frozen VFM (network + SAMF), the VFM counted apart
    assert res["params"] == count_parameters(model) > count_parameters(model.network)
    assert res["vfm_params"] == count_parameters(model.vfm) > 0


def _trainable(path):
    return read_checkpoint(path)["state_dict"]


def test_resume_continues_exactly(tiny_data, tmp_path):
    """2 epochs straight == 1 epoch, then --resume to 2 (with DataLoader workers this time)."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ("--variant", "original", "--scheduler", "cosine", "--epochs", "2")
    assert main(train_args(tiny_data, straight, *common)) == 0
    assert main(train_args(tiny_data, split, *common[:-1], "1", "--export-light", "false")) == 0
    assert finished_epochs(read_checkpoint(split / "checkpoints" / "last.ckpt")) == 1
    assert main(["train", "--resume", str(split), "--epochs", "2", "--num-workers", "2", "--quiet"]) == 0
    a, b = read_checkpoint(straight / "checkpoints" / "last.ckpt"), read_checkpoint(split / "checkpoints" / "last.ckpt")
    assert finished_epochs(a) == finished_epochs(b) == 2 and a["global_step"] == b["global_step"] > 0
    for k, v in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][k], v, rtol=0, atol=1e-6, msg=k)
    sa, sb = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
    for k in sa:
        torch.testing.assert_close(sb[k]["exp_avg"], sa[k]["exp_avg"], rtol=0, atol=1e-6)
    assert a["lr_schedulers"][0]["last_epoch"] == b["lr_schedulers"][0]["last_epoch"]
    # the resumed run's config records the new epoch count
    assert resolve(split / "config.yaml", {}).epochs == 2


def test_config_yaml_repeats_the_run_exactly(original_run, tmp_path):
    again = tmp_path / "again"
    assert main(["train", "--config", str(original_run / "config.yaml"), "--out", str(again), "--quiet"]) == 0
    a = read_checkpoint(original_run / "checkpoints" / "last.ckpt")["state_dict"]
    b = read_checkpoint(again / "checkpoints" / "last.ckpt")["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_selecting_on_test_split_is_logged_loudly(tiny_data, tmp_path, caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="fdep.training"):
        assert main(train_args(tiny_data, tmp_path / "t", "--variant", "original", "--val-split", "test",
                               "--export-light", "false", epochs=1)) == 0
    assert any("TEST split" in r.getMessage() for r in caplog.records)
    assert resolve(tmp_path / "t" / "config.yaml", {}).val_split == "test"


def test_training_on_a_folder_without_split_lists_writes_nothing_into_it(tmp_path, caplog):
    """The seeded split and the statistics go to fdep's cache; fdep test of the run finds the same split."""
    from fdep.data import generate_synthetic
    from fdep.data.stats import STATS_FILE

    data = generate_synthetic(tmp_path / "d", n=12, size=64, seed=1, name="mine")
    shutil.rmtree(data / "img_idx")
    (data / STATS_FILE).unlink()  # the generator's own
    before = sorted(str(p.relative_to(data)) for p in data.rglob("*"))
    run = tmp_path / "run"
    assert main(train_args(data, run, "--variant", "original", "--export-light", "false", epochs=1)) == 0
    assert sorted(str(p.relative_to(data)) for p in data.rglob("*")) == before
    from fdep.data.layout import dataset_cache_dir

    splits = dataset_cache_dir(data, "splits")
    assert str(splits) in caplog.text and "no split lists" in caplog.text  # it says where the split went
    assert main(["test", "--checkpoint", str(run / "checkpoints" / "best.ckpt"), "--data", str(data), "--quiet"]) == 0
    test_ids = (splits / "test_mine.txt").read_text().split()
    assert sorted(p.stem for p in (run / "test_test" / "preds").glob("*.png")) == sorted(test_ids)
    assert sorted(str(p.relative_to(data)) for p in data.rglob("*")) == before
