"""Binary character masks (adjacent spans merge) and BIO character tags (adjacent spans stay apart)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.corpus.mask import bio_to_spans, mask_to_spans, merge_spans, spans_to_bio, spans_to_mask
from eccr.corpus.types import Span
from eccr.errors import SpanError


def test_adjacent_spans_merge_in_the_mask_but_not_in_bio():
    spans = [Span(0, 2, "d"), Span(2, 4, "d")]
    assert mask_to_spans(spans_to_mask(spans, 5)) == [Span(0, 4)]
    assert merge_spans(spans) == [Span(0, 4)]
    assert bio_to_spans(spans_to_bio(spans, 5)) == spans


def test_bio_rejects_overlap_and_bad_tags():
    with pytest.raises(SpanError) as info:
        spans_to_bio([Span(0, 3), Span(2, 4)], 5, doc_id="d")
    assert info.value.code == "E012" and info.value.location.doc_id == "d"
    with pytest.raises(SpanError):
        bio_to_spans(["B", "X"])
    with pytest.raises(SpanError):
        bio_to_spans(["O", "I-d"], repair=False)
    assert bio_to_spans(["O", "I-d", "I-d"]) == [Span(1, 3, "d")]
    assert spans_to_bio([Span(0, 1, "d")], 2, typed=False) == ["B", "O"]


def test_empty_mask():
    assert mask_to_spans([]) == []


@st.composite
def disjoint_spans(draw):
    length = draw(st.integers(1, 40))
    cuts = sorted(set(draw(st.lists(st.integers(0, length), max_size=12))))
    spans = [Span(a, b, draw(st.sampled_from(["d", "a"]))) for a, b in itertools.pairwise(cuts)
             if draw(st.booleans())]
    return length, spans


@settings(max_examples=100, deadline=None)
@given(disjoint_spans())
def test_bio_round_trip_and_mask_union(case):
    length, spans = case
    assert bio_to_spans(spans_to_bio(spans, length)) == spans
    mask = spans_to_mask(spans, length)
    assert int(mask.sum()) == sum(s.length for s in spans)
    assert mask_to_spans(mask) == merge_spans(spans)
