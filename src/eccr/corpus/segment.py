"""Japanese sentence segmentation that keeps document offsets, and mapping spans to and from segments.

The document stays the unit of eccr (and of cross-validation); segments are a view used where shorter
inputs are needed (instruction tuning, CoNLL sentence blocks). Segments **partition** the text: they are
contiguous, non-empty, in order, and their concatenation is the text exactly.

Segmentation rules
------------------
* A sentence ends after a run of terminators ``。．.！？!?``. Closing brackets right after the run
  (``。」`` when the ``「`` is on an earlier line), then whitespace other than a line break (``" "``,
  ``"\\u3000"``) and one line break (``\\n`` or ``\\r\\n``) stay with the sentence.
* A ``.`` or ``．`` between two Latin letters or digits (ASCII or full-width) is a decimal point or an
  abbreviation, not a terminator (``3790.0``, ``９．２``, ``Ｈ．ｃｉｎａｅｄｉ``, ``Ｎ．Ｏ．８ａ``).
* Terminators inside brackets ``（）「」『』()`` do not end a sentence. Brackets nest; a closing bracket
  closes the innermost open bracket of its kind (and any left open inside it); a closing bracket that
  closes nothing is plain text.
* Every line break ends a segment, inside brackets or not: brackets never span lines. An opening bracket
  that is not closed on its own line is treated as plain text, so an unbalanced ``（`` cannot swallow the
  rest of the line (let alone the document).

>>> text = "抗GAD抗体が3790.0 U/mLと上昇した。「痛い。」と訴えた（詳細は後述。）．\\n次の文"
>>> [text_of(text, s) for s in segment(text)]
['抗GAD抗体が3790.0 U/mLと上昇した。', '「痛い。」と訴えた（詳細は後述。）．\\n', '次の文']

Spans and segments
------------------
A span that crosses a segment boundary is never cut. :func:`cover_spans` merges neighbouring segments until
no span crosses a boundary (the rule :func:`split_document` uses by default); ``on_crossing="error"``
raises ``E018`` instead. :func:`split_document` turns a document into per-segment documents with
segment-local offsets (``meta["segment"] = [start, end]`` in the parent, ``meta["parent_id"]``), and
:func:`join_spans` / :func:`join_documents` map segment-local spans (e.g. a model's predictions) back to
document offsets.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from eccr.corpus.types import Document, Span
from eccr.errors import Location, SpanError

TERMINATORS = frozenset("。．.！？!?")
INNER_POINTS = frozenset(".．")
BRACKETS: dict[str, str] = {"（": "）", "「": "」", "『": "』", "(": ")"}
CLOSERS: dict[str, str] = {close: open_ for open_, close in BRACKETS.items()}
INLINE_SPACE = frozenset(" \t\u3000")

#: meta keys of a segment document.
PARENT_KEY = "parent_id"
SEGMENT_KEY = "segment"


@dataclass(frozen=True, slots=True)
class Segment:
    """A half-open character range ``[start, end)`` of a document's text (``start < end``).

    >>> seg = Segment(3, 8)
    >>> seg.length, seg.localize(Span(4, 6)), seg.globalize(Span(1, 3))
    (5, Span(1, 3, 'concept'), Span(4, 6, 'concept'))
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"a segment needs 0 <= start < end, got [{self.start}, {self.end})")

    @property
    def length(self) -> int:
        return self.end - self.start

    def contains(self, span: Span) -> bool:
        """True if ``span`` (document offsets) lies entirely inside this segment."""
        return self.start <= span.start and span.end <= self.end

    def localize(self, span: Span) -> Span:
        """``span`` in segment-local offsets (it must lie inside the segment)."""
        if not self.contains(span):
            raise ValueError(
                f"span [{span.start}, {span.end}) is not inside segment [{self.start}, {self.end})"
            )
        return Span(span.start - self.start, span.end - self.start, span.label, span.attrs)

    def globalize(self, span: Span) -> Span:
        """A segment-local ``span`` in document offsets (it must fit in the segment)."""
        if span.end > self.length:
            raise ValueError(f"local span [{span.start}, {span.end}) does not fit a segment of {self.length}")
        return Span(span.start + self.start, span.end + self.start, span.label, span.attrs)


def text_of(text: str, segment: Segment) -> str:
    """The text of ``segment``."""
    return text[segment.start : segment.end]


# --- segmentation -----------------------------------------------------------------------------------------


