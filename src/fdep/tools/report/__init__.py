"""``fdep report``: compare test runs in one HTML (self-contained) or Markdown page.

For each run directory (or its ``test_<split>/`` folder directly) the report reads
``results.json``, ``curves.npz`` and ``preds/<id>.png`` written by ``fdep test`` and shows

* a table like the paper's Tables 1/2: IoU, nIoU, Pd, Fa (x1e-6), HSE-P, HSE-T,
  HSE (x100), parameters (M) and time (s), each with its difference to the first run;
* under each run, the row the FDEP paper publishes for the same network, variant
  and dataset (test split; :mod:`fdep.tools.papercmp`), with the run's difference to it;
* precision-recall curves at pixel and target level, and ROC curves;
* an overlay grid like the paper's Fig. 3: for a few test images, the image,
  then each run's prediction (correct detections red, false alarms blue, missed
  targets orange) and the ground truth;
* learning curves of each run from its ``metrics.csv`` (written by ``fdep train``):
  training loss, and validation HSE, HSE-P and Pd over epochs, with HSE-P's chance
  level, so a run that is not learning shows at a glance.

Plots use matplotlib's Agg backend. HTML embeds every image as base64; Markdown
writes its PNGs to ``<report stem>_files/`` beside it.

One job per module: ``runs`` (reading and labelling runs), ``table`` (the Results table),
``curves``, ``learning`` and ``overlay_grid`` (the figures, drawn by ``figures``), ``document``
(all of it once, as one document), ``render_html`` / ``render_markdown`` (formatting only) and
``writer`` (:func:`write_report`).
"""

from .curves import CURVE_KEYS, curve_figures, curve_xy
from .document import LEARNING_NOTE, TABLE_NOTE, Document, build_document
from .learning import LEARNING_COLUMNS, learning_figure, learning_sections, learning_summary, read_learning_curves
from .overlay_grid import choose_ids, overlay_grid
from .render_html import render_html
from .render_markdown import render_markdown
from .runs import Run, data_mismatch, find_test_dir, label_runs, load_run, tested_on, timing_text
from .table import COLUMNS, SEED_FREE_KEYS, seed_groups, table_rows
from .writer import write_report

__all__ = ["write_report", "load_run", "find_test_dir", "label_runs", "Run", "tested_on", "data_mismatch",
           "timing_text", "COLUMNS", "SEED_FREE_KEYS", "table_rows", "seed_groups", "CURVE_KEYS", "curve_xy",
           "curve_figures", "LEARNING_COLUMNS", "read_learning_curves", "learning_summary", "learning_figure",
           "learning_sections", "choose_ids", "overlay_grid", "TABLE_NOTE", "LEARNING_NOTE", "Document",
           "build_document", "render_html", "render_markdown"]
