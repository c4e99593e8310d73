"""Optional extras: pyproject.toml and fdep.cli.extras agree, and a command whose extra is missing says in
one line what to install (exit 2, no traceback), simulated here by blocking imports."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from fdep.cli import extras
from fdep.cli.main import COMMANDS, main

from .conftest import REPO_ROOT
from .run_helpers import SRC


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings, normalised as import names (huggingface-hub -> huggingface_hub)."""
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower().replace("-", "_") for r in requirements}


@pytest.fixture(scope="module")
def project() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def test_pyproject_extras_are_those_the_cli_names(project):
    optional = project["optional-dependencies"]
    for extra, modules in extras.EXTRAS.items():
        own = {n for n in _names(optional[extra]) if n != "fdep"}
        assert own == set(modules), extra
        included = {m for r in optional[extra] if r.startswith("fdep[") for m in r[5:-1].split(",")}
        assert included == set(extras.INCLUDES.get(extra, ())), extra
    assert optional["all"] == [f"fdep[{','.join(extras.EXTRAS)}]"]
    assert set(optional) == {*extras.EXTRAS, "all", "dev"}


def test_the_core_install_has_no_package_of_an_extra(project):
    core = _names(project["dependencies"])
    assert "torch" not in core and not core & set(extras.EXTRA_OF)


def test_every_command_named_is_a_command_and_every_extra_exists():
    names = {c.removesuffix("_cmd") for c in COMMANDS}
    assert set(extras.COMMAND_EXTRAS) <= names
    assert {"evaluate", "data"} <= names - set(extras.COMMAND_EXTRAS)  # the core commands
    assert {e for needs in extras.COMMAND_EXTRAS.values() for e in needs} <= set(extras.EXTRAS)


def test_help_says_which_extra_each_command_needs(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "runs evaluate and data" in text and "train, test, predict, benchmark, models: fdep[train]" in text


def _only_missing(monkeypatch, *missing: str) -> None:
    monkeypatch.setattr(extras, "is_installed", lambda m: m not in missing)


def test_extras_named_cover_the_command_and_the_failed_import(monkeypatch):
    _only_missing(monkeypatch, "torch", "onnx")
    assert extras.extras_to_install("export", "onnx") == ["export"]  # export includes train
    assert extras.extras_to_install("test", "onnx") == ["train", "export"]
    _only_missing(monkeypatch, "onnx")
    assert extras.extras_to_install("test", "onnx") == ["export"]
    _only_missing(monkeypatch, "torch", "matplotlib")
    assert extras.extras_to_install("quickstart", "torch") == ["vfm", "report"]


def test_a_command_lacking_its_extra_stops_before_any_work(monkeypatch, capsys, tmp_path):
    import fdep.cli.report_cmd as report_cmd

    monkeypatch.setattr(report_cmd, "run", lambda args: pytest.fail("ran without its extra"))
    _only_missing(monkeypatch, "matplotlib")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err == "fdep report: error: matplotlib is not installed; this command needs: pip install 'fdep[report]'\n"


def _raising(error: ModuleNotFoundError):
    def run(args):
        raise error

    return run


def test_a_later_import_of_an_extras_package_is_one_line(monkeypatch, capsys, tmp_path):
    import fdep.cli.evaluate_cmd as evaluate_cmd

    monkeypatch.setattr(evaluate_cmd, "run", _raising(ModuleNotFoundError("No module named 'onnxruntime'",
                                                                        name="onnxruntime")))
    _only_missing(monkeypatch, "onnxruntime")
    assert main(["evaluate", "--demo", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("fdep evaluate: error: onnxruntime is not installed; this command needs: "
                                       "pip install 'fdep[export]'\n")


@pytest.mark.parametrize("name", ["fdep.no_such_module", "torch._C"])  # a bug; an installed but broken package
def test_other_missing_modules_keep_their_traceback(monkeypatch, tmp_path, name):
    import fdep.cli.evaluate_cmd as evaluate_cmd

    monkeypatch.setattr(evaluate_cmd, "run", _raising(ModuleNotFoundError(f"No module named {name!r}", name=name)))
    with pytest.raises(ModuleNotFoundError):
        main(["evaluate", "--demo", str(tmp_path)])


#: run in a fresh interpreter: imports of BLOCKED packages fail as if they were not installed
BLOCKING = textwrap.dedent("""
    import sys
    BLOCKED = {blocked!r}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    import fdep.cli.extras
    if {skip_check!r}:  # as if the command declared no extra: the import inside it is what fails
        fdep.cli.extras.COMMAND_EXTRAS.clear()
    from fdep.cli.main import main
    sys.exit(main({argv!r}))
""")


def _blocked(argv: list[str], blocked: set[str], skip_check: bool = False) -> subprocess.CompletedProcess:
    code = BLOCKING.format(blocked=blocked, argv=argv, skip_check=skip_check)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("skip_check", [False, True], ids=["checked-up-front", "failed-import"])
def test_without_torch_a_torch_command_says_what_to_install(tiny_data, tmp_path, skip_check):
    r = _blocked(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(tmp_path / "t"), "--quiet"],
                 {"torch"}, skip_check)
    assert r.returncode == 2, r.stderr
    assert r.stderr == "fdep test: error: torch is not installed; this command needs: pip install 'fdep[train]'\n"
    assert not (tmp_path / "t").exists()


def test_without_onnx_export_names_the_export_extra(tmp_path):
    argv = ["export", "--checkpoint", str(tmp_path / "run"), "--onnx", str(tmp_path / "m.onnx")]
    r = _blocked(argv, {"onnx", "onnxruntime", "onnxscript"})
    assert (r.returncode, r.stderr) == (2, "fdep export: error: onnx is not installed; this command needs: "
                                           "pip install 'fdep[export]'\n")


def test_without_torch_the_core_commands_still_run(tmp_path):
    assert _blocked(["data", "synth", "--n", "4", "--size", "32", "--out", str(tmp_path)], {"torch"}).returncode == 0
    r = _blocked(["data", "check", str(tmp_path / "synthetic")], {"torch"})
    assert r.returncode == 0 and "0 error(s)" in r.stderr, r.stderr
    r = _blocked(["evaluate", "--demo", str(tmp_path / "demo")], {"torch", "lightning", "torchmetrics"})
    assert r.returncode == 0 and "HSE-P" in r.stdout, r.stderr
