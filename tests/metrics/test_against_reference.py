"""fdep.metrics against independent implementations: the slow per-threshold reference and sklearn."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

import fdep.metrics.components as components
from fdep.metrics import evaluate
from fdep.metrics._inputs import make_thresholds
from fdep.metrics.core import Setup
from fdep.metrics.synthetic import noisy_set

from .maps import structured_pair
from .slow_reference import reference


def _set(seed, n=4, close=False, dtype=np.float64, size=48):
    rng = np.random.default_rng(seed)
    pairs = [structured_pair(rng, size, size, n_targets=int(rng.integers(0, 4)), close_pairs=close)
             for _ in range(n)]
    return [p.astype(dtype) for p, _ in pairs], [g for _, g in pairs]


def _check(preds, gts, thresholds, tol=3.0):
    r = evaluate(preds, gts, thresholds=thresholds, tolerance=tol, curves=True, undefined="nan")
    ref = reference(preds, gts, make_thresholds(thresholds), tol)
    assert r["n_targets"] == ref["n_targets"]
    np.testing.assert_array_equal(r["curves"]["n_pred"], ref["n_pred"])
    np.testing.assert_array_equal(r["curves"]["n_match"], ref["n_match"])
    for k in ("hse_t", "pd", "fa", "iou", "niou"):
        assert r[k] == pytest.approx(ref[k], abs=1e-12, nan_ok=True), k
    return r


@pytest.mark.parametrize("seed", range(4))
def test_target_metrics_match_reference_99_thresholds(seed):
    preds, gts = _set(seed, close=seed % 2 == 1, dtype=np.float32 if seed >= 2 else np.float64)
    _check(preds, gts, 99)


@pytest.mark.parametrize("thresholds", [7, [0.0, 0.05, 0.3, 0.5, 0.77], [0.2, 0.9]])
def test_target_metrics_match_reference_other_thresholds(thresholds):
    preds, gts = _set(11, close=True)
    _check(preds, gts, thresholds, tol=2.5)


@pytest.mark.parametrize("regime", ["auto", "dense", "blocks"])
def test_noisy_maps_match_reference(regime, monkeypatch):
    """The benchmark's stress case (uniform noise on every pixel, issue 12) at a small size, with
    the dense levels labelled whole (auto), every level labelled whole, or every level by blocks."""
    if regime != "auto":
        monkeypatch.setattr(components, "DENSE_FRACTION", 0.0 if regime == "dense" else 2.0)
    preds, gts = noisy_set(3, 40, seed=5)
    _check(preds, gts, 99)
    _check([p.astype(np.float64) for p in preds], gts, [0.005, 0.02, 0.03, 0.5, 0.6], tol=2.0)
    # Quantised to steps of 1/80 (and noise up to 0.3): runs of consecutive thresholds give equal maps.
    rng = np.random.default_rng(1)
    coarse = [np.floor(np.maximum(p, rng.uniform(0, 0.3, p.shape)) * 80) / 80 for p in preds]
    _check(coarse, gts, 99)


def _per_level(comps) -> list[tuple[int, ...]]:
    """Every (level, area, sum_y, sum_x, first) of a Components, ranges expanded, sorted."""
    return sorted((j, a, sy, sx, f) for lo, hi, a, sy, sx, f in
                  zip(comps.lo, comps.hi, comps.area, comps.sum_y, comps.sum_x, comps.first)
                  for j in range(int(lo), int(hi) + 1))


@pytest.mark.parametrize("kind", ["noisy", "structured"])
def test_dense_and_block_regimes_give_the_same_components(kind):
    levels = Setup(make_thresholds(99), 3.0).levels
    if kind == "noisy":
        preds, _ = noisy_set(2, 36, seed=2)
    else:
        preds, _ = _set(4, n=2, size=36)
    rng = np.random.default_rng(0)
    for p in preds:
        dense = components.threshold_components(p, levels, dense_fraction=0.0)
        blocks = components.threshold_components(p, levels, dense_fraction=2.0)
        assert _per_level(dense[0]) == _per_level(blocks[0])
        for a, b in zip(dense[1:], blocks[1:]):  # n_pred, pix_above
            np.testing.assert_array_equal(a, b)
        assert dense[1].sum() == len(_per_level(dense[0]))
        # With GT centroids, the dense levels keep a superset of the components within tol of one.
        every = _per_level(dense[0])
        pick = [every[i] for i in rng.choice(len(every), 6)]  # points 0-2 px from some components' centroids
        gcy = np.array([c[2] / c[1] for c in pick]) + rng.uniform(-2, 2, 6)
        gcx = np.array([c[3] / c[1] for c in pick]) + rng.uniform(-2, 2, 6)
        near = _per_level(components.threshold_components(p, levels, near=(gcy, gcx, 3.0), dense_fraction=0.0)[0])
        within = [c for c in every if np.min((c[2] / c[1] - gcy) ** 2 + (c[3] / c[1] - gcx) ** 2) < 9.0]
        assert set(within) <= set(near) <= set(every)
        assert len(within) > 0


def test_dense_regime_with_32_bit_labels():
    """Maps with 2**16 or more pixels above a level take OpenCV's 32-bit labels: same components."""
    from fdep.metrics.synthetic import noisy_pair

    p, _ = noisy_pair(np.random.default_rng(7), 300)
    levels = np.array([0.01, 0.02, 0.04, 0.5])
    assert np.count_nonzero(p > 0.01) >= 65535
    dense = components.threshold_components(p, levels, dense_fraction=0.0)
    blocks = components.threshold_components(p, levels, dense_fraction=2.0)
    assert _per_level(dense[0]) == _per_level(blocks[0])
    np.testing.assert_array_equal(dense[1], blocks[1])


