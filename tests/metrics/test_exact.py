"""Exact span match."""

from eccr.corpus.types import Span
from eccr.metrics.exact import exact_counts


def test_exact_counts_untyped_and_typed():
    gold = [Span(0, 2, "d"), Span(3, 5, "d"), Span(3, 5, "a")]
    pred = [Span(0, 2, "a"), Span(3, 5, "d"), Span(6, 7, "d")]
    assert exact_counts(gold, pred, typed=False) == (2, 3, 2, 2)
    assert exact_counts(gold, pred, typed=True) == (1, 3, 1, 3)


def test_duplicates_count_once_and_near_misses_do_not_count():
    assert exact_counts([Span(0, 3)], [Span(0, 3), Span(0, 3)], typed=False) == (1, 1, 1, 1)
    assert exact_counts([Span(0, 3)], [Span(0, 2), Span(1, 3)], typed=False) == (0, 2, 0, 1)
