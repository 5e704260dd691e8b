"""Span / Document / Corpus: validation, ordering, trusted constructors, stats."""

from __future__ import annotations

import pytest

from eccr.corpus.types import LENGTH_BINS, Corpus, Document, Span, length_bin, trusted_span
from eccr.errors import DocumentError, SpanError


@pytest.mark.parametrize(("start", "end", "code"), [(2, 2, "E011"), (3, 1, "E011"), (-1, 2, "E011"),
                                                     (0.0, 1, "E013"), (True, 2, "E013")])
def test_invalid_spans(start, end, code):
    with pytest.raises(SpanError) as info:
        Span(start, end)
    assert info.value.code == code


def test_empty_label_rejected():
    with pytest.raises(SpanError) as info:
        Span(0, 1, "")
    assert info.value.code == "E014"


def test_span_equality_includes_attrs_but_hash_does_not():
    a, b = Span(0, 2, "d", {"certainty": "positive"}), Span(0, 2, "d", {"certainty": "negative"})
    assert a != b and hash(a) == hash(b) and a == Span(0, 2, "d", {"certainty": "positive"})
    assert Span(0, 2).overlaps(Span(1, 3)) and not Span(0, 2).overlaps(Span(2, 3))


def test_trusted_span_equals_checked_span():
    fast = trusted_span(1, 4, "d", {"k": "v"})
    assert fast == Span(1, 4, "d", {"k": "v"}) and type(fast) is Span
    assert trusted_span(0, 1, "c", {}).attrs == {}
    with pytest.raises(AttributeError):
        fast.start = 0  # type: ignore[misc]


def test_document_sorts_and_bounds_spans():
    doc = Document("d", "発熱と咳嗽", [Span(3, 5), Span(0, 2, "b"), Span(0, 2, "a")])
    assert doc.spans == (Span(0, 2, "a"), Span(0, 2, "b"), Span(3, 5))
    with pytest.raises(SpanError) as info:
        Document("d", "発熱", [Span(0, 3)])
    assert info.value.code == "E010" and info.value.location.doc_id == "d" and info.value.location.offset == 3


def test_document_trusted_matches_checked():
    spans = (Span(0, 2), Span(3, 5))
    trusted = Document.trusted("d", "発熱と咳嗽", spans, {"t": 1})
    assert trusted == Document("d", "発熱と咳嗽", spans, {"t": 1})


def test_document_id_and_text_checked():
    with pytest.raises(DocumentError):
        Document("", "x")
    with pytest.raises(DocumentError):
        Document("d", None)  # type: ignore[arg-type]


def test_overlapping_pairs():
    doc = Document("d", "abcdef", [Span(0, 4), Span(1, 2), Span(4, 6), Span(3, 5)])
    assert list(doc.overlapping_pairs()) == [(Span(0, 4), Span(1, 2)), (Span(0, 4), Span(3, 5)),
                                             (Span(3, 5), Span(4, 6))]


def test_corpus_ids_select_stats():
    first = Document("a", "発熱と咳嗽", [Span(0, 2, "d", {"certainty": "positive"}), Span(3, 5, "a")])
    corpus = Corpus([first, Document("b", "x" * 30, [Span(0, 21, "d")])])
    with pytest.raises(DocumentError) as info:
        Corpus([Document("a", "x"), Document("a", "y")])
    assert info.value.code == "E021"
    assert corpus.get("b").text.startswith("x") and "a" in corpus and corpus.subset(["b"]).ids == ["b"]
    stats = corpus.select("d").stats()
    assert stats.to_dict() == {"documents": 2, "characters": 35, "spans": 2, "labels": {"d": 2},
                               "length_bins": {"1-2": 1, "3-6": 0, "7-10": 0, "11-20": 0, ">=21": 1}}
    assert [name for name, _, _ in LENGTH_BINS] == ["1-2", "3-6", "7-10", "11-20", ">=21"]
    with pytest.raises(ValueError):
        length_bin(0)
    with pytest.raises(DocumentError) as info:
        corpus.get("zz")
    assert info.value.code == "E024"


def test_spans_documents_and_corpora_pickle():
    import pickle

    doc = Document("x", "発熱と咳嗽", [Span(0, 2, "d", {"certainty": "pos"}), Span(3, 5)], {"title": "t"})
    corpus = Corpus([doc, Document("y", "なし")])
    assert pickle.loads(pickle.dumps(corpus)) == corpus
    assert pickle.loads(pickle.dumps(Span(0, 1))) == Span(0, 1)


def test_span_decodes_with_msgspec_rejecting_unknown_fields():
    import msgspec

    assert msgspec.json.decode(b'{"start": 0, "end": 2, "label": "d"}', type=Span) == Span(0, 2, "d")
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"start": 0, "end": 2, "surface": "x"}', type=Span)
    with pytest.raises(SpanError):
        msgspec.json.decode(b'{"start": 2, "end": 2}', type=Span)
    assert {Span(0, 1, "d", {"a": 1}): 1}[Span(0, 1, "d", {"a": 1})] == 1


def test_documents_equal_when_tied_spans_differ_only_in_order():
    a, b = Span(0, 2, "d", {"brat_id": "T1"}), Span(0, 2, "d", {"brat_id": "T2"})
    assert Document("x", "肺炎", [a, b]) == Document("x", "肺炎", [b, a])
    assert Document("x", "肺炎", [a, a]) != Document("x", "肺炎", [a, b])
