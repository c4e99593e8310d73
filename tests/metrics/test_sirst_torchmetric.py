"""SIRSTMetrics (torchmetrics) gives exactly what evaluate() gives, however the data is batched."""

import numpy as np
import pytest
import torch

from fdep.metrics import NoTargetError, SIRSTMetrics, evaluate

from .maps import structured_pair


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    pairs = [structured_pair(rng, 40, 48, n_targets=int(rng.integers(0, 4)), close_pairs=True) for _ in range(7)]
    return np.stack([p for p, _ in pairs]).astype(np.float32), np.stack([g for _, g in pairs])


@pytest.mark.parametrize("bins", [None, 1000])
@pytest.mark.parametrize("splits", [[7], [3, 4], [1, 2, 1, 3]])
def test_class_equals_functional_for_any_batching(data, bins, splits):
    p, g = data
    want = evaluate(list(p), list(g), bins=bins)
    m = SIRSTMetrics(bins=bins)
    i = 0
    for k in splits:
        m.update(torch.from_numpy(p[i:i + k])[:, None], torch.from_numpy(g[i:i + k])[:, None].float())
        i += k
    got = m.compute()
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key


def test_reset_and_three_dim_input(data):
    p, g = data
    m = SIRSTMetrics(thresholds=9)
    m.update(torch.from_numpy(p[:2]), torch.from_numpy(g[:2]))
    m.reset()
    m.update(torch.from_numpy(p[2:]), torch.from_numpy(g[2:]))
    assert m.compute()["hse"] == pytest.approx(evaluate(list(p[2:]), list(g[2:]), thresholds=9)["hse"], abs=1e-12)


def test_counts_are_sum_reduced_and_states_merge_like_ddp(data):
    p, g = data
    a, b = SIRSTMetrics(), SIRSTMetrics()
    assert a._reductions["n_match"].__name__ == "dim_zero_sum"
    assert a._reductions["pos_scores"].__name__ == "dim_zero_cat"
    a.update(torch.from_numpy(p[:4]), torch.from_numpy(g[:4]))
    b.update(torch.from_numpy(p[4:]), torch.from_numpy(g[4:]))
    a.merge_state(b)  # what the DDP all-gather + reduction does across processes
    want = evaluate(list(p), list(g))
    got = a.compute()
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key


def test_no_target_raises_or_nan():
    m = SIRSTMetrics()
    m.update(torch.rand(2, 1, 8, 8), torch.zeros(2, 1, 8, 8))
    with pytest.raises(NoTargetError):
        m.compute()
    m2 = SIRSTMetrics(undefined="nan")
    m2.update(torch.rand(2, 1, 8, 8), torch.zeros(2, 1, 8, 8))
    assert np.isnan(m2.compute()["hse"])


def test_bad_input_raises():
    m = SIRSTMetrics()
    with pytest.raises(Exception, match=r"\[0, 1\]"):
        m.update(torch.full((1, 1, 4, 4), 2.0), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="shape"):
        m.update(torch.rand(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
