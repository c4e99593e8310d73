"""Hand-computed cases for the target metrics (SPEC.md section 2)."""

import math

import numpy as np
import pytest

import fdep.metrics.components as components
from fdep.metrics import NoTargetError, evaluate

H = W = 24
N = H * W


@pytest.fixture(autouse=True, params=["auto", "dense", "blocks"])
def regime(request, monkeypatch):
    """Every case must hold whether levels are labelled whole (dense) or by blocks."""
    if request.param != "auto":
        monkeypatch.setattr(components, "DENSE_FRACTION", 0.0 if request.param == "dense" else 2.0)
    return request.param


def blank():
    return np.zeros((H, W)), np.zeros((H, W), bool)


def test_single_target_hit():
    p, g = blank()
    g[10:13, 10:13] = True
    p[10:13, 10:13] = 0.9
    r = evaluate([p], [g])
    assert (r["pd"], r["fa"], r["iou"], r["niou"]) == (1.0, 0.0, 1.0, 1.0)
    assert r["hse_t"] == pytest.approx(1.0) and r["hse_p"] == 1.0 and r["hse"] == pytest.approx(1.0)
    assert r["auc"] == 1.0 and r["n_targets"] == 1 and r["n_images"] == 1


def test_single_target_missed():
    p, g = blank()
    g[5, 5] = True
    r = evaluate([p], [g])
    assert (r["pd"], r["fa"], r["iou"], r["hse_t"]) == (0.0, 0.0, 0.0, 0.0)
    assert r["hse_p"] == pytest.approx(1 / N)  # all scores tie: precision = positives / pixels
    assert r["auc"] == 0.5


def test_split_target_first_piece_matches_other_is_false_alarm():
    p, g = blank()
    g[10, 10:15] = True  # centroid (10, 12)
    p[10, 10] = p[10, 14] = 0.8  # two pieces at distance 2
    r = evaluate([p], [g], thresholds=[0.5], curves=True)
    assert r["pd"] == 1.0 and r["fa"] == pytest.approx(1 / N)
    assert r["curves"]["n_pred"].tolist() == [2] and r["hse_t"] == pytest.approx(0.5)


def test_merged_targets_one_component_matches_only_one():
    p, g = blank()
    g[10, 10] = g[10, 13] = True  # two GT targets (not 8-connected)
    p[10, 10:14] = 0.7  # one component, centroid (10, 11.5): within 3 of both
    r = evaluate([p], [g], thresholds=[0.5])
    assert r["n_targets"] == 2 and r["pd"] == 0.5 and r["fa"] == 0.0
    assert r["hse_t"] == pytest.approx(1.0 * 0.5)  # P = 1/1, R = 1/2


def test_false_alarm_pixels_and_precision():
    p, g = blank()
    g[5, 5] = True
    p[5, 5] = 0.9
    p[18:20, 18:20] = 0.7  # 4-pixel false alarm
    r = evaluate([p], [g], thresholds=[0.5, 0.8], curves=True)
    assert r["pd"] == 1.0 and r["fa"] == pytest.approx(4 / N)
    assert r["curves"]["target_precision"].tolist() == [0.5, 1.0]
    assert r["hse_t"] == pytest.approx(0.5 * 0 + 1.0 * 1.0)
    assert evaluate([p], [g], thresholds=[0.5])["hse_t"] == pytest.approx(0.5)
    assert r["curves"]["fa"].tolist() == [4 / N, 0.0]


def test_component_splits_between_thresholds():
    p, g = blank()
    g[10, 11] = True
    p[10, 10], p[10, 11], p[10, 12] = 0.9, 0.4, 0.9  # one component below 0.4, two above
    r = evaluate([p], [g], thresholds=[0.3, 0.5], curves=True)
    assert r["curves"]["n_pred"].tolist() == [1, 2]
    assert r["curves"]["n_match"].tolist() == [1, 1]
    assert r["hse_t"] == pytest.approx(1.0 * (1 - 1) + 0.5 * 1)
    assert r["fa"] == pytest.approx(1 / N)  # at 0.5 the second piece is unmatched


def test_distance_exactly_at_tolerance_does_not_match():
    p, g = blank()
    g[10, 10] = True
    p[13, 10] = 0.9  # distance exactly 3
    assert evaluate([p], [g])["pd"] == 0.0
    assert evaluate([p], [g], tolerance=3.0001)["pd"] == 1.0
    p2, _ = blank()
    p2[11, 11] = 0.9
    p2[11, 12] = 0.9  # centroid (11, 11.5): squared distance 1 + 2.25 = 3.25
    assert evaluate([p2], [g], tolerance=1.81)["pd"] == 1.0
    assert evaluate([p2], [g], tolerance=1.8027)["pd"] == 0.0  # 1.8027**2 < 3.25


def test_label_order_is_raster_order_of_first_pixel():
    p, g = blank()
    g[10, 10] = True
    p[9, 12] = 0.9  # component A: first pixel (9, 12), 1 pixel
    p[10, 8] = p[11, 8] = 0.9  # component B: first pixel (10, 8), later in raster order, 2 pixels
    r = evaluate([p], [g])
    assert r["pd"] == 1.0 and r["fa"] == pytest.approx(2 / N)  # A matched, B is the false alarm


def test_iou_pools_sums_niou_averages_images():
    p1, g1 = blank()
    g1[0, 0:4] = True
    p1[0, 0:2] = 0.9  # 2/4
    p2, g2 = blank()  # empty image: union 0 scores 0 in nIoU
    r = evaluate([p1, p2], [g1, g2])
    assert r["iou"] == 0.5 and r["niou"] == 0.25


def test_threshold_is_strict_greater():
    p, g = blank()
    g[3, 3] = True
    p[3, 3] = 0.5  # not > 0.5
    r = evaluate([p], [g], thresholds=[0.25, 0.5], curves=True)
    assert r["pd"] == 0.0 and r["curves"]["n_match"].tolist() == [1, 0]


def test_float32_compared_exactly():
    p, g = blank()
    g[3, 3] = True
    p = p.astype(np.float32)
    p[3, 3] = np.float32(0.07)  # float32(0.07) > 0.07 as real numbers
    r = evaluate([p], [g], thresholds=[0.07], curves=True)
    assert float(np.float32(0.07)) > 0.07 and r["curves"]["n_match"].tolist() == [1]
    p[3, 3] = np.nextafter(np.float32(0.07), np.float32(0))
    assert evaluate([p], [g], thresholds=[0.07], curves=True)["curves"]["n_match"].tolist() == [0]


def test_no_target_is_undefined():
    p, g = blank()
    p[2, 2] = 0.9
    with pytest.raises(NoTargetError, match="no target"):
        evaluate([p], [g])
    r = evaluate([p], [g], undefined="nan")
    assert all(math.isnan(r[k]) for k in ("hse_p", "hse_t", "hse", "pd", "auc"))
    assert r["fa"] == pytest.approx(1 / N) and r["iou"] == 0.0


def test_default_thresholds_are_j_over_100():
    p, g = blank()
    g[1, 1] = True
    r = evaluate([p], [g], curves=True)
    assert r["curves"]["thresholds"].tolist() == [j / 100 for j in range(1, 100)]
    assert evaluate([p], [g], thresholds=3, curves=True)["curves"]["thresholds"].tolist() == [0.25, 0.5, 0.75]
