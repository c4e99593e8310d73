"""EEDM, SoftIoU, BCE, deep supervision and CO-ISD against hand-computed and brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdep.errors import ConfigError
from fdep.losses import CoISDLoss, build_loss, edge_band, eedm_loss, soft_iou_loss


def _band_brute(mask: np.ndarray) -> np.ndarray:
    """A pixel is in the band iff some pixel of its 3x3 neighbourhood (inside the image) has the other label."""
    h, w = mask.shape
    out = np.zeros_like(mask, bool)
    for y in range(h):
        for x in range(w):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] != mask[y, x]:
                        out[y, x] = True
    return out


def test_edge_band_hand_example():
    m = torch.zeros(1, 1, 5, 5)
    m[0, 0, 2, 2] = 1
    expected = np.zeros((5, 5), bool)
    expected[1:4, 1:4] = True
    assert np.array_equal(edge_band(m)[0, 0].numpy(), expected)
    corner = torch.zeros(1, 1, 4, 4)
    corner[0, 0, :2, :2] = 1  # 2x2 block in the corner: the image border is no boundary
    exp = np.array([[0, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]], bool)
    assert np.array_equal(edge_band(corner)[0, 0].numpy(), exp)


def test_edge_band_random_vs_brute_force():
    rng = np.random.default_rng(0)
    masks = rng.random((3, 9, 11)) > 0.7
    got = edge_band(torch.from_numpy(masks).float()[:, None])[:, 0].numpy()
    for g, m in zip(got, masks):
        assert np.array_equal(g, _band_brute(m))


def _bce(z, t):
    p = 1 / (1 + math.exp(-z))
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def test_eedm_hand_computed():
    # 1 x 1 x 2 x 3 image, target at (0, 0); band = (0,0),(0,1),(1,0),(1,1) (weight 4); (0,2),(1,2) weight 1
    logits = torch.tensor([[[[0.5, -1.0, 2.0], [1.5, -3.0, 0.2]]]])
    target = torch.tensor([[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    w = [[4, 4, 1], [4, 4, 1]]
    weighted = sorted((_bce(logits[0, 0, i, j].item(), target[0, 0, i, j].item()) * w[i][j]
                       for i in range(2) for j in range(3)), reverse=True)
    # p = 0.5, N = 6 -> k = 3: the 3 largest weighted losses
    expected = sum(weighted[:3]) / 3
    assert eedm_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)
    # p = 1 -> the weighted mean of all pixels
    assert eedm_loss(logits, target, p=1.0).item() == pytest.approx(sum(weighted) / 6, rel=1e-6)
    # edge_weight = 1 and p = 1 -> plain BCE
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    assert eedm_loss(logits, target, edge_weight=1.0, p=1.0).item() == pytest.approx(plain.item(), rel=1e-6)


def test_eedm_keeps_ties_and_batch_wide():
    logits = torch.zeros(2, 1, 2, 2)
    target = torch.zeros(2, 1, 2, 2)
    assert eedm_loss(logits, target).item() == pytest.approx(math.log(2), rel=1e-6)  # all tie: all kept
    logits = torch.tensor([[[[5.0, -1.0]]], [[[0.0, 1.0]]]])  # the batch's hardest half is mined jointly
    target = torch.zeros(2, 1, 1, 2)
    assert eedm_loss(logits, target, edge_weight=1.0).item() == pytest.approx((_bce(5, 0) + _bce(1, 0)) / 2, rel=1e-6)
    # a tie at the threshold keeps every tied pixel: k = 2, values 5, 0, 0, 0 -> all four kept
    logits = torch.tensor([[[[5.0, 0.0]]], [[[0.0, 0.0]]]])
    expected = (_bce(5, 0) + 3 * _bce(0, 0)) / 4
    assert eedm_loss(logits, target, edge_weight=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_eedm_gradient_flows():
    logits = torch.randn(2, 1, 8, 8, requires_grad=True)
    target = (torch.rand(2, 1, 8, 8) > 0.8).float()
    eedm_loss(logits, target).backward()
    assert logits.grad.abs().sum() > 0


def test_soft_iou_hand_computed():
    logits = torch.tensor([[[[0.0, 100.0], [-100.0, 0.0]]]])
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    # p = [.5, 1, 0, .5]; inter = 1.5; union = 2 + 2 - 1.5 = 2.5; smooth 1 -> 1 - 2.5/3.5
    assert soft_iou_loss(logits, target).item() == pytest.approx(1 - 2.5 / 3.5, rel=1e-6)


def test_build_loss_sums_deep_supervision():
    a, b = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 4, 4)
    t = (torch.rand(1, 1, 4, 4) > 0.5).float()
    for name in ("eedm", "softiou", "bce"):
        loss = build_loss(name)
        assert loss([a, b], t).item() == pytest.approx(loss(a, t).item() + loss(b, t).item(), rel=1e-6)
        assert loss(a, t[:, 0]).item() == pytest.approx(loss(a, t).item(), rel=1e-6)  # N x H x W targets
    assert build_loss("eedm", edge_weight=2.0, p=0.25).per_map.p == 0.25
    with pytest.raises(ConfigError, match="unknown loss"):
        build_loss("dice")
    with pytest.raises(ConfigError):
        build_loss("bce", weight=3)


def test_build_loss_adds_zero_dim_auxiliary_terms():
    """A 0-dim tensor in the output list is a ready-weighted auxiliary loss (RPCANet's reconstruction)."""
    a = torch.randn(2, 1, 4, 4)
    t = (torch.rand(2, 1, 4, 4) > 0.5).float()
    aux = torch.tensor(0.25, requires_grad=True)
    for name in ("eedm", "softiou", "bce"):
        loss = build_loss(name)
        total = loss([aux, a], t)
        assert total.item() == pytest.approx(0.25 + loss(a, t).item(), rel=1e-6)
    total.backward()
    assert aux.grad.item() == 1.0
    both = CoISDLoss("bce", alpha=0.5)({"main": [aux, a], "light": [aux, a]}, t)
    assert both.item() == pytest.approx(1.5 * (0.25 + build_loss("bce")(a, t).item()), rel=1e-6)


def test_coisd_combination():
    t = (torch.rand(1, 1, 8, 8) > 0.9).float()
    main, light = [torch.randn(1, 1, 8, 8), torch.randn(1, 1, 8, 8)], torch.randn(1, 1, 8, 8)
    base = build_loss("eedm")
    parts = CoISDLoss("eedm", alpha=0.5).components({"main": main, "light": light}, t)
    assert parts["total"].item() == pytest.approx(base(main, t).item() + 0.5 * base(light, t).item(), rel=1e-6)
    edl = CoISDLoss("eedm", edl_weight=2.0)({"main": main, "light": light}, t)
    teacher = torch.sigmoid(main[-1])
    d = torch.nn.functional.binary_cross_entropy_with_logits(light, teacher)
    assert edl.item() == pytest.approx(base(main, t).item() + base(light, t).item() + 2.0 * d.item(), rel=1e-6)
    assert CoISDLoss("bce")({"light": light}, t).item() == pytest.approx(build_loss("bce")(light, t).item())
    with pytest.raises(ValueError):
        CoISDLoss()({"other": light}, t)