def _line_bounds(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each line, the line break included in the line."""
    bounds = []
    start = 0
    while start < len(text):
        newline = text.find("\n", start)
        end = len(text) if newline == -1 else newline + 1
        bounds.append((start, end))
        start = end
    return bounds


def _bracket_depths(text: str, start: int, end: int, ignored: set[int]) -> tuple[list[bool], int | None]:
    """Whether each character of ``text[start:end]`` is inside brackets, and the first unclosed opener."""
    inside = [False] * (end - start)
    stack: list[tuple[str, int]] = []
    for i in range(start, end):
        ch = text[i]
        if i not in ignored and ch in BRACKETS:
            stack.append((ch, i))
        elif i not in ignored and ch in CLOSERS and any(o == CLOSERS[ch] for o, _ in stack):
            while stack and stack[-1][0] != CLOSERS[ch]:
                stack.pop()
            stack.pop()
        inside[i - start] = bool(stack)
    return inside, (stack[0][1] if stack else None)


def _is_latin_or_digit(ch: str) -> bool:
    return ch.isdigit() or ("a" <= ch.lower() <= "z") or ("ａ" <= ch <= "ｚ") or ("Ａ" <= ch <= "Ｚ")


def _is_inner_point(text: str, i: int) -> bool:
    """A ``.``/``．`` between two Latin letters or digits: a decimal point or an abbreviation, not an end."""
    if text[i] not in INNER_POINTS or not 0 < i < len(text) - 1:
        return False
    return _is_latin_or_digit(text[i - 1]) and _is_latin_or_digit(text[i + 1])


def _segment_line(text: str, start: int, end: int) -> list[int]:
    """Segment ends inside one line (the line's own end included)."""
    ignored: set[int] = set()
    inside, unclosed = _bracket_depths(text, start, end, ignored)
    while unclosed is not None:  # an opener never closed on this line is plain text
        ignored.add(unclosed)
        inside, unclosed = _bracket_depths(text, start, end, ignored)
    ends = []
    i = start
    while i < end:
        if text[i] in TERMINATORS and not inside[i - start] and not _is_inner_point(text, i):
            j = i + 1
            while j < end and (text[j] in CLOSERS or text[j] in TERMINATORS):
                if _is_inner_point(text, j):
                    break
                j += 1
            while j < end and text[j] in INLINE_SPACE:
                j += 1
            if j < end and text[j] == "\r" and j + 1 < end and text[j + 1] == "\n":
                j += 2
            elif j < end and text[j] in "\r\n":
                j += 1
            ends.append(j)
            i = j
        else:
            i += 1
    if not ends or ends[-1] != end:
        ends.append(end)
    return ends


def segment(text: str) -> list[Segment]:
    """Sentence segments of ``text`` (see the module docstring for the rules); they partition the text.

    >>> [text_of(t, s) for t in ["（未閉じ括弧。発熱あり。"] for s in segment(t)]
    ['（未閉じ括弧。', '発熱あり。']
    >>> segment("")
    []
    """
    segments = []
    for line_start, line_end in _line_bounds(text):
        start = line_start
        for end in _segment_line(text, line_start, line_end):
            segments.append(Segment(start, end))
            start = end
    return segments


# --- spans and segments -----------------------------------------------------------------------------------


def crossing_spans(segments: Sequence[Segment], spans: Iterable[Span]) -> list[Span]:
    """The spans that do not lie inside a single segment of the partition ``segments``.

    >>> crossing_spans([Segment(0, 3), Segment(3, 6)], [Span(1, 2), Span(2, 4)])
    [Span(2, 4, 'concept')]
    """
    starts = [seg.start for seg in segments]
    crossing = []
    for span in spans:
        index = bisect.bisect_right(starts, span.start) - 1
        if index < 0 or not segments[index].contains(span):
            crossing.append(span)
    return crossing


def cover_spans(segments: Sequence[Segment], spans: Iterable[Span]) -> list[Segment]:
    """Merge neighbouring segments so that every span lies inside one segment (still a partition).

    >>> cover_spans([Segment(0, 3), Segment(3, 6), Segment(6, 9)], [Span(2, 4)])
    [Segment(start=0, end=6), Segment(start=6, end=9)]
    >>> cover_spans([Segment(0, 3), Segment(3, 6), Segment(6, 9)], [Span(1, 7)])
    [Segment(start=0, end=9)]
    """
    ordered = sorted(spans, key=lambda s: s.start)
    result: list[Segment] = []
    reach = 0  # the furthest end of the spans starting in the segments merged so far
    k = 0
    for seg in segments:
        if result and seg.start < reach:
            result[-1] = Segment(result[-1].start, seg.end)
        else:
            result.append(seg)
        while k < len(ordered) and ordered[k].start < result[-1].end:
            reach = max(reach, ordered[k].end)
            k += 1
    return result


def split_document(
    document: Document,
    segments: Sequence[Segment] | None = None,
    *,
    on_crossing: Literal["merge", "error"] = "merge",
) -> list[Document]:
    """Per-segment documents with segment-local spans.

    Args:
        document: the document to split.
        segments: a partition of its text; :func:`segment` of the text when omitted.
        on_crossing: ``"merge"`` (default) merges segments so no span is cut (:func:`cover_spans`);
            ``"error"`` raises ``E018`` naming the document and the offset of the first crossing span.

    Each piece has id ``<document id>#<k>`` (``k`` from 1, zero-padded to 3 digits), the segment's text,
    its spans shifted to local offsets, and ``meta`` = ``{"parent_id": id, "segment": [start, end]}``.

    >>> doc = Document("d1", "発熱。咳嗽と頭痛。", [Span(0, 2), Span(3, 5), Span(6, 8)])
    >>> [(p.id, p.text, [p.span_text(s) for s in p.spans]) for p in split_document(doc)]
    [('d1#001', '発熱。', ['発熱']), ('d1#002', '咳嗽と頭痛。', ['咳嗽', '頭痛'])]
    """
    segs = list(segments) if segments is not None else segment(document.text)
    _check_partition(segs, len(document.text), document.id)
    crossing = crossing_spans(segs, document.spans)
    if crossing:
        if on_crossing == "error":
            first = crossing[0]
            raise SpanError(
                "E018",
                f"span [{first.start}, {first.end}) crosses a segment boundary "
                f"({len(crossing)} such span(s)); "
                "split with on_crossing='merge' to merge the segments it crosses",
                Location(doc_id=document.id, offset=first.start),
            )
        segs = cover_spans(segs, document.spans)
    pieces = []
    for k, seg in enumerate(segs, start=1):
        local = [seg.localize(s) for s in document.spans if seg.contains(s)]
        meta = {PARENT_KEY: document.id, SEGMENT_KEY: [seg.start, seg.end]}
        pieces.append(Document(f"{document.id}#{k:03d}", text_of(document.text, seg), local, meta))
    return pieces


def _check_partition(segments: Sequence[Segment], length: int, doc_id: str | None) -> None:
    position = 0
    for seg in segments:
        if seg.start != position:
            raise SpanError(
                "E019", f"segments do not partition the text: expected a segment starting at {position}, "
                f"got [{seg.start}, {seg.end})", Location(doc_id=doc_id, offset=position))
        position = seg.end
    if position != length:
        raise SpanError("E019", f"segments end at {position} but the text has {length} characters",
                        Location(doc_id=doc_id, offset=position))


def join_spans(pieces: Iterable[tuple[Segment, Iterable[Span]]]) -> list[Span]:
    """Segment-local spans mapped back to document offsets.

    >>> join_spans([(Segment(0, 3), [Span(0, 2)]), (Segment(3, 9), [Span(0, 2), Span(3, 5)])])
    [Span(0, 2, 'concept'), Span(3, 5, 'concept'), Span(6, 8, 'concept')]
    """
    return [seg.globalize(span) for seg, spans in pieces for span in spans]


def join_documents(parent: Document, pieces: Sequence[Document]) -> Document:
    """``parent`` with the spans of its segment documents (e.g. predictions) mapped back to its offsets.

    Each piece must carry ``meta["segment"]`` and ``meta["parent_id"]`` as :func:`split_document` sets them
    and its text must equal the parent's text there; otherwise ``E019`` names the piece.
    """
    mapped: list[tuple[Segment, Iterable[Span]]] = []
    for piece in pieces:
        bounds = piece.meta.get(SEGMENT_KEY)
        if piece.meta.get(PARENT_KEY) != parent.id or not bounds or len(bounds) != 2:
            raise SpanError("E019", f"segment document {piece.id!r} does not belong to {parent.id!r} "
                            "(meta parent_id/segment missing or different)", Location(doc_id=piece.id))
        seg = Segment(int(bounds[0]), int(bounds[1]))
        if text_of(parent.text, seg) != piece.text:
            raise SpanError("E019", f"segment document {piece.id!r} text differs from the parent's text at "
                            f"[{seg.start}, {seg.end})", Location(doc_id=piece.id, offset=seg.start))
        mapped.append((seg, piece.spans))
    return parent.with_spans(join_spans(mapped))
