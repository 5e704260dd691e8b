"""The tokenizer ceiling: gold spans → token labels → characters, the best any model on a tokenizer can do.

Each gold document is aligned, labelled with :func:`~eccr.align.labels.token_labels` and decoded back with
:func:`~eccr.align.labels.decode_token_labels` — exactly the path a perfect model's predictions would take.
The round-tripped corpus, scored against the gold (``eccr diagnose-tokenizer`` uses
:func:`eccr.metrics.score`; this module does not depend on metrics), is the tokenizer's ceiling. The counts
of units crossing concept boundaries explain where it loses.

>>> from eccr.align.offsets import TokenAlignment
>>> from eccr.corpus.types import Corpus, Document, Span
>>> gold = Corpus([Document("d1", "発熱と咳嗽", [Span(0, 2), Span(3, 5)])])
>>> result = tokenizer_ceiling(gold, None, aligner=lambda tok, text, doc_id: TokenAlignment(
...     text, (1, 2), ((0, 3), (3, 5)), ("発熱と", "咳嗽"), doc_id))
>>> [d.spans for d in result.round_trip], result.crossing_units
([(Span(0, 3, 'concept'), Span(3, 5, 'concept'))], 1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eccr.align.labels import CrossingRule, LabelScheme, decode_token_labels, token_labels
from eccr.align.offsets import TokenAlignment, align_text
from eccr.corpus.mask import merge_spans
from eccr.corpus.types import Corpus, Document, Span


@dataclass(frozen=True)
class CeilingResult:
    """The round-tripped corpus and the crossing counts behind it.

    Attributes:
        round_trip: the gold documents with the spans recovered from token labels.
        scheme: the label scheme used. rule: the crossing rule used.
        tokens, units, spans: totals. crossing_units / crossing_tokens: units (tokens) whose characters
            straddle a concept boundary. crossed_spans: spans with a boundary inside a unit.
        exact_documents: documents whose spans came back unchanged — as far as the scheme can express
            them: with ``io`` adjacent and overlapping spans of one type are compared merged.
        per_document: ``doc_id -> crossing units`` for documents with at least one crossing.
    """

    round_trip: Corpus
    scheme: LabelScheme
    rule: str
    tokens: int
    units: int
    spans: int
    crossing_units: int
    crossing_tokens: int
    crossed_spans: int
    exact_documents: int
    per_document: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict (without the corpus)."""
        return {
            "scheme": self.scheme.to_dict(),
            "rule": self.rule,
            "documents": len(self.round_trip),
            "exact_documents": self.exact_documents,
            "tokens": self.tokens,
            "units": self.units,
            "spans": self.spans,
            "crossing_units": self.crossing_units,
            "crossing_tokens": self.crossing_tokens,
            "crossed_spans": self.crossed_spans,
        }


def _expressible(spans: tuple[Span, ...], scheme: LabelScheme) -> list[Span]:
    """The gold spans as the scheme can express them (labels folded when untyped; merged runs for io)."""
    folded = list(spans) if scheme.typed else [s.with_label(scheme.types[0]) for s in spans]
    if scheme.kind == "bio":
        return folded
    labels = {s.label for s in folded}
    return [m for label in labels for m in merge_spans([s for s in folded if s.label == label], label)]


def _key(spans: Iterable[Span]) -> list[tuple[int, int, str]]:
    return sorted((s.start, s.end, s.label) for s in spans)


Aligner = Callable[[Any, str, str], TokenAlignment]


def _default_aligner(tokenizer: Any, text: str, doc_id: str) -> TokenAlignment:
    return align_text(tokenizer, text, doc_id=doc_id)


def tokenizer_ceiling(
    gold: Corpus,
    tokenizer: Any,
    scheme: LabelScheme | None = None,
    *,
    rule: CrossingRule = "majority",
    repair: bool = True,
    aligner: Aligner | None = None,
) -> CeilingResult:
    """Round-trip ``gold`` through ``tokenizer``'s tokens.

    Args:
        gold: the gold corpus (already selected).
        tokenizer: a Hugging Face tokenizer.
        scheme: label scheme; default ``LabelScheme.from_corpus(gold, "bio")`` (typed when the corpus has
            several labels).
        rule: the crossing rule of :func:`~eccr.align.labels.token_labels`.
        repair: the BIO repair of :func:`~eccr.align.labels.decode_token_labels`.
        aligner: replaces :func:`~eccr.align.offsets.align_text` (tests, precomputed alignments).
    """
    scheme = scheme or LabelScheme.from_corpus(gold, "bio")
    align = aligner or _default_aligner
    docs: list[Document] = []
    tokens = units = spans = crossing_units = crossing_tokens = crossed = exact = 0
    per_document: dict[str, int] = {}
    for doc in gold:
        alignment = align(tokenizer, doc.text, doc.id)
        labels = token_labels(alignment, doc.spans, scheme, rule)
        out = doc.with_spans(decode_token_labels(alignment, labels.label_ids, scheme, repair=repair))
        docs.append(out)
        exact += _key(out.spans) == _key(_expressible(doc.spans, scheme))
        tokens += len(alignment)
        units += labels.units
        spans += labels.spans
        crossing_units += labels.crossing_units
        crossing_tokens += labels.crossing_tokens
        crossed += labels.crossed_spans
        if labels.crossing_units:
            per_document[doc.id] = labels.crossing_units
    return CeilingResult(Corpus(docs, source=gold.source), scheme, rule, tokens, units, spans, crossing_units,
                         crossing_tokens, crossed, exact, per_document)
