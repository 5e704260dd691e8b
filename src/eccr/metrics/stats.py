"""Aggregation and statistics: fold summaries, bootstrap intervals, paired tests between two systems.

* **Across folds** (:func:`summarize_folds`): for every score, the mean and the *sample* standard deviation
  (ddof = 1, the paper's "mean (SD)") of the per-fold values, next to the pooled score — the score of all
  folds' documents scored together, which the caller computes and passes in.
* **Document averages** (:func:`document_average`): P, R and F1 per document, averaged over documents —
  the case-level view, next to the pooled score in which every span counts once.
* **Bootstrap interval** (:func:`bootstrap_interval`): documents are resampled with replacement
  ``n_resamples`` times (seeded, so the interval is reproducible); each resample's score is the pooled
  ratio of sums over the resampled documents; the interval is the percentile interval.
* **Paired comparison** (:func:`compare_totals`, :func:`compare_systems`): two systems' predictions on the
  same gold documents. The difference is F1(A) − F1(B) of the pooled scores. Its confidence interval comes
  from a paired bootstrap (the same resampled documents for both systems). Its two-sided p-value comes
  from an approximate randomisation test: in each of ``n_permutations`` rounds every document's A and B
  results are swapped with probability ½, and p = (1 + #{|Δ_perm| ≥ |Δ_obs|}) / (1 + n_permutations).
  Identical systems give p = 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eccr.corpus.types import Document
from eccr.errors import ConfigError, ScoringError
from eccr.metrics.report import DEFAULT_P, MacroPRF, ScoreReport, format_p
from eccr.metrics.score import DocumentTotals, document_totals

_PRF_KEYS = ("precision", "recall", "f1")
_SUMMARY_SECTIONS = ("wsm", "marker", "char", "token", "exact", "jmedllm", "by_length", "by_length_marker")


# --- fold summaries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldStat:
    """One score across folds: per-fold values, their mean and sample SD (``None`` for one fold), pooled."""

    values: tuple[float, ...]
    mean: float
    sd: float | None
    pooled: float

    def to_dict(self) -> dict[str, float | None]:
        return {"mean": self.mean, "sd": self.sd, "pooled": self.pooled}

    def describe(self, digits: int = 3) -> str:
        """``0.758 (0.002)`` as the paper writes it; ``0.758 (–)`` for a single fold."""
        sd = "–" if self.sd is None else f"{self.sd:.{digits}f}"
        return f"{self.mean:.{digits}f} ({sd})"


@dataclass(frozen=True)
class FoldEntry:
    """The P/R/F1 statistics of one score, at ``path`` in the report (e.g. ``("wsm", "1.5")``)."""

    path: tuple[str, ...]
    precision: FoldStat
    recall: FoldStat
    f1: FoldStat


@dataclass(frozen=True)
class FoldSummary:
    """Mean (SD) across folds and the pooled score, for every score the fold reports share."""

    folds: int
    entries: tuple[FoldEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        """Nested like :meth:`ScoreReport.to_dict`, each leaf ``{"f1": {"mean","sd","pooled"}, ...}``."""
        out: dict[str, Any] = {}
        for entry in self.entries:
            node = out
            for key in entry.path[:-1]:
                node = node.setdefault(key, {})
            node[entry.path[-1]] = {"f1": entry.f1.to_dict(), "precision": entry.precision.to_dict(),
                                    "recall": entry.recall.to_dict()}
        out["folds"] = self.folds
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Flat rows for CSV: ``score, metric, mean, sd, pooled, fold_1 … fold_k``."""
        rows = []
        for entry in self.entries:
            for metric in _PRF_KEYS:
                stat: FoldStat = getattr(entry, metric)
                row: dict[str, Any] = {"score": "/".join(entry.path), "metric": metric, "mean": stat.mean,
                                       "sd": stat.sd, "pooled": stat.pooled}
                row.update({f"fold_{i + 1}": v for i, v in enumerate(stat.values)})
                rows.append(row)
        return rows

    def to_markdown(self, digits: int = 3) -> str:
        """A Markdown table: one row per score, mean (SD) of F1, P and R, and the pooled F1."""
        lines = [f"Mean (SD) over {self.folds} folds; pooled = all folds' documents scored together.", "",
                 "| score | F1 | precision | recall | pooled F1 |", "| --- | --- | --- | --- | --- |"]
        for entry in self.entries:
            lines.append(f"| {' / '.join(entry.path)} | {entry.f1.describe(digits)} | "
                         f"{entry.precision.describe(digits)} | {entry.recall.describe(digits)} | "
                         f"{entry.f1.pooled:.{digits}f} |")
        return "\n".join(lines) + "\n"


