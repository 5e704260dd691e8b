"""Exact span match, the conventional NER score, for comparability with other work.

A predicted span is correct when a gold span of the same document has the same ``start`` and ``end``
(and, when ``typed``, the same label). Spans are compared **as given**, not merged into runs, and each side is
taken as a set (a duplicate span counts once). Precision = correct / predicted spans; recall = correct /
gold spans.

>>> from eccr.corpus.types import Span
>>> exact_counts([Span(0, 2, "d"), Span(3, 5, "d")], [Span(0, 2, "a"), Span(3, 4, "d")], typed=False)
(1, 2, 1, 2)
>>> exact_counts([Span(0, 2, "d")], [Span(0, 2, "a")], typed=True)
(0, 1, 0, 1)
"""

from __future__ import annotations

from collections.abc import Iterable

from eccr.corpus.types import Span


def span_keys(spans: Iterable[Span], typed: bool) -> set[tuple[int, int, str]]:
    """The set of ``(start, end, label)`` keys of ``spans`` (label ``""`` when untyped)."""
    return {(s.start, s.end, s.label if typed else "") for s in spans}


def exact_counts(gold: Iterable[Span], pred: Iterable[Span], typed: bool) -> tuple[int, int, int, int]:
    """``(precision_num, precision_den, recall_num, recall_den)`` of exact span match in one document."""
    g = span_keys(gold, typed)
    q = span_keys(pred, typed)
    hits = len(g & q)
    return hits, len(q), hits, len(g)
