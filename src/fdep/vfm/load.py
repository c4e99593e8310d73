"""``load_vfm``: find a VFM's weights offline (local folder, HF cache or Meta .pth) and freeze it."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

from torch import nn

from ..errors import ConfigError, WeightsError
from ..torchload import load_failure_reason
from .backbone import VFM
from .names import VFM_SPECS, list_vfms, meta_url

# Architecture hyper-parameters of the published models, for weights="random" (no download needed).
_DINOV2_ARCH = {"s": (384, 12, 6), "b": (768, 12, 12), "l": (1024, 24, 16), "g": (1536, 40, 24)}
_DINOV3_ARCH = {"s": (384, 12, 6, 1536), "b": (768, 12, 12, 3072), "l": (1024, 24, 16, 4096)}


def _random_model(name: str) -> nn.Module:
    """A randomly initialised model with the named architecture."""
    from transformers import (
        Dinov2Config,
        Dinov2Model,
        Dinov2WithRegistersConfig,
        Dinov2WithRegistersModel,
        DINOv3ViTConfig,
        DINOv3ViTModel,
    )

    spec = VFM_SPECS[name]
    size = name.split("_vit")[1][0]
    if spec.family == "dinov3":
        hidden, depth, heads, inter = _DINOV3_ARCH[size]
        cfg = DINOv3ViTConfig(hidden_size=hidden, num_hidden_layers=depth, num_attention_heads=heads,
                              intermediate_size=inter, num_register_tokens=4, patch_size=16)
        return DINOv3ViTModel(cfg)
    hidden, depth, heads = _DINOV2_ARCH[size]
    kw = dict(hidden_size=hidden, num_hidden_layers=depth, num_attention_heads=heads, image_size=518,
              patch_size=14, use_swiglu_ffn=size == "g")
    if spec.family == "dinov2_reg":
        return Dinov2WithRegistersModel(Dinov2WithRegistersConfig(num_register_tokens=4, **kw))
    return Dinov2Model(Dinov2Config(**kw))


def _from_hf(source: str | Path) -> nn.Module:
    """Load an HF model from a local folder or the local HF cache, never downloading.

    The cache is ``$HF_HUB_CACHE`` when set (read at call time), else the Hugging Face default.
    """
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(source), local_files_only=True, cache_dir=os.environ.get("HF_HUB_CACHE"))


def _from_meta(path: Path) -> nn.Module:
    from transformers import AutoModel

    from .meta import load_meta_checkpoint

    cfg, sd = load_meta_checkpoint(path)
    model = AutoModel.from_config(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("mask_token")]
    if missing or unexpected:
        raise WeightsError(f"{path}: keys do not match a DINOv2 model (missing {missing[:3]}, unexpected "
                           f"{unexpected[:3]})")
    return model


def _from_path(path: Path) -> nn.Module:
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise WeightsError(f"VFM folder {path} has no config.json (expected a Hugging Face model folder "
                               f"saved with save_pretrained: config.json + model.safetensors)")
        try:
            return _from_hf(path)
        except OSError as e:
            raise WeightsError(f"cannot load the Hugging Face model in {path}: {str(e).splitlines()[0]}") from None
        except pickle.UnpicklingError as e:  # a pytorch_model.bin holding more than tensors
            raise WeightsError(_unsafe_bin_message(path, e)) from None
    if path.suffix in (".pth", ".pt"):
        return _from_meta(path)
    raise WeightsError(f"VFM weights {path}: expected a Hugging Face model folder or Meta's "
                       f"dinov2_vit*14_pretrain.pth file")


def _unsafe_bin_message(where: object, e: BaseException) -> str:
    reason, unsafe = load_failure_reason(e)
    if unsafe:
        return (f"{where}: pytorch_model.bin is not a safe weights file: {reason}; a model folder with "
                f"model.safetensors (what save_pretrained writes by default) loads safely")
    return f"{where}: cannot read pytorch_model.bin (corrupt or truncated?): {reason}"


def _missing_message(name: str) -> str:
    spec = VFM_SPECS[name]
    msg = (f"weights for VFM {name!r} not found offline: put the Hugging Face model {spec.hf_id} in the HF cache "
           f"(huggingface-cli download {spec.hf_id}) or pass --vfm-weights DIR (a folder with config.json + "
           f"model.safetensors)")
    url = meta_url(name)
    if url:
        msg += f" or Meta's {url.rsplit('/', 1)[1]} from {url}"
    return msg + "; see docs/fdep.md"


def load_vfm(name_or_path: str | Path, layers=None, weights: str | Path | None = None) -> VFM:
    """Build a frozen VFM.

    ``name_or_path``: a short name (``fdep.vfm.list_vfms()``, e.g. ``dinov2_vitl14``), a local
    Hugging Face model folder, or a Meta ``.pth`` file. ``weights``: optional local folder or
    ``.pth`` overriding where the weights come from, or ``"random"`` for a randomly initialised
    model of the named architecture (timing and tests only; warns). Without ``weights`` a short
    name is looked up in the local Hugging Face cache (never downloaded); a missing file raises
    WeightsError naming the file and where to get it. ``layers``: 1-based block indices
    (default: evenly spaced quarters of the depth).
    """
    if isinstance(layers, str):
        try:
            layers = [int(t) for t in layers.replace("/", ",").split(",") if t.strip()]
        except ValueError:
            raise ConfigError(f"VFM layers {layers!r}: expected block numbers, e.g. 6,12,18,24") from None
    key = str(name_or_path)
    known = key.lower() in VFM_SPECS
    if weights is not None and str(weights).lower() == "random":
        if not known:
            raise ConfigError(f"weights='random' needs a known VFM name, got {key!r}; known: {', '.join(list_vfms())}")
        warnings.warn(f"VFM {key}: randomly initialised weights (requested explicitly); features carry no prior",
                      stacklevel=2)
        return VFM(_random_model(key.lower()), key.lower(), layers)
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.exists():
            hint = f"; {_missing_message(key.lower())}" if known else ""
            raise WeightsError(f"VFM weights {path} not found{hint}")
        return VFM(_from_path(path), key.lower() if known else str(path), layers)
    path = Path(key).expanduser()
    if path.exists():
        return VFM(_from_path(path), str(path), layers)
    if not known:
        raise ConfigError(f"unknown VFM {key!r}: not a file or folder either; known names: {', '.join(list_vfms())}")
    try:
        model = _from_hf(VFM_SPECS[key.lower()].hf_id)
    except OSError:
        raise WeightsError(_missing_message(key.lower())) from None
    except pickle.UnpicklingError as e:
        raise WeightsError(_unsafe_bin_message(f"the HF cache's {VFM_SPECS[key.lower()].hf_id}", e)) from None
    return VFM(model, key.lower(), layers)
