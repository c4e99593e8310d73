"""prepare after a kill, unsafe archive members, the cap on what an archive may unpack to."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

from fdep.cli.main import main
from fdep.data.prepare import prepare
from fdep.errors import DataError
from fdep.fileio import owner_tag
from tests.run_helpers import SRC

from .test_data_download import make_zip, release_files

quiet = {"progress": False, "log": lambda s: None}

SLOW_PREPARE = textwrap.dedent(
    """
    import sys, time
    import fdep.data.prepare as P

    def slow_build(*a, **k):
        print("unpacked", flush=True)
        time.sleep(120)

    P._build = slow_build
    P.prepare("NUAA-SIRST", sys.argv[1], sys.argv[2], progress=False, log=lambda s: None)
    """
)


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def test_rerun_after_a_kill_removes_the_leftovers(tmp_path, capsys):
    archive = tmp_path / "sirst.zip"
    archive.write_bytes(make_zip(release_files()))
    root = tmp_path / "data"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    p = subprocess.Popen([sys.executable, "-c", SLOW_PREPARE, str(archive), str(root)], env=env,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "unpacked"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        p.kill()
    left = [q for q in root.iterdir() if q.name.startswith(".NUAA-SIRST.")]
    assert len(left) == 1 and any(left[0].rglob("*.png"))  # what a killed run leaves: the unpacked release
    # temporaries this run cannot tell are dead stay: another machine's, and a live process's (ours)
    foreign = root / ".NUAA-SIRST.elsewhere.1.abcdefgh.tmp"
    foreign.mkdir()
    live = root / f".NUAA-SIRST.{owner_tag()}.abcdefgh.tmp"
    live.mkdir()
    assert main(["data", "prepare", "NUAA-SIRST", "--from", str(archive), "--root", str(root), "--quiet"]) == 0
    assert "removed 1 temporary" in capsys.readouterr().out
    assert sorted(q.name for q in root.iterdir()) == sorted(["NUAA-SIRST", foreign.name, live.name])


def _tar(path, members: list[tarfile.TarInfo], data: bytes = b"x") -> None:
    with tarfile.open(path, "w") as t:
        for m in members:
            t.addfile(m, io.BytesIO(data) if m.isreg() else None)


@pytest.mark.parametrize("kind", ["parent", "symlink", "device"])
def test_unsafe_tar_member_is_named_as_unsafe(tmp_path, capsys, kind):
    m = tarfile.TarInfo({"parent": "../evil.txt", "symlink": "link", "device": "dev"}[kind])
    if kind == "symlink":
        m.type, m.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "device":
        m.type = tarfile.CHRTYPE
    else:
        m.size = 1
    ok = tarfile.TarInfo("sirst/images/a.png")
    ok.size = 1
    bad = tmp_path / "bad.tar"
    _tar(bad, [ok, m])
    root = tmp_path / "data"
    assert main(["data", "prepare", "NUAA-SIRST", "--from", str(bad), "--root", str(root), "--quiet"]) == 2
    err = _err(capsys)
    assert "unsafe member" in err and m.name in err and "corrupt" not in err, err
    assert not root.exists() and not (tmp_path / "evil.txt").exists()


def test_archive_over_the_cap_is_refused_before_unpacking(tmp_path, capsys):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("sirst/images/zeros.bin", b"\0" * 3_000_000)  # 3 MB unpacked, a few kB packed
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(buf.getvalue())
    assert bomb.stat().st_size < 20_000
    root = tmp_path / "data"
    assert main(["data", "prepare", "NUAA-SIRST", "--from", str(bomb), "--root", str(root), "--quiet",
                 "--max-unpacked-gb", "0.002"]) == 2
    err = _err(capsys)
    assert "unpacks to 3.0 MB, over the 2.0 MB cap" in err and "--max-unpacked-gb" in err, err
    assert not root.exists()
    tbomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(tbomb, "w:gz") as t:
        info = tarfile.TarInfo("sirst/images/zeros.bin")
        info.size = 3_000_000
        t.addfile(info, io.BytesIO(b"\0" * info.size))
    with pytest.raises(DataError, match="over the 2.0 MB cap"):
        prepare("NUAA-SIRST", tbomb, tmp_path / "d2", max_unpacked_gb=0.002, **quiet)
    # under the cap it gets as far as looking for the dataset's folders
    with pytest.raises(DataError, match="no image and mask folders"):
        prepare("NUAA-SIRST", bomb, tmp_path / "d3", max_unpacked_gb=0.004, **quiet)
