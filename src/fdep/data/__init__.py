"""Datasets, validation, transforms, synthetic scenes and download/prepare for SIRST data."""

from .authors import AuthorsTransform
from .dataset import SIRSTDataset, load_dataset, split_train_val
from .layout import dataset_name
from .registry import KNOWN, get_known
from .synthetic import generate_synthetic
from .transforms import TrainTransform, crop_to, pad_to_multiple, predict_tiled, stride_of
from .validate import Problem, check_dataset

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
