"""The paper's tables as typed values, ready for any renderer (:mod:`eccr.reports.render`).

For one group of runs on the same gold (:class:`~eccr.reports.build.GroupReport`):

* **Table 2 style**, one table per measure of the registry (weighted soft matching = the paper's Table 2,
  marker matching = S1, character = S2, token = S3, then exact match and the JMED-LLM scores): rows are the
  models grouped by family, columns F1 / recall / precision (× each p for a measure with a p axis) as
  ``mean (SD)`` over folds (sample SD, ddof = 1); the best mean of each column is marked (every model that
  ties with it at the printed precision);
* **length strata** (Tables S19–S21), one table per stratified measure at the primary p: F1 / recall /
  precision per gold-span-length bin, ``mean (SD)`` over folds;
* **pooled scores** (all folds' documents scored together) with 95% bootstrap intervals over documents;
* **per-document** (case-level) scores of the tested measure;
* **pairwise paired tests** between the models, Holm-corrected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eccr.corpus.types import LENGTH_BINS
from eccr.metrics import DOCUMENT_MEAN, FoldSummary, Measure
from eccr.metrics.report import score_path
from eccr.metrics.stats import FoldStat
from eccr.reports.build import METRICS, GroupReport, ModelResult, Report, describe_p

#: The paper's name for the table of a measure (others are named after the measure).
PAPER_TABLES = {"wsm": "Table 2", "marker": "Table S1", "char": "Table S2", "token": "Table S3"}
METRIC_NAMES = {"f1": "F1", "recall": "Recall", "precision": "Precision"}
DIGITS = 3
#: Holm-adjusted p-values below this are marked significant in the pairwise table.
ALPHA = 0.05
#: Key of the per-document table (long: renderers put it last).
DOCUMENT_TABLE = "per-document"


@dataclass(frozen=True)
class Cell:
    """A formatted value; ``best`` marks the best of its column."""

    text: str
    best: bool = False


@dataclass(frozen=True)
class Section:
    """Rows under an optional heading (a model family)."""

    title: str | None
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]


@dataclass(frozen=True)
class Table:
    """A table: a label column (``stub``), value ``columns`` with optional spanning ``groups`` above them
    (``(header, number of columns)``), and row ``sections``."""

    key: str
    title: str
    stub: str
    columns: tuple[str, ...]
    sections: tuple[Section, ...]
    groups: tuple[tuple[str, int], ...] = ()
    caption: str = ""


def column_best(values: Sequence[float | None]) -> float | None:
    """The best (highest) of a column's values at the printed precision; ``None`` for fewer than two rows.

    A value is marked best when ``round(value, DIGITS)`` equals it, so ties at the printed precision are all
    marked.
    """
    present = [round(v, DIGITS) for v in values if v is not None]
    return max(present) if len(values) > 1 and present else None


def is_best(value: float | None, best: float | None) -> bool:
    return value is not None and best is not None and round(value, DIGITS) == best


def _mark_best(
    sections: list[tuple[str | None, list[tuple[str, list[tuple[str, float | None]]]]]],
) -> tuple[Section, ...]:
    """Sections of ``(label, [(text, value)])`` rows with the best value of each column marked."""
    all_rows = [cells for _title, rows in sections for _label, cells in rows]
    n_columns = len(all_rows[0]) if all_rows else 0
    best = [column_best([cells[c][1] for cells in all_rows]) for c in range(n_columns)]
    return tuple(
        Section(
            title,
            tuple(
                (label, tuple(Cell(text, is_best(value, best[c])) for c, (text, value) in enumerate(cells)))
                for label, cells in rows
            ),
        )
        for title, rows in sections
    )


def _family_sections(group: GroupReport, cells) -> tuple[Section, ...]:
    return _mark_best(
        [(family.title, [(m.label, cells(m)) for m in models]) for family, models in group.by_family()]
    )


def _mean_sd(stat: FoldStat | None) -> tuple[str, float | None]:
    return ("–", None) if stat is None else (stat.describe(DIGITS), stat.mean)


def _fold_cells(summary: FoldSummary, paths: Sequence[tuple[str, ...]]) -> list[tuple[str, float | None]]:
    cells = []
    for path in paths:
        entry = summary.entry(*path)
        cells += [_mean_sd(getattr(entry, metric) if entry else None) for metric in METRICS]
    return cells


def _measures(group: GroupReport) -> tuple[Measure, ...]:
    return tuple(group.models[0].pooled.scores)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _folds(group: GroupReport) -> str:
    counts = sorted({len(m.folds) for m in group.models})
    return "/".join(map(str, counts))


def score_table(group: GroupReport, measure: Measure, report: Report) -> Table:
    """The Table-2 style table of ``measure``."""
    p_axis = report.p_values if measure.has_p else (None,)
    paths = [score_path(measure, p) for p in p_axis]
    name = PAPER_TABLES.get(measure.name, measure.display[0].upper() + measure.display[1:])
    return Table(
        key=f"scores-{measure.name}",
        title=f"{name}: {measure.display} on {group.name}"
        if measure.name in PAPER_TABLES
        else f"{name} on {group.name}",
        stub="Model",
        columns=tuple(METRIC_NAMES[m] for _ in p_axis for m in METRICS),
        groups=tuple((describe_p(p), len(METRICS)) for p in p_axis) if measure.has_p else (),
        sections=_family_sections(group, lambda m: _fold_cells(m.summary, paths)),
        caption=f"{_sentence(measure.description)} Mean (SD) over {_folds(group)} folds"
        + (" of each fold's per-document average" if measure.pooling is DOCUMENT_MEAN else "")
        + "; best of each column in bold.",
    )


def strata_table(group: GroupReport, measure: Measure, report: Report) -> Table:
    """P/R/F1 per gold-span-length bin of a stratified measure at the primary p."""
    p = report.p_values[0] if measure.has_p else None
    spans = group.models[0].pooled.by_length or {}
    return Table(
        key=f"length-{measure.name}",
        title=f"{measure.display[0].upper() + measure.display[1:]} by gold span length "
        f"({describe_p(p)}) on {group.name}".replace(" ()", ""),
        stub="Model",
        columns=tuple(METRIC_NAMES[m] for _ in LENGTH_BINS for m in METRICS),
        groups=tuple(
            (f"{name} (n = {spans[name].gold_spans})" if name in spans else name, len(METRICS))
            for name, _, _ in LENGTH_BINS
        ),
        sections=_family_sections(
            group,
            lambda m: _fold_cells(m.summary, [score_path(measure, p, name) for name, _, _ in LENGTH_BINS]),
        ),
        caption="Bins are gold span lengths in characters. Recall counts the gold spans of a bin; precision "
        "the predicted spans whose largest-overlap gold span is in the bin (else their own length). "
        "Mean (SD) over folds; n = gold spans (maximal runs) in the bin; best of each column in bold.",
    )


def _interval_cell(model: ModelResult, path: tuple[str, ...]) -> tuple[str, float | None]:
    ci = model.intervals.get(path, {}).get("f1")
    if ci is None:
        return "–", None
    return f"{ci.estimate:.{DIGITS}f} [{ci.low:.{DIGITS}f}, {ci.high:.{DIGITS}f}]", ci.estimate


def pooled_tables(group: GroupReport, report: Report) -> list[Table]:
    """Pooled F1 with 95% bootstrap CIs: one table per measure with a p axis, one for all others."""
    confidence = "95%"
    tables = []
    measures = _measures(group)
    for measure in (m for m in measures if m.has_p):
        paths = [score_path(measure, p) for p in report.p_values]
        tables.append(
            Table(
                key=f"pooled-{measure.name}",
                title=f"Pooled {measure.display} F1 with {confidence} CIs on {group.name}",
                stub="Model",
                columns=tuple(describe_p(p) for p in report.p_values),
                sections=_family_sections(
                    group, lambda m, paths=paths: [_interval_cell(m, p) for p in paths]
                ),
                caption=f"All folds' test documents scored together; percentile bootstrap over documents "
                f"({report.n_resamples} resamples, seed {report.seed}).",
            )
        )
    others = [m for m in measures if not m.has_p]
    if others:
        tables.append(
            Table(
                key="pooled-other",
                title=f"Pooled F1 of the other measures with {confidence} CIs on {group.name}",
                stub="Model",
                columns=tuple(m.display for m in others),
                sections=_family_sections(
                    group, lambda m: [_interval_cell(m, score_path(o)) for o in others]
                ),
                caption="Document-mean measures (JMED-LLM) average per-document scores; others pool sums.",
            )
        )
    return tables


def document_table(group: GroupReport, report: Report) -> Table:
    """Per-document (case-level) F1 of the tested measure, one column per model."""
    measure = report.test_measure
    p = report.test_p
    models = group.models
    per_doc = []
    for model in models:
        scores = {d.doc_id: d.get(measure) for d in model.pooled.per_document or ()}
        per_doc.append({doc_id: (value[p] if p is not None else value) for doc_id, value in scores.items()})
    rows = []
    for doc in group.gold:
        cells = [Cell(str(len(doc.spans)))]
        cells += [Cell(f"{values[doc.id].f1:.{DIGITS}f}") for values in per_doc]
        rows.append((doc.id, tuple(cells)))
    entry = f"{measure} F1" + (f" at {describe_p(p)}" if p is not None else "")
    return Table(
        key=DOCUMENT_TABLE,
        title=f"Per-document {entry} on {group.name}",
        stub="Document",
        columns=("gold spans", *(m.label for m in models)),
        sections=(Section(None, tuple(rows)),),
        caption="Each document scored alone (an undefined ratio counts as 0).",
    )


def pairwise_table(group: GroupReport, report: Report) -> Table:
    """Every pair of models: F1 of each, A − B with its paired-bootstrap CI, p-value, Holm-adjusted p."""
    rounds = group.tests[0].comparison.n_permutations if group.tests else 0
    rows = []
    for test in group.tests:
        c = test.comparison
        mark = " *" if test.p_holm < ALPHA else ""  # a star, not bold: significance is no "best"
        rows.append(
            (
                f"{test.a} vs {test.b}",
                (
                    Cell(f"{c.value_a:.{DIGITS}f}"),
                    Cell(f"{c.value_b:.{DIGITS}f}"),
                    Cell(f"{c.difference:+.{DIGITS}f}"),
                    Cell(f"[{c.low:+.{DIGITS}f}, {c.high:+.{DIGITS}f}]"),
                    Cell(f"{c.p_value:.4f}"),
                    Cell(f"{test.p_holm:.4f}{mark}"),
                ),
            )
        )
    entry = f"{report.test_measure} F1" + (
        f" at {describe_p(report.test_p)}" if report.test_p is not None else ""
    )
    return Table(
        key="pairwise",
        title=f"Pairwise paired tests, {entry}, on {group.name}",
        stub="A vs B",
        columns=("F1 (A)", "F1 (B)", "A − B", "95% CI", "p", "p (Holm)"),
        sections=(Section(None, tuple(rows)),),
        caption=f"Paired bootstrap CI over documents ({report.n_resamples} resamples) and two-sided "
        f"approximate randomisation p ({rounds} rounds, seed {report.seed}; smallest reachable p "
        f"{1 / (rounds + 1):.2g}); Holm–Bonferroni over {_plural(len(group.tests), 'pair')}; * = adjusted "
        f"p < {ALPHA}.",
    )


def runs_table(group: GroupReport) -> Table:
    """Which run each row comes from: family, model spec, run directory, folds and documents."""
    rows = tuple(
        (
            m.label,
            (
                Cell(m.family.title),
                Cell(m.run.spec),
                Cell(str(m.run.path)),
                Cell(str(len(m.folds))),
                Cell(str(m.pooled.documents)),
            ),
        )
        for m in group.models
    )
    return Table(
        key="runs",
        title=f"Runs on {group.name}",
        stub="Model",
        columns=("Family", "Model spec", "Run directory", "Folds", "Documents"),
        sections=(Section(None, rows),),
        caption=f"{len(group.gold)} documents, {group.gold_spans} gold spans.",
    )


def group_tables(group: GroupReport, report: Report) -> list[Table]:
    """Every table of a group, in reading order."""
    measures = _measures(group)
    tables = [runs_table(group)]
    tables += [score_table(group, m, report) for m in measures]
    tables += [strata_table(group, m, report) for m in measures if m.strata is not None]
    tables += pooled_tables(group, report)
    if len(group.models) > 1:
        tables.append(pairwise_table(group, report))
    tables.append(document_table(group, report))
    return tables
