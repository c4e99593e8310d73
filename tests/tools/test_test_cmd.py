"""fdep test: full-image inference, results.json/curves.npz/preds, and agreement with fdep evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fdep.cli.main import main
from tests.run_helpers import train_args


@pytest.fixture(scope="module")
def tested(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("tc") / "run"
    assert main(train_args(tiny_data, out, "--variant", "original", epochs=1)) == 0
    assert main(["test", "--checkpoint", str(out / "checkpoints" / "best.ckpt"), "--data", str(tiny_data),
                 "--quiet"]) == 0
    return out / "test_test"


def test_outputs(tested, tiny_data):
    res = json.loads((tested / "results.json").read_text())
    ids = (tiny_data / "img_idx" / "test_tiny.txt").read_text().split()
    assert sorted(p.stem for p in (tested / "preds").glob("*.png")) == sorted(ids)
    for key in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa", "auc", "params", "latency_s", "model",
                "variant", "dataset"):
        assert key in res, key
    assert res["n_images"] == len(ids) and res["model"] == "acm" and res["variant"] == "original"
    from fdep.models import count_parameters, create_model

    assert res["params"] == count_parameters(create_model("acm"))
    with np.load(tested / "curves.npz") as z:
        assert len(z.files) > 0


def test_maps_match_image_size_and_are_the_rounded_outputs(tested, tiny_data):
    from fdep.imageio import read_image, read_prob_map

    ids = (tiny_data / "img_idx" / "test_tiny.txt").read_text().split()
    for i in ids:
        p = read_prob_map(tested / "preds" / f"{i}.png")
        assert p.shape == read_image(tiny_data / "images" / f"{i}.png").shape
        assert np.all(np.round(p * 65535) == p * 65535)  # 16-bit values: an output, not what is scored
    res = json.loads((tested / "results.json").read_text())
    assert res["scored_on"].startswith("float32") and res["paper"] is None  # "tiny" is no paper dataset


def _squash(monkeypatch):
    """Make the network's probabilities differ by less than 1/65535 around 0.5 and record them."""
    import fdep.tools.tester as tester

    real = tester.predict_full
    maps = []

    def squashed(model, x, multiple, tile=512, pad_value=0.0):
        p = 0.5 + (real(model, x, multiple, tile, pad_value=pad_value) - 0.5) * 1e-4
        maps.append(p[0, 0].numpy().copy())
        return p

    monkeypatch.setattr(tester, "predict_full", squashed)
    return maps


def test_metrics_come_from_the_float_probabilities(tested, tiny_data, tmp_path, monkeypatch):
    """results.json is evaluate() on the float maps; the 16-bit PNGs (ties after rounding) would score otherwise."""
    from fdep.data import load_dataset
    from fdep.imageio import read_prob_map
    from fdep.metrics import evaluate
    from fdep.tools.tester import quantise16, run_test

    maps = _squash(monkeypatch)
    res = run_test(tested.parent / "checkpoints" / "best.ckpt", str(tiny_data), out=tmp_path / "t", progress=False)
    ds = load_dataset(str(tiny_data), split="test")
    gts = [ds[i]["mask"][0].numpy() > 0.5 for i in range(len(ds))]
    assert len(maps) == len(gts) and all(m.dtype == np.float32 for m in maps)
    floats = evaluate(maps, gts, curves=True)
    for key in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa", "auc", "n_images", "n_targets"):
        assert res[key] == floats[key], key
    with np.load(tmp_path / "t" / "curves.npz") as z:
        np.testing.assert_array_equal(z["pixel_precision"], floats["curves"]["pixel_precision"])
    rounded = evaluate([quantise16(m.astype(np.float64)) for m in maps], gts)
    assert abs(rounded["hse_p"] - res["hse_p"]) > 1e-3  # the PNG path would have failed the equalities above
    # the saved maps are still written, rounded; the temporary float maps are gone
    pngs = [read_prob_map(tmp_path / "t" / "preds" / f"{ds.ids[i]}.png") for i in range(len(ds))]
    for png, m in zip(pngs, maps):
        np.testing.assert_allclose(png, quantise16(m.astype(np.float64)), atol=1e-12)
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["curves.npz", "preds", "results.json"]


