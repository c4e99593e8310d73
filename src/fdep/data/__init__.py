"""Datasets, validation, transforms, synthetic scenes and download/prepare for SIRST data.

Checking, preparing and synthesising datasets needs no torch (the core install); the torch
Dataset and the transforms are imported on first use (``pip install 'fdep[train]'``).
"""

from importlib import import_module

from .layout import dataset_name, split_train_val
from .registry import KNOWN, get_known
from .synthetic import generate_synthetic
from .validate import Problem, check_dataset

#: public names that need torch, by the submodule that defines them (imported on first use)
_LAZY = {
    "AuthorsTransform": "authors",
    "SIRSTDataset": "dataset",
    "load_dataset": "dataset",
    "TrainTransform": "transforms",
    "crop_to": "transforms",
    "pad_to_multiple": "transforms",
    "predict_tiled": "transforms",
    "stride_of": "transforms",
}

__all__ = [
    "AuthorsTransform",
    "KNOWN",
    "Problem",
    "SIRSTDataset",
    "TrainTransform",
    "check_dataset",
    "crop_to",
    "dataset_name",
    "generate_synthetic",
    "get_known",
    "load_dataset",
    "pad_to_multiple",
    "predict_tiled",
    "split_train_val",
    "stride_of",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # once: later look-ups (and monkeypatch) see a plain attribute
    return value
