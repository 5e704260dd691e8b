"""Documents to the sentences an instruction-tuned decoder reads and rewrites, offsets kept.

The rule:

* a document is cut with eccr's segmenter (:func:`eccr.corpus.segment.segment`); when gold spans are given,
  a concept that crosses a sentence boundary keeps the sentences it touches together
  (:func:`~eccr.corpus.segment.split_document` merges them) instead of being cut — :class:`SentenceStats`
  counts how often;
* the model's input is the segment without its leading and trailing whitespace (the line break that ends a
  segment, full-width indentation), except where a gold concept covers it; :attr:`Sentence.start` is the
  input's offset in the document, so local spans map back exactly;
* a segment that is whitespace only is not given to the model (nothing to find there); it is counted.

>>> from eccr.corpus.types import Document, Span
>>> doc = Document("d", "　発熱を認めた。\\n咳嗽と\\n頭痛。", [Span(1, 3), Span(9, 14)])
>>> sentences, stats = split_sentences([doc])
>>> [(s.start, s.text, [s.text[a.start:a.end] for a in s.spans]) for s in sentences]
[(1, '発熱を認めた。', ['発熱']), (9, '咳嗽と\\n頭痛。', ['咳嗽と\\n頭'])]
>>> stats.segments, stats.merged_boundaries, stats.crossing_spans
(3, 1, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eccr.corpus.segment import SEGMENT_KEY, Segment, crossing_spans, join_spans, segment, split_document
from eccr.corpus.types import Document, Span


@dataclass(frozen=True)
class Sentence:
    """One model input: a stretch of one document and the gold spans inside it (local offsets).

    Attributes:
        doc_index: index of the document in the list given to :func:`split_sentences`.
        index: 1-based number of the sentence within its document.
        start: offset of :attr:`text` in the document text.
        text: what the model reads (and, with markers, rewrites).
        spans: gold spans in offsets into :attr:`text` (empty when predicting).
    """

    doc_index: int
    index: int
    start: int
    text: str
    spans: tuple[Span, ...] = ()

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def to_document(self, doc_id: str) -> Document:
        """The sentence as a document (for scoring a sentence set)."""
        return Document(f"{doc_id}#{self.index:03d}", self.text, self.spans)


@dataclass(frozen=True)
class SentenceStats:
    """How documents became sentences: segments found, boundaries merged to keep a concept whole.

    Attributes:
        documents: documents split.
        segments: segments the segmenter produced.
        sentences: model inputs kept.
        merged_boundaries: segment boundaries removed because a gold concept crossed them.
        crossing_spans: gold concepts that crossed a segment boundary (kept whole).
        blank_segments: whitespace-only segments not given to the model.
        overlapping_spans: gold spans that overlapped another and were joined into one (markers cannot nest).
    """

    documents: int = 0
    segments: int = 0
    sentences: int = 0
    merged_boundaries: int = 0
    crossing_spans: int = 0
    blank_segments: int = 0
    overlapping_spans: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def union_spans(spans: Iterable[Span]) -> tuple[list[Span], int]:
    """Overlapping spans joined (markers cannot nest); returns the spans and how many were joined away.

    >>> union_spans([Span(0, 3), Span(2, 5), Span(5, 6)])
    ([Span(0, 5, 'concept'), Span(5, 6, 'concept')], 1)
    """
    out: list[Span] = []
    joined = 0
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if out and span.start < out[-1].end:
            last = out[-1]
            out[-1] = Span(last.start, max(last.end, span.end), last.label, last.attrs)
            joined += 1
        else:
            out.append(span)
    return out, joined


def _trimmed(text: str, spans: Sequence[Span]) -> tuple[int, int]:
    """``[lo, hi)`` of ``text`` without surrounding whitespace that no span covers."""
    lo, hi = len(text) - len(text.lstrip()), len(text.rstrip())
    if spans:
        lo = min(lo, min(s.start for s in spans))
        hi = max(hi, max(s.end for s in spans))
    return lo, max(lo, hi)


def split_sentences(
    documents: Sequence[Document], *, with_spans: bool = True
) -> tuple[list[Sentence], SentenceStats]:
    """The model inputs of ``documents`` and how they were formed (see the module docstring).

    ``with_spans=False`` (prediction) ignores any spans the documents carry: segments are never merged.
    """
    sentences: list[Sentence] = []
    counts = dict.fromkeys(("segments", "merged_boundaries", "crossing_spans", "blank_segments",
                            "overlapping_spans"), 0)
    for doc_index, doc in enumerate(documents):
        spans: list[Span] = []
        if with_spans:
            spans, joined = union_spans(doc.spans)
            counts["overlapping_spans"] += joined
        segments = segment(doc.text)
        counts["segments"] += len(segments)
        counts["crossing_spans"] += len(crossing_spans(segments, spans))
        pieces = split_document(doc.with_spans(spans), segments)
        counts["merged_boundaries"] += len(segments) - len(pieces)
        number = 0
        for piece in pieces:
            lo, hi = _trimmed(piece.text, piece.spans)
            if lo == hi:
                counts["blank_segments"] += 1
                continue
            number += 1
            local = tuple(Span(s.start - lo, s.end - lo, s.label, s.attrs) for s in piece.spans)
            start = int(piece.meta[SEGMENT_KEY][0]) + lo
            sentences.append(Sentence(doc_index, number, start, piece.text[lo:hi], local))
    stats = SentenceStats(documents=len(documents), sentences=len(sentences), **counts)
    return sentences, stats


def join_sentence_spans(sentences: Sequence[Sentence], spans: Sequence[Sequence[Span]], n_documents: int
                        ) -> list[list[Span]]:
    """Per-document spans from per-sentence (local) spans of :func:`split_sentences`' sentences."""
    pieces: list[list[tuple[Segment, Sequence[Span]]]] = [[] for _ in range(n_documents)]
    for sentence, local in zip(sentences, spans, strict=True):
        pieces[sentence.doc_index].append((Segment(sentence.start, sentence.end), local))
    return [join_spans(doc_pieces) for doc_pieces in pieces]
