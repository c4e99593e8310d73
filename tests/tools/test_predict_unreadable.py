"""fdep predict over a folder with several unreadable images: all named at once; --skip-unreadable predicts the rest."""

from __future__ import annotations

import json

from fdep.cli.main import main
from fdep.tools.predict import list_images

from ._tools_helpers import mixed_images, random_net, save_net, tiny_registered  # noqa: F401 (autouse fixture)


def test_every_unreadable_image_is_named_then_skipped_on_request(tmp_path, capsys):
    folder = save_net(random_net(0), tmp_path / "net")
    mixed_images(tmp_path / "in")
    good = sorted(p.name for p in list_images(tmp_path / "in"))
    for name in ("a_broken.png", "m_empty.bmp", "z_text.jpg"):
        (tmp_path / "in" / name).write_bytes(b"" if "empty" in name else b"not an image at all")
    args = ["predict", "--checkpoint", str(folder), "--input", str(tmp_path / "in"), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert all(n in err for n in ("a_broken.png", "m_empty.bmp", "z_text.jpg")) and "--skip-unreadable" in err
    assert f"3 of {len(good) + 3}" in err
    assert not (tmp_path / "o").exists()
    assert main(args + ["--skip-unreadable"]) == 0
    err = capsys.readouterr().err
    assert "skipped 3 unreadable image(s): a_broken.png, m_empty.bmp, z_text.jpg" in err
    report = json.loads((tmp_path / "o" / "targets.json").read_text())
    assert report["n_images"] == len(good) and len(report["skipped"]) == 3
    assert sorted(p.name for p in (tmp_path / "o" / "probs").iterdir()) == sorted(
        n.rsplit(".", 1)[0] + ".png" for n in good)


def test_all_unreadable_is_an_error_even_when_skipping(tmp_path, capsys):
    folder = save_net(random_net(0), tmp_path / "net")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.png").write_bytes(b"broken")
    assert main(["predict", "--checkpoint", str(folder), "--input", str(tmp_path / "in"), "--out",
                 str(tmp_path / "o"), "--skip-unreadable"]) == 2
    assert "1 of 1 image(s)" in capsys.readouterr().err
