"""download / prepare against a local HTTP server on 127.0.0.1 and local archives (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.data import load_dataset
from fdep.data.download import download
from fdep.data.prepare import prepare
from fdep.data.registry import NUAA_COMMIT, packaged_split
from fdep.errors import DataError, OutputExistsError

IDS = packaged_split("NUAA-SIRST", "train") + packaged_split("NUAA-SIRST", "test")
quiet = {"progress": False, "log": lambda s: None}


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(arr)
    (img.convert(mode) if mode else img).save(buf, format="PNG")
    return buf.getvalue()


def release_files(drop: int = 0) -> dict[str, bytes]:
    """A NUAA-SIRST release shaped like the authors' repository archive (tiny images)."""
    top = f"sirst-{NUAA_COMMIT}"
    files = {}
    rng = np.random.default_rng(0)
    for k, i in enumerate(IDS[drop:]):
        img = rng.integers(0, 256, (12, 18), dtype=np.uint8)
        mask = np.zeros((12, 18), np.uint8)
        mask[k % 10 : k % 10 + 2, 4:6] = 255
        if i == "Misc_111":  # published at another size than its image
            mask = np.kron(mask, np.ones((2, 2), np.uint8))
        files[f"{top}/images/{i}.png"] = _png(img, "RGB" if k % 3 == 0 else None)
        files[f"{top}/masks/{i}_pixels0.png"] = _png(mask, "1")
        files[f"{top}/masks/{i}.xml"] = b"<annotation/>"
    files[f"{top}/idx_427/trainval.txt"] = "\n".join(IDS[:300]).encode()
    files[f"{top}/README.md"] = b"sirst"
    return files


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def archive() -> bytes:
    return make_zip(release_files())


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "not here")
            return
        body, ctype, length = route
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(archive):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.routes = {
        "/sirst.zip": (archive, "application/zip", None),
        "/truncated.zip": (archive[: len(archive) // 2], "application/zip", None),
        "/short.zip": (archive[:1000], "application/zip", len(archive)),  # connection ends early
        "/drive": (b"<html>virus scan warning</html>", "text/html; charset=utf-8", None),
        "/missing.zip": (make_zip(release_files(drop=3)), "application/zip", None),
    }
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _only(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_download_prepares_and_records_sha(tmp_path, server, archive):
    root = tmp_path / "data"
    sha = hashlib.sha256(archive).hexdigest()
    dest = download("nuaa-sirst", root, url=f"{server}/sirst.zip", sha256=sha.upper(), **quiet)
    assert dest == root / "NUAA-SIRST" and _only(root) == ["NUAA-SIRST"]
    rec = json.loads((dest / "fdep_source.json").read_text())
    assert rec["sha256"] == sha and rec["source"].endswith("/sirst.zip")
    assert (dest / "source.sha256").read_text().split()[0] == sha
    assert any("Misc_111" in f for f in rec["fixes"])
    train, test = load_dataset(dest, "train"), load_dataset(dest, "test")
    assert len(train) == 213 and len(test) == 214
    assert (dest / "img_idx" / "train_NUAA-SIRST.txt").read_text().split() == train.ids
    k = IDS.index("Misc_111")
    m = load_dataset(dest, ids=["Misc_111"])[0]["mask"][0].numpy()
    expected = np.zeros((12, 18), np.float32)
    expected[k % 10 : k % 10 + 2, 4:6] = 1
    np.testing.assert_array_equal(m, expected)  # nearest resize of the 2x mask back to the image
    # safe to re-run: nothing downloaded or changed
    before = (dest / "fdep_source.json").read_bytes()
    assert download("NUAA-SIRST", root, url=f"{server}/nowhere", **quiet) == dest
    assert (dest / "fdep_source.json").read_bytes() == before


@pytest.mark.parametrize(
    "path,sha,match",
    [
        ("/truncated.zip", None, "truncated"),
        ("/short.zip", None, "truncated"),
        ("/sirst.zip", "0" * 64, "SHA-256 mismatch"),
        ("/missing.zip", None, "lacks 3 of the 427 ids"),
        ("/drive", None, "web page"),
        ("/gone.zip", None, "HTTP 404"),
    ],
)
def test_download_failures_leave_nothing(tmp_path, server, path, sha, match):
    root = tmp_path / "data"
    with pytest.raises(DataError, match=match):
        download("NUAA-SIRST", root, url=server + path, sha256=sha, **quiet)
    assert not root.exists()  # not even the root folder the failed download created


def test_download_without_direct_link_points_to_prepare(tmp_path):
    with pytest.raises(DataError, match="fdep data prepare NUDT-SIRST"):
        download("NUDT-SIRST", tmp_path, **quiet)
    with pytest.raises(DataError, match="union"):
        download("SIRST3", tmp_path, **quiet)
    with pytest.raises(DataError, match="unknown dataset"):
        download("MNIST", tmp_path, **quiet)


def test_cli_download_and_prepare(tmp_path, server, archive, capsys):
    assert (
        main(
            ["data", "download", "NUAA-SIRST", "--root", str(tmp_path / "a"), "--url", f"{server}/sirst.zip", "--quiet"]
        )
        == 0
    )
    assert "prepared NUAA-SIRST" in capsys.readouterr().out
    code = main(
        [
            "data",
            "download",
            "NUAA-SIRST",
            "--root",
            str(tmp_path / "b"),
            "--url",
            f"{server}/sirst.zip",
            "--sha256",
            "ab" * 32,
            "--quiet",
        ]
    )
    assert code == 2 and "SHA-256 mismatch" in capsys.readouterr().err
    z = tmp_path / "sirst.zip"
    z.write_bytes(archive)
    assert main(["data", "prepare", "NUAA-SIRST", "--from", str(z), "--root", str(tmp_path / "c"), "--quiet"]) == 0
    assert z.read_bytes() == archive  # the input is kept
    assert main(["data", "check", str(tmp_path / "c" / "NUAA-SIRST")]) == 0


def test_prepare_from_folder_and_tar(tmp_path):
    files = release_files()
    src = tmp_path / "unpacked"
    for name, data in files.items():
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    a = prepare("NUAA-SIRST", src, tmp_path / "r1", **quiet)
    assert len(load_dataset(a, "all")) == 427 and (src / next(iter(files))).exists()
    tgz = tmp_path / "release.tar.gz"
    with tarfile.open(tgz, "w:gz") as t:
        t.add(src, arcname=".")
    b = prepare("NUAA-SIRST", tgz, tmp_path / "r2", **quiet)
    ia, ib = load_dataset(a, "test")[5], load_dataset(b, "test")[5]
    assert ia["id"] == ib["id"] and (ia["image"] == ib["image"]).all() and (ia["mask"] == ib["mask"]).all()
    # a truncated tarball fails cleanly
    raw = tgz.read_bytes()
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="truncated|corrupt|not a zip"):
        prepare("NUAA-SIRST", bad, tmp_path / "r3", **quiet)
    assert not (tmp_path / "r3").exists()


def test_prepare_never_overwrites_foreign_folder(tmp_path, archive):
    (tmp_path / "NUAA-SIRST").mkdir()
    (tmp_path / "NUAA-SIRST" / "mine.txt").write_text("keep")
    z = tmp_path / "s.zip"
    z.write_bytes(archive)
    with pytest.raises(OutputExistsError):
        prepare("NUAA-SIRST", z, tmp_path, **quiet)
    assert (tmp_path / "NUAA-SIRST" / "mine.txt").read_text() == "keep"
    with pytest.raises(DataError, match="union"):
        prepare("SIRST3", z, tmp_path / "x", **quiet)


def test_prepare_irstd_layout_binarises_and_picks_named_folder(tmp_path):
    """IRSTD-1K ships IRSTD1k_Img/ + IRSTD1k_Label/ with some mask values like 64; a decoy folder is ignored."""
    ids = packaged_split("IRSTD-1K", "train") + packaged_split("IRSTD-1K", "test")
    src = tmp_path / "release"
    for sub in ("IRSTD-1k/IRSTD1k_Img", "IRSTD-1k/IRSTD1k_Label", "decoy/images", "decoy/masks"):
        (src / sub).mkdir(parents=True)
    img = _png(np.full((6, 6), 80, np.uint8))
    plain = np.zeros((6, 6), np.uint8)
    plain[2:4, 2:4] = 255
    odd = plain.copy()
    odd[0, 0] = 64  # below the threshold: background
    for k, i in enumerate(ids):
        (src / "IRSTD-1k/IRSTD1k_Img" / f"{i}.png").write_bytes(img)
        (src / "IRSTD-1k/IRSTD1k_Label" / f"{i}.png").write_bytes(_png(odd if k % 100 == 0 else plain))
    (src / "decoy/images/x.png").write_bytes(img)
    (src / "decoy/masks/x.png").write_bytes(_png(plain))
    notes = []
    dest = prepare("IRSTD-1K", src, tmp_path / "out", progress=False, log=notes.append)
    assert json.loads((dest / "fdep_source.json").read_text())["non_binary_masks"] == 11
    assert any("binarised at > 127" in n for n in notes)
    ds = load_dataset(dest, "all")
    assert len(ds) == 1001 and ds.mean == 87.47
    first = ds[0]["mask"][0]
    assert first.sum() == 4 and first[0, 0] == 0
    assert np.unique(np.asarray(Image.open(dest / "masks" / f"{ids[0]}.png"))).tolist() == [0, 255]
