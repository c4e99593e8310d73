"""FLOP counting and latency measurement (fdep.models.profile) against hand-computed cases."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fdep.errors import ModelError
from fdep.models import count_parameters, create_model, list_models
from fdep.models.profile import count_flops, measure_latency, median_latency, summarize_model


def test_conv_flops_hand_computed():
    # 2 * (out elements) * (in_ch * k * k); bias and ReLU are not counted
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1, stride=2))
    want = 2 * (8 * 16 * 16) * (1 * 9) + 2 * (4 * 8 * 8) * 8
    assert count_flops(net, (1, 1, 16, 16)) == want
    assert count_flops(net, (3, 1, 16, 16)) == 3 * want


def test_count_flops_restores_training_mode_and_works_on_meta():
    with torch.device("meta"):
        net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3))
    net.train()
    assert count_flops(net, (1, 2, 8, 8)) == 2 * (3 * 64) * 18
    assert net.training


def test_summary_matches_direct_counts():
    name = list_models()[0]
    s = summarize_model(name, size=64)
    m = create_model(name)
    assert s.params == count_parameters(m)
    assert s.gflops * 1e9 == pytest.approx(count_flops(m, (1, 1, 64, 64)))
    assert s.gmacs == pytest.approx(s.gflops / 2)
    assert s.input_size == (1, 1, 64, 64)
    assert s.top_channels == m.top_channels and s.top_stride == m.top_stride
    assert s.params_diff_pct == pytest.approx(100 * (s.params_m - m.paper_params_m) / m.paper_params_m)
    d = s.to_dict()
    assert d["name"] == name and d["input_size"] == [1, 1, 64, 64]


def test_summary_unknown_model():
    with pytest.raises(ModelError, match="unknown model"):
        summarize_model("no-such-net")


def test_latency_counts_repeats_and_restores_mode():
    net = nn.Conv2d(1, 1, 3, padding=1).train()
    times = measure_latency(net, (1, 1, 8, 8), repeats=3, warmup=1)
    assert len(times) == 3 and all(t > 0 for t in times)
    assert net.training
    assert median_latency(net, (1, 1, 8, 8), repeats=3, warmup=0) > 0
    with pytest.raises(ModelError, match="repeats"):
        measure_latency(net, repeats=0)