def test_fdep_evaluate_cli_scores_the_saved_maps(tested, tiny_data, tmp_path, capsys):
    from fdep.cli.main import COMMANDS
    from fdep.imageio import read_mask, read_prob_map
    from fdep.metrics import evaluate

    if "evaluate_cmd" not in COMMANDS:
        pytest.skip("fdep evaluate is not registered in this checkout")
    ids = (tiny_data / "img_idx" / "test_tiny.txt").read_text().split()
    on_pngs = evaluate([read_prob_map(tested / "preds" / f"{i}.png") for i in ids],
                       [read_mask(tiny_data / "masks" / f"{i}.png") for i in ids])
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--pred", str(tested / "preds"), "--gt", str(tiny_data), "--split", "test",
                 "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    got = got.get("metrics", got)
    for key in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa"):
        assert got[key] == pytest.approx(on_pngs[key], abs=1e-12), key


def _as_paper_dataset(tiny_data, root):
    """A copy of the tiny data in a folder named like a paper dataset (its split lists renamed to match)."""
    import shutil

    dest = root / "NUAA-SIRST"
    shutil.copytree(tiny_data, dest)
    for split in ("train", "test"):
        (dest / "img_idx" / f"{split}_tiny.txt").rename(dest / "img_idx" / f"{split}_NUAA-SIRST.txt")
    return dest


def _trained_on(ckpt, data, dest):
    """A copy of ``ckpt`` whose recorded training data is ``data`` (as if the run had trained there)."""
    import torch

    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    state["hyper_parameters"]["data"] = str(data)
    torch.save(state, dest)
    return dest


