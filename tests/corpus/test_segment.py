"""Japanese sentence segmentation with offsets, and mapping spans to segments and back."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.corpus.segment import (
    Segment,
    cover_spans,
    crossing_spans,
    join_documents,
    join_spans,
    segment,
    split_document,
    text_of,
)
from eccr.corpus.types import Document, Span
from eccr.errors import SpanError


def pieces(text: str) -> list[str]:
    return [text_of(text, s) for s in segment(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("発熱あり。咳嗽なし．頭痛？", ["発熱あり。", "咳嗽なし．", "頭痛？"]),
        ("抗GAD抗体が3790.0 U/mLと上昇した。次", ["抗GAD抗体が3790.0 U/mLと上昇した。", "次"]),
        ("ＨｂＡ１ｃは９．２％であった．", ["ＨｂＡ１ｃは９．２％であった．"]),
        ("Ｈ．ｃｉｎａｅｄｉ菌血症．次", ["Ｈ．ｃｉｎａｅｄｉ菌血症．", "次"]),
        ("Ｎ．Ｏ．８ａリンパ節．次", ["Ｎ．Ｏ．８ａリンパ節．", "次"]),
        ("所見なし.CTで異常なし.", ["所見なし.", "CTで異常なし."]),
        ("本当に!? はい。", ["本当に!? ", "はい。"]),
        ("「痛い。つらい。」と訴えた。", ["「痛い。つらい。」と訴えた。"]),
        ("（既往歴：なし。）発熱。", ["（既往歴：なし。）発熱。"]),
        ("（（入れ子。）まだ中。）外。", ["（（入れ子。）まだ中。）外。"]),
        ("1行目\n2行目。\r\n3行目", ["1行目\n", "2行目。\r\n", "3行目"]),
        # an opening bracket left open on its line is plain text: it cannot swallow what follows
        ("（閉じない括弧。発熱あり。", ["（閉じない括弧。", "発熱あり。"]),
        ("「引用\n続き。終わり。」", ["「引用\n", "続き。", "終わり。」"]),
        # a closing bracket that closes nothing is plain text
        ("a）。b", ["a）。", "b"]),
        ("終わり。）次", ["終わり。）", "次"]),
        ("「（a」。b）。c", ["「（a」。", "b）。", "c"]),
        ("", []),
        ("\n\n", ["\n", "\n"]),
    ],
)
def test_segmentation_rules(text: str, expected: list[str]) -> None:
    assert pieces(text) == expected


def test_segment_values() -> None:
    seg = Segment(2, 5)
    assert seg.length == 3 and seg.contains(Span(2, 5)) and not seg.contains(Span(1, 3))
    with pytest.raises(ValueError):
        Segment(3, 3)
    with pytest.raises(ValueError):
        seg.localize(Span(0, 3))
    with pytest.raises(ValueError):
        seg.globalize(Span(0, 4))


def test_split_and_join_documents() -> None:
    text = "72歳男性。@発熱と咳嗽を認めた。ＣＴで肺炎。"
    doc = Document("d", text, [Span(7, 9, "d"), Span(10, 12, "d"), Span(20, 22, "d")], {"title": "t"})
    parts = split_document(doc)
    assert [p.id for p in parts] == ["d#001", "d#002", "d#003"]
    assert [p.meta["segment"] for p in parts] == [[0, 6], [6, 17], [17, 23]]
    assert [[p.span_text(s) for s in p.spans] for p in parts] == [[], ["発熱", "咳嗽"], ["肺炎"]]
    assert join_documents(doc, parts) == doc
    predictions = [p.with_spans([Span(0, 2, "d")]) for p in parts]
    assert [doc.span_text(s) for s in join_documents(doc, predictions).spans] == ["72", "@発", "ＣＴ"]


def test_crossing_span_merges_segments_or_raises() -> None:
    doc = Document("x", "発熱。咳嗽。頭痛。", [Span(1, 4), Span(7, 8)])
    assert crossing_spans(segment(doc.text), doc.spans) == [Span(1, 4)]
    parts = split_document(doc)
    assert [p.text for p in parts] == ["発熱。咳嗽。", "頭痛。"]
    with pytest.raises(SpanError) as info:
        split_document(doc, on_crossing="error")
    assert info.value.code == "E018" and info.value.location.offset == 1 and info.value.location.doc_id == "x"


def test_join_rejects_foreign_pieces() -> None:
    doc = Document("d", "発熱。咳嗽。")
    other = Document("e#001", "発熱。", meta={"parent_id": "e", "segment": [0, 3]})
    with pytest.raises(SpanError, match="E019"):
        join_documents(doc, [other])
    wrong_text = Document("d#001", "咳嗽。", meta={"parent_id": "d", "segment": [0, 3]})
    with pytest.raises(SpanError, match="text differs"):
        join_documents(doc, [wrong_text])


def test_segments_must_partition() -> None:
    with pytest.raises(SpanError, match="E019"):
        split_document(Document("d", "発熱。"), [Segment(0, 2)])


# --- properties ---------------------------------------------------------------------------------------------

ALPHABET = "発熱咳嗽のをに、。．.！？!?（）「」『』()１２3.\n\r \u3000ＣＴ"


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=80))
def test_segments_partition_the_text(text: str) -> None:
    segs = segment(text)
    assert "".join(text_of(text, s) for s in segs) == text
    assert all(s.end > s.start for s in segs)
    assert all(a.end == b.start for a, b in itertools.pairwise(segs))
    # a line break only ever ends a segment
    for s in segs:
        assert "\n" not in text_of(text, s)[:-1]


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=ALPHABET, min_size=1, max_size=80), data=st.data())
def test_spans_to_segments_and_back_is_the_identity(text: str, data: st.DataObject) -> None:
    spans = []
    for _ in range(data.draw(st.integers(0, 6))):
        start = data.draw(st.integers(0, len(text) - 1))
        end = data.draw(st.integers(start + 1, len(text)))
        spans.append(Span(start, end, data.draw(st.sampled_from("dA"))))
    doc = Document("h", text, spans)
    parts = split_document(doc)
    assert "".join(p.text for p in parts) == text
    assert join_documents(doc.with_spans([]), parts) == doc
    covered = cover_spans(segment(text), spans)
    assert crossing_spans(covered, spans) == []
    assert join_spans((Segment(*p.meta["segment"]), p.spans) for p in parts) == list(doc.spans)
