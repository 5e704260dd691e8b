"""Typed results of scoring: :class:`PRF` (ratios of sums, so they pool), :class:`ScoreReport`.

Results are keyed by the :class:`~eccr.metrics.measures.Measure` that produced them, in registry order, so
everything that prints or aggregates a report iterates the measures it holds instead of naming them.

Every precision/recall in eccr is a ratio of two sums kept in the result — ``precision = precision_num /
precision_den`` and ``recall = recall_num / recall_den`` — so results of disjoint document sets add up
(:meth:`PRF.__add__`) to the pooled result, and nothing is rounded before the end. An undefined ratio (a
zero denominator) and an undefined F1 (P + R = 0) take the result's explicit ``zero_division`` value.

>>> r = PRF(3, 4, 3, 6)          # 3 of 4 predicted units right, 3 of 6 gold units found
>>> r.precision, r.recall, round(r.f1, 4)
(0.75, 0.5, 0.6)
>>> (r + PRF(1, 1, 1, 2)).recall
0.5
>>> PRF(0, 0, 0, 5, zero_division=1.0).precision
1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from eccr.metrics.wsm import check_p

if TYPE_CHECKING:
    from eccr.metrics.measures import Measure

#: Default Hölder p values of the paper.
DEFAULT_P: tuple[float, ...] = (1.0, 1.5, 2.0, 100.0)


def format_p(p: float) -> str:
    """The JSON/CLI key of a p value: ``1``, ``1.5``, ``2``, ``100``, ``inf``.

    >>> [format_p(p) for p in (1, 1.5, 2.0, 100, float("inf"))]
    ['1', '1.5', '2', '100', 'inf']
    """
    if math.isinf(p):
        return "inf"
    p = float(p)
    return str(int(p)) if p.is_integer() else repr(p)


def parse_p(text: str) -> float:
    """Inverse of :func:`format_p` (also accepts ``∞``)."""
    return math.inf if text.strip().lower() in ("inf", "infinity", "∞") else float(text)


def _ratio(num: float, den: float, zero_division: float) -> float:
    return num / den if den else zero_division


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 derived from their numerators and denominators.

    Args:
        precision_num, precision_den: e.g. matched predicted characters and all predicted characters, or
            Σ l′·s(q) and Σ l′ for the weighted soft matching score.
        recall_num, recall_den: the same on the gold side.
        zero_division: value of a ratio whose denominator is 0, and of F1 when P + R = 0.
    """

    precision_num: float
    precision_den: float
    recall_num: float
    recall_den: float
    zero_division: float = 0.0

    @property
    def precision(self) -> float:
        return _ratio(self.precision_num, self.precision_den, self.zero_division)

    @property
    def recall(self) -> float:
        return _ratio(self.recall_num, self.recall_den, self.zero_division)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else self.zero_division

    def __add__(self, other: PRF) -> PRF:
        if not isinstance(other, PRF):
            return NotImplemented
        return PRF(self.precision_num + other.precision_num, self.precision_den + other.precision_den,
                   self.recall_num + other.recall_num, self.recall_den + other.recall_den, self.zero_division)

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class MacroPRF:
    """Precision, recall and F1 each averaged over documents (JMED-LLM's document-level scores)."""

    precision: float
    recall: float
    f1: float
    documents: int

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


def f1_from_sums(sums: np.ndarray, zero_division: float = 0.0, metric: str = "f1") -> np.ndarray:
    """Precision, recall or F1 of each row of ``[p_num, p_den, r_num, r_den]`` sums (a vectorised PRF)."""
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


#: One measure's result: a :class:`PRF` (or :class:`MacroPRF`), or one per p value for a measure with a p
#: axis.
Score = PRF | MacroPRF | Mapping[float, PRF]


def _find(scores: Mapping[Measure, Any], name: str) -> Any:
    return next((value for measure, value in scores.items() if measure.name == name), None)