def _leaves(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, float]]]:
    if isinstance(node, dict):
        if all(key in node for key in _PRF_KEYS):
            yield path, node
            return
        for key, value in node.items():
            yield from _leaves(value, (*path, key))


def _score_leaves(report: ScoreReport) -> dict[tuple[str, ...], dict[str, float]]:
    data = report.to_dict()
    return {path: leaf for section in _SUMMARY_SECTIONS if section in data
            for path, leaf in _leaves(data[section], (section,))}


def _stat(values: Sequence[float], pooled: float) -> FoldStat:
    array = np.asarray(values, dtype=np.float64)
    sd = float(array.std(ddof=1)) if len(array) > 1 else None
    return FoldStat(tuple(float(v) for v in array), float(array.mean()), sd, float(pooled))


def summarize_folds(fold_reports: Sequence[ScoreReport], pooled: ScoreReport) -> FoldSummary:
    """Mean and sample SD (ddof = 1) of every score over ``fold_reports``, with ``pooled``'s value.

    Every fold report must hold the same scores (same p values, same options) as ``pooled``.

    >>> from eccr.metrics.report import PRF, MacroPRF
    >>> def fake(f1_num):
    ...     prf = PRF(f1_num, 10, f1_num, 10)
    ...     return ScoreReport((1.0,), {1.0: prf}, {1.0: prf}, prf, prf, MacroPRF(0, 0, 0, 1),
    ...                        MacroPRF(0, 0, 0, 1), 1, 1, 1)
    >>> s = summarize_folds([fake(6), fake(8)], fake(7))
    >>> f1 = s.to_dict()["wsm"]["1"]["f1"]
    >>> round(f1["mean"], 4), round(f1["sd"], 4), f1["pooled"]
    (0.7, 0.1414, 0.7)
    """
    if not fold_reports:
        raise ScoringError("E055", "no fold reports to summarise")
    pooled_leaves = _score_leaves(pooled)
    folds = [_score_leaves(r) for r in fold_reports]
    for i, leaves in enumerate(folds):
        if leaves.keys() != pooled_leaves.keys():
            differing = sorted(set(leaves) ^ set(pooled_leaves))[:3]
            raise ScoringError("E055", f"fold report #{i + 1} holds different scores from the pooled report "
                                       f"(e.g. {['/'.join(d) for d in differing]}); score every fold with "
                                       "the same options")
    entries = tuple(
        FoldEntry(path, *(_stat([leaves[path][metric] for leaves in folds], pooled_leaves[path][metric])
                          for metric in _PRF_KEYS))
        for path in pooled_leaves
    )
    return FoldSummary(len(fold_reports), entries)


def document_average(rows: np.ndarray, *, zero_division: float = 0.0) -> MacroPRF:
    """Precision, recall and F1 computed per document and averaged over documents (case-level means).

    ``rows`` are per-document ``[p_num, p_den, r_num, r_den]`` (e.g. ``totals.measure("wsm", 1)``); a
    document's undefined ratio counts as ``zero_division``. This differs from the pooled score, in which
    every span counts once whatever its document.

    >>> document_average(np.array([[1, 1, 1, 2], [0, 0, 3, 3]]), zero_division=0.0).recall
    0.75
    """
    rows = _check_rows(rows)
    return MacroPRF(float(f1_from_sums(rows, zero_division, "precision").mean()),
                    float(f1_from_sums(rows, zero_division, "recall").mean()),
                    float(f1_from_sums(rows, zero_division, "f1").mean()), len(rows))


