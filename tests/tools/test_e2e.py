"""End to end with real runs: train (original, fdep) -> test -> predict / export / report agree.

Needs the training engine (``fdep train`` / ``fdep test``); skipped where it is absent.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import onnx
import pytest

pytest.importorskip("fdep.training.train", reason="the training engine (fdep train/test) is not in this checkout")

from fdep.cli.main import main  # noqa: E402
from fdep.imageio import read_prob_map  # noqa: E402
from fdep.tools.export import run_export  # noqa: E402
from fdep.tools.predict import run_predict  # noqa: E402
from fdep.tools.report import write_report  # noqa: E402

Q = 1.0 / 65535
TRAIN = ["--model", "acm", "--epochs", "1", "--crop", "64", "--batch-size", "4", "--val-every", "1",
         "--num-workers", "0", "--accelerator", "cpu", "--devices", "1", "--quiet", "--log-every", "1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three tested runs (acm original, fdep and fdep-main with a tiny random DINOv2) on tiny synthetic data."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    from fdep.data import generate_synthetic

    root = tmp_path_factory.mktemp("e2e")
    data = generate_synthetic(root / "data", n=24, size=64, seed=1, name="toy")
    torch.manual_seed(0)
    vfm = root / "tiny-dinov2"
    Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                             image_size=70, patch_size=14)).save_pretrained(vfm)
    out = {}
    for variant, extra in [("original", []), ("fdep", ["--vfm", str(vfm)]), ("fdep-main", ["--vfm", str(vfm)])]:
        run = root / variant
        assert main(["train", "--data", str(data), "--out", str(run), "--variant", variant, *TRAIN, *extra]) == 0
        assert main(["test", "--checkpoint", str(run / "checkpoints" / "best.ckpt"), "--data", str(data),
                     "--quiet"]) == 0
        out[variant] = run
    ids = (data / "img_idx" / "test_toy.txt").read_text().split()
    images = root / "user_images"
    images.mkdir()
    for i in ids:
        shutil.copy(next((data / "images").glob(f"{i}.*")), images)
    return out, ids, images


def _max_diff(folder_a, folder_b, ids):
    return max(float(np.abs(read_prob_map(folder_a / f"{i}.png") - read_prob_map(folder_b / f"{i}.png")).max())
               for i in ids)


@pytest.mark.parametrize("variant", ["original", "fdep", "fdep-main"])
def test_predict_from_ckpt_and_light_dir_equals_fdep_test(runs, variant, tmp_path):
    out, ids, images = runs
    run = out[variant]
    sources = [run / "checkpoints" / "best.ckpt"] + ([run / "light"] if variant != "fdep-main" else [])
    for source in sources:
        dest = tmp_path / source.name
        run_predict(source, images, dest)
        assert _max_diff(dest / "probs", run / "test_test" / "preds", ids) <= Q + 1e-12, source


def test_export_fdep_checkpoint_is_the_light_network(runs, tmp_path):
    out, ids, images = runs
    run = out["fdep"]
    [summary] = run_export(run / "checkpoints" / "best.ckpt", onnx=tmp_path / "acm.onnx")
    assert summary["max_abs_error"] < 1e-3
    model = onnx.load(str(tmp_path / "acm.onnx"))
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert props["model"] == "acm" and props["variant"] == "fdep"
    n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    from fdep.models import count_parameters, create_model

    # the light branch only: no VFM, no SAMF weights (BN buffers and folded constants add a little)
    assert n_params < 1.2 * count_parameters(create_model("acm"))
    run_predict(tmp_path / "acm.onnx", images, tmp_path / "pred")
    assert _max_diff(tmp_path / "pred" / "probs", run / "test_test" / "preds", ids) <= 2 * Q


def test_export_fdep_main_includes_the_vfm(runs, tmp_path):
    """fdep-main infers with VFM + SAMF: the ONNX graph holds them and predicts like fdep test."""
    out, ids, images = runs
    run = out["fdep-main"]
    [summary] = run_export(run / "checkpoints" / "best.ckpt", onnx=tmp_path / "main.onnx", exporter="legacy")
    # logits of the SAMF-fused path reach tens; the export's own check is allclose(atol 1e-3, rtol), so the
    # absolute error on these random inputs can pass 1e-3 slightly (1.1e-3 seen) without being wrong
    assert summary["max_abs_error"] < 5e-3
    from fdep.models import count_parameters, create_model

    model = onnx.load(str(tmp_path / "main.onnx"))
    assert sum(int(np.prod(t.dims)) for t in model.graph.initializer) > 1.2 * count_parameters(create_model("acm"))
    run_predict(tmp_path / "main.onnx", images, tmp_path / "pred")
    # the ViT's attention in onnxruntime differs slightly in float32: logits agree to the bound above, and
    # the sigmoid's slope is at most 1/4
    assert _max_diff(tmp_path / "pred" / "probs", run / "test_test" / "preds", ids) <= 5e-3 / 4 + Q


def test_report_of_real_runs(runs, tmp_path):
    out, _, _ = runs
    html = write_report([out["original"], out["fdep-main"], out["fdep"]], tmp_path / "r.html").read_text()
    # 3 curve plots + the overlay grid, and one learning-curve figure per run (from its metrics.csv)
    assert html.count("data:image/png;base64,") == 4 + 3
    assert html.count('<img alt="learning curves"') == 3
    r = json.loads((out["fdep"] / "test_test" / "results.json").read_text())
    m = re.search(r'<tr><th>acm fdep</th>.*?<td data-key="hse">([^<]*)<', html)
    assert float(m.group(1)) == pytest.approx(100 * r["hse"], abs=0.005)
