import subprocess
import sys

from fdep.cli.main import main


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "usage: fdep" in out


def test_no_command_exits_nonzero(capsys):
    assert main([]) == 2


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "fdep.cli.main", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "fdep" in r.stdout
