"""One spelling and one default for the options commands share, and a torch-free parser (fast --help)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from fdep.cli.main import COMMANDS, build_parser

from .run_helpers import SRC


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command's parser by its full name ('test', 'data download', ...)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    full = f"{prefix} {name}".strip()
                    found[full] = sub
                    walk(full, sub)

    walk("", build_parser())
    return found


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


TORCH_COMMANDS = ("train", "test", "predict", "benchmark", "quickstart", "export", "vfm cache")


def test_every_command_spells_replacing_outputs_overwrite():
    for name, p in subcommands().items():
        opts = options(p)
        if "--force" in opts:  # the former spelling survives only as an alias of --overwrite
            assert opts["--force"] is opts.get("--overwrite"), name


def test_evaluate_force_is_an_alias_of_overwrite():
    p = subcommands()["evaluate"]
    assert p.parse_args(["--force"]).overwrite and p.parse_args(["--overwrite"]).overwrite


def test_device_defaults_to_auto_everywhere():
    devices = {name: options(p)["--device"].default for name, p in subcommands().items() if "--device" in options(p)}
    assert {"test", "predict", "benchmark", "vfm cache"} <= set(devices)
    assert set(devices.values()) == {"auto"}, devices


def test_commands_with_progress_output_take_quiet_and_torch_commands_take_threads():
    subs = subcommands()
    for name in ("train", "test", "predict", "benchmark", "vfm cache", "data download", "data prepare"):
        assert "--quiet" in options(subs[name]), name
    for name in TORCH_COMMANDS:
        assert "--threads" in options(subs[name]), name


def _modules_after(code: str) -> dict:
    probe = (f"import sys, json\n{code}\n"
             "print(json.dumps({m: m in sys.modules for m in ('torch', 'lightning', 'fdep.models')}))")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["test", "--help"], ["export", "--help"],
                                  ["benchmark", "--help"], ["models", "--help"]])
def test_help_imports_neither_torch_nor_the_zoo(argv):
    code = ("from fdep.cli.main import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass")
    assert _modules_after(code) == {"torch": False, "lightning": False, "fdep.models": False}


def test_the_core_modules_import_no_torch():
    # what `pip install fdep` without extras serves (tests/test_core_install.py runs them where torch is absent)
    code = "import fdep.metrics, fdep.paper, fdep.data, fdep.data.prepare, fdep.data.download, fdep.data.validate"
    assert _modules_after(code) == {"torch": False, "lightning": False, "fdep.models": False}


def test_building_the_whole_parser_imports_no_torch():
    assert _modules_after("from fdep.cli.main import build_parser; build_parser()")["torch"] is False


def test_every_command_module_is_listed():
    assert len(COMMANDS) == len(set(COMMANDS)) and set(subcommands()) >= {c.removesuffix("_cmd") for c in COMMANDS}
