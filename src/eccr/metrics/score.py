"""``score(gold, pred)``: every registered measure on two corpora, as one :class:`ScoreReport`.

Gold and predictions are matched by document id (:mod:`eccr.metrics.pairing`). The maximal runs of each
side, their markers and the markers' Hölder norms are prepared once
(:class:`~eccr.metrics.measures.ScoringInput`); then every measure of the registry
(:mod:`eccr.metrics.measures`) computes its per-document counts from them. The built-in measures, per
document:

* the weighted soft matching score and the marker matching score for each Hölder ``p``
  (:mod:`eccr.metrics.wsm`, where the definition is stated in full), on maximal runs of each side — per
  label when ``typed``;
* the character segment score (:mod:`eccr.metrics.char`) and, given a tokenizer, the token segment score
  (:mod:`eccr.metrics.token`);
* exact span match (:mod:`eccr.metrics.exact`) and JMED-LLM's document-level string-set scores
  (:mod:`eccr.metrics.jmedllm`), the conventional NER scores, on the spans as given;
* optionally the length strata (:mod:`eccr.metrics.strata`).

Each measure's documents combine as its registry entry says: ratios of sums over all documents (every span
of every document counts once), or, for JMED-LLM's scores, means of per-document scores. The per-document
sums are kept in :class:`DocumentTotals` (``report.totals``) for per-document scores, bootstrap intervals and
paired tests (:mod:`eccr.metrics.stats`).

>>> from eccr.corpus.types import Corpus, Document, Span
>>> gold = Corpus([Document("d1", "左下肢の浮腫と疼痛を認めた。", [Span(0, 6)])])
>>> pred = Corpus([Document("d1", "左下肢の浮腫と疼痛を認めた。", [Span(0, 3), Span(4, 6)])])
>>> report = score(gold, pred, p=(1, 2, float("inf")))
>>> [round(report.wsm[p].recall, 4) for p in (1, 2, float("inf"))]
[0.8333, 0.6009, 0.5]
>>> report.wsm[1].recall == report.char.recall
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eccr.corpus.types import DEFAULT_LABEL, LENGTH_BINS, Document
from eccr.metrics.measures import Measure, ScoringInput, measures, prf_of_row
from eccr.metrics.pairing import DocumentPair, pair_documents
from eccr.metrics.report import DEFAULT_P, DocumentScore, DocumentTotals, LengthStratum, Score, ScoreReport
from eccr.metrics.runs import Layout, RunSet, find_markers
from eccr.metrics.strata import SpanBins
from eccr.metrics.token import TokenOffsets, resolve_tokenizer
from eccr.metrics.wsm import check_p, marker_norms

__all__ = ["DocumentTotals", "document_totals", "score"]


def _normalise_p(p: float | Sequence[float]) -> tuple[float, ...]:
    values = [p] if isinstance(p, int | float | str) else list(p)
    seen: dict[float, None] = {}
    for value in values:
        seen.setdefault(check_p(value), None)
    return tuple(seen)


def _span_arrays(span_lists: Sequence[Sequence], label_index: dict[str, int] | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    counts = np.fromiter((len(s) for s in span_lists), dtype=np.int64, count=len(span_lists))
    flat = [span for spans in span_lists for span in spans]
    n = len(flat)
    starts = np.fromiter((s.start for s in flat), dtype=np.int64, count=n)
    ends = np.fromiter((s.end for s in flat), dtype=np.int64, count=n)
    docs = np.repeat(np.arange(len(span_lists), dtype=np.int64), counts)
    if label_index is None:
        labels = np.zeros(n, dtype=np.int64)
    else:
        labels = np.fromiter((label_index[s.label] for s in flat), dtype=np.int64, count=n)
    return docs, labels, starts, ends


def _pairs(gold: Sequence[Document], pred: Sequence[Document], allow_missing: bool) -> list[DocumentPair]:
    return pair_documents(gold, pred, allow_missing=allow_missing, gold_source=getattr(gold, "source", None),
                          pred_source=getattr(pred, "source", None))


def _scoring_input(pairs: Sequence[DocumentPair], p_values: tuple[float, ...], typed: bool,
                   offsets: TokenOffsets | None, conventional: bool) -> ScoringInput:
    """Runs of both sides, their markers and, per p, the markers' Hölder norms: what every measure reads."""
    gold_lists = [pair.gold.spans for pair in pairs]
    pred_lists = [pair.pred_spans for pair in pairs]
    if typed:
        names = sorted({s.label for spans in gold_lists for s in spans} | {s.label for spans in pred_lists
                                                                             for s in spans})
        label_index: dict[str, int] | None = {name: i for i, name in enumerate(names)}
    else:
        names, label_index = [DEFAULT_LABEL], None
    layout = Layout.build([len(pair.gold.text) for pair in pairs], names or [DEFAULT_LABEL])
    gold = RunSet.from_arrays(layout, *_span_arrays(gold_lists, label_index))
    pred = RunSet.from_arrays(layout, *_span_arrays(pred_lists, label_index))
    gold_markers = find_markers(gold, pred)
    pred_markers = find_markers(pred, gold)
    return ScoringInput(
        pairs, p_values, typed, offsets, conventional, gold, pred, gold_markers, pred_markers,
        tuple(marker_norms(gold_markers, p) for p in p_values),
        tuple(marker_norms(pred_markers, p) for p in p_values))


