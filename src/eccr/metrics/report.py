"""Typed results of scoring: :class:`PRF` (ratios of sums, so they pool), :class:`ScoreReport`.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class LengthStratum:
    """Scores within one span-length bin (see :mod:`eccr.metrics.strata` for which spans count where)."""

    wsm: Mapping[float, PRF]
    marker: Mapping[float, PRF]
    gold_spans: int
    pred_spans: int


@dataclass(frozen=True)
class DocumentScore:
    """The scores of one document (case-level scores of the paper)."""

    doc_id: str
    wsm: Mapping[float, PRF]
    marker: Mapping[float, PRF]
    char: PRF
    exact: PRF
    token: PRF | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "wsm": {format_p(p): v.to_dict() for p, v in self.wsm.items()},
            "marker": {format_p(p): v.to_dict() for p, v in self.marker.items()},
            "char": self.char.to_dict(),
            "exact": self.exact.to_dict(),
        }
        if self.token is not None:
            out["token"] = self.token.to_dict()
        return out


@dataclass(frozen=True)
class ScoreReport:
    """Everything :func:`eccr.metrics.score` measures, with typed access (``report.wsm[1.0].f1``).

    Attributes:
        p_values: the Hölder p values scored, in the order given.
        wsm, marker: weighted soft matching and marker matching scores by p.
        char: character segment score. ``token``: token segment score (``None`` without a tokenizer).
        exact: exact span match on the spans as given (not merged).
        jmedllm_exact, jmedllm_partial: JMED-LLM document-level string-set scores.
        by_length: scores per length bin (``None`` unless requested).
        documents: documents scored. gold_spans, pred_spans: spans the WSM scores (maximal runs in the
            binary setting, per-label runs when typed).
        typed: whether labels were compared.
        per_document: per-document scores in input order (``None`` unless requested).
    """

    p_values: tuple[float, ...]
    wsm: Mapping[float, PRF]
    marker: Mapping[float, PRF]
    char: PRF
    exact: PRF
    jmedllm_exact: MacroPRF
    jmedllm_partial: MacroPRF
    documents: int
    gold_spans: int
    pred_spans: int
    typed: bool = False
    token: PRF | None = None
    by_length: Mapping[str, LengthStratum] | None = None
    per_document: tuple[DocumentScore, ...] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``eccr score --format json`` (keys of p formatted by :func:`format_p`)."""
        out: dict[str, Any] = {
            "wsm": {format_p(p): self.wsm[p].to_dict() for p in self.p_values},
            "marker": {format_p(p): self.marker[p].to_dict() for p in self.p_values},
            "char": self.char.to_dict(),
            "exact": self.exact.to_dict(),
        }
        if self.token is not None:
            out["token"] = self.token.to_dict()
        out["jmedllm"] = {"exact": self.jmedllm_exact.to_dict(), "partial": self.jmedllm_partial.to_dict()}
        if self.by_length is not None:
            out["by_length"] = {
                name: {format_p(p): stratum.wsm[p].to_dict() for p in self.p_values}
                for name, stratum in self.by_length.items()
            }
            out["by_length_marker"] = {
                name: {format_p(p): stratum.marker[p].to_dict() for p in self.p_values}
                for name, stratum in self.by_length.items()
            }
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

        def add(measure: str, p: str, bin_name: str, prf: PRF | MacroPRF) -> None:
            rows.append({"measure": measure, "p": p, "bin": bin_name, "precision": prf.precision,
                         "recall": prf.recall, "f1": prf.f1})

        for measure, table in (("wsm", self.wsm), ("marker", self.marker)):
            for p in self.p_values:
                add(measure, format_p(p), "all", table[p])
        add("char", "", "all", self.char)
        if self.token is not None:
            add("token", "", "all", self.token)
        add("exact", "", "all", self.exact)
        add("jmedllm-exact", "", "all", self.jmedllm_exact)
        add("jmedllm-partial", "", "all", self.jmedllm_partial)
        if self.by_length is not None:
            for name, stratum in self.by_length.items():
                for measure, table in (("wsm", stratum.wsm), ("marker", stratum.marker)):
                    for p in self.p_values:
                        add(measure, format_p(p), name, table[p])
        return rows
