"""`fdep models`: table and JSON output, errors."""

from __future__ import annotations

import json

from fdep.cli.main import main
from fdep.models import count_parameters, create_model, list_models


def test_models_json_lists_every_network(capsys):
    assert main(["models", "--json", "--size", "64"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list_models()
    for r in rows:
        assert r["input_size"] == [1, 1, 64, 64]
        assert isinstance(r["deep_supervision"], bool)
        assert r["kind"] in ("learned", "classical") and r["source"]
        if r["kind"] == "learned":
            assert r["gflops"] > 0 and abs(r["gmacs"] * 2 - r["gflops"]) < 1e-9
        else:  # classical methods: no weights, no FLOP count, no FDEP top feature
            assert r["params"] == 0 and r["gflops"] is None and r["gmacs"] is None and r["top_channels"] == 0
    assert sorted(r["name"] for r in rows if r["kind"] == "classical") == ["fkrw", "mpcm", "nipps"]


def test_models_json_params_match_model(capsys):
    name = list_models()[0]
    assert main(["models", name, "--json", "--size", "32"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    m = create_model(name)
    assert row["params"] == count_parameters(m)
    assert row["paper_params_m"] == m.paper_params_m
    assert (row["top_channels"], row["top_stride"]) == (m.top_channels, m.top_stride)


def test_models_table(capsys):
    name = list_models()[0]
    assert main(["models", name, "--size", "32"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "1x1x32x32" in out[0]
    assert out[1].split()[:4] == ["name", "kind", "params", "(M)"]
    cells = out[3].split()
    m = create_model(name)
    assert cells[0] == name
    assert cells[1] == m.kind
    assert cells[2] == f"{count_parameters(m) / 1e6:.2f}"
    assert f"{m.top_channels}/{m.top_stride}" in cells
    assert ("yes" if m.deep_supervision else "no") in cells
    assert out[3].endswith(m.source) and m.source


def test_models_errors(capsys):
    assert main(["models", "no-such-net"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model 'no-such-net'" in err and list_models()[0] in err
    assert main(["models", "--size", "100"]) == 2
    assert "multiple of 32" in capsys.readouterr().err


def test_models_table_classical_rows(capsys):
    assert main(["models", "mpcm", "nipps", "--size", "32"]) == 0
    out = capsys.readouterr().out.splitlines()
    for line, name in zip(out[3:], ("mpcm", "nipps")):
        cells = line.split()
        assert cells[:3] == [name, "classical", "0.00"]
        assert cells[3:8] == ["-", "-", "-", "-", "-"]  # paper params, diff, GFLOPs, GMACs, top ch/stride
        assert cells[8] == "no" and line.endswith(create_model(name).source)


def test_models_table_footnotes_the_unused_parameters(capsys):
    """MTU-Net lists 9.27 M against the paper's 12.75 M with diff +0.00: a footnote under the table says why."""
    from fdep.models import get_model_factory

    assert main(["models", "mtunet", "acm", "--size", "32"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in out[3:5]}
    assert "*" in rows["mtunet"].split()[4] and "*" not in rows["acm"]
    unused = get_model_factory("mtunet").paper_unused_params / 1e6
    notes = out[5:]
    assert len(notes) == 1 and notes[0].startswith("* mtunet:") and f"{unused:.2f} M" in notes[0]
    assert main(["models", "acm", "--size", "32"]) == 0
    assert "*" not in capsys.readouterr().out