def _counts(inp: ScoringInput) -> dict[Measure, np.ndarray]:
    """Every registered measure's per-document counts (zeros for a conventional one when not wanted)."""
    out: dict[Measure, np.ndarray] = {}
    for measure in measures():
        if measure.conventional and not inp.conventional:
            shape = (len(inp.p_values), inp.documents, 4) if measure.has_p else (inp.documents, 4)
            out[measure] = np.zeros(shape)
            continue
        array = measure.counts(inp)
        if array is not None:
            out[measure] = array
    return out


def _totals(inp: ScoringInput, counts: dict[Measure, np.ndarray]) -> DocumentTotals:
    return DocumentTotals(tuple(pair.doc_id for pair in inp.pairs), inp.p_values, counts, len(inp.gold),
                          len(inp.pred))


def document_totals(gold: Sequence[Document], pred: Sequence[Document], *,
                    p: float | Sequence[float] = DEFAULT_P, typed: bool = False,
                    tokenizer: str | TokenOffsets | None = None, allow_missing: bool = False,
                    conventional: bool = True) -> DocumentTotals:
    """Per-document sums of every measure (what :func:`score` pools); see :class:`DocumentTotals`.

    ``conventional=False`` skips the conventional measures (exact match, JMED-LLM; their columns stay 0),
    for speed when only the paper's measures are wanted.
    """
    inp = _scoring_input(_pairs(gold, pred, allow_missing), _normalise_p(p), typed,
                         resolve_tokenizer(tokenizer), conventional)
    return _totals(inp, _counts(inp))


def _pool(measure: Measure, array: np.ndarray, inp: ScoringInput, zero_division: float) -> Score:
    def one(rows: np.ndarray) -> Score:
        if measure.conventional and not inp.conventional:
            return measure.pooling.empty(inp.documents, zero_division)
        return measure.pooling.combine(rows, zero_division)

    if measure.has_p:
        return {p: one(array[k]) for k, p in enumerate(inp.p_values)}  # type: ignore[misc]
    return one(array)


def _document_scores(totals: DocumentTotals, zero_division: float) -> tuple[DocumentScore, ...]:
    def row(measure: Measure, array: np.ndarray, i: int) -> Score:
        if measure.has_p:
            return {p: prf_of_row(array[k, i], zero_division) for k, p in enumerate(totals.p_values)}
        return prf_of_row(array[i], zero_division)

    return tuple(DocumentScore(doc_id, {m: row(m, a, i) for m, a in totals.counts.items()})
                 for i, doc_id in enumerate(totals.doc_ids))


def _strata(inp: ScoringInput, zero_division: float) -> dict[str, LengthStratum]:
    """Per length bin, every stratified measure (see :mod:`eccr.metrics.strata` for the rule)."""
    bins = SpanBins.build(inp.gold, inp.pred, inp.pred_markers)
    sums = {m: m.strata(inp, bins) for m in measures() if m.strata is not None}
    gold_count, pred_count = bins.counts()

    def value(measure: Measure, array: np.ndarray, b: int) -> Score:
        if measure.has_p:
            return {p: prf_of_row(array[k, b], zero_division) for k, p in enumerate(inp.p_values)}
        return prf_of_row(array[b], zero_division)

    return {name: LengthStratum({m: value(m, a, b) for m, a in sums.items()}, int(gold_count[b]),
                                int(pred_count[b]))
            for b, (name, _, _) in enumerate(LENGTH_BINS)}


def score(
    gold: Sequence[Document],
    pred: Sequence[Document],
    *,
    p: float | Sequence[float] = DEFAULT_P,
    typed: bool = False,
    tokenizer: str | TokenOffsets | None = None,
    by_length: bool = False,
    per_document: bool = False,
    zero_division: float = 0.0,
    allow_missing: bool = False,
    conventional: bool = True,
) -> ScoreReport:
    """Score predicted spans against gold spans with every registered measure.

    Args:
        gold: the reference corpus (a :class:`~eccr.corpus.types.Corpus` or a sequence of documents).
        pred: predictions on the same texts, matched to ``gold`` by document id.
        p: Hölder p value(s), each ≥ 1 or ``float("inf")``; duplicates are dropped, order kept.
        typed: compare spans per label (runs per label; exact match and string sets compare labels too).
        tokenizer: ``None`` (no token score), ``"char"``, ``"simple"``, a Hugging Face id or path, or a
            callable giving token offsets.
        by_length: add the length strata (:mod:`eccr.metrics.strata`).
        per_document: add per-document scores.
        zero_division: the value of a ratio whose denominator is 0 (and of F1 when P + R = 0).
        allow_missing: score a gold document without predictions as predicting nothing instead of failing.
        conventional: also compute exact span match and the JMED-LLM scores (on by default; off leaves them
            at ``zero_division`` with zero counts, for speed).

    Raises:
        ScoringError: ids missing (``E050``/``E052``) or texts differing (``E051``) between the corpora.
        ConfigError: an invalid p (``E053``) or tokenizer (``E054``).
    """
    pairs = _pairs(gold, pred, allow_missing)
    inp = _scoring_input(pairs, _normalise_p(p), typed, resolve_tokenizer(tokenizer), conventional)
    counts = _counts(inp)
    totals = _totals(inp, counts)
    return ScoreReport(
        p_values=inp.p_values,
        scores={m: _pool(m, array, inp, zero_division) for m, array in counts.items()},
        documents=len(pairs),
        gold_spans=totals.gold_spans,
        pred_spans=totals.pred_spans,
        typed=typed,
        by_length=_strata(inp, zero_division) if by_length else None,
        per_document=_document_scores(totals, zero_division) if per_document else None,
        totals=totals,
    )
