"""fdep benchmark: parameter/FLOP bookkeeping per variant, ratios, table, JSON, errors."""

from __future__ import annotations

import json

import pytest
import torch

from fdep.cli.main import main
from fdep.errors import ConfigError, OutputExistsError
from fdep.models import count_parameters
from fdep.tools.benchmark import benchmark, format_table

from ._tools_helpers import (
    TINY,
    ToolsTinyNet,
    tiny_registered,  # noqa: F401 (autouse fixture)
)


@pytest.fixture(scope="module")
def tiny_vfm_dir(tmp_path_factory):
    """A tiny random DINOv2 saved as a local Hugging Face folder (hidden 32, 4 blocks, patch 14)."""
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vfm") / "tiny-dinov2"
    Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                             image_size=56, patch_size=14)).save_pretrained(path)
    return path


def _conv_flops(cin, cout, k, h, w):
    return 2 * cin * cout * k * k * h * w


@pytest.fixture(scope="module")
def rows(tiny_vfm_dir):
    return benchmark([TINY], size=64, vfm=str(tiny_vfm_dir), vfm_weights=None, repeats=2, warmup=0)


def test_rows_per_variant(rows, tiny_vfm_dir):
    from transformers import Dinov2Model

    by = {r["variant"]: r for r in rows}
    assert list(by) == ["original", "fdep-main", "fdep"]
    net_p = count_parameters(ToolsTinyNet()) / 1e6
    assert by["original"]["params_m"] == pytest.approx(net_p)
    assert by["original"]["infer_params_m"] == pytest.approx(net_p)
    # fdep trains SAMF modules too (the paper's P (M) for both FDEP rows) but infers with the plain network
    assert by["fdep"]["params_m"] == pytest.approx(by["fdep-main"]["params_m"]) and by["fdep"]["params_m"] > net_p
    assert by["fdep"]["infer_params_m"] == pytest.approx(net_p)
    assert by["fdep-main"]["infer_params_m"] == pytest.approx(by["fdep-main"]["params_m"])
    vfm_p = count_parameters(Dinov2Model.from_pretrained(tiny_vfm_dir)) / 1e6
    assert by["fdep-main"]["vfm_params_m"] == pytest.approx(vfm_p, rel=0.05)
    assert by["original"]["vfm_params_m"] == by["fdep"]["vfm_params_m"] == 0
    # FLOPs of the tiny net at 64 x 64 by hand: two strided 3x3 convs, a 1x1 on the top, a 1x1 head
    flops = (_conv_flops(1, 4, 3, 32, 32) + _conv_flops(4, 8, 3, 16, 16) + _conv_flops(8, 1, 1, 16, 16)
             + _conv_flops(1, 1, 1, 64, 64))
    assert by["original"]["gflops"] * 1e9 == pytest.approx(flops)
    assert by["fdep"]["gflops"] == pytest.approx(by["original"]["gflops"])
    assert by["fdep-main"]["gflops"] > by["original"]["gflops"]
    assert by["original"]["time_ratio"] == 1.0 and by["original"]["params_ratio"] == 1.0
    for r in rows:
        assert r["time_s"] > 0 and r["input"] == [1, 1, 64, 64]
        assert r["time_ratio"] == pytest.approx(r["time_s"] / by["original"]["time_s"])


def test_table(rows):
    table = format_table(rows)
    lines = table.splitlines()
    assert "P (M)" in lines[0] and "Time (s)" in lines[0] and "x time" in lines[0]
    assert len(lines) == 2 + len(rows)
    assert [ln.split()[1] for ln in lines[2:]] == ["original", "fdep-main", "fdep"]
    assert lines[2].split()[-2:] == ["1.00", "1.00"]


def test_cli_json_and_errors(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = ["benchmark", "--models", TINY, "--variants", "original", "--size", "40", "--repeats", "1",
            "--json", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["rows"][0]["input"] == [1, 1, 64, 64]  # 40 rounded up to the size multiple
    assert TINY in printed and "ratio to the same network's original row" in printed
    assert main(args) != 0
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(OutputExistsError):
        from fdep.cli.benchmark_cmd import run
        from fdep.cli.main import build_parser

        run(build_parser().parse_args(args))
    with pytest.raises(ConfigError, match="unknown model"):
        benchmark(["no_such_net"], ["original"])
    with pytest.raises(ConfigError, match="unknown variant"):
        benchmark([TINY], ["fdep-light"])
