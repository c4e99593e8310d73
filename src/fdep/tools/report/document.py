"""The report as one document: its table, figures and paragraphs, built once from the runs and handed to the
renderers (:mod:`.render_html`, :mod:`.render_markdown`), which only format it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...metrics.specs import MetricSpec
from ...metrics.units import FA_LABEL, FA_UNIT
from .curves import curve_figures
from .learning import learning_sections
from .overlay_grid import overlay_grid
from .runs import Run, data_mismatch, timing_text
from .table import COLUMNS, diff_text, paper_notes, std_text, table_rows, value_text

#: how the Results table is read
TABLE_NOTE = (f"IoU, nIoU, Pd, HSE-P, HSE-T, HSE x100; {FA_LABEL}: Fa in units of 1e-6 ({FA_UNIT}); in brackets: "
              "a run's difference to the first run. Time (s): fdep test's mean seconds per image, measured under "
              "the device, threads and load listed with each run below. "
              "A \"paper\" row under a run is the FDEP paper's published row for the same network, variant and "
              "dataset (values as printed), in brackets the run's difference to it (run - paper); its time was "
              "measured on the paper's GPU. Runs that differ only in their seed are followed by their "
              "mean ± sample std "
              "(bold), and the paper's row then gives the mean's difference to it.")

#: how the learning curves are read, in the lines the HTML source wraps it into (Markdown joins them)
LEARNING_NOTE = (
    "From each run's metrics.csv: training loss per epoch; validation HSE, HSE-P and Pd (x100). The dashed line",
    "is HSE-P's chance level (2 x the validation data's positive-pixel fraction): a run whose HSE-P stays under it",
    "has not started to learn.",
)

#: what the Curves section says when no run has a curves.npz
NO_CURVES = "no curves.npz"


@dataclass(frozen=True)
class Picture:
    """A PNG the report shows; Markdown writes it to ``<stem>.png``, HTML embeds it."""

    stem: str
    alt: str
    png: bytes


@dataclass(frozen=True)
class Cell:
    """One table cell as printed: the value (with `` ± std`` in a seed row) and the difference in brackets."""

    key: str
    value: str
    diff: str


@dataclass(frozen=True)
class Row:
    """One table row: kind "run", "seeds" (mean ± std of a run's seeds) or "paper" (the paper's row)."""

    label: str
    kind: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Source:
    """Where a run's numbers come from: its test folder, the data it was tested on, its timing conditions."""

    label: str
    test_dir: str
    dataset: str
    split: str
    n_images: str
    timing: str


@dataclass(frozen=True)
class LearningSection:
    """One run's learning curves: the plot (None without a usable metrics.csv) and its summary line."""

    label: str
    picture: Picture | None
    note: str


@dataclass(frozen=True)
class Document:
    """Everything the report shows, in the order it shows it."""

    table_note: str
    warning: str | None  #: the runs were tested on different data
    columns: tuple[MetricSpec, ...]
    rows: tuple[Row, ...]
    paper_notes: tuple[str, ...]
    sources: tuple[Source, ...]
    curves: tuple[Picture, ...]
    no_curves: str
    grid: Picture | None
    grid_note: str
    learning_note: tuple[str, ...]
    learning: tuple[LearningSection, ...]

    def pictures(self) -> list[Picture]:
        """Every picture: the curves, the overlay grid, the learning curves."""
        return [*self.curves, *([self.grid] if self.grid else []),
                *(s.picture for s in self.learning if s.picture is not None)]


def _rows(table: list[dict]) -> tuple[Row, ...]:
    return tuple(Row(row["label"], row.get("kind", "run"), tuple(
        Cell(s.key, value_text(s.key, row["cells"][s.key][0]) + std_text(row, s.key),
             diff_text(s.key, row["cells"][s.key][1])) for s in COLUMNS)) for row in table)


def _source(r: Run) -> Source:
    return Source(r.label, str(r.test_dir), str(r.results.get("dataset", "?")), str(r.results.get("split", "?")),
                  str(r.results.get("n_images", "?")), timing_text(r.results))


def build_document(runs: list[Run], n_images: int = 4, warn: Callable[[str], None] | None = None) -> Document:
    """The report of labelled ``runs`` with ``n_images`` in the overlay grid.

    ``warn`` is called with the sentence the report carries when the runs were tested on different data,
    before any figure is drawn.
    """
    mismatch = data_mismatch(runs)
    if mismatch and warn is not None:
        warn(mismatch)
    table = table_rows(runs)
    curves = tuple(Picture(kind, kind, png) for kind, png in curve_figures(runs).items())
    grid, grid_note = overlay_grid(runs, n_images)
    learning = tuple(LearningSection(label, Picture(f"learning_{i + 1}", "learning curves", png) if png else None,
                                     note) for i, (label, png, note) in enumerate(learning_sections(runs)))
    return Document(table_note=TABLE_NOTE, warning=mismatch, columns=COLUMNS, rows=_rows(table),
                    paper_notes=tuple(paper_notes(table)), sources=tuple(_source(r) for r in runs), curves=curves,
                    no_curves=NO_CURVES, grid=Picture("overlays", "overlays", grid) if grid else None,
                    grid_note=grid_note, learning_note=LEARNING_NOTE, learning=learning)
