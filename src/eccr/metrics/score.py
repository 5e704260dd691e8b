"""``score(gold, pred)``: every measure of the paper on two corpora, as one :class:`ScoreReport`.

Gold and predictions are matched by document id (:mod:`eccr.metrics.pairing`). Then, per document:

* the weighted soft matching score and the marker matching score for each Hölder ``p``
  (:mod:`eccr.metrics.wsm`, where the definition is stated in full), on maximal runs of each side — per
  label when ``typed``;
* the character segment score (:mod:`eccr.metrics.char`) and, given a tokenizer, the token segment score
  (:mod:`eccr.metrics.token`);
* exact span match (:mod:`eccr.metrics.exact`) and JMED-LLM's document-level string-set scores
  (:mod:`eccr.metrics.jmedllm`), the conventional NER scores, on the spans as given;
* optionally the length strata (:mod:`eccr.metrics.strata`).

Pooled scores are ratios of sums over all documents (every span of every document counts once); the
per-document sums are kept in :class:`DocumentTotals` for per-document scores, bootstrap intervals and
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
from dataclasses import dataclass

import numpy as np

from eccr.corpus.types import DEFAULT_LABEL, Document
from eccr.metrics.char import char_totals
from eccr.metrics.exact import exact_counts
from eccr.metrics.jmedllm import gold_surfaces, jmedllm_scores, surfaces
from eccr.metrics.pairing import DocumentPair, pair_documents
from eccr.metrics.report import DEFAULT_P, PRF, DocumentScore, MacroPRF, ScoreReport
from eccr.metrics.runs import Layout, Markers, RunSet, find_markers
from eccr.metrics.strata import stratify
from eccr.metrics.token import TokenOffsets, resolve_tokenizer, token_counts
from eccr.metrics.wsm import check_p, marker_norms


@dataclass(frozen=True)
class DocumentTotals:
    """Per-document numerators and denominators of every measure.

    Each array has columns ``[precision_num, precision_den, recall_num, recall_den]`` and one row per
    document (in :attr:`doc_ids` order); ``wsm`` and ``marker`` have a leading axis over :attr:`p_values`.
    Summing rows gives the pooled score; resampling rows gives bootstrap scores.
    """

    doc_ids: tuple[str, ...]
    p_values: tuple[float, ...]
    wsm: np.ndarray
    marker: np.ndarray
    char: np.ndarray
    exact: np.ndarray
    token: np.ndarray | None
    gold_spans: int
    pred_spans: int

    def measure(self, name: str, p: float | None = None) -> np.ndarray:
        """The ``(n_docs, 4)`` array of ``name`` (``wsm``/``marker`` need ``p``; others ignore it)."""
        if name in ("wsm", "marker"):
            if p is None:
                raise ValueError(f"measure {name!r} needs a p value")
            index = self.p_values.index(check_p(p))
            return (self.wsm if name == "wsm" else self.marker)[index]
        array = {"char": self.char, "exact": self.exact, "token": self.token}.get(name)
        if array is None:
            raise ValueError(f"unknown or absent measure {name!r}")
        return array


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


def _per_doc(docs: np.ndarray, weights: np.ndarray | None, n_docs: int) -> np.ndarray:
    return np.bincount(docs, weights=weights, minlength=n_docs).astype(np.float64)


def _row(row: np.ndarray, zero_division: float) -> PRF:
    return PRF(float(row[0]), float(row[1]), float(row[2]), float(row[3]), zero_division)


def _pool(rows: np.ndarray, zero_division: float) -> PRF:
    return _row(rows.sum(axis=0) if len(rows) else np.zeros(4), zero_division)


def _pairs(gold: Sequence[Document], pred: Sequence[Document], allow_missing: bool) -> list[DocumentPair]:
    return pair_documents(gold, pred, allow_missing=allow_missing, gold_source=getattr(gold, "source", None),
                          pred_source=getattr(pred, "source", None))


@dataclass(frozen=True)
class _Core:
    totals: DocumentTotals
    gold: RunSet
    pred: RunSet
    gold_markers: Markers
    pred_markers: Markers
    gold_norms: list[np.ndarray]
    pred_norms: list[np.ndarray]


def _core(pairs: Sequence[DocumentPair], p_values: tuple[float, ...], typed: bool,
          offsets: TokenOffsets | None, conventional: bool) -> _Core:
    n = len(pairs)
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
    g_len = gold.lengths.astype(np.float64)
    q_len = pred.lengths.astype(np.float64)
    g_den, q_den = _per_doc(gold.docs, g_len, n), _per_doc(pred.docs, q_len, n)
    g_cnt, q_cnt = _per_doc(gold.docs, None, n), _per_doc(pred.docs, None, n)
    wsm = np.zeros((len(p_values), n, 4))
    marker = np.zeros((len(p_values), n, 4))
    gold_norms, pred_norms = [], []
    for k, p in enumerate(p_values):
        g_norm = marker_norms(gold_markers, p)
        q_norm = marker_norms(pred_markers, p)
        gold_norms.append(g_norm)
        pred_norms.append(q_norm)
        wsm[k] = np.stack([_per_doc(pred.docs, q_norm, n), q_den, _per_doc(gold.docs, g_norm, n), g_den],
                          axis=1)
        marker[k] = np.stack([_per_doc(pred.docs, q_norm / q_len, n), q_cnt,
                              _per_doc(gold.docs, g_norm / g_len, n), g_cnt], axis=1)
    char = char_totals(gold, pred, gold_markers, n)
    exact = np.zeros((n, 4))
    if conventional:
        exact = np.asarray([exact_counts(pair.gold.spans, pair.pred_spans, typed) for pair in pairs],
                           dtype=np.float64).reshape(n, 4)
    token = None
    if offsets is not None:
        token = np.asarray([token_counts(pair.gold.text, pair.gold.spans, pair.pred_spans,
                                         offsets(pair.gold.text), typed) for pair in pairs],
                           dtype=np.float64).reshape(n, 4)
    totals = DocumentTotals(tuple(pair.doc_id for pair in pairs), p_values, wsm, marker, char, exact, token,
                            len(gold), len(pred))
    return _Core(totals, gold, pred, gold_markers, pred_markers, gold_norms, pred_norms)


def document_totals(gold: Sequence[Document], pred: Sequence[Document], *,
                    p: float | Sequence[float] = DEFAULT_P, typed: bool = False,
                    tokenizer: str | TokenOffsets | None = None, allow_missing: bool = False,
                    conventional: bool = True) -> DocumentTotals:
    """Per-document sums of every measure (what :func:`score` pools); see :class:`DocumentTotals`.

    ``conventional=False`` skips exact match (its columns stay 0), for speed when only the paper's
    measures are wanted.
    """
    pairs = _pairs(gold, pred, allow_missing)
    return _core(pairs, _normalise_p(p), typed, resolve_tokenizer(tokenizer), conventional).totals


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
    """Score predicted spans against gold spans with every measure of the paper.

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
    p_values = _normalise_p(p)
    core = _core(pairs, p_values, typed, resolve_tokenizer(tokenizer), conventional)
    t = core.totals
    zd = zero_division
    if conventional:
        j_exact, j_partial = jmedllm_scores(
            [(gold_surfaces(pair.gold, typed),
              surfaces(pair.gold.text, pair.pred_spans, typed)) for pair in pairs], zero_division=zd)
    else:
        j_exact = j_partial = MacroPRF(zd, zd, zd, len(pairs))
    strata = None
    if by_length:
        strata = stratify(p_values, core.gold, core.pred, core.gold_markers, core.pred_markers,
                          core.gold_norms, core.pred_norms, zd)
    documents = None
    if per_document:
        documents = tuple(
            DocumentScore(
                doc_id,
                {p: _row(t.wsm[k, i], zd) for k, p in enumerate(p_values)},
                {p: _row(t.marker[k, i], zd) for k, p in enumerate(p_values)},
                _row(t.char[i], zd),
                _row(t.exact[i], zd),
                None if t.token is None else _row(t.token[i], zd),
            )
            for i, doc_id in enumerate(t.doc_ids)
        )
    return ScoreReport(
        p_values=p_values,
        wsm={p: _pool(t.wsm[k], zd) for k, p in enumerate(p_values)},
        marker={p: _pool(t.marker[k], zd) for k, p in enumerate(p_values)},
        char=_pool(t.char, zd),
        exact=_pool(t.exact, zd),
        jmedllm_exact=j_exact,
        jmedllm_partial=j_partial,
        documents=len(pairs),
        gold_spans=t.gold_spans,
        pred_spans=t.pred_spans,
        typed=typed,
        token=None if t.token is None else _pool(t.token, zd),
        by_length=strata,
        per_document=documents,
    )
