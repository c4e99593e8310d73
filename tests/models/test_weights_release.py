"""Published weight sets as data: each shipped folder's release.json is the registry, written by
release/publish_weights.py and read back to the last digit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from fdep.errors import WeightsError
from fdep.models import create_model, save_pretrained
from fdep.models import weights as W
from tests.scripts import load_script

SHIPPED = Path(W.__file__).resolve().parents[1] / "weights"


def test_every_shipped_folder_has_a_record_and_is_listed():
    folders = sorted(p.name for p in SHIPPED.iterdir() if (p / W.WEIGHTS_FILE).is_file())
    assert folders and [w.folder for w in W.WEIGHTS] == folders
    for w in W.WEIGHTS:
        assert (SHIPPED / w.folder / W.RELEASE_FILE).is_file() and w.name == f"{w.model}.{w.tag}"


def test_record_round_trips_every_digit(tmp_path):
    for ws in W.WEIGHTS:
        folder = tmp_path / ws.folder
        folder.mkdir()
        (folder / W.RELEASE_FILE).write_text(W.release_json(ws), encoding="utf-8")
        back = W.read_release(folder)
        assert back == ws and back.scores == ws.scores
        assert all(repr(back.scores[k]) == repr(v) for k, v in ws.scores.items())
        assert "folder" not in json.loads((folder / W.RELEASE_FILE).read_text())  # the folder it lies in says it


def test_a_damaged_record_is_one_error_naming_the_file(tmp_path):
    (tmp_path / W.RELEASE_FILE).write_text('{"model": "acm"}', encoding="utf-8")
    with pytest.raises(WeightsError, match=r"release\.json: not a readable weight-set record"):
        W.read_release(tmp_path)


def _finished_run(root: Path) -> Path:
    """A run folder as fdep train + fdep test leave it: config.yaml, best checkpoint, test results."""
    torch.manual_seed(0)
    save_pretrained(create_model("acm", in_chans=1), root / "checkpoints" / "best.ckpt", mean=100.0, std=30.0,
                    extra={"variant": "original"})
    (root / "config.yaml").write_text(yaml.safe_dump({"model": "acm", "variant": "original", "protocol": "authors",
                                                      "seed": 3, "crop": 64, "epochs": 2}))
    res = {"dataset_name": "tiny", "split": "test", "n_images": 4, "epochs_trained": 2, "hse": 0.123456789012345,
           "iou": 0.5, "pd": 0.75, "fa": 1.25e-5, "auc": None,
           "paper": {"table": "2", "metrics": [{"metric": "iou", "paper": 67.07}, {"metric": "hse", "paper": 77.86}]}}
    (root / "test_test").mkdir()
    (root / "test_test" / "results.json").write_text(json.dumps(res))
    return root


def test_release_tool_writes_the_record_the_registry_reads(tmp_path, monkeypatch):
    tool = load_script("release/publish_weights.py")
    monkeypatch.setattr(tool, "PKG", tmp_path / "weights")
    run = _finished_run(tmp_path / "run")
    assert tool.main([str(run), "--tag", "tiny-set", "--command", "fdep train --model acm"]) == 0
    ws = W.read_release(tmp_path / "weights" / "acm-tiny-set")
    assert (ws.name, ws.folder, ws.dataset, ws.seed, ws.crop, ws.epochs, ws.best_epoch) == (
        "acm.tiny-set", "acm-tiny-set", "tiny", 3, 64, 2, 2)
    assert ws.scores == {"hse": 100.0 * 0.123456789012345, "iou": 50.0, "pd": 75.0, "fa": 1e6 * 1.25e-5}
    assert ws.paper == {"iou": 67.07, "hse": 77.86} and ws.paper_table == "2"
    f = tmp_path / "weights" / "acm-tiny-set" / W.WEIGHTS_FILE
    assert ws.sha256 == W.sha256_of(f) and ws.size_bytes == f.stat().st_size
    W.check_hash(ws, f.parent)
