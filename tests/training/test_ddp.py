"""DDP with 2 CPU processes (gloo, Lightning's launcher): validation metrics equal a single-process evaluation.

Training itself cannot match a single process bit for bit (BatchNorm statistics and EEDM's hardest-pixel
selection are per process), so the check is on what DDP must get exactly right: every validation image
counted once across the processes and the metric states synchronised, for the same trained weights.
"""

from __future__ import annotations

import csv

import pytest
import torch

from fdep.training.checkpoint import finished_epochs, read_checkpoint
from fdep.training.config import resolve
from tests.run_helpers import fdep_subprocess, train_args


def single_process_val_metrics(run_dir):
    """Validate last.ckpt on the run's validation split in this process."""
    from fdep.training.datamodule import build_datasets, collate
    from fdep.training.module import SIRSTModule

    cfg = resolve(run_dir / "config.yaml", {})
    ckpt = read_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    mod = SIRSTModule(**cfg.to_dict())
    mod.on_load_checkpoint(ckpt)
    mod.load_state_dict(ckpt["state_dict"])
    mod.eval()
    _, val = build_datasets(cfg)
    with torch.no_grad():
        for i in range(len(val)):
            mod.validation_step(collate([val[i]]), i)
    res = mod.val_metrics.compute()
    return len(val), {k: float(res[k]) for k in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa")}


@pytest.mark.slow
def test_ddp_two_cpu_processes(tiny_data, tmp_path):
    out = tmp_path / "ddp"
    # fp32: the single-process recomputation below validates outside Lightning's autocast
    args = train_args(tiny_data, out, "--variant", "original", "--export-light", "false", "--val-fraction", "0.15",
                      "--precision", "32-true", epochs=1)
    args = [a if a != "1" or args[i - 1] != "--devices" else "2" for i, a in enumerate(args)]
    r = fdep_subprocess([*args, "--strategy", "ddp"], timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "distributed: 2 processes on 1 node(s) (DDPStrategy, backend gloo)" in r.stdout + r.stderr
    ckpt = read_checkpoint(out / "checkpoints" / "last.ckpt")
    assert finished_epochs(ckpt) == 1
    with open(out / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val/hse")]
    assert len(rows) == 1
    n_val, single = single_process_val_metrics(out)
    assert n_val % 2 == 1  # an odd count: a padding sampler would count one image twice
    for key, value in single.items():
        assert float(rows[0][f"val/{key}"]) == pytest.approx(value, rel=1e-5, abs=1e-7), key
    # the positive-pixel fraction behind the chance-level warning is summed over both processes too
    from fdep.training.datamodule import build_datasets

    _, val = build_datasets(resolve(out / "config.yaml", {}))
    pos = sum(float((val[i]["mask"] > 0.5).sum()) for i in range(len(val)))
    pix = sum(val[i]["mask"].numel() for i in range(len(val)))
    assert float(rows[0]["val/pos_frac"]) == pytest.approx(pos / pix, rel=1e-6)  # logged as float32


@pytest.mark.slow
def test_ddp_children_rebuild_a_network_file_with_fdep_at(tiny_data, tiny_vfm, tmp_path):
    # Lightning's launcher re-runs the command in the second process: it must build the same network
    (tmp_path / "nets.py").write_text(
        "import torch.nn.functional as F\nfrom torch import nn\n\n"
        "class Small(nn.Module):\n"
        "    def __init__(self, width=4):\n"
        "        super().__init__()\n"
        "        self.enc = nn.Conv2d(1, width, 3, 2, 1)\n"
        "        self.bottom = nn.Sequential(nn.Conv2d(width, 2 * width, 3, 2, 1), nn.BatchNorm2d(2 * width),\n"
        "                                    nn.ReLU())\n"
        "        self.head = nn.Conv2d(2 * width, 1, 1)\n"
        "    def forward(self, x):\n"
        "        return F.interpolate(self.head(self.bottom(self.enc(x))), size=x.shape[-2:], mode='bilinear')\n")
    out = tmp_path / "ddp"
    args = train_args(tiny_data, out, "--variant", "fdep", "--vfm", str(tiny_vfm), "--fdep-at", "bottom",
                      "--model-kwargs", '{"width": 6}', "--precision", "32-true", epochs=1)
    args = [a if a != "acm" else str(tmp_path / "nets.py") + ":Small" for a in args]
    args = [a if a != "1" or args[i - 1] != "--devices" else "2" for i, a in enumerate(args)]
    r = fdep_subprocess([*args, "--strategy", "ddp"], timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "distributed: 2 processes" in r.stdout + r.stderr
    from safetensors.torch import load_file

    light = load_file(out / "light" / "model.safetensors")
    assert light["enc.weight"].shape[0] == 6 and "bottom.0.weight" in light
