"""``build_report(RUN_DIRS)``: score every run again from its stored predictions and compare the models.

For each group of runs on the same gold (:mod:`eccr.reports.collect`), every run is scored with
:func:`eccr.metrics.score` — each fold on its stored ``fold-<k>`` files, and the pooled predictions of all
folds — with the report's p values, the length strata and, given a tokenizer, the token score; fold
statistics come from :func:`eccr.metrics.summarize_folds`. Then:

* **pooled scores with bootstrap CIs**: every measure's pooled P, R and F1 with a percentile bootstrap
  interval over documents (:func:`eccr.metrics.bootstrap_interval`, following the measure's pooling);
* **pairwise paired tests**: every pair of models of the group on one measure and p (default: weighted soft
  matching F1 at the first p), by :func:`eccr.metrics.stats.compare_totals` on the per-document sums
  aligned by document id, with the p-values Holm-corrected over all pairs of the group
  (:func:`eccr.metrics.holm_adjust`).

The p values are the report's (``p=``), else those all runs were scored with. Runs scored with different
p sets are all recomputed at the union of their p values, and the report says so; a recomputed fold score
that differs from the run's stored ``scores.json`` is reported as a warning (the report's numbers are the
recomputed ones).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from eccr.corpus.types import Corpus
from eccr.errors import ConfigError
from eccr.metrics import (
    BootstrapInterval,
    FoldSummary,
    PairedComparison,
    ScoreReport,
    bootstrap_intervals,
    format_p,
    get_measure,
    holm_adjust,
    score,
    summarize_folds,
)
from eccr.metrics.report import score_path
from eccr.metrics.stats import compare_totals
from eccr.metrics.token import TokenOffsets, resolve_tokenizer
from eccr.reports.collect import (
    RunData,
    check_labels,
    find_run_dirs,
    gold_digest,
    read_run_dir,
    unique_labels,
)
from eccr.reports.families import Family

METRICS = ("f1", "recall", "precision")


@dataclass(frozen=True)
class ModelResult:
    """One run (one model) of a group, scored again: fold reports, pooled report, fold summary, CIs."""

    label: str
    run: RunData
    folds: tuple[ScoreReport, ...]
    pooled: ScoreReport
    summary: FoldSummary
    intervals: dict[tuple[str, ...], dict[str, BootstrapInterval]]

    @property
    def family(self) -> Family:
        return self.run.family

    def rows_for(self, measure: str, p: float | None, doc_ids: Sequence[str]) -> np.ndarray:
        """Per-document sums of ``measure`` (at ``p``) in the order of ``doc_ids``."""
        totals = self.pooled.totals
        assert totals is not None  # score() always attaches them
        rows = totals.measure(measure, p)
        index = {doc_id: i for i, doc_id in enumerate(totals.doc_ids)}
        return rows[[index[doc_id] for doc_id in doc_ids]]


@dataclass(frozen=True)
class PairTest:
    """Model A against model B on the group's documents; ``p_holm`` is the Holm-adjusted p-value."""

    a: str
    b: str
    comparison: PairedComparison
    p_holm: float

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, **self.comparison.to_dict(), "p_holm": self.p_holm}


@dataclass(frozen=True)
class GroupReport:
    """The models scored on one gold: rows in family order, pairwise tests, notes for the reader."""

    name: str
    slug: str
    corpus: str | None
    select: str | None
    gold: Corpus
    models: tuple[ModelResult, ...]
    tests: tuple[PairTest, ...]
    notes: tuple[str, ...]

    @property
    def gold_spans(self) -> int:
        return sum(len(doc.spans) for doc in self.gold)

    def by_family(self) -> Iterator[tuple[Family, list[ModelResult]]]:
        """Models grouped by family, families in the paper's order, models in the order given."""
        families = sorted({m.family for m in self.models})
        for family in families:
            yield family, [m for m in self.models if m.family == family]


@dataclass(frozen=True)
class Report:
    """Everything ``eccr report`` shows: one :class:`GroupReport` per gold, and the options used."""

    p_values: tuple[float, ...]
    tokenizer: str | None
    typed: bool
    test_measure: str
    test_p: float | None
    n_resamples: int
    n_permutations: int | None
    seed: int
    groups: tuple[GroupReport, ...]
    warnings: tuple[str, ...]
    files: tuple[Path, ...] = field(default=())

    @property
    def measures(self) -> tuple[str, ...]:
        """Names of the measures every model was scored with, in registry order."""
        first = self.groups[0].models[0].pooled
        return tuple(m.name for m in first.scores)


