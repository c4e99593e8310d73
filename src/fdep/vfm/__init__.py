"""Frozen vision foundation models (DINOv2 / DINOv3 through Hugging Face transformers) and their feature cache."""

from .align import crop_feature_maps, window_align
from .backbone import IMAGENET_MEAN, IMAGENET_STD, VFM
from .cache import FeatureCache, write_feature_cache
from .load import load_vfm
from .meta import config_from_meta, hf_to_meta, load_meta_checkpoint, meta_to_hf
from .names import VFM_SPECS, default_layers, list_vfms, meta_url

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VFM",
    "VFM_SPECS",
    "FeatureCache",
    "config_from_meta",
    "crop_feature_maps",
    "default_layers",
    "hf_to_meta",
    "list_vfms",
    "load_meta_checkpoint",
    "load_vfm",
    "meta_to_hf",
    "meta_url",
    "window_align",
    "write_feature_cache",
]