def test_matching_run_prints_the_paper_row(tested, tiny_data, tmp_path, capsys):
    data = _as_paper_dataset(tiny_data, tmp_path)
    trained_elsewhere = tested.parent / "checkpoints" / "best.ckpt"
    capsys.readouterr()
    # weights trained on other data (tiny) tested on NUAA-SIRST: cross-dataset, no in-dataset paper row
    assert main(["test", "--checkpoint", str(trained_elsewhere), "--data", str(data), "--out", str(tmp_path / "x"),
                 "--quiet"]) == 0
    assert "cross-dataset: trained on tiny, tested on NUAA-SIRST" in capsys.readouterr().out
    assert json.loads((tmp_path / "x" / "results.json").read_text())["paper"] is None
    ckpt = _trained_on(trained_elsewhere, data, tmp_path / "on_nuaa.ckpt")
    assert main(["test", "--checkpoint", str(ckpt), "--data", str(data), "--out", str(tmp_path / "t"),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    res = json.loads((tmp_path / "t" / "results.json").read_text())
    cmp = res["paper"]
    assert (cmp["table"], cmp["network"], cmp["variant"], cmp["dataset"]) == ("2", "ACM", "original", "NUAA-SIRST")
    assert "Table 2 (ACM, \"Original\", NUAA-SIRST)" in text and "Rethinking Infrared" in text
    by = {m["metric"]: m for m in cmp["metrics"]}
    assert set(by) == {"iou", "pd", "hse_p", "hse_t", "hse"}  # what Table 2 prints
    assert by["hse"]["paper"] == 77.86 and by["iou"]["paper"] == 67.07
    for key, m in by.items():
        assert m["run"] == pytest.approx(100 * res[key]) and m["diff"] == pytest.approx(m["run"] - m["paper"])
    lines = {ln.split()[0]: ln.split()[1:] for ln in text.splitlines() if ln.startswith(("paper ", "difference"))}
    assert lines["paper"] == ["67.07", "91.63", "87.25", "89.23", "77.86"]
    assert lines["difference"][-1] == f"{100 * res['hse'] - 77.86:+.2f}"
    n = len((data / "img_idx" / "test_NUAA-SIRST.txt").read_text().split())
    assert f"this test split has {n} images, the paper's NUAA-SIRST test split 214" in text


def test_non_matching_runs_print_no_paper_row(tested, tiny_data, tmp_path, capsys):
    ckpt = tested.parent / "checkpoints" / "best.ckpt"
    capsys.readouterr()
    assert main(["test", "--checkpoint", str(ckpt), "--data", str(tiny_data), "--out", str(tmp_path / "a"),
                 "--quiet"]) == 0
    assert "paper" not in capsys.readouterr().out
    assert json.loads((tmp_path / "a" / "results.json").read_text())["paper"] is None
    # the paper's dataset (trained there), but not its test split
    data = _as_paper_dataset(tiny_data, tmp_path)
    ckpt = _trained_on(ckpt, data, tmp_path / "on_nuaa.ckpt")
    assert main(["test", "--checkpoint", str(ckpt), "--data", str(data), "--split", "train",
                 "--out", str(tmp_path / "b"), "--quiet", "--no-preds"]) == 0
    assert "paper" not in capsys.readouterr().out


def test_accepts_what_predict_accepts_light_folder_and_onnx(tested, tiny_data, tmp_path, capsys):
    """`fdep test` takes RUN/light and an .onnx from fdep export as predict does, with the same numbers."""
    run = tested.parent
    ref = json.loads((tested / "results.json").read_text())
    onnx = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(run / "checkpoints" / "best.ckpt"), "--onnx", str(onnx),
                 "--exporter", "legacy"]) == 0
    for source, out in ((run / "light", tmp_path / "t_light"), (onnx, tmp_path / "t_onnx")):
        capsys.readouterr()
        assert main(["test", "--checkpoint", str(source), "--data", str(tiny_data), "--out", str(out), "--quiet"]) == 0
        assert "acm (original) on tiny/test" in capsys.readouterr().out
        res = json.loads((out / "results.json").read_text())
        assert res["checkpoint"] == str(source) and res["n_images"] == ref["n_images"]
        for key in ("iou", "niou", "pd", "fa", "hse_p"):
            assert res[key] == pytest.approx(ref[key], abs=1e-4), (source, key)
    assert json.loads((tmp_path / "t_onnx" / "results.json").read_text())["params"] > 0


