"""Trained weight sets, named and hashed: ``create_model("acm", weights="nuaa-sirst")``.

:data:`WEIGHTS` is data only: for each weight set fdep publishes, the network, dataset,
variant, protocol, how it was trained (command, seed, crop), the test scores it reached (with
the paper's row beside them), and the size and sha256 of its ``model.safetensors``. Small
sets ship inside the package (``fdep/weights/<folder>/``, in the Hugging Face layout that
``fdep export --hub`` writes: ``config.json``, ``model.safetensors``, ``README.md``), each with
its record ``release.json``, which ``release/publish_weights.py`` writes and this module reads.

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
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import WeightsError

WEIGHTS_FILE = "model.safetensors"
#: the published set's record beside its weights (torch-free data: what WEIGHTS is read from)
RELEASE_FILE = "release.json"


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


def release_json(ws: WeightSet) -> str:
    """The text of a set's ``release.json``: every field but ``folder`` (the folder it lies in)."""
    record = {k: v for k, v in ws.to_dict().items() if k != "folder"}
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def read_release(folder: Path) -> WeightSet:
    """The weight set recorded in ``folder/release.json`` (floats as written: JSON keeps every digit)."""
    path = folder / RELEASE_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return WeightSet(**record, folder=folder.name)
    except (OSError, ValueError, TypeError) as e:
        raise WeightsError(f"{path}: not a readable weight-set record ({e}); a damaged install? reinstall fdep") from e


def _published() -> tuple[WeightSet, ...]:
    """Every shipped folder with a release record, in folder-name order."""
    root = resources.files("fdep") / "weights"
    if not root.is_dir():
        return ()
    folders = sorted((Path(str(f)) for f in root.iterdir() if (f / RELEASE_FILE).is_file()), key=lambda p: p.name)
    return tuple(read_release(f) for f in folders)


#: every published weight set: the release records under fdep/weights/ (written by release/publish_weights.py)
WEIGHTS: tuple[WeightSet, ...] = _published()


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
