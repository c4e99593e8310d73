"""Publish a finished run as a shipped weight set: the Hub folder inside the package and its release record.

    PYTHONPATH=src python release/publish_weights.py RUN_DIR --tag nuaa-sirst --command "fdep train ..."

Writes ``src/fdep/weights/<model>-<tag>/`` (``fdep export --hub`` of RUN_DIR/checkpoints/best.ckpt, with
RUN_DIR/test_test/results.json in its card) and its ``release.json``, the record ``fdep.models.weights``
reads (hash, size, scores x100 at full precision, the paper's row). Commit the folder (docs/models.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from fdep.fileio import atomic_write
from fdep.metrics import METRIC_SPECS
from fdep.models.weights import RELEASE_FILE, WEIGHTS_FILE, WeightSet, release_json, sha256_of
from fdep.tools.hub_export import data_licence, export_hub

PKG = Path(__file__).resolve().parents[1] / "src" / "fdep" / "weights"
KEYS = ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa", "auc")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--tag", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--licence", help="the training data's licence (default: the one the model card names for "
                    "the dataset, fdep.tools.hub_export.DATA_LICENCES)")
    a = ap.parse_args(argv)
    run = Path(a.run)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    res = json.loads((run / "test_test" / "results.json").read_text())
    folder = f"{cfg['model']}-{a.tag}"
    out = export_hub(run / "checkpoints" / "best.ckpt", PKG / folder, overwrite=True,
                     results=run / "test_test" / "results.json")
    f = out / WEIGHTS_FILE
    scores = {k: METRIC_SPECS[k].scale * res[k] for k in KEYS if res.get(k) is not None}
    paper = {m["metric"]: m["paper"] for m in ((res.get("paper") or {}).get("metrics") or [])}
    ws = WeightSet(
        model=cfg['model'], tag=a.tag, dataset=res['dataset_name'], variant=cfg['variant'],
        protocol=cfg['protocol'], folder=folder,
        sha256=sha256_of(f), size_bytes=f.stat().st_size,
        command=a.command,
        seed=cfg['seed'], crop=cfg['crop'], epochs=cfg['epochs'], best_epoch=res['epochs_trained'],
        scores=scores,
        paper=paper, paper_table=(res.get('paper') or {}).get('table', ''),
        licence=a.licence or data_licence(res['dataset_name']),
    )
    with atomic_write(out / RELEASE_FILE, "w", encoding="utf-8") as fh:
        fh.write(release_json(ws))
    print(f"published {ws.name}: {out / RELEASE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