# --- bootstrap and paired tests --------------------------------------------------------------------------


def f1_from_sums(sums: np.ndarray, zero_division: float = 0.0, metric: str = "f1") -> np.ndarray:
    """Precision, recall or F1 of each row of ``[p_num, p_den, r_num, r_den]`` sums (vectorised PRF)."""
    sums = np.atleast_2d(sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(sums[:, 1] > 0, sums[:, 0] / sums[:, 1], zero_division)
        recall = np.where(sums[:, 3] > 0, sums[:, 2] / sums[:, 3], zero_division)
        if metric == "precision":
            return precision
        if metric == "recall":
            return recall
        total = precision + recall
        return np.where(total > 0, 2 * precision * recall / total, zero_division)


def _resample_sums(rows: Sequence[np.ndarray], n_resamples: int, rng: np.random.Generator
                   ) -> list[np.ndarray]:
    """Sums of each of ``rows`` (same documents) over ``n_resamples`` bootstrap resamples of documents."""
    n = len(rows[0])
    out = [np.empty((n_resamples, 4)) for _ in rows]
    chunk = max(1, 2_000_000 // max(n, 1))
    for begin in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - begin)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        for target, array in zip(out, rows, strict=True):
            target[begin : begin + size] = counts @ array
    return out


@dataclass(frozen=True)
class BootstrapInterval:
    """A score with its bootstrap percentile interval over documents."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, float | int]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "confidence": self.confidence,
                "n_resamples": self.n_resamples, "seed": self.seed}


def check_resampling(n_resamples: int, n_permutations: int | None = None) -> None:
    """``E056`` unless the bootstrap and the randomisation test get at least one round each.

    Zero rounds would give an interval of nothing and a p-value of 1 — a silent non-answer.

    >>> check_resampling(1000, 0)
    Traceback (most recent call last):
    ...
    eccr.errors.ConfigError: [E056] --permutations must be at least 1, got 0 (1000 is usual)
    """
    for name, value in (("--resamples", n_resamples), ("--permutations", n_permutations)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError("E056", f"{name} must be at least 1, got {value!r} (1000 is usual)")


def _check_rows(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 4 or len(rows) == 0:
        raise ScoringError("E055", f"need per-document sums of shape (documents >= 1, 4), got {rows.shape}")
    return rows


def bootstrap_interval(rows: np.ndarray, *, metric: str = "f1", n_resamples: int = 1000, seed: int = 0,
                       confidence: float = 0.95, zero_division: float = 0.0) -> BootstrapInterval:
    """Percentile bootstrap interval of a pooled score, resampling documents.

    Args:
        rows: per-document ``[p_num, p_den, r_num, r_den]``, e.g. ``totals.measure("wsm", 1)``.
        metric: ``"f1"``, ``"precision"`` or ``"recall"``.
    """
    check_resampling(n_resamples)
    rows = _check_rows(rows)
    rng = np.random.default_rng(seed)
    (sums,) = _resample_sums([rows], n_resamples, rng)
    values = f1_from_sums(sums, zero_division, metric)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    estimate = float(f1_from_sums(rows.sum(axis=0), zero_division, metric)[0])
    return BootstrapInterval(estimate, float(low), float(high), confidence, n_resamples, seed)


@dataclass(frozen=True)
class PairedComparison:
    """System A against system B on the same documents: F1(A) − F1(B), its interval and p-value."""

    measure: str
    p: float | None
    metric: str
    value_a: float
    value_b: float
    difference: float
    low: float
    high: float
    p_value: float
    documents: int
    confidence: float
    n_resamples: int
    n_permutations: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure, "p": None if self.p is None else format_p(self.p), "metric": self.metric,
            "a": self.value_a, "b": self.value_b, "difference": self.difference,
            "ci": {"low": self.low, "high": self.high, "confidence": self.confidence,
                   "method": "paired bootstrap over documents", "n_resamples": self.n_resamples},
            "p_value": self.p_value,
            "test": {"method": "approximate randomisation (two-sided)",
                     "n_permutations": self.n_permutations},
            "documents": self.documents, "seed": self.seed,
        }

    def describe(self) -> str:
        name = self.measure + (f" p={format_p(self.p)}" if self.p is not None else "")
        return (f"{name} {self.metric}: A {self.value_a:.4f}, B {self.value_b:.4f}, "
                f"A−B {self.difference:+.4f} "
                f"({self.confidence:.0%} CI {self.low:+.4f} to {self.high:+.4f}), p = {self.p_value:.4g} "
                f"over {self.documents} documents")


def compare_totals(rows_a: np.ndarray, rows_b: np.ndarray, *, measure: str = "wsm", p: float | None = 1.0,
                   metric: str = "f1", n_resamples: int = 1000, n_permutations: int = 1000, seed: int = 0,
                   confidence: float = 0.95, zero_division: float = 0.0) -> PairedComparison:
    """Paired bootstrap interval and approximate-randomisation p-value for score(A) − score(B).

    ``rows_a`` and ``rows_b`` are the per-document sums of the two systems on the same documents, in the
    same order. ``measure`` and ``p`` only label the result.
    """
    check_resampling(n_resamples, n_permutations)
    a, b = _check_rows(rows_a), _check_rows(rows_b)
    if a.shape != b.shape:
        raise ScoringError("E055", "paired systems must be scored on the same documents: "
                                   f"{len(a)} vs {len(b)}")
    rng = np.random.default_rng(seed)
    value_a = float(f1_from_sums(a.sum(axis=0), zero_division, metric)[0])
    value_b = float(f1_from_sums(b.sum(axis=0), zero_division, metric)[0])
    observed = value_a - value_b
    sums_a, sums_b = _resample_sums([a, b], n_resamples, rng)
    deltas = f1_from_sums(sums_a, zero_division, metric) - f1_from_sums(sums_b, zero_division, metric)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(deltas, [tail, 100 - tail])
    total_a, total_b, swap_gain = a.sum(axis=0), b.sum(axis=0), b - a
    extreme = 0
    chunk = max(1, 2_000_000 // len(a))
    tolerance = 1e-12
    for begin in range(0, n_permutations, chunk):
        size = min(chunk, n_permutations - begin)
        swaps = rng.random((size, len(a))) < 0.5
        moved = swaps.astype(np.float64) @ swap_gain
        permuted = (f1_from_sums(total_a + moved, zero_division, metric)
                    - f1_from_sums(total_b - moved, zero_division, metric))
        extreme += int(np.count_nonzero(np.abs(permuted) >= abs(observed) - tolerance))
    p_value = (extreme + 1) / (n_permutations + 1)
    return PairedComparison(measure, p, metric, value_a, value_b, observed, float(low), float(high), p_value,
                            len(a), confidence, n_resamples, n_permutations, seed)


def compare_systems(gold: Sequence[Document], pred_a: Sequence[Document], pred_b: Sequence[Document], *,
                    measure: str = "wsm", p: float | None = 1.0, metric: str = "f1", typed: bool = False,
                    allow_missing: bool = False, n_resamples: int = 1000, n_permutations: int = 1000,
                    seed: int = 0, confidence: float = 0.95, zero_division: float = 0.0) -> PairedComparison:
    """Score two systems on ``gold`` and compare them with :func:`compare_totals`.

    ``measure`` is ``wsm``, ``marker``, ``char`` or ``exact``; ``p`` applies to ``wsm``/``marker``.
    """
    used_p = p if measure in ("wsm", "marker") else None
    # only wsm/marker read the p axis; document_totals checks p (E053), so one value is all that is scored
    totals: list[DocumentTotals] = [
        document_totals(gold, pred, p=DEFAULT_P[0] if used_p is None else used_p, typed=typed,
                        allow_missing=allow_missing, conventional=measure == "exact")
        for pred in (pred_a, pred_b)
    ]
    rows = [t.measure(measure, used_p) for t in totals]
    return compare_totals(rows[0], rows[1], measure=measure, p=used_p, metric=metric, n_resamples=n_resamples,
                          n_permutations=n_permutations, seed=seed, confidence=confidence,
                          zero_division=zero_division)