ProgressHook = Callable[[str, int, int], None]


def _report_p(runs: Sequence[RunData], p: Sequence[float] | None) -> tuple[tuple[float, ...], list[str]]:
    if p:
        return tuple(dict.fromkeys(float(v) for v in p)), []
    sets = {run.p_values for run in runs}
    if len(sets) == 1:
        return next(iter(sets)), []
    union = tuple(dict.fromkeys(v for run in runs for v in run.p_values))
    described = "; ".join(f"{run.path.name}: {', '.join(map(format_p, run.p_values))}" for run in runs)
    return union, [
        f"the runs were scored with different p sets ({described}); every run is recomputed "
        f"from its stored predictions at p = {', '.join(map(format_p, union))}"
    ]


def _check_stored(run: RunData, fold_reports: Sequence[ScoreReport]) -> list[str]:
    """Warnings where a recomputed fold wsm score differs from the run's stored ``scores.json``."""
    out = []
    for fold, report in zip(run.folds, fold_reports, strict=True):
        stored = (fold.stored_scores or {}).get("wsm", {})
        for p in report.p_values:
            value = stored.get(format_p(p), {}).get("f1")
            if value is not None and value != report.wsm[p].f1:
                out.append(
                    f"{run.path / f'fold-{fold.index}' / 'scores.json'} says wsm F1 at p={format_p(p)} "
                    f"is {value!r}, but its stored predictions score {report.wsm[p].f1!r} (edited run, "
                    "or another eccr version); the report uses the recomputed value"
                )
                break
    return out


def _intervals(
    pooled: ScoreReport, n_resamples: int, seed: int
) -> dict[tuple[str, ...], dict[str, BootstrapInterval]]:
    """Bootstrap CIs of P, R and F1 of every pooled score (one draw of resampled documents for all)."""
    totals = pooled.totals
    assert totals is not None
    keys, scores = [], []
    for measure in pooled.scores:
        for p in pooled.p_values if measure.has_p else (None,):
            rows = totals.measure(measure.name, p)
            for metric in METRICS:
                keys.append((score_path(measure, p), metric))
                scores.append((rows, metric, measure.pooling))
    out: dict[tuple[str, ...], dict[str, BootstrapInterval]] = {}
    intervals = bootstrap_intervals(scores, n_resamples=n_resamples, seed=seed)
    for (path, metric), interval in zip(keys, intervals, strict=True):
        out.setdefault(path, {})[metric] = interval
    return out


def _score_run(
    run: RunData,
    label: str,
    p_values: tuple[float, ...],
    *,
    tokenizer: TokenOffsets | None,
    typed: bool,
    n_resamples: int,
    seed: int,
) -> tuple[ModelResult, list[str]]:
    options = {"p": p_values, "tokenizer": tokenizer, "typed": typed, "by_length": True}
    fold_reports = tuple(score(f.gold, f.predictions, **options) for f in run.folds)
    pooled = score(run.gold, run.predictions, per_document=True, **options)
    summary = summarize_folds(fold_reports, pooled)
    return (
        ModelResult(label, run, fold_reports, pooled, summary, _intervals(pooled, n_resamples, seed)),
        _check_stored(run, fold_reports) if not typed else [],
    )


def _pair_tests(
    models: Sequence[ModelResult],
    doc_ids: Sequence[str],
    measure: str,
    p: float | None,
    *,
    n_resamples: int,
    n_permutations: int | None,
    seed: int,
    progress: ProgressHook | None,
) -> tuple[PairTest, ...]:
    entry = get_measure(measure)
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]
    rounds = n_permutations or permutations_for(len(pairs))
    comparisons = []
    for k, (a, b) in enumerate(pairs):
        if progress is not None:
            progress(f"paired test {a.label} vs {b.label}", k, len(pairs))
        comparisons.append(
            compare_totals(
                a.rows_for(measure, p, doc_ids),
                b.rows_for(measure, p, doc_ids),
                measure=measure,
                p=p,
                metric="f1",
                n_resamples=n_resamples,
                n_permutations=rounds,
                seed=seed,
                pooling=entry.pooling,
            )
        )
    adjusted = holm_adjust([c.p_value for c in comparisons])
    return tuple(
        PairTest(a.label, b.label, c, h) for (a, b), c, h in zip(pairs, comparisons, adjusted, strict=True)
    )


