"""Parameter counts against the paper: Table 1 (all eight networks, Original and FDEP rows) and
Table 3 (MSDA-Net's break-down schemes), with DINOv2 ViT-L/14 (Cd = 1024, blocks 6/12/18/24).

The paper's "P (M)" is the trained model without the frozen VFM: network (3-channel input) + 4
fusion modules. The VFM itself is never built: FDEPModel takes its description (width and
layers) as for cache-only training, and the networks are built on the meta device.
"""

from __future__ import annotations

import pytest
import torch

from fdep.framework import FDEPModel
from fdep.framework.samf import SAMF
from fdep.models import count_parameters, create_model, list_models

#: DINOv2 ViT-L/14 as FDEPModel sees it (no weights needed)
VIT_L14 = {"name": "dinov2_vitl14", "layers": [6, 12, 18, 24], "embed_dim": 1024, "patch_size": 14}

#: Table 1, P (M): (Original, + FDEP w/o CO-ISD = + FDEP Framework)
TABLE1 = {
    "acm": (0.40, 0.85),
    "alcnet": (0.43, 0.88),
    "mlclnet": (0.66, 1.11),
    "alclnet": (5.67, 9.74),
    "dnanet": (4.70, 8.77),
    "gglnet": (8.99, 13.06),
    "uiunet": (50.54, 64.71),
    "msdanet": (4.79, 5.24),
}

#: Table 3 (MSDA-Net + FDEP), Param (M): scheme -> (variant, fusion, count)
TABLE3 = {
    "Original": ("original", None, 4.79),
    "Scheme1": ("fdep-main", "add", 5.05),  # DINO, no SAMF, no CO-ISD
    "Scheme2": ("fdep-main", "samf", 5.24),  # DINO + SAMF
    "Scheme3": ("fdep", "add", 5.05),  # DINO + CO-ISD
    "Scheme4": ("fdep", "samf", 5.24),  # DINO + SAMF + CO-ISD
}


def _printed(n: int, value_m: float) -> bool:
    """``n`` parameters print as ``value_m`` M with two decimals (half-open rounding interval)."""
    return value_m * 1e6 - 5000 <= n < value_m * 1e6 + 5000


def _count(name: str, variant: str = "fdep-main", **kw) -> tuple[int, int]:
    """(network, trained model without the VFM) parameters, 3-channel input, ViT-L/14."""
    with torch.device("meta"):
        net = create_model(name, in_chans=3)
        model = FDEPModel(net, VIT_L14 if variant != "original" else None, variant=variant, **kw)
    return count_parameters(net), count_parameters(model)


#: registered networks of Table S3 only (no FDEP row in the paper)
TABLE_S3_ONLY = {"ilnet", "mtunet", "rpcanet", "sctransnet", "sdsnet"}


def test_table1_covers_every_registered_network():
    # learned networks only: the classical methods (FKRW, MPCM, NIPPS) have no parameters and no FDEP row
    assert set(TABLE1) | TABLE_S3_ONLY >= set(list_models(kind="learned"))
    assert set(TABLE1) <= set(list_models(kind="learned"))


@pytest.mark.parametrize("name", sorted(TABLE1))
def test_table1_counts(name):
    """Original and FDEP rows of Table 1 at printed precision, with the default (table1) SAMF form."""
    original, fdep = TABLE1[name]
    n_net, n_fdep = _count(name)
    assert _printed(n_net, original), f"{name}: network {n_net / 1e6:.4f} M, Table 1 {original}"
    assert _printed(n_fdep, fdep), f"{name}: FDEP {n_fdep / 1e6:.4f} M, Table 1 {fdep}"
    assert _count(name, "fdep") == (n_net, n_fdep)  # both FDEP rows train the same modules
    assert _count(name, samf_form="table1") == (n_net, n_fdep)  # the default is the table1 form


def test_literal_form_misses_table1():
    """Eq. 1-6 read literally: 4 x 82,208 parameters at C = 64 (ACM 0.73 M, not 0.85 M)."""
    n_net, n_lit = _count("acm", samf_form="literal")
    assert n_lit - n_net == 4 * 82208
    assert not _printed(n_lit, TABLE1["acm"][1])
    n_net, n_lit = _count("msdanet", samf_form="literal")
    assert not _printed(n_lit, TABLE1["msdanet"][1])  # 5.12 M against 5.24 M


def test_table1_form_per_module():
    """Per module: 2 x (Cd x C/2 + C/2) projections + BN(C/2) + Eq. 4-6 convs + BN(C) after Eq. 6."""
    for c in (64, 256, 512):
        h = c // 2
        expected = 2 * (1024 * h + h) + 2 * h + (9 * h * h + h) + (h * h + h) + (9 * c * c + c) + 2 * c
        assert count_parameters(SAMF(1024, c)) == expected


@pytest.mark.parametrize("scheme", sorted(TABLE3))
def test_table3_msdanet_schemes(scheme):
    variant, fusion, value = TABLE3[scheme]
    kw = {"fusion": fusion} if fusion else {}
    _, n = _count("msdanet", variant, **kw)
    assert _printed(n, value), f"{scheme}: {n / 1e6:.4f} M, Table 3 {value}"