@pytest.mark.parametrize("command", ["test", "predict", "export"])
def test_a_run_directory_says_exactly_what_to_pass(tested, tiny_data, tmp_path, capsys, command):
    run = tested.parent
    args = {"test": ["--data", str(tiny_data), "--out", str(tmp_path / "t")],
            "predict": ["--input", str(tiny_data / "images"), "--out", str(tmp_path / "p")],
            "export": ["--onnx", str(tmp_path / "m.onnx")]}[command]
    capsys.readouterr()
    assert main([command, "--checkpoint", str(run), *args]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(run / "checkpoints" / "best.ckpt") in err and str(run / "light") in err
    assert not (tmp_path / "t").exists() and not (tmp_path / "p").exists()


def test_resume_from_an_exported_folder_names_only_files_that_exist(tested, capsys):
    run = tested.parent
    assert main(["train", "--resume", str(run / "light")]) != 0
    err = capsys.readouterr().err.strip()
    assert "light/checkpoints" not in err and str(run / "checkpoints" / "last.ckpt") in err


def test_data_synthetic_of_a_run_without_generated_data_is_one_line(tested, tmp_path, capsys):
    run = tested.parent
    assert main(["test", "--checkpoint", str(run / "checkpoints" / "best.ckpt"), "--data", "synthetic",
                 "--out", str(tmp_path / "t"), "--quiet"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(run / "data" / "synthetic") + " not found" in err


def test_killed_test_leaves_nothing_that_blocks_the_rerun(tmp_path):
    """kill -9 in the middle of `fdep test`: its float maps are in a work folder beside OUT, which the next
    test of OUT removes (it used to be OUT/.float-maps.*, which made the rerun refuse a non-empty OUT)."""
    import signal
    import time

    from fdep.data import generate_synthetic
    from tests.run_helpers import fdep_subprocess

    data = generate_synthetic(tmp_path / "d", n=60, size=192, seed=1, name="mid")
    out = tmp_path / "res" / "t"
    args = ["test", "--model", "mpcm", "--data", str(data), "--out", str(out), "--quiet"]
    p = fdep_subprocess(args, background=True)
    try:
        deadline, work = time.monotonic() + 120, []
        while not work and time.monotonic() < deadline and p.poll() is None:
            work = list((tmp_path / "res").glob(".t.*.tmp/.float-maps/*.npy")) if (tmp_path / "res").is_dir() else []
            time.sleep(0.005)
        assert work, "the test finished before it could be killed: " + p.stdout.read()[-2000:]
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        p.kill()
    assert not out.exists()  # nothing half-done at OUT
    assert list((tmp_path / "res").glob(".t.*.tmp"))  # the killed run's work folder, for the next run to remove
    r = fdep_subprocess(args)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["t"]
    assert (out / "results.json").is_file() and not list(out.glob(".float-maps*"))


def test_float_maps_left_in_out_by_an_earlier_version_do_not_block_the_rerun(tiny_data, tmp_path):
    out = tmp_path / "t"
    (out / ".float-maps.abc123").mkdir(parents=True)
    (out / ".float-maps.abc123" / "0_p.npy").write_bytes(b"x" * 100)
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(out), "--quiet"]) == 0
    assert (out / "results.json").is_file() and not list(out.glob(".float-maps*"))


def test_training_records_the_gray_range_of_its_images(tested, tiny_data):
    """Checkpoints and the exported light folder record the training images' gray range (issue 26); an
    independent reading with PIL gives the same numbers; a test on the same data gives no range warning."""
    from PIL import Image

    from fdep.training.checkpoint import load_model_from_checkpoint

    run = tested.parent
    ids = (tiny_data / "img_idx" / "train_tiny.txt").read_text().split()
    arrays = [np.asarray(Image.open(tiny_data / "images" / f"{i}.png"), dtype=np.float64) for i in ids]
    want = {"low": min(a.min() for a in arrays), "high": max(a.max() for a in arrays),
            "typical_high": float(np.median([a.max() for a in arrays])), "images": len(ids)}
    _, meta = load_model_from_checkpoint(run / "checkpoints" / "best.ckpt")
    assert meta["input_range"] == pytest.approx(want)
    light = json.loads((run / "light" / "config.json").read_text())
    assert light["extra"]["input_range"] == pytest.approx(want)
    res = json.loads((tested / "results.json").read_text())
    assert res["input_range"] == "auto" and res["warnings"] == []


def test_checkpoint_without_a_recorded_range_still_loads(tested, tmp_path):
    """Checkpoints of earlier fdep versions record no range: they load, and 8-bit inputs are assumed."""
    import torch

    from fdep.training.checkpoint import load_model_from_checkpoint

    ckpt = torch.load(tested.parent / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    del ckpt["fdep"]["input_range"]
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    _, meta = load_model_from_checkpoint(old)
    assert meta["input_range"] is None


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_on_a_machine_without_it_is_one_line(device, tiny_data, tmp_path, capsys, monkeypatch):
    """Issue 26 §4: `fdep test --device cuda` on a CPU-only torch gave `AssertionError: Torch not compiled with
    CUDA enabled`; now one line before any work, as predict and benchmark say it."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "t"
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(out), "--device", device,
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"device {device!r} requested but CUDA is not available on this machine" in err
    assert not out.exists()