def permutations_for(pairs: int, alpha: float = 0.05) -> int:
    """Randomisation rounds for ``pairs`` Holm-corrected tests: at least 1000, and enough that the smallest
    reachable adjusted p-value, ``pairs / (rounds + 1)``, is half of ``alpha`` — so a clear difference can be
    significant after the correction.

    >>> permutations_for(1), permutations_for(190)
    (1000, 7600)
    """
    return max(1000, round(2 * pairs / alpha))


def _fold_notes(models: Sequence[ModelResult]) -> list[str]:
    plans = {}
    for model in models:
        signature = tuple(frozenset(f.test) for f in model.run.plan.folds)
        plans.setdefault(signature, []).append(model.label)
    if len(plans) <= 1:
        return []
    described = "; ".join(", ".join(labels) for labels in plans.values())
    return [
        f"the models were cross-validated on {len(plans)} different fold assignments ({described}): "
        "mean (SD) over folds compares different splits; pooled scores and paired tests are per document "
        "and stay valid (rerun with --folds-file for a like-for-like table)"
    ]


def _group_name(run: RunData) -> str:
    corpus = Path(run.corpus).name if run.corpus else "corpus"
    return f"{corpus} {run.select}" if run.select else corpus


def _slug(text: str, taken: set[str]) -> str:
    base = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower()).strip("-")
    base = "-".join(part for part in base.split("-") if part)[:60] or "corpus"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _check_options(
    test_measure: str, test_p: float | None, p_values: tuple[float, ...], tokenizer: str | None
) -> float | None:
    measure = get_measure(test_measure)
    if measure.needs_tokenizer and tokenizer is None:
        raise ConfigError("E147", f"the paired tests use {measure.name!r}, which needs --tokenizer")
    if not measure.has_p:
        return None
    chosen = p_values[0] if test_p is None else float(test_p)
    if chosen not in p_values:
        raise ConfigError(
            "E147",
            f"--test-p {format_p(chosen)} is not one of the report's p values "
            f"({', '.join(map(format_p, p_values))})",
        )
    return chosen


def _cached(offsets: TokenOffsets | None) -> TokenOffsets | None:
    """The tokenizer, remembering each text's offsets: every run and fold scores the same gold texts."""
    return None if offsets is None else functools.lru_cache(maxsize=None)(offsets)


def _group_runs(
    runs: Sequence[RunData], labels: Sequence[str] | None
) -> list[tuple[str, list[tuple[RunData, str]]]]:
    """Runs grouped by identical gold, titled by corpus and selection (numbered if two golds share one), each
    with its row label (``labels`` in run order, else unique within the group)."""
    grouped: dict[str, list[tuple[RunData, str | None]]] = {}
    for i, run in enumerate(runs):
        grouped.setdefault(gold_digest(run.gold), []).append((run, labels[i] if labels else None))
    titles = [_group_name(members[0][0]) for members in grouped.values()]
    seen: dict[str, int] = {}
    out = []
    for title, members in zip(titles, grouped.values(), strict=True):
        seen[title] = seen.get(title, 0) + 1
        if titles.count(title) > 1:
            title = f"{title} (gold version {seen[title]})"
        names = unique_labels([run for run, _ in members])
        out.append((title, [(run, given or name) for (run, given), name in zip(members, names, strict=True)]))
    return out


