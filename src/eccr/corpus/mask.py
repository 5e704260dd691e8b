"""Conversions between spans and character-level labels.

Two views, with different information:

* the **binary character mask** (the paper's labels): ``mask[i]`` is 1 when character ``i`` lies in any
  span. Overlapping *and adjacent* spans merge: ``[0, 2) + [2, 4)`` and ``[0, 4)`` give the same mask, so
  :func:`mask_to_spans` returns maximal runs of covered characters.
* **BIO character tags** keep adjacent concepts apart: the first character of each span is ``B-<label>``,
  the rest ``I-<label>``, uncovered characters ``O``. Overlapping spans cannot be expressed (an error).

>>> mask = spans_to_mask([Span(0, 2), Span(2, 4)], 6)
>>> mask.tolist(), mask_to_spans(mask)
([1, 1, 1, 1, 0, 0], [Span(0, 4, 'concept')])
>>> spans_to_bio([Span(0, 2, "d"), Span(2, 4, "d")], 6)
['B-d', 'I-d', 'B-d', 'I-d', 'O', 'O']
>>> bio_to_spans(['B-d', 'I-d', 'B-d', 'I-d', 'O', 'O'])
[Span(0, 2, 'd'), Span(2, 4, 'd')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from eccr.corpus.types import DEFAULT_LABEL, Span
from eccr.errors import Location, SpanError


def spans_to_mask(spans: Iterable[Span], length: int) -> np.ndarray:
    """Binary character mask (``uint8``) of the union of ``spans`` over a text of ``length`` characters."""
    mask = np.zeros(length, dtype=np.uint8)
    for span in spans:
        mask[span.start : span.end] = 1
    return mask


def mask_to_spans(mask: Sequence[int] | np.ndarray, label: str = DEFAULT_LABEL) -> list[Span]:
    """Maximal runs of non-zero characters as spans (adjacent and overlapping spans come back merged)."""
    m = np.asarray(mask).astype(bool).astype(np.int8)
    if m.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [Span(int(s), int(e), label) for s, e in zip(starts, ends, strict=True)]


def merge_spans(spans: Iterable[Span], label: str = DEFAULT_LABEL) -> list[Span]:
    """The binary view of ``spans``: maximal runs of covered characters, adjacent spans merged."""
    runs: list[list[int]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if runs and span.start <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], span.end)
        else:
            runs.append([span.start, span.end])
    return [Span(s, e, label) for s, e in runs]


def spans_to_bio(spans: Iterable[Span], length: int, *, typed: bool = True, doc_id: str | None = None
                 ) -> list[str]:
    """BIO character tags; ``typed=False`` writes plain ``B``/``I``. Overlapping spans raise ``E012``."""
    tags = ["O"] * length
    for span in spans:
        if any(t != "O" for t in tags[span.start : span.end]):
            raise SpanError(
                "E012",
                f"span [{span.start}, {span.end}) overlaps another span; BIO tags cannot express overlap",
                Location(doc_id=doc_id, offset=span.start),
            )
        suffix = f"-{span.label}" if typed else ""
        tags[span.start] = "B" + suffix
        for i in range(span.start + 1, span.end):
            tags[i] = "I" + suffix
    return tags


def bio_to_spans(
    tags: Sequence[str],
    *,
    default_label: str = DEFAULT_LABEL,
    repair: bool = True,
    on_repair: Callable[[int, str], None] | None = None,
) -> list[Span]:
    """Spans from BIO tags (``B``, ``I``, ``O``, optionally ``-label``).

    With ``repair`` (default) an ``I`` that does not continue a span of the same label (after ``O``, at the
    start, or after a span of another label: ``B-x I-y``) starts a new span, the usual conlleval reading,
    and ``on_repair(index, what)`` is told; without ``repair`` such an ``I`` is an error (``E015``).

    >>> bio_to_spans(["O", "I-d", "B-d", "I-a"], on_repair=lambda i, what: print(i, what))
    1 'I-d' after 'O' continues no span
    3 'I-a' after 'B-d' continues no span
    [Span(1, 2, 'd'), Span(2, 3, 'd'), Span(3, 4, 'a')]
    """
    spans: list[Span] = []
    start: int | None = None
    label = default_label
    for i, tag in enumerate(tags):
        prefix, _, tag_label = tag.partition("-")
        tag_label = tag_label or default_label
        if prefix not in ("B", "I", "O"):
            raise SpanError("E015", f"invalid BIO tag {tag!r}; expected B, I or O with an optional -label",
                            Location(offset=i))
        continues = prefix == "I" and start is not None and tag_label == label
        if start is not None and not continues:
            spans.append(Span(start, i, label))
            start = None
        if prefix == "B" or (prefix == "I" and not continues):
            if prefix == "I":
                what = f"{tag!r} {f'after {tags[i - 1]!r}' if i else 'at the start'} continues no span"
                if not repair:
                    raise SpanError("E015", f"{what}; a span starts with B", Location(offset=i))
                if on_repair is not None:
                    on_repair(i, what)
            start, label = i, tag_label
    if start is not None:
        spans.append(Span(start, len(tags), label))
    return spans
