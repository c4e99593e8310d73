"""``fdep export --hub DIR``: a folder to upload as a Hugging Face model repo.

``config.json`` (network, in_chans, normalisation, threshold, fdep version, how it was trained),
``model.safetensors`` (the inference network's weights, fp32) and ``README.md`` (a model card:
what it is, how it was trained, its test scores beside the paper's row, the data's licence, how
to load it). ``create_model(name, weights=DIR)``, ``fdep predict/test --model NAME --weights DIR``
load such a folder, or the same repo from the local Hugging Face cache.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InputError, OutputExistsError
from ..fileio import check_output_folder
from ..metrics.specs import PAPER_SCORES

#: licences of the training data, by dataset name (what a model card must carry on)
DATA_LICENCES = {
    "NUAA-SIRST": "the SIRST dataset's terms (YimianDai/sirst: for academic research use)",
    "NUDT-SIRST": ("the NUDT-SIRST dataset's terms (YeRen123455/Infrared-Small-Target-Detection: "
                   "for academic research use)"),
    "IRSTD-1K": "the IRSTD-1K dataset's terms (academic research use)",
}
THRESHOLD = 0.5


def data_licence(dataset: str) -> str:
    """The licence a network trained on DATASET carries on (its model card and its release record)."""
    return DATA_LICENCES.get(dataset, "see the training dataset's terms")


def _find_results(checkpoint: Path) -> Path | None:
    """RUN_DIR/test_test/results.json of the run a checkpoint or light folder belongs to, when present."""
    for run in (checkpoint.parent.parent, checkpoint.parent):
        p = run / "test_test" / "results.json"
        if p.is_file():
            return p
    return None


def _scores_table(results: dict[str, Any] | None) -> str:
    if not results:
        return "Not tested yet: run `fdep test` on the checkpoint and export again.\n"
    cmp = results.get("paper") or {}
    rows = {m["metric"]: m for m in cmp.get("metrics", [])}
    lines = ["| metric | fdep test | paper | difference |", "|---|---|---|---|"]
    for key, title, scale, _lower in PAPER_SCORES:
        v = results.get(key)
        if v is None:
            continue
        m = rows.get(key)
        paper = "-" if m is None or m.get("paper") is None else f"{m['paper']:.2f}"
        diff = "-" if m is None or m.get("diff") is None else f"{m['diff']:+.2f}"
        lines.append(f"| {title} | {scale * v:.2f} | {paper} | {diff} |")
    where = (f"Paper row: {cmp.get('table')} ({cmp.get('label') or cmp.get('variant')}, {cmp.get('dataset')})."
             if cmp else "The paper publishes no row for this network/variant/dataset.")
    return "\n".join(lines) + f"\n\n{where} Scored by `fdep test` on {results.get('n_images')} images of the " \
        f"{results.get('dataset_name')} {results.get('split')} split, on float probabilities.\n"


def model_card(config: dict[str, Any], results: dict[str, Any] | None) -> str:
    """The README.md of a Hub folder."""
    name, train = config["model_name"], (config.get("extra") or {}).get("train_config") or {}
    dataset = (results or {}).get("dataset_name") or Path(str(train.get("data") or "")).name or "unknown"
    norm = config.get("normalization") or {}
    licence = data_licence(dataset)
    how = ("\n".join(f"- {k}: {train[k]}" for k in ("protocol", "variant", "crop", "epochs", "batch_size", "lr",
                                                      "loss", "eedm_form", "precision", "seed") if k in train)
           or "- not recorded")
    return f"""---
library_name: fdep
tags: [infrared-small-target-detection, sirst, fdep, {name}]
license: other
---

# {name} trained on {dataset} (fdep)

An infrared small target detection network ({name}, {config.get('num_parameters', 0) / 1e6:.2f} M parameters,
{config.get('in_chans')} input channel(s)) trained with [fdep](https://pypi.org/project/fdep/). It maps an
infrared image to a per-pixel target probability (sigmoid of its logits; threshold {THRESHOLD}).

## Training

{how}

Normalisation: (x - {norm.get('mean', 'n/a')}) / {norm.get('std', 'n/a')} on the 0-255 scale.

## Test scores

{_scores_table(results)}
## How to load it

```python
from fdep.models import create_model
net = create_model("{name}", weights="path/to/this/folder")   # or the Hub repo id, once in the HF cache
```

```bash
fdep predict --model {name} --weights path/to/this/folder --input my_images/ --out preds/ --overlay
fdep test --model {name} --weights path/to/this/folder --data data/{dataset}
```

## Licence

The weights are derived from {dataset}; their use follows {licence}.
"""


def export_hub(checkpoint: str | os.PathLike, out_dir: str | os.PathLike, overwrite: bool = False,
               results: str | os.PathLike | None = None) -> Path:
    """Write the Hub folder of ``checkpoint`` (a .ckpt or an exported folder) to ``out_dir``.

    ``results``: the results.json of ``fdep test`` to put in the card (default: the run's
    ``test_test/results.json`` when present). An existing non-empty ``out_dir`` is refused
    unless ``overwrite``, which replaces only the three files.
    """
    from .. import __version__
    from ..models import save_pretrained
    from .export import load_for_export

    src, out = Path(checkpoint), Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out}: exists and is not empty (use --overwrite, or another folder)")
    check_output_folder(out)
    net, meta = load_for_export(src)
    if meta.get("variant") == "fdep-main":
        raise InputError(f"{src}: variant fdep-main runs the VFM at inference; only original/fdep networks export "
                         f"to a Hub folder")
    res_path = Path(results) if results is not None else _find_results(src)
    res = json.loads(res_path.read_text()) if res_path is not None else None
    extra = {"variant": meta.get("variant"), "fdep_version": __version__, "threshold": THRESHOLD,
             "train_config": meta.get("config") or ((getattr(net, "pretrained_config", None) or {}).get("extra")
                                                    or {}).get("train_config"),
             "epochs_trained": meta.get("epochs_trained"),
             "test": {k: res.get(k) for k in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa", "auc",
                                              "dataset_name", "split", "n_images")} if res else None}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        folder = save_pretrained(net, tmp / "hub", mean=meta.get("mean"), std=meta.get("std"), extra=extra)
        config = json.loads((folder / "config.json").read_text())
        (folder / "README.md").write_text(model_card(config, res), encoding="utf-8")
        out.mkdir(exist_ok=True)
        for f in sorted(folder.iterdir()):
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