def compute_report(
    run_dirs: Sequence[str | Path],
    *,
    p: Sequence[float] | None = None,
    tokenizer: str | None = "simple",
    typed: bool = False,
    labels: Sequence[str] | None = None,
    test_measure: str = "wsm",
    test_p: float | None = None,
    n_resamples: int = 1000,
    n_permutations: int | None = None,
    seed: int = 0,
    progress: ProgressHook | None = None,
) -> Report:
    """Read the runs, score them again and compare them; nothing is written (see :func:`build_report`)."""
    paths, warnings = find_run_dirs(run_dirs)
    runs = [read_run_dir(path) for path in paths]
    check_labels(runs, labels)
    p_values, p_notes = _report_p(runs, p)
    warnings += p_notes
    chosen_p = _check_options(test_measure, test_p, p_values, tokenizer)
    offsets = _cached(resolve_tokenizer(tokenizer))
    groups: list[GroupReport] = []
    taken: set[str] = set()
    for title, members in _group_runs(runs, labels):
        models = []
        for run, name in members:
            if progress is not None:
                progress(f"scoring {name}", sum(len(g.models) for g in groups) + len(models), len(runs))
            model, stored_notes = _score_run(
                run, name, p_values, tokenizer=offsets, typed=typed, n_resamples=n_resamples, seed=seed
            )
            models.append(model)
            warnings += stored_notes
        models.sort(key=lambda m: m.family.rank)  # stable: the given order within a family
        gold = members[0][0].gold
        tests = _pair_tests(
            models,
            gold.ids,
            test_measure,
            chosen_p,
            n_resamples=n_resamples,
            n_permutations=n_permutations,
            seed=seed,
            progress=progress,
        )
        first = members[0][0]
        groups.append(
            GroupReport(
                title,
                _slug(title, taken),
                first.corpus,
                first.select,
                gold,
                tuple(models),
                tests,
                tuple(_fold_notes(models)),
            )
        )
    if len(groups) > 1:
        warnings.append(
            f"the runs are on {len(groups)} different gold sets (corpora or selections); each gets "
            "its own tables, and models are compared only within one"
        )
    return Report(
        p_values,
        tokenizer,
        typed,
        get_measure(test_measure).name,
        chosen_p,
        n_resamples,
        n_permutations,
        seed,
        tuple(groups),
        tuple(warnings),
    )


def describe_p(p: float | None) -> str:
    """``p = 1.5`` for table headers (``p = ∞`` for infinity)."""
    if p is None:
        return ""
    return "p = ∞" if math.isinf(p) else f"p = {format_p(p)}"


def build_report(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    formats: Sequence[str] = ("md",),
    plots: bool = True,
    p: Sequence[float] | None = None,
    tokenizer: str | None = "simple",
    typed: bool = False,
    labels: Sequence[str] | None = None,
    test_measure: str = "wsm",
    test_p: float | None = None,
    n_resamples: int = 1000,
    n_permutations: int | None = None,
    seed: int = 0,
    progress: ProgressHook | None = None,
) -> Report:
    """The paper's tables and figures over finished ``eccr cv`` runs (what ``eccr report`` does).

    Args:
        run_dirs: run directories, or folders holding them (an experiment's output).
        out: where to write the report (see :mod:`eccr.reports.write`); ``None`` writes nothing.
        formats: any of ``md``, ``csv``, ``latex``, ``html`` (``report.json`` is always written).
        plots: draw the figures (PNG and SVG; needs matplotlib, the ``report`` extra).
        p: the fragmentation penalties to report (default: those the runs were scored with).
        tokenizer: tokenizer of the token segment score (``simple``, ``char``, a Hugging Face id/path) or
            ``None`` for no token score.
        typed: compare labels.
        labels: row labels, one per run in the order found (default: from the model specs).
        test_measure, test_p: the measure and p of the paired tests and the per-document table (default:
            weighted soft matching at the first p).
        n_resamples, n_permutations, seed: of the bootstrap intervals and the randomisation tests;
            ``n_permutations=None`` takes :func:`permutations_for` the number of pairs.
        progress: ``hook(description, done, total)`` called as runs are scored and pairs tested.

    Returns:
        The :class:`Report`; ``report.files`` lists what was written.

    Example::

        from eccr.reports import build_report
        report = build_report(["runs/cv-crf", "runs/cv-dict"], "report", formats=("md", "html"))
        print(main_table_markdown(report))   # the Table-2 style table of each corpus
    """
    if out is not None:
        from eccr.reports.write import check_formats, check_out_dir

        check_formats(formats)
        check_out_dir(Path(out), find_run_dirs(run_dirs)[0])
        if plots:
            from eccr.reports.plots import require_matplotlib

            require_matplotlib()
    report = compute_report(
        run_dirs,
        p=p,
        tokenizer=tokenizer,
        typed=typed,
        labels=labels,
        test_measure=test_measure,
        test_p=test_p,
        n_resamples=n_resamples,
        n_permutations=n_permutations,
        seed=seed,
        progress=progress,
    )
    if out is None:
        return report
    from eccr.reports.write import write_report

    return replace(report, files=tuple(write_report(report, out, formats=formats, plots=plots)))
