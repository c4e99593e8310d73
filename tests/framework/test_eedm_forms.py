"""EEDM's two readings: ``released`` against an independent re-implementation of the authors' steps
(PAL edges.py + dataset edge clearing + Edge_loss.edgeSCE_loss), ``text`` unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt

from fdep.errors import ConfigError
from fdep.losses import EEDM_FORMS, build_loss, edge_band, eedm_loss


def pal_edge(mask: np.ndarray) -> np.ndarray:
    """The authors' edge map of one H x W 0/1 mask, step by step as described (0 / 255 values).

    Two one-hot channels (background, target), each zero padded by one pixel; per channel the distance
    of every pixel to the nearest pixel of the other value (edt(m) + edt(1 - m)), cropped back; distances
    above radius 1 set to 0; channels summed; > 0 -> 255; then rows/columns "cleared": row 1 (not 0),
    the last row, the first and the last column.
    """
    onehot = np.stack([mask == 0, mask == 1]).astype(np.uint8)
    padded = np.pad(onehot, ((0, 0), (1, 1), (1, 1)), mode="constant", constant_values=0)
    edge = np.zeros(mask.shape)
    for c in range(2):
        dist = distance_transform_edt(padded[c]) + distance_transform_edt(1.0 - padded[c])
        dist = dist[1:-1, 1:-1]
        dist[dist > 1] = 0
        edge += dist
    edge = (edge > 0).astype(np.uint8) * 255
    edge[1, :] = 0
    edge[-1:, :] = 0
    edge[:, :1] = 0
    edge[:, -1:] = 0
    return edge


def pal_loss(pred: torch.Tensor, target: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
    """edgeSCE_loss as described: per-pixel BCE with logits, weights from the edge map, hardest half, mean."""
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
    weight = edge.clone()
    weight[weight == 0] = 1
    weight[weight > 0] = 4
    loss = loss * weight
    ordered, _ = loss.contiguous().view(-1).sort()
    threshold = ordered[int(0.5 * loss.numel())]
    return loss[loss >= threshold].mean()


def _masks() -> list[np.ndarray]:
    a = np.zeros((7, 8), np.int64)
    a[2:4, 2:4] = 1  # interior square
    b = np.zeros((7, 8), np.int64)
    b[0:2, 5:8] = 1  # touching row 0 and the right border
    c = np.zeros((7, 8), np.int64)  # no target
    d = np.zeros((7, 8), np.int64)
    d[1, 1] = d[5, 3] = 1
    d[4:7, 6] = 1
    return [a, b, c, d]


def test_reimplementation_band_by_hand():
    """Pins the description: 4-neighbour band both sides, row 0 kept (padding counts), row 1 cleared."""
    m = np.zeros((6, 6), np.int64)
    m[2:4, 2:4] = 1
    expected = np.zeros((6, 6), bool)
    expected[0, 1:5] = True  # row 0: every background pixel is next to the zero padding; corners cleared
    expected[2:4, 2:4] = True  # the target itself
    expected[4, 2:4] = expected[2:4, 1] = expected[2:4, 4] = True  # 4-neighbours below / left / right
    # (1, 2) and (1, 3), the neighbours above, fall on the cleared row 1; diagonal pixels are at sqrt(2) > 1
    np.testing.assert_array_equal(pal_edge(m) > 0, expected)
    assert pal_edge(m).max() == 255


@pytest.mark.parametrize("shape", [(2, 1, 7, 8), (1, 1, 7, 8), (3, 1, 7, 8), (1, 1, 7, 7), (3, 1, 7, 7)])
def test_released_matches_the_authors_steps(shape):
    g = torch.Generator().manual_seed(int(np.prod(shape)))
    masks = [m[:, : shape[-1]] for m in _masks()]  # 7 x 7 crops: an odd pixel count
    for start in range(len(masks)):
        target = torch.tensor(np.stack([masks[(start + k) % 4] for k in range(shape[0])]), dtype=torch.float32)[:, None]
        edge = torch.tensor(np.stack([pal_edge(m.numpy().astype(np.int64)[0]) for m in target.long()]))[:, None]
        logits = torch.randn(shape, generator=g) * 3
        ours = eedm_loss(logits, target, form="released")
        theirs = pal_loss(logits, target, edge.long())
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


def test_released_weighting_ignores_the_edge_map():
    """edge[edge == 0] = 1 then edge[edge > 0] = 4 leaves 4 everywhere: any edge map gives the same loss."""
    logits = torch.randn(2, 1, 7, 8, generator=torch.Generator().manual_seed(0))
    target = torch.tensor(np.stack(_masks()[:2]), dtype=torch.float32)[:, None]
    real = pal_loss(logits, target, torch.tensor(np.stack([pal_edge(m) for m in _masks()[:2]]))[:, None].long())
    none = pal_loss(logits, target, torch.zeros(2, 1, 7, 8, dtype=torch.long))
    full = pal_loss(logits, target, torch.full((2, 1, 7, 8), 255, dtype=torch.long))
    assert real.item() == pytest.approx(none.item(), rel=1e-7) == pytest.approx(full.item(), rel=1e-7)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten()
    top = bce[bce >= bce.sort().values[bce.numel() // 2]]
    assert eedm_loss(logits, target, form="released").item() == pytest.approx(4 * top.mean().item(), rel=1e-6)


def test_text_and_released_differ_where_the_band_matters():
    target = torch.tensor(_masks()[0], dtype=torch.float32)[None, None]
    logits = torch.zeros(1, 1, 7, 8)
    logits[target > 0] = -2.0  # targets missed: large BCE in the band
    text = eedm_loss(logits, target, form="text")
    released = eedm_loss(logits, target, form="released")
    assert edge_band(target).any() and text.item() != pytest.approx(released.item(), rel=1e-3)
    # odd pixel count: text keeps floor(N/2) largest, released every value >= the one at index int(N/2)
    vals = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0]).view(1, 1, 1, 5)  # BCE(x, 0) increases with x
    z = torch.zeros(1, 1, 1, 5)
    bce = F.binary_cross_entropy_with_logits(vals, z, reduction="none").flatten()
    assert eedm_loss(vals, z, form="released").item() == pytest.approx(4 * bce[2:].mean().item(), rel=1e-6)
    assert eedm_loss(vals, z, edge_weight=4.0, form="text").item() == pytest.approx(bce[3:].mean().item(), rel=1e-6)


def test_deep_supervision_sums_each_output_like_the_authors():
    g = torch.Generator().manual_seed(3)
    target = torch.tensor(np.stack(_masks()[:2]), dtype=torch.float32)[:, None]
    outs = [torch.randn(2, 1, 7, 8, generator=g) for _ in range(4)]
    edge = torch.tensor(np.stack([pal_edge(m) for m in _masks()[:2]]))[:, None].long()
    theirs = torch.mean(sum(pal_loss(o, target, edge) for o in outs))  # train_model.py: torch.mean(l0 + ... + l3)
    ours = build_loss("eedm", form="released")(outs, target[:, 0])
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


def test_released_gradient_and_form_checks():
    logits = torch.randn(2, 1, 5, 5, requires_grad=True)
    eedm_loss(logits, torch.zeros(2, 1, 5, 5), form="released").backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="released"):
        build_loss("eedm", form="paper")
    from fdep.training.config import EEDM_FORMS as CONFIG_FORMS

    assert tuple(CONFIG_FORMS) == tuple(EEDM_FORMS)