def test_opencv_centroids_are_far_within_the_preselection_margin():
    """The dense levels preselect labels by OpenCV's floating-point centroids (tol + CENTROID_MARGIN):
    they must agree with the exact sums / counts far below that margin, on large noisy masks too."""
    import cv2

    rng = np.random.default_rng(3)
    for density, shape in ((0.2, (300, 500)), (0.45, (512, 512)), (0.8, (64, 2000))):
        mask = (rng.random(shape) < density).astype(np.uint8)
        n, lab, _, cent = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
        ys, xs = np.nonzero(mask)
        lbl = lab[ys, xs]
        area = np.bincount(lbl, minlength=n)[1:]
        cy = np.bincount(lbl, ys, minlength=n)[1:] / area
        cx = np.bincount(lbl, xs, minlength=n)[1:] / area
        assert np.max(np.abs(cent[1:, 1] - cy)) < components.CENTROID_MARGIN * 1e-3
        assert np.max(np.abs(cent[1:, 0] - cx)) < components.CENTROID_MARGIN * 1e-3


def _merged_set(seed, n=4, size=40):
    """Pairs of small GT targets 2-4 px apart under one blurred blob: components close to two targets."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    preds, gts = [], []
    for _ in range(n):
        g = np.zeros((size, size), bool)
        p = 0.02 * gaussian_filter(rng.random((size, size)), 1.5)
        for _ in range(3):
            y, x = rng.integers(4, size - 8, 2)
            dy, dx = int(rng.integers(0, 3)), int(rng.integers(2, 5))
            g[y, x] = g[y + dy, x + dx] = True
            blob = np.zeros((size, size))
            blob[y, x] = blob[y + dy, x + dx] = rng.uniform(0.5, 1.0)
            blob[y + rng.integers(-2, 3), x + rng.integers(-2, 5)] = rng.uniform(0.3, 1.0)
            p = np.maximum(p, gaussian_filter(blob, rng.uniform(0.6, 1.4)) * 4)
        preds.append(np.clip(p, 0, 1))
        gts.append(g)
    return preds, gts


def test_merged_targets_take_the_sequential_greedy_path(monkeypatch):
    import fdep.metrics.core as core
    import fdep.metrics.matching as matching

    seen = []
    orig = matching.match_levels

    def spy(gcy, gcx, comps, nlev, tol):
        if len(gcy) and len(comps):
            _, c = matching.near_pairs(gcy, gcx, comps.sum_y / comps.area, comps.sum_x / comps.area, tol)
            seen.append(len(c) > 0 and np.bincount(c).max() > 1)
        return orig(gcy, gcx, comps, nlev, tol)

    monkeypatch.setattr(core, "match_levels", spy)
    for seed in range(3):
        preds, gts = _merged_set(seed)
        _check(preds, gts, 30)
    assert sum(seen) >= 3  # the sequential path really ran


def test_chunked_canvas_gives_the_same_components(monkeypatch):
    preds, gts = _set(3)
    want = evaluate(preds, gts, curves=True)
    monkeypatch.setattr(components, "MAX_VOLUME", 64)
    orig = components.threshold_components
    monkeypatch.setattr(components, "threshold_components",
                        lambda p, levels, max_volume=64, **kw: orig(p, levels, 64, **kw))
    import fdep.metrics.core as core

    monkeypatch.setattr(core, "threshold_components", components.threshold_components)
    got = evaluate(preds, gts, curves=True)
    np.testing.assert_array_equal(got["curves"]["n_pred"], want["curves"]["n_pred"])
    assert got["hse_t"] == want["hse_t"] and got["fa"] == want["fa"]


def test_sparse_block_table_gives_the_same_components(monkeypatch):
    preds, gts = _set(6)
    want = evaluate(preds, gts, curves=True)
    monkeypatch.setattr(components, "DENSE_LIMIT", 0)
    got = evaluate(preds, gts, curves=True)
    np.testing.assert_array_equal(got["curves"]["n_pred"], want["curves"]["n_pred"])
    np.testing.assert_array_equal(got["curves"]["n_match"], want["curves"]["n_match"])
    assert got["fa"] == want["fa"]


@pytest.mark.parametrize("kind", ["float64", "float32", "8bit", "mixed"])
def test_pixel_metrics_equal_sklearn(kind):
    preds, gts = _set(21, n=5)
    if kind == "float32":
        preds = [p.astype(np.float32) for p in preds]
    elif kind == "8bit":  # many ties
        preds = [np.round(p * 255) / 255 for p in preds]
    elif kind == "mixed":
        preds = [p.astype(np.float32) if i % 2 else p for i, p in enumerate(preds)]
    y = np.concatenate([g.ravel() for g in gts])
    s = np.concatenate([np.asarray(p, np.float64).ravel() for p in preds])
    r = evaluate(preds, gts, curves=True)
    assert abs(r["hse_p"] - average_precision_score(y, s)) < 1e-9
    assert abs(r["auc"] - roc_auc_score(y, s)) < 1e-9
    assert r["hse"] == pytest.approx(r["hse_p"] * r["hse_t"])
    c = r["curves"]
    area = np.sum((c["roc_fpr"][1:] - c["roc_fpr"][:-1]) * (c["roc_tpr"][1:] + c["roc_tpr"][:-1]) / 2)
    assert area == pytest.approx(r["auc"], abs=1e-12)
    ap = np.sum(np.diff(np.concatenate([[0.0], c["pixel_recall"]])) * c["pixel_precision"])
    assert ap == pytest.approx(r["hse_p"], abs=1e-12)


def test_binned_mode_is_close_to_exact():
    preds, gts = _set(8, n=5)
    exact = evaluate(preds, gts)
    binned = evaluate(preds, gts, bins=10_000)
    assert abs(binned["hse_p"] - exact["hse_p"]) < 2e-3
    assert abs(binned["auc"] - exact["auc"]) < 1e-3
    for k in ("hse_t", "pd", "fa", "iou", "niou"):
        assert binned[k] == exact[k]
    # Binned = exact AP of scores rounded down to the bin grid.
    y = np.concatenate([g.ravel() for g in gts])
    q = np.concatenate([np.minimum(np.floor(p * 10_000), 9_999).ravel() for p in preds])
    assert abs(binned["hse_p"] - average_precision_score(y, q)) < 1e-9
    assert abs(binned["auc"] - roc_auc_score(y, q)) < 1e-9


@pytest.mark.parametrize("kind", ["random", "8bit", "ends", "empty"])
def test_background_count_table_is_searchsorted(kind):
    """NegativeCounter's bucket table: #target keys below each bucket, sentinel where a key lies."""
    from fdep.metrics.pixel import NegativeCounter

    rng = np.random.default_rng(2)
    u = {"random": np.unique(rng.random(3000)), "8bit": np.unique(np.round(rng.random(400) * 255) / 255),
         "ends": np.array([0.0, 1e-30, 0.5, 1.0]), "empty": np.zeros(0)}[kind]
    c = NegativeCounter(u)
    keys = u.astype(np.float32).view(np.int32).astype(np.int64) >> c.shift
    want = np.searchsorted(keys, np.arange((0x3F800000 >> c.shift) + 1), side="left")
    want[keys] = c.sentinel
    np.testing.assert_array_equal(c.table, want)