def _nest(out: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def score_path(measure: Measure, p: float | None = None, bin_name: str | None = None) -> tuple[str, ...]:
    """Where a score sits in :meth:`ScoreReport.to_dict` and fold summaries: ``("wsm", "1.5")``,
    ``("char",)``, ``("jmedllm", "exact")``, ``("by_length", "3-6", "1")`` for a length bin."""
    prefix = (measure.strata_key, bin_name) if bin_name is not None else measure.json_path
    return (*prefix, format_p(p)) if p is not None else prefix


def _score_items(measure: Measure, value: Score, bin_name: str | None = None
                 ) -> Iterator[tuple[tuple[str, ...], PRF | MacroPRF]]:
    if measure.has_p:
        for p, prf in value.items():  # type: ignore[union-attr]
            yield score_path(measure, p, bin_name), prf
    else:
        yield score_path(measure, None, bin_name), value  # type: ignore[misc]


@dataclass(frozen=True)
class LengthStratum:
    """Scores within one span-length bin (see :mod:`eccr.metrics.strata` for which spans count where).

    ``scores`` holds every stratified measure (weighted soft matching and marker matching built in).
    """

    scores: Mapping[Measure, Score]
    gold_spans: int
    pred_spans: int

    def get(self, name: str) -> Score | None:
        return _find(self.scores, name)

    wsm = property(lambda self: self.get("wsm"), doc="Weighted soft matching by p.")
    marker = property(lambda self: self.get("marker"), doc="Marker matching by p.")


@dataclass(frozen=True)
class DocumentScore:
    """The scores of one document (case-level scores of the paper), one entry per measure computed."""

    doc_id: str
    scores: Mapping[Measure, PRF | Mapping[float, PRF]]

    def get(self, name: str) -> PRF | Mapping[float, PRF] | None:
        return _find(self.scores, name)

    wsm = property(lambda self: self.get("wsm"), doc="Weighted soft matching by p.")
    marker = property(lambda self: self.get("marker"), doc="Marker matching by p.")
    char = property(lambda self: self.get("char"), doc="Character segment score.")
    exact = property(lambda self: self.get("exact"), doc="Exact span match.")
    token = property(lambda self: self.get("token"), doc="Token segment score (None without a tokenizer).")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for measure, value in self.scores.items():
            for path, prf in _score_items(measure, value):
                _nest(out, path, prf.to_dict())
        return out


@dataclass(frozen=True)
class DocumentTotals:
    """Per-document numerators and denominators of every measure computed.

    ``counts`` maps each measure to an array with columns ``[precision_num, precision_den, recall_num,
    recall_den]`` and one row per document (in :attr:`doc_ids` order), with a leading axis over
    :attr:`p_values` for a measure with a p axis. Summing rows gives the pooled score; resampling rows gives
    bootstrap scores.
    """

    doc_ids: tuple[str, ...]
    p_values: tuple[float, ...]
    counts: Mapping[Measure, np.ndarray]
    gold_spans: int
    pred_spans: int

    def measure(self, name: str, p: float | None = None) -> np.ndarray:
        """The ``(n_docs, 4)`` rows of measure ``name`` (one with a p axis needs ``p``; others ignore it).

        Raises:
            ValueError: an unknown or absent measure, a missing ``p``, or a ``p`` that was not scored.
        """
        for measure, array in self.counts.items():
            if measure.name != name:
                continue
            if not measure.has_p:
                return array
            if p is None:
                raise ValueError(f"measure {name!r} needs a p value")
            return array[self.p_values.index(check_p(p))]
        raise ValueError(f"unknown or absent measure {name!r}")


@dataclass(frozen=True)
class ScoreReport:
    """Everything :func:`eccr.metrics.score` measures, with typed access (``report.wsm[1.0].f1``).

    Attributes:
        p_values: the Hölder p values scored, in the order given.
        scores: one entry per measure computed, in registry order (:mod:`eccr.metrics.measures`): a
            :class:`PRF` (a :class:`MacroPRF` for document-mean measures), or one per p. ``report.get(name)``
            and the properties ``wsm``, ``marker``, ``char``, ``token`` (``None`` without a tokenizer),
            ``exact``, ``jmedllm_exact`` and ``jmedllm_partial`` read it.
        by_length: scores per length bin (``None`` unless requested).
        documents: documents scored. gold_spans, pred_spans: spans the WSM scores (maximal runs in the
            binary setting, per-label runs when typed).
        typed: whether labels were compared.
        per_document: per-document scores in input order (``None`` unless requested).
        totals: the per-document sums everything above was pooled from (bootstrap, paired tests).
    """

    p_values: tuple[float, ...]
    scores: Mapping[Measure, Score]
    documents: int
    gold_spans: int
    pred_spans: int
    typed: bool = False
    by_length: Mapping[str, LengthStratum] | None = None
    per_document: tuple[DocumentScore, ...] | None = field(default=None, repr=False)
    totals: DocumentTotals | None = field(default=None, repr=False, compare=False)

    def get(self, name: str, p: float | None = None) -> Score | None:
        """The score of measure ``name`` (at ``p`` for a measure with a p axis), ``None`` when absent."""
        value = _find(self.scores, name)
        return value[float(p)] if p is not None and isinstance(value, Mapping) else value

    wsm = property(lambda self: self.get("wsm"), doc="Weighted soft matching by p.")
    marker = property(lambda self: self.get("marker"), doc="Marker matching by p.")
    char = property(lambda self: self.get("char"), doc="Character segment score.")
    token = property(lambda self: self.get("token"), doc="Token segment score (None without a tokenizer).")
    exact = property(lambda self: self.get("exact"), doc="Exact span match on the spans as given.")
    jmedllm_exact = property(lambda self: self.get("jmedllm-exact"), doc="JMED-LLM string-set exact F1.")
    jmedllm_partial = property(lambda self: self.get("jmedllm-partial"), doc="JMED-LLM partial F1.")

    def items(self, *, strata: bool = True) -> Iterator[tuple[tuple[str, ...], PRF | MacroPRF]]:
        """Every score with its path in :meth:`to_dict`: ``("wsm", "1.5")``, ``("char",)``,
        ``("jmedllm", "exact")``, then (unless ``strata=False``) the strata ``("by_length", "3-6", "1")``."""
        for measure, value in self.scores.items():
            yield from _score_items(measure, value)
        if self.by_length and strata:
            for measure in next(iter(self.by_length.values())).scores:
                for name, stratum in self.by_length.items():
                    yield from _score_items(measure, stratum.scores[measure], name)

    def scores_dict(self, *, strata: bool = True) -> dict[str, Any]:
        """The scores of :meth:`to_dict` alone (no counts), nested by path; ``strata=False`` drops bins."""
        out: dict[str, Any] = {}
        for path, prf in self.items(strata=strata):
            _nest(out, path, prf.to_dict())
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``eccr score --format json`` (keys of p formatted by :func:`format_p`)."""
        out = self.scores_dict()
        if self.by_length is not None:
            out["by_length_spans"] = {
                name: {"gold": stratum.gold_spans, "pred": stratum.pred_spans}
                for name, stratum in self.by_length.items()
            }
        out["documents"] = self.documents
        out["gold_spans"] = self.gold_spans
        out["pred_spans"] = self.pred_spans
        out["typed"] = self.typed
        if self.per_document is not None:
            out["per_document"] = {d.doc_id: d.to_dict() for d in self.per_document}
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Flat rows ``measure, p, bin, precision, recall, f1`` for tables and CSV (pooled scores only)."""
        rows: list[dict[str, Any]] = []

        def add(scores: Mapping[Measure, Score], bin_name: str) -> None:
            for measure, value in scores.items():
                for p, prf in (value.items() if measure.has_p else [(None, value)]):  # type: ignore[union-attr]
                    rows.append({"measure": measure.name, "p": "" if p is None else format_p(p),
                                 "bin": bin_name, "precision": prf.precision, "recall": prf.recall,
                                 "f1": prf.f1})

        add(self.scores, "all")
        for name, stratum in (self.by_length or {}).items():
            add(stratum.scores, name)
        return rows
