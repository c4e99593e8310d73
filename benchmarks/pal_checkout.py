"""The authors' code base YuChuang1205/PAL, read from a checkout given on the command line (none of it is in fdep).

Builds PAL's ``<X>_No_Sigmoid`` network classes as its ``train_model.py`` does, picks the final map
from their outputs as PAL's tester does, and computes their training edge band; ``use_pal_checkout``
first puts stand-ins for what PAL's networks and losses import (``standins.py``) and the checkout on
``sys.path``.
"""

from __future__ import annotations

import importlib
import sys
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

import standins

#: our registry name -> PAL model folder (class ``<X>_No_Sigmoid`` in ``model/<X>/<X>_no_sigmoid.py``)
PAL_NAMES = OrderedDict(
    acm="ACM", alcnet="ALC", mlclnet="MLCL", alclnet="ALCL", dnanet="DNA", gglnet="GGL", uiunet="UIU", msdanet="MSDA"
)
#: the PAL networks with deep supervision (a list of maps in training mode) and a ``mode`` argument
DEEP = ("DNA", "UIU")


def install_standins() -> list[str]:
    """Stand-ins for what PAL's network files import (torchvision, PyWavelets) when missing; their names."""
    return list(standins.install("torchvision", "pywt"))


def use_pal_checkout(pal_root: str | Path) -> None:
    """Make PAL's networks, losses and components importable: stand-ins where needed, the checkout on sys.path."""
    install_standins()
    standins.install("segmentation_models_pytorch")
    root = str(pal_root)
    if root not in sys.path:
        sys.path.insert(0, root)


def pal_class(pal_root: Path, name: str):
    """PAL's ``<X>_No_Sigmoid`` class for our registry name."""
    root = str(pal_root)
    if root not in sys.path:
        sys.path.insert(0, root)
    folder = PAL_NAMES[name]
    module = importlib.import_module(f"model.{folder}.{folder}_no_sigmoid")
    return getattr(module, f"{folder}_No_Sigmoid")


def build_pal(pal_root: Path, name: str, mode: str = "train") -> nn.Module:
    """PAL's network with the arguments its train_model.py uses (DNA/UIU take ``mode``)."""
    cls = pal_class(pal_root, name)
    return cls(mode=mode) if is_deep(name) else cls()


def is_deep(name: str) -> bool:
    """Whether PAL's network of our registry name returns deep-supervision lists in training."""
    return PAL_NAMES.get(name) in DEEP


def pal_final(out, name: str) -> torch.Tensor:
    """The final map of a PAL network's output, the one PAL's tester takes (UIU lists it first)."""
    if isinstance(out, (list, tuple)):
        return out[0] if name == "uiunet" else out[-1]
    return out


def authors_edges(masks: torch.Tensor) -> torch.Tensor:
    """PAL's edge band of each N x 1 x H x W mask (its ``components.edges``), with the rows and columns its
    dataset zeroes; needs ``use_pal_checkout`` first."""
    from components.edges import mask_to_onehot, onehot_to_binary_edges

    edge = torch.stack([torch.from_numpy(onehot_to_binary_edges(mask_to_onehot(
        m[0].numpy().astype("int64"), 2), 1, 2)).long()[None] for m in masks])
    edge[..., 1, :] = 0
    edge[..., -1:, :] = 0
    edge[..., :, :1] = 0
    edge[..., :, -1:] = 0
    return edge
