"""Where a ``weights=`` value points: a published tag, a local folder, or a cached Hub repo id.

The order is the one :mod:`fdep.models.weights` documents. Returns folders in the layout of
:mod:`fdep.models.pretrained`; nothing here builds a network.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import WeightsError
from . import weights as W
from .pretrained import read_pretrained_config
from .spec import is_spec


def _from_hf_cache(repo_id: str) -> Path | None:
    """The local snapshot folder of a Hub repo id, or None when it is not in the cache."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return None
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, ValueError, OSError):
        return None
    except Exception:  # noqa: BLE001 - invalid repo ids and the like: treated as "not there"
        return None


def resolve_weights(model: str, weights: str | Path) -> tuple[Path, W.WeightSet | None]:
    """(folder holding config.json + model.safetensors, the registered WeightSet or None) for ``weights``."""
    text = str(weights)
    ws = W.get_weight_set(model, text)
    if ws is not None:
        folder = W.shipped_folder(ws)
        W.check_hash(ws, folder)
        return folder, ws
    path = Path(text).expanduser()
    if path.is_dir():
        return path, None
    if path.is_file():
        raise WeightsError(f"{path}: give the folder holding config.json and {W.WEIGHTS_FILE}, not a file "
                           f"(a .ckpt goes to --checkpoint)")
    if text.count("/") == 1 and not text.startswith((".", "/")):
        snap = _from_hf_cache(text)
        if snap is not None:
            return snap, None
        raise WeightsError(f"{text}: no such folder, and no Hugging Face repo of that id in the local cache "
                           f"(fdep never downloads: `huggingface-cli download {text}` first)")
    tags = ", ".join(w.tag for w in W.list_weights(model)) or "none published yet"
    raise WeightsError(f"{text}: not a weight set of {model} (published: {tags}) nor a folder; see `fdep models "
                       f"--weights`")


def weights_folder(model: str, weights: str | Path) -> tuple[Path, W.WeightSet | None]:
    """:func:`resolve_weights`, and a WeightsError when the folder holds another network's weights."""
    folder, ws = resolve_weights(model, weights)
    recorded = read_pretrained_config(folder)["model_name"]
    if recorded != (model if is_spec(model) else model.lower()):  # registered names are case-insensitive
        raise WeightsError(f"{folder}: these weights are for network {recorded!r}, not {model!r}")
    return folder, ws
