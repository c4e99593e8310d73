"""Trained weight sets, named and hashed: ``create_model("acm", weights="nuaa-sirst")``.

:data:`WEIGHTS` is data only: for each weight set fdep publishes, the network, dataset,
variant, protocol, how it was trained (command, seed, crop), the test scores it reached (with
the paper's row beside them), and the size and sha256 of its ``model.safetensors``. Small
sets ship inside the package (``fdep/weights/<folder>/``, in the Hugging Face layout that
``fdep export --hub`` writes: ``config.json``, ``model.safetensors``, ``README.md``).

``weights=`` accepts, in this order:

1. a registered tag of that network (``"nuaa-sirst"``): the shipped folder, checked against its hash;
2. a local folder in that layout (``fdep export --hub DIR``, or ``RUN_DIR/light``);
3. a Hugging Face repo id (``"owner/name"``) already in the local HF cache (never downloaded:
   ``huggingface_hub.snapshot_download(local_files_only=True)``; ``huggingface-cli download`` fetches one).

Nothing is unpickled: weights are safetensors. This module is data and hash checks only
(imports nothing else of the zoo); finding a set's folder is :mod:`fdep.models.weight_sources`,
building the network with it :func:`fdep.models.factory.create_model`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import WeightsError

WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class WeightSet:
    """One published weight set of one network (see the module docstring)."""

    model: str  #: registered network name
    tag: str  #: name of the set for that network, e.g. "nuaa-sirst"
    dataset: str  #: what it was trained on
    variant: str  #: original | fdep (the exported light network)
    protocol: str  #: authors | fdep (docs/training.md)
    folder: str  #: folder under fdep/weights/ holding config.json, model.safetensors, README.md
    sha256: str  #: of model.safetensors
    size_bytes: int  #: of model.safetensors
    command: str  #: the training command
    seed: int
    crop: int
    epochs: int  #: epochs trained
    best_epoch: int  #: epoch of the selected checkpoint
    scores: dict = field(default_factory=dict)  #: fdep test on the test split (x100; fa x1e-6)
    paper: dict = field(default_factory=dict)  #: the paper's row for the same network/variant/dataset
    paper_table: str = ""  #: where that row is
    licence: str = ""  #: the training data's licence
    repo_id: str | None = None  #: Hugging Face repo id, when uploaded

    @property
    def name(self) -> str:
        return f"{self.model}.{self.tag}"

    def to_dict(self) -> dict:
        return asdict(self)


#: every published weight set (filled as real-data runs finish: docs/results.md)
WEIGHTS: tuple[WeightSet, ...] = (
    WeightSet(
        model='acm', tag='nuaa-sirst', dataset='NUAA-SIRST', variant='original',
        protocol='authors', folder='acm-nuaa-sirst',
        sha256='8c40150ba4f743d02d0cec08f68ec58bb70aa6cd3defd8973cdf31a6f5383207', size_bytes=1624060,
        command=('OMP_NUM_THREADS=1 taskset -c 0 fdep train --config configs/nuaa-sirst/acm_original.yaml '
                 '--data data/NUAA-SIRST --crop 256 --num-workers 0'),
        seed=0, crop=256, epochs=400, best_epoch=387,
        scores={'hse': 76.44382119901782, 'hse_p': 87.73644340429615, 'hse_t': 87.12892639921466,
                'iou': 67.70884702633396, 'niou': 66.07279728862757, 'pd': 92.39543726235742,
                'fa': 37.318864590009056, 'auc': 99.8838783480664},
        paper={'iou': 67.07, 'pd': 91.63, 'hse_p': 87.25, 'hse_t': 89.23, 'hse': 77.86}, paper_table='2',
        licence="the SIRST dataset's terms (YimianDai/sirst), academic research use",
    ),
    WeightSet(
        model='alcnet', tag='nuaa-sirst', dataset='NUAA-SIRST', variant='original',
        protocol='authors', folder='alcnet-nuaa-sirst',
        sha256='39cc2e3dfd3f3aa729028121b4eee405caacf9015245778b3dab444c677021ce', size_bytes=1736892,
        command=('fdep train --config configs/nuaa-sirst/alcnet_original.yaml --data data/NUAA-SIRST '
                 '--crop 256 --seed 1 --num-workers 0'),
        seed=1, crop=256, epochs=400, best_epoch=387,
        scores={'hse': 80.92007348646652, 'hse_p': 90.00276817238276, 'hse_t': 89.9084274068992,
                'iou': 71.76173649671883, 'niou': 70.5694658769125, 'pd': 92.01520912547528,
                'fa': 33.27141420248969, 'auc': 99.32226726633169},
        paper={'iou': 70.64, 'pd': 92.02, 'hse_p': 90.56, 'hse_t': 87.09, 'hse': 78.87}, paper_table='2',
        licence="the SIRST dataset's terms (YimianDai/sirst), academic research use",
    ),
)


def list_weights(model: str | None = None) -> list[WeightSet]:
    """The published weight sets (of ``model`` only, when given)."""
    return [w for w in WEIGHTS if model is None or w.model == model.lower()]


def get_weight_set(model: str, tag: str) -> WeightSet | None:
    for w in WEIGHTS:
        if w.model == model.lower() and w.tag == tag:
            return w
    return None


def shipped_folder(ws: WeightSet) -> Path:
    """Where a shipped weight set lies inside the installed package."""
    return Path(str(resources.files("fdep") / "weights" / ws.folder))


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_hash(ws: WeightSet, folder: Path) -> None:
    """WeightsError naming the file when it is missing or its sha256 is not the registered one."""
    f = folder / WEIGHTS_FILE
    if not f.is_file():
        raise WeightsError(f"{f}: weights file of {ws.name} not found (a damaged install? reinstall fdep)")
    got = sha256_of(f)
    if got != ws.sha256:
        raise WeightsError(f"{f}: sha256 {got[:16]}... is not the registered {ws.sha256[:16]}... of {ws.name} "
                           f"(damaged or replaced file)")
