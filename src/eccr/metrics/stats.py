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

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eccr.corpus.types import Document
from eccr.errors import ConfigError, ScoringError
from eccr.metrics.measures import DOCUMENT_MEAN, POOLED, Pooling, get_measure
from eccr.metrics.report import DEFAULT_P, MacroPRF, ScoreReport, f1_from_sums, format_p
from eccr.metrics.score import document_totals
from eccr.metrics.token import TokenOffsets

__all__ = ["f1_from_sums"]  # re-exported: the vectorised PRF lives with PRF in eccr.metrics.report

_PRF_KEYS = ("precision", "recall", "f1")


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

    def entry(self, *path: str) -> FoldEntry | None:
        """The entry at ``path`` (``summary.entry("wsm", "1")``); ``None`` when the folds lack that score."""
        return next((e for e in self.entries if e.path == path), None)

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


def _stat(values: Sequence[float], pooled: float) -> FoldStat:
    array = np.asarray(values, dtype=np.float64)
    sd = float(array.std(ddof=1)) if len(array) > 1 else None
    return FoldStat(tuple(float(v) for v in array), float(array.mean()), sd, float(pooled))


def summarize_folds(fold_reports: Sequence[ScoreReport], pooled: ScoreReport) -> FoldSummary:
    """Mean and sample SD (ddof = 1) of every score over ``fold_reports``, with ``pooled``'s value.

    Every fold report must hold the same scores (same p values, same options) as ``pooled``.

    >>> from eccr.metrics.measures import get_measure
    >>> from eccr.metrics.report import PRF
    >>> def fake(f1_num):
    ...     prf = PRF(f1_num, 10, f1_num, 10)
    ...     return ScoreReport((1.0,), {get_measure("wsm"): {1.0: prf}, get_measure("char"): prf}, 1, 1, 1)
    >>> s = summarize_folds([fake(6), fake(8)], fake(7))
    >>> f1 = s.to_dict()["wsm"]["1"]["f1"]
    >>> round(f1["mean"], 4), round(f1["sd"], 4), f1["pooled"]
    (0.7, 0.1414, 0.7)
    """
    if not fold_reports:
        raise ScoringError("E055", "no fold reports to summarise")
    pooled_scores = dict(pooled.items())
    folds = [dict(r.items()) for r in fold_reports]
    for i, scores in enumerate(folds):
        if scores.keys() != pooled_scores.keys():
            differing = sorted(set(scores) ^ set(pooled_scores))[:3]
            raise ScoringError("E055", f"fold report #{i + 1} holds different scores from the pooled report "
                                       f"(e.g. {['/'.join(d) for d in differing]}); score every fold with "
                                       "the same options")
    entries = tuple(
        FoldEntry(path, *(_stat([getattr(scores[path], metric) for scores in folds],
                                getattr(value, metric)) for metric in _PRF_KEYS))
        for path, value in pooled_scores.items()
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
    return DOCUMENT_MEAN.combine(_check_rows(rows), zero_division)  # type: ignore[return-value]


# --- bootstrap and paired tests --------------------------------------------------------------------------


#: Resampled-document draws up to this many numbers (documents × resamples) are remembered and shared.
_CACHED_DRAWS = 4_000_000


def _draw(n: int, n_resamples: int, seed: int) -> tuple[tuple[np.ndarray, ...], dict[str, Any]]:
    """How often each of ``n`` documents is drawn in each resample (chunks of rows), and the generator's
    state after drawing them."""
    rng = np.random.default_rng(seed)
    chunks = []
    chunk = max(1, 2_000_000 // max(n, 1))
    for begin in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - begin)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        counts.flags.writeable = False
        chunks.append(counts)
    return tuple(chunks), rng.bit_generator.state


# A report compares many systems on the same documents with the same seed: every call draws the same
# resamples, so the (slow) multinomial draws are made once and shared.
_draw_cached = functools.lru_cache(maxsize=2)(_draw)


def _resample_sums(summands: Sequence[np.ndarray], n_resamples: int, seed: int
                   ) -> tuple[list[np.ndarray], np.random.Generator]:
    """Sums of each of ``summands`` (same documents) over ``n_resamples`` bootstrap resamples of documents,
    and the seeded generator positioned after the draws (for what the caller draws next)."""
    n = len(summands[0])
    draw = _draw_cached if n * n_resamples <= _CACHED_DRAWS else _draw
    chunks, state = draw(n, n_resamples, seed)
    out = [np.empty((n_resamples, array.shape[1])) for array in summands]
    begin = 0
    for counts in chunks:
        for target, array in zip(out, summands, strict=True):
            target[begin : begin + len(counts)] = counts @ array
        begin += len(counts)
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = state
    return out, rng


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


def _check_metric(metric: str) -> None:
    if metric not in _PRF_KEYS:
        raise ConfigError("E053", f"metric must be f1, precision or recall, got {metric!r}")


def bootstrap_interval(rows: np.ndarray, *, metric: str = "f1", n_resamples: int = 1000, seed: int = 0,
                       confidence: float = 0.95, zero_division: float = 0.0,
                       pooling: Pooling = POOLED) -> BootstrapInterval:
    """Percentile bootstrap interval of a score, resampling documents.

    Args:
        rows: per-document ``[p_num, p_den, r_num, r_den]``, e.g. ``totals.measure("wsm", 1)``.
        metric: ``"f1"``, ``"precision"`` or ``"recall"``.
        pooling: how the measure's documents combine (its registry entry's ``pooling``).
    """
    (interval,) = bootstrap_intervals([(rows, metric, pooling)], n_resamples=n_resamples, seed=seed,
                                      confidence=confidence, zero_division=zero_division)
    return interval


def bootstrap_intervals(scores: Sequence[tuple[np.ndarray, str, Pooling]], *, n_resamples: int = 1000,
                        seed: int = 0, confidence: float = 0.95, zero_division: float = 0.0
                        ) -> list[BootstrapInterval]:
    """:func:`bootstrap_interval` of several scores of the **same documents** at once.

    ``scores`` holds ``(rows, metric, pooling)`` triples. The resampled documents are drawn once and shared,
    so each interval equals what :func:`bootstrap_interval` gives alone with the same seed, at the cost of
    one draw instead of one per score.
    """
    check_resampling(n_resamples)
    checked = [(_check_rows(rows), metric, pooling) for rows, metric, pooling in scores]
    for _rows, metric, _pooling in checked:
        _check_metric(metric)
    if len({len(rows) for rows, _, _ in checked}) > 1:
        raise ScoringError("E055", "bootstrap_intervals needs every score on the same documents")
    summands = [pooling.summands(rows, metric, zero_division) for rows, metric, pooling in checked]
    sums, _rng = _resample_sums(summands, n_resamples, seed)
    tail = (1 - confidence) / 2 * 100
    out = []
    for (rows, metric, pooling), resampled in zip(checked, sums, strict=True):
        values = pooling.statistic(resampled, len(rows), metric, zero_division)
        low, high = np.percentile(values, [tail, 100 - tail])
        estimate = float(getattr(pooling.combine(rows, zero_division), metric))
        out.append(BootstrapInterval(estimate, float(low), float(high), confidence, n_resamples, seed))
    return out


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down; family-wise error rate), in the input order.

    The i-th smallest p-value is multiplied by (m − i + 1) for m tests, then made monotone (an adjusted
    p-value is never below the one before it in sorted order) and capped at 1.

    >>> holm_adjust([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


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
                   confidence: float = 0.95, zero_division: float = 0.0,
                   pooling: Pooling = POOLED) -> PairedComparison:
    """Paired bootstrap interval and approximate-randomisation p-value for score(A) − score(B).

    ``rows_a`` and ``rows_b`` are the per-document sums of the two systems on the same documents, in the
    same order; ``pooling`` is how the measure's documents combine. ``measure`` and ``p`` only label the
    result.
    """
    check_resampling(n_resamples, n_permutations)
    a, b = _check_rows(rows_a), _check_rows(rows_b)
    _check_metric(metric)
    if a.shape != b.shape:
        raise ScoringError("E055", "paired systems must be scored on the same documents: "
                                   f"{len(a)} vs {len(b)}")
    n, zd = len(a), zero_division
    value_a = float(getattr(pooling.combine(a, zd), metric))
    value_b = float(getattr(pooling.combine(b, zd), metric))
    observed = value_a - value_b
    summands_a, summands_b = pooling.summands(a, metric, zd), pooling.summands(b, metric, zd)
    (sums_a, sums_b), rng = _resample_sums([summands_a, summands_b], n_resamples, seed)
    deltas = pooling.statistic(sums_a, n, metric, zd) - pooling.statistic(sums_b, n, metric, zd)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(deltas, [tail, 100 - tail])
    total_a, total_b = summands_a.sum(axis=0), summands_b.sum(axis=0)
    swap_gain = summands_b - summands_a
    extreme = 0
    chunk = max(1, 2_000_000 // n)
    tolerance = 1e-12
    for begin in range(0, n_permutations, chunk):
        size = min(chunk, n_permutations - begin)
        swaps = rng.random((size, n)) < 0.5
        moved = swaps.astype(np.float64) @ swap_gain
        permuted = (pooling.statistic(total_a + moved, n, metric, zd)
                    - pooling.statistic(total_b - moved, n, metric, zd))
        extreme += int(np.count_nonzero(np.abs(permuted) >= abs(observed) - tolerance))
    p_value = (extreme + 1) / (n_permutations + 1)
    return PairedComparison(measure, p, metric, value_a, value_b, observed, float(low), float(high), p_value,
                            n, confidence, n_resamples, n_permutations, seed)


def compare_systems(gold: Sequence[Document], pred_a: Sequence[Document], pred_b: Sequence[Document], *,
                    measure: str = "wsm", p: float | None = 1.0, metric: str = "f1", typed: bool = False,
                    tokenizer: str | TokenOffsets | None = None, allow_missing: bool = False,
                    n_resamples: int = 1000, n_permutations: int = 1000, seed: int = 0,
                    confidence: float = 0.95, zero_division: float = 0.0) -> PairedComparison:
    """Score two systems on ``gold`` and compare them with :func:`compare_totals`.

    ``measure`` is any registered measure (:func:`eccr.metrics.measures.measures`); ``p`` applies to a
    measure with a p axis; ``tokenizer`` to one that needs it (``token``).

    Raises:
        ConfigError: ``E141`` for an unknown measure, ``E142`` for a token measure without a tokenizer.
    """
    entry = get_measure(measure)
    if entry.needs_tokenizer and tokenizer is None:
        raise ConfigError("E142", f"measure {entry.name!r} needs a tokenizer (e.g. 'simple', 'char' or a "
                                  "Hugging Face tokenizer id/path)")
    used_p = p if entry.has_p else None
    # only a measure with a p axis reads p; document_totals checks it (E053): one value is all that is scored
    rows = [
        document_totals(gold, pred, p=DEFAULT_P[0] if used_p is None else used_p, typed=typed,
                        tokenizer=tokenizer if entry.needs_tokenizer else None, allow_missing=allow_missing,
                        conventional=entry.conventional).measure(entry.name, used_p)
        for pred in (pred_a, pred_b)
    ]
    return compare_totals(rows[0], rows[1], measure=entry.name, p=used_p, metric=metric,
                          n_resamples=n_resamples, n_permutations=n_permutations, seed=seed,
                          confidence=confidence, zero_division=zero_division, pooling=entry.pooling)
