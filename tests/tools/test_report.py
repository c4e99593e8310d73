"""fdep report: table values from results.json, embedded plots, overlay classification, errors."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.errors import InputError, OutputExistsError
from fdep.fileio import write_json
from fdep.imageio import read_prob_map, write_mask_png, write_prob_png16
from fdep.metrics import classify_detections, evaluate
from fdep.tools.report import curve_xy, load_run, write_report

IDS = ("img_a", "img_b", "img_c")


def _scene(rng, shape=(40, 48)):
    """A GT mask with three small targets and a probability map that finds two, plus one false alarm."""
    gt = np.zeros(shape, bool)
    for y, x in [(5, 5), (20, 30), (33, 10)]:
        gt[y:y + 3, x:x + 3] = True
    prob = np.clip(rng.normal(0.05, 0.03, shape), 0, 1)
    prob[5:8, 5:8] = rng.uniform(0.6, 0.99, (3, 3))          # found
    prob[21:24, 31:33] = rng.uniform(0.55, 0.9, (3, 2))      # found (centroid shifted < 3 px)
    prob[12:14, 40:42] = rng.uniform(0.7, 0.8, (2, 2))       # false alarm
    prob[33:36, 10:13] = rng.uniform(0.2, 0.45, (3, 3))      # missed at 0.5
    return prob, gt


@pytest.fixture
def runs(tmp_path):
    rng = np.random.default_rng(0)
    ds = tmp_path / "data" / "toy"
    for sub in ("images", "masks"):
        (ds / sub).mkdir(parents=True)
    scenes = {}
    for image_id in IDS:
        prob, gt = _scene(rng)
        Image.fromarray(rng.integers(0, 120, gt.shape, dtype=np.uint8)).save(ds / "images" / f"{image_id}.png")
        write_mask_png(ds / "masks" / f"{image_id}.png", gt)
        scenes[image_id] = (prob, gt)
    dirs = []
    for k, (model, variant) in enumerate([("acm", "original"), ("acm", "fdep")]):
        test = tmp_path / f"run{k}" / "test_test"
        preds, gts = [], []
        for image_id, (prob, gt) in scenes.items():
            p = np.clip(prob + 0.1 * k * gt, 0, 1)  # the second run is more confident on targets
            write_prob_png16(test / "preds" / f"{image_id}.png", p)
            preds.append(read_prob_map(test / "preds" / f"{image_id}.png"))
            gts.append(gt)
        res = evaluate(preds, gts, curves=True)
        curves = res.pop("curves")
        np.savez(test / "curves.npz", **{k2: np.asarray(v) for k2, v in curves.items()})
        res = {k2: float(v) for k2, v in res.items()}
        write_json(test / "results.json", {**res, "params_m": 0.4 + 0.45 * k, "latency_s": 0.02 + 0.001 * k,
                                           "model": model, "variant": variant, "dataset": str(ds), "split": "test"})
        dirs.append(tmp_path / f"run{k}")
    return dirs


def test_html_report(runs, tmp_path):
    out = write_report(runs, tmp_path / "report.html")
    html = out.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 4  # pixel PR, target PR, ROC, overlay grid
    assert all(base64.b64decode(b).startswith(b"\x89PNG") for b in images)
    assert "src=\"http" not in html and "<img" in html
    assert "acm original" in html and "acm fdep" in html
    r0, r1 = (load_run(r).results for r in runs)
    rows = [r for r in re.findall(r"<tr><th>([^<]*)</th>(.*?)</tr>", html) if "data-key" in r[1]]
    assert [label for label, _ in rows] == ["acm original", "acm fdep"]
    cells = [dict((k, (v, d)) for k, v, d in re.findall(
        r'<td data-key="(\w+)">([^<]*)<span class="d">([^<]*)</span>', body)) for _, body in rows]
    for key, scale in [("iou", 100), ("niou", 100), ("pd", 100), ("fa", 1e6), ("hse_p", 100), ("hse_t", 100),
                       ("hse", 100), ("params_m", 1)]:
        assert float(cells[0][key][0]) == pytest.approx(r0[key] * scale, abs=0.005), key
        assert float(cells[1][key][0]) == pytest.approx(r1[key] * scale, abs=0.005), key
        assert cells[0][key][1] == ""
        diff = float(cells[1][key][1].strip(" ()"))
        assert diff == pytest.approx((r1[key] - r0[key]) * scale, abs=0.006), key
    assert float(cells[1]["latency_s"][0]) == pytest.approx(0.021, abs=5e-4)


def test_markdown_report_and_cli(runs, tmp_path, capsys):
    code = main(["report", *map(str, runs), "--out", str(tmp_path / "r.md")])
    assert code == 0
    md = (tmp_path / "r.md").read_text()
    assert "| acm original |" in md and "| acm fdep |" in md
    for name in ("pixel_pr", "target_pr", "roc", "overlays"):
        png = tmp_path / "r_files" / f"{name}.png"
        assert png.read_bytes().startswith(b"\x89PNG") and f"r_files/{name}.png" in md
    capsys.readouterr()
    assert main(["report", *map(str, runs), "--out", str(tmp_path / "r.md")]) != 0
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err


def test_curves_read_from_npz(runs):
    run = load_run(runs[0])
    for kind in ("pixel_pr", "target_pr", "roc"):
        x, y = curve_xy(run.curves, kind)
        assert x.size == y.size > 1 and np.all((x >= 0) & (x <= 1)) and np.all((y >= 0) & (y <= 1))


def test_classification_agrees_with_metrics(runs):
    """Correct/false-alarm/missed counts reproduce Pd and Fa of fdep.metrics on each image."""
    rng = np.random.default_rng(5)
    for _ in range(4):
        prob, gt = _scene(rng)
        correct, false_alarm, missed = classify_detections(prob, gt)
        res = evaluate([prob], [gt])
        import cv2

        n_gt = cv2.connectedComponents(gt.astype(np.uint8), connectivity=8)[0] - 1
        n_missed = cv2.connectedComponents(missed.astype(np.uint8), connectivity=8)[0] - 1
        assert (n_gt - n_missed) / n_gt == pytest.approx(res["pd"])
        assert false_alarm.sum() / prob.size == pytest.approx(res["fa"])
        assert not (correct & false_alarm).any() and (correct | false_alarm).sum() == (prob > 0.5).sum()
    prob, gt = _scene(np.random.default_rng(0))
    correct, false_alarm, missed = classify_detections(prob, gt)
    assert correct[6, 6] and correct[22, 32] and false_alarm[12, 40] and missed[34, 11]


def test_report_errors(runs, tmp_path):
    with pytest.raises(InputError, match="nowhere"):
        write_report([tmp_path / "nowhere"], tmp_path / "r.html")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(InputError, match="fdep test"):
        write_report([tmp_path / "empty_run"], tmp_path / "r.html")
    with pytest.raises(InputError, match=".html or .md"):
        write_report(runs, tmp_path / "r.pdf")
    (tmp_path / "r.html").write_text("mine")
    with pytest.raises(OutputExistsError):
        write_report(runs, tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == "mine"
    write_report(runs, tmp_path / "r.html", overwrite=True)
    assert "fdep report" in (tmp_path / "r.html").read_text()
    (runs[1] / "test_val").mkdir()
    write_json(runs[1] / "test_val" / "results.json", {"hse": 0.5})
    with pytest.raises(InputError, match="--split"):
        write_report(runs, tmp_path / "r2.html")
    assert write_report(runs, tmp_path / "r2.html", split="test").exists()


def test_overlay_colours():
    from fdep.tools.overlay import BLUE, ORANGE, RED, detection_overlay

    image = np.full((6, 6), 50.0)
    correct, false_alarm, missed = (np.zeros((6, 6), bool) for _ in range(3))
    correct[0, 0] = false_alarm[1, 1] = missed[2, 2] = True
    false_alarm[3, 3] = missed[3, 3] = True  # a missed target under a false alarm stays orange
    rgb = detection_overlay(image, correct, false_alarm, missed)
    assert tuple(rgb[0, 0]) == RED and tuple(rgb[1, 1]) == BLUE and tuple(rgb[2, 2]) == ORANGE
    assert tuple(rgb[3, 3]) == ORANGE and tuple(rgb[5, 5]) == (50, 50, 50)


def test_paper_row_under_a_matching_run(runs, tmp_path):
    import json

    res_path = runs[0] / "test_test" / "results.json"
    res = json.loads(res_path.read_text())
    write_json(res_path, {**res, "dataset_name": "NUAA-SIRST", "n_images": 3})  # acm original on NUAA-SIRST/test
    html = write_report(runs, tmp_path / "r.html").read_text()
    (row,) = re.findall(r'<tr class="paper"><th>([^<]*)</th>(.*?)</tr>', html)
    assert row[0] == 'paper, Table 2: ACM &quot;Original&quot;, NUAA-SIRST'
    cells = dict((k, (v, d)) for k, v, d in re.findall(r'<td data-key="(\w+)">([^<]*)<span class="d">([^<]*)</span>',
                                                        row[1]))
    assert cells["hse"][0] == "77.86" and cells["iou"][0] == "67.07" and cells["niou"] == ("-", "")
    assert float(cells["hse"][1].strip(" ()")) == pytest.approx(100 * res["hse"] - 77.86, abs=0.006)
    assert "the paper&#x27;s NUAA-SIRST test split 214" in html
    # the row sits right under its run; the other run (acm fdep) has none
    labels = re.findall(r"<tr[^>]*><th>([^<]*)</th>", html)
    assert labels[1:] == ["acm original", row[0], "acm fdep"]
    md = write_report(runs, tmp_path / "r.md").read_text()
    assert '| *paper, Table 2: ACM "Original", NUAA-SIRST* | 67.07 (' in md


def _write_metrics_csv(run_dir):
    """metrics.csv as fdep train writes it: lr rows without epoch, step rows, epoch rows, validation rows;
    HSE-P at chance (positive fraction 0.01) for epochs 1-3, then learning; epoch 4 logged twice (a resume)."""
    head = "epoch,lr-AdamW,step,train/loss_epoch,train/loss_step,val/hse,val/hse_p,val/pd,val/pos_frac\n"
    rows = [",0.001,0,,,,,,"]
    vals = {1: (-1.0, 0.012, 0.0), 2: (0.001, 0.015, 0.1), 3: (0.002, 0.019, 0.2), 4: (0.2, 0.5, 0.6),
            5: (0.5, 0.7, 0.9)}
    for e, (hse, hp, pd) in vals.items():
        rows += [f"{e - 1},,{2 * e},,{1.0 / e:.3f},,,,", f"{e - 1},,{2 * e},,,{hse},{hp},{pd},0.01",
                 f"{e - 1},,{2 * e},{1.0 / e},,,,,"]
    rows.append("3,,8,,,0.25,0.55,0.65,0.01")  # epoch 4 again: the last value wins
    rows.append("5,,10,,0.1,,,,")  # an interrupted epoch 6: steps only
    (run_dir / "metrics.csv").write_text(head + "\n".join(rows) + "\n")


def test_learning_curves_read_and_summarised(runs):
    from fdep.tools.report import learning_summary, read_learning_curves

    _write_metrics_csv(runs[0])
    c = read_learning_curves(runs[0])
    np.testing.assert_array_equal(c["hse"][0], [1, 2, 3, 4, 5])
    assert np.isnan(c["hse"][1][0]) and c["hse"][1][3] == 0.25 and c["hse_p"][1][3] == 0.55
    np.testing.assert_array_equal(c["train_loss"][0], [1, 2, 3, 4, 5, 6])
    assert c["train_loss"][1][0] == 1.0 and c["train_loss"][1][5] == pytest.approx(0.1)
    s = learning_summary(c)
    assert "5 validations" in s and "best HSE 50.00 at epoch 5" in s and "chance" not in s
    # a run whose last validations sit under 2 x the positive fraction is called out
    stuck = {**c, "hse_p": (c["hse_p"][0], np.array([0.012, 0.015, 0.3, 0.015, 0.011]))}
    assert "at chance level (< 2 x the positive-pixel fraction) for the last 2 validation(s)" in learning_summary(stuck)
    assert read_learning_curves(runs[1]) is None


def test_report_embeds_learning_curves(runs, tmp_path):
    _write_metrics_csv(runs[0])
    html = write_report(runs, tmp_path / "r.html").read_text()
    section = html.split("<h2>Learning curves</h2>", 1)[1]
    images = re.findall(r'<img alt="learning curves" src="data:image/png;base64,([^"]+)"', section)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert "best HSE 50.00 at epoch 5" in section and "no readable metrics.csv" in section
    md = write_report(runs, tmp_path / "r.md").read_text()
    assert "![learning curves](r_files/learning_1.png)" in md
    assert (tmp_path / "r_files" / "learning_1.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "r_files" / "learning_2.png").exists()


def test_a_moved_aside_test_output_is_not_a_split(runs, tmp_path):
    """`fdep test --overwrite` leaves test_test.old-<time>/ beside the new test_test/: not a second split."""
    import shutil

    from fdep.fileio import is_moved_aside, move_aside

    moved = move_aside(runs[0] / "test_test")
    shutil.copytree(moved, runs[0] / "test_test")
    assert is_moved_aside(moved) and not is_moved_aside(runs[0] / "test_test")
    assert load_run(runs[0]).test_dir == runs[0] / "test_test"
    assert write_report(runs, tmp_path / "r.html").exists()


def test_report_says_when_runs_were_tested_on_different_data(runs, tmp_path, capsys):
    same = write_report(runs, tmp_path / "same.html").read_text()
    assert "different data" not in same
    other = tmp_path / "data" / "synthetic"
    results = load_run(runs[1]).results
    write_json(runs[1] / "test_test" / "results.json", {**results, "dataset": str(other), "dataset_name": "synthetic"})
    html = write_report(runs, tmp_path / "r.html").read_text()
    assert "tested on different data" in html and "synthetic/test" in html and "toy/test" in html
    assert main(["report", *map(str, runs), "--out", str(tmp_path / "r.md")]) == 0
    assert "tested on different data" in (tmp_path / "r.md").read_text()
    assert "tested on different data" in capsys.readouterr().out


def test_report_says_what_each_runs_time_was_measured_under(runs, tmp_path):
    import json as _json

    res_file = runs[1] / "test_test" / "results.json"
    res = _json.loads(res_file.read_text())
    res |= {"device": "cpu", "timing": {"threads": 1, "threads_from": "free cores", "cores": 2,
                                        "omp_wait_policy": "PASSIVE", "other_busy_cores": 1.94, "load_avg_1min": 3.5}}
    res_file.write_text(_json.dumps(res))
    for suffix in (".html", ".md"):
        text = write_report(runs, tmp_path / f"r{suffix}").read_text()
        assert "mean seconds per image, measured under the device, threads and load listed" in text
        assert "time on cpu: 1 thread, 1.9 of 2 cores busy with other work, load average 3.50" in text
        assert "time: threads and load not recorded" in text  # the first run's results.json predates them


def test_html_and_markdown_show_the_same_document(runs, tmp_path):
    """The document is built once; both renderers show each of its rows, cells, paragraphs and pictures."""
    import html as _html
    import json

    from fdep.tools.report import build_document, label_runs, render_html, render_markdown

    _write_metrics_csv(runs[0])
    res_path = runs[0] / "test_test" / "results.json"
    write_json(res_path, {**json.loads(res_path.read_text()), "dataset_name": "NUAA-SIRST", "n_images": 3})
    loaded = [load_run(r) for r in runs]
    label_runs(loaded)
    doc = build_document(loaded)
    assert [row.kind for row in doc.rows] == ["run", "paper", "run"] and doc.paper_notes
    page, md = render_html(doc), render_markdown(doc, "f")

    html_rows = [(_html.unescape(label), [v + d for _k, v, d in re.findall(
        r'<td data-key="(\w+)">([^<]*)<span class="d">([^<]*)</span>', cells)])
        for label, cells in re.findall(r"<tr[^>]*><th>([^<]*)</th>(<td.*?)</tr>", page)]
    md_rows = [(line.split(" | ")[0].strip("|* "), line.strip("| ").split(" | ")[1:])
               for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Run |")]
    want = [(row.label, [c.value + c.diff for c in row.cells]) for row in doc.rows]
    assert html_rows == want and md_rows == want

    page_text = " ".join(_html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    md_text = " ".join(md.split())
    paragraphs = [doc.table_note, doc.grid_note, " ".join(doc.learning_note), *doc.paper_notes,
                  *(s.timing for s in doc.sources), *(s.test_dir for s in doc.sources),
                  *(s.note for s in doc.learning)]
    for text in paragraphs:
        assert " ".join(text.split()) in page_text and " ".join(text.split()) in md_text, text
    pictures = doc.pictures()
    assert [p.stem for p in pictures] == ["pixel_pr", "target_pr", "roc", "overlays", "learning_1"]
    assert re.findall(r'<img alt="([^"]+)"', page) == [p.alt for p in pictures]
    assert re.findall(r"!\[([^]]+)\]\(f/(\w+)\.png\)", md) == [(p.alt, p.stem) for p in pictures]
