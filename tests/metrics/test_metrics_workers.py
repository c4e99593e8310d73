"""Threads over images (``workers``) never change a result; the loader contract holds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from fdep.errors import ConfigError
from fdep.metrics import evaluate
from fdep.metrics._parallel import ordered_map
from fdep.metrics.functional import evaluate_loader
from fdep.metrics.synthetic import synthetic_set


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if k == "curves":
            for c in a[k]:
                np.testing.assert_array_equal(a[k][c], b[k][c])
        else:
            assert a[k] == b[k], k  # bit-identical, not approximately equal


@pytest.mark.parametrize("bins", [None, 1000])
def test_workers_give_identical_results(bins):
    preds, gts = synthetic_set(9, 96, seed=3)
    serial = evaluate(preds, gts, thresholds=19, curves=True, bins=bins, workers=1)
    for w in (2, 3, 16):
        _same(serial, evaluate(preds, gts, thresholds=19, curves=True, bins=bins, workers=w))
    if bins is None:
        y = np.concatenate([g.ravel() for g in gts])
        s = np.concatenate([p.ravel() for p in preds])
        assert abs(serial["hse_p"] - average_precision_score(y, s)) < 1e-9
        assert abs(serial["auc"] - roc_auc_score(y, s)) < 1e-9


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_workers_is_config_error(bad):
    preds, gts = synthetic_set(2, 32, seed=0)
    with pytest.raises(ConfigError, match="workers"):
        evaluate(preds, gts, workers=bad)


def test_loader_called_twice_per_image_and_in_bounded_lookahead():
    preds, gts = synthetic_set(7, 48, seed=1)
    calls: list[int] = []

    def load(i):
        calls.append(i)
        return preds[i], gts[i]

    res = evaluate_loader(7, load, thresholds=9, workers=2)
    assert sorted(calls) == sorted(list(range(7)) * 2)
    _same(res, evaluate(preds, gts, thresholds=9, workers=1))


def test_ordered_map_keeps_order_and_raises_first_error_in_order():
    assert list(ordered_map(lambda i: i * i, 20, 3)) == [i * i for i in range(20)]

    def f(i):
        if i in (4, 6):
            raise ValueError(f"bad {i}")
        return i

    got = []
    with pytest.raises(ValueError, match="bad 4"):
        for v in ordered_map(f, 10, 2):
            got.append(v)
    assert got == [0, 1, 2, 3]


def test_opencv_runs_single_threaded_inside_the_pool_and_is_restored():
    import cv2

    preds, gts = synthetic_set(4, 48, seed=2)
    before = cv2.getNumThreads()
    seen: list[int] = []

    def load(i):
        seen.append(cv2.getNumThreads())
        return preds[i], gts[i]

    evaluate_loader(4, load, thresholds=9, workers=2)
    assert seen and set(seen) == {1}
    assert cv2.getNumThreads() == before
    seen.clear()
    evaluate_loader(4, load, thresholds=9, workers=1)  # serial: OpenCV keeps its own threads
    assert set(seen) == {before}
