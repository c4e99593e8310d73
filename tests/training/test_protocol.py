"""The two training protocols: resolution and overrides, the generated paper configs, precision fallback,
constant learning rate, selection metric and a tiny end-to-end run of the authors' protocol."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from fdep.cli.main import main
from fdep.errors import ConfigError
from fdep.training.config import PROTOCOL_KEYS, TrainConfig, protocol_settings, resolve, save_yaml
from tests.run_helpers import train_args
from tests.scripts import load_script

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
AUTHORS = {"in_chans": 3, "val_split": "test", "select_metric": "iou", "val_every": 1, "scheduler": "none",
           "warmup_epochs": 0, "precision": "auto", "augment": "authors", "target_prob": 0.0,
           "normalisation": "per-image-mean", "eedm_form": "released", "drop_last": False, "val_pad": "black",
           "val_precision": "32-true", "select_from": 2, "select_floor": 0.0, "init": "authors",
           "output_prior": None, "ema_decay": None}
FDEP = {"in_chans": 1, "val_split": "carve", "select_metric": "last", "val_every": 1, "scheduler": "cosine",
        "warmup_epochs": 0, "precision": "auto", "augment": "flips", "target_prob": 0.5,
        "normalisation": "dataset", "eedm_form": "text", "drop_last": True, "val_pad": "mean",
        "val_precision": "train", "select_from": 1, "select_floor": None, "init": "original",
        "output_prior": 0.01, "ema_decay": None}


def _settings(cfg: TrainConfig) -> dict:
    return {k: getattr(cfg, k) for k in PROTOCOL_KEYS}


def test_protocol_presets():
    assert set(PROTOCOL_KEYS) == set(AUTHORS) == set(FDEP)
    assert _settings(TrainConfig()) == FDEP == protocol_settings("fdep")
    assert _settings(TrainConfig.from_dict({"protocol": "authors"})) == AUTHORS == protocol_settings("authors")
    assert TrainConfig.from_dict({"protocol": "fdep"}) == TrainConfig()
    with pytest.raises(ConfigError, match="protocol"):
        protocol_settings("paper")


def test_explicit_keys_win_over_the_protocol(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("protocol: authors\nval_split: carve\nval_every: 5\n")
    cfg = resolve(p, {"eedm_form": "text"})
    assert (cfg.val_split, cfg.val_every, cfg.eedm_form) == ("carve", 5, "text")
    assert cfg.scheduler == "none" and cfg.augment == "authors"  # the rest from the protocol
    # a flag switches the protocol of a file that does not spell its keys out
    flipped = resolve(p, {"protocol": "fdep"})
    assert flipped.protocol == "fdep" and flipped.scheduler == "cosine" and flipped.in_chans == 1
    assert (flipped.val_split, flipped.val_every) == ("carve", 5)  # still the file's explicit keys


def test_round_trip_of_an_authors_config(tmp_path):
    cfg = resolve(None, {"protocol": "authors", "val_every": "3", "data": "x"})
    save_yaml(cfg, tmp_path / "c.yaml")
    assert resolve(tmp_path / "c.yaml", {}) == cfg


@pytest.mark.parametrize("key, value", [("protocol", "paper"), ("augment", "albumentations"),
                                        ("normalisation", "imagenet"), ("eedm_form", "intended"),
                                        ("select_metric", "fa")])
def test_bad_protocol_values(key, value):
    with pytest.raises(ConfigError, match=key):
        resolve(None, {key: value})


def test_bad_protocol_is_a_one_line_cli_error(tmp_path, capsys):
    code = main(["train", "--protocol", "paper", "--data", "x", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "protocol" in err and "Traceback" not in err and err.count("\n") == 1


def test_every_paper_row_exists_in_the_authors_protocol():
    rows = sorted(CONFIGS.glob("*/*.yaml"))
    rows = [r for r in rows if r.parent.name != "cpu"]
    datasets = {"nuaa-sirst", "nudt-sirst", "irstd-1k", "sirst3"}
    nets = {"acm", "alcnet", "mlclnet", "alclnet", "dnanet", "gglnet", "uiunet", "msdanet"}
    expected = {f"{d}/{n}_{v}.yaml" for d in datasets for n in nets for v in ("original", "fdep-main", "fdep")}
    assert {f"{r.parent.name}/{r.name}" for r in rows} == expected
    for r in rows:
        cfg = resolve(r, {})
        want = dict(AUTHORS)
        if cfg.model == "dnanet" and cfg.variant != "original":
            want["precision"] = "bf16-mixed"  # fp16 overflows there
        assert _settings(cfg) == want, r
        assert (cfg.protocol, cfg.crop, cfg.batch_size, cfg.epochs, cfg.lr, cfg.loss) == (
            "authors", 448, 16, 400, 1e-3, "eedm"), r
        fd = resolve(r, {"protocol": "fdep"})  # one flag away
        want = dict(FDEP)
        if cfg.model == "dnanet" and cfg.variant != "original":
            want["precision"] = "bf16-mixed"
        assert _settings(fd) == want, r


def test_generator_output_is_committed(tmp_path):
    mod = load_script("configs/generate.py")
    assert mod.main(tmp_path) == 96
    for f in sorted(tmp_path.rglob("*.yaml")):
        rel = f.relative_to(tmp_path)
        assert (CONFIGS / rel).read_text() == f.read_text(), rel


def test_precision_falls_back_off_cuda_and_cache_conflict(monkeypatch):
    from fdep.training import precision as precision_mod
    from fdep.training.precision import effective_precision
    from fdep.training.start_checks import check_combination

    cfg = TrainConfig.from_dict({"protocol": "authors", "accelerator": "cpu", "precision": "16-mixed"})
    assert effective_precision(cfg) == "32-true"
    assert effective_precision(cfg.replace(accelerator="gpu")) == "16-mixed"
    assert effective_precision(cfg.replace(precision="bf16-mixed")) == "bf16-mixed"
    if not torch.cuda.is_available():
        assert effective_precision(cfg.replace(accelerator="auto")) == "32-true"
    # precision auto: the authors' fp16 on CUDA (bf16 under fdep's protocol), bf16 on CPUs with native bf16
    auto = cfg.replace(precision="auto")
    assert effective_precision(auto.replace(accelerator="gpu")) == "16-mixed"
    assert effective_precision(auto.replace(accelerator="gpu", protocol="fdep")) == "bf16-mixed"
    # only AMX makes bf16 the faster choice: AVX512-BF16 alone measured slower than fp32 (docs/benchmarks.md)
    assert precision_mod.fast_bf16_flags({"avx512f", "amx_bf16", "amx_tile"})
    assert not precision_mod.fast_bf16_flags({"avx512f", "avx512_bf16"})
    assert not precision_mod.fast_bf16_flags({"avx2"})
    monkeypatch.setattr(precision_mod, "cpu_has_fast_bf16", lambda: True)
    assert effective_precision(auto) == "bf16-mixed"
    monkeypatch.setattr(precision_mod, "cpu_has_fast_bf16", lambda: False)
    assert effective_precision(auto) == "32-true"
    with pytest.raises(ConfigError, match="precision"):
        cfg.replace(precision="8-true")
    with pytest.raises(ConfigError, match="vfm_cache"):
        check_combination(cfg.replace(vfm_cache="cache/x"))
    check_combination(cfg.replace(vfm_cache="cache/x", augment="flips"))


def test_constant_learning_rate_schedule():
    from fdep.training.module import lr_lambda

    cfg = TrainConfig.from_dict({"protocol": "authors", "epochs": 10})
    assert [lr_lambda(cfg)(e) for e in range(10)] == [1.0] * 10
    fd = TrainConfig.from_dict({"protocol": "fdep", "epochs": 10})
    assert lr_lambda(fd)(9) < 0.2  # cosine decays


def test_module_uses_the_protocol_loss_and_channels():
    from fdep.training.module import SIRSTModule

    mod = SIRSTModule(**TrainConfig.from_dict({"protocol": "authors", "variant": "original", "mean": 100.0,
                                               "std": 30.0}).to_dict())
    assert mod.criterion.base.per_map.form == "released" and mod.network.in_chans == 3
    x = torch.randn(2, 1, 8, 8)
    assert mod.channels(x).shape == (2, 3, 8, 8) and torch.equal(mod.channels(x)[:, 2], x[:, 0])
    fd = SIRSTModule(**TrainConfig.from_dict({"variant": "original", "mean": 100.0, "std": 30.0}).to_dict())
    assert fd.criterion.base.per_map.form == "text" and fd.channels(x) is x


@pytest.fixture(scope="module")
def authors_run(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "authors"
    assert main(train_args(tiny_data, out, "--protocol", "authors", "--variant", "original", epochs=3)) == 0
    return out


def test_authors_run_end_to_end(authors_run, tiny_data):
    from fdep.data import load_dataset
    from fdep.data.stats import per_image_stats
    from fdep.models import load_pretrained
    from fdep.training.checkpoint import read_checkpoint
    from fdep.training.precision import cpu_has_fast_bf16

    cfg = resolve(authors_run / "config.yaml", {})
    ran = "bf16-mixed" if cpu_has_fast_bf16() else "32-true"
    assert _settings(cfg) == dict(AUTHORS, precision=ran)  # auto resolved on this CPU: recorded as run
    mean, std = per_image_stats([s.image for s in load_dataset(tiny_data, "train").samples])
    assert (cfg.mean, cfg.std) == pytest.approx((mean, std), rel=1e-12)
    with open(authors_run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lrs = [float(r["lr-AdamW"]) for r in rows if r.get("lr-AdamW")]
    assert len(lrs) == 3 and all(lr == cfg.lr for lr in lrs)  # constant
    ious = [(float(r["val/iou"]), int(r["epoch"])) for r in rows if r.get("val/iou")]
    assert len(ious) == 3  # validated every epoch, on the test split
    best = read_checkpoint(authors_run / "checkpoints" / "best.ckpt")
    selectable = [(v, e) for v, e in ious if e + 1 >= 2 and v > 0]  # the authors' rule: from epoch 2, IoU > 0
    top = max(v for v, _ in selectable)
    assert best["epoch"] == min(e for v, e in selectable if v == top)  # selected by val/iou, first of ties
    states = [v for k, v in best["callbacks"].items() if "'monitor': 'val/iou'" in k]
    assert states and float(states[0]["best_model_score"]) == pytest.approx(top, rel=1e-6)
    net = load_pretrained(authors_run / "light")
    assert net.in_chans == 3 and net(torch.randn(1, 3, 32, 32)).shape == (1, 1, 32, 32)
