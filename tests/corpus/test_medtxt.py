"""MedTxt XML reader/writer: text and offsets, attributes, layout newlines, errors, nesting, round trips."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.corpus import medtxt, read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.errors import EccrError, ProblemReport

HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE root SYSTEM "MedTxt.dtd">\n<root>\n<metadata>' \
         "<name>t</name></metadata>\n<articles>\n"
FOOTER = "</articles>\n</root>\n"


def xml_file(path: Path, *articles: str, newline: str = "\n") -> Path:
    body = HEADER + "".join(articles) + FOOTER
    path.write_bytes(body.replace("\n", newline).encode("utf-8"))
    return path


def article(id: str, body: str, title: str = "題") -> str:
    return f'<article id="{id}" title="{title}">\n{body}\n</article>\n'


ONE = article("JP1", '症例は<timex3 type="age">７０歳</timex3>，男性．\n'
                     '<d certainty="positive" correction="血痰">血疾</d>を主訴に&amp;<a>右肺</a>．')


def test_text_offsets_attrs_and_meta(tmp_path):
    (doc,) = read_corpus(xml_file(tmp_path / "m.xml", ONE))
    assert doc.id == "JP1" and dict(doc.meta) == {"title": "題"}
    assert doc.text == "症例は７０歳，男性．\n血疾を主訴に&右肺．"
    assert [(doc.span_text(s), s.label, dict(s.attrs)) for s in doc.spans] == [
        ("７０歳", "timex3", {"type": "age"}),
        ("血疾", "d", {"certainty": "positive", "correction": "血痰"}),
        ("右肺", "a", {}),
    ]


def test_select_applies_through_read_corpus(tmp_path):
    path = xml_file(tmp_path / "m.xml", ONE)
    assert [s.label for s in read_corpus(path, select="d[certainty=positive]")[0].spans] == ["d"]
    assert [s.label for s in read_corpus(path, select="d,a")[0].spans] == ["d", "a"]


def test_only_layout_newlines_are_removed(tmp_path):
    path = xml_file(tmp_path / "m.xml", '<article id="a">\n\n先頭に空行\n\n</article>\n',
                    '<article id="b">改行なし</article>\n', '<article id="c">\n<d>熱</d>\n</article>\n')
    corpus = read_corpus(path)
    assert [d.text for d in corpus] == ["\n先頭に空行\n", "改行なし", "熱"]
    assert corpus.get("c").spans == (Span(0, 1, "d"),)


def test_crlf_file_follows_xml_line_end_rules(tmp_path):
    (doc,) = read_corpus(xml_file(tmp_path / "m.xml", ONE, newline="\r\n"))
    assert "\r" not in doc.text and doc.span_text(doc.spans[1]) == "血疾"


def test_bom_and_nfkc_characters(tmp_path):
    path = tmp_path / "m.xml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + article("n", "ｱ①<d>㎎～</d>ヿ<d>〜</d>") + FOOTER).encode())
    (doc,) = read_corpus(path)
    assert doc.text == "ｱ①㎎～ヿ〜" and [doc.span_text(s) for s in doc.spans] == ["㎎～", "〜"]
    assert [(s.start, s.end) for s in doc.spans] == [(2, 4), (5, 6)]


def test_nested_tags_are_kept(tmp_path):
    (doc,) = read_corpus(xml_file(tmp_path / "m.xml", article("n", "<d>左<a>肺</a>炎</d>")))
    assert doc.spans == (Span(0, 3, "d"), Span(1, 2, "a"))


def test_unknown_tag_strict_and_lenient(tmp_path):
    bad = article("JP9", "既往に<x k='v'>喘息</x>あり")
    path = xml_file(tmp_path / "m.xml", article("ok", "<d>熱</d>"), bad)
    with pytest.raises(EccrError) as info:
        read_corpus(path)
    err = info.value
    assert err.code == "E039" and err.location.file == str(path) and err.location.doc_id == "JP9"
    assert err.location.offset == 3 and "offset 3" in str(err) and "'JP9'" in str(err)
    report = ProblemReport(lenient=True)
    corpus = read_corpus(path, report=report)
    assert corpus.get("JP9").text == "既往に喘息あり"
    assert corpus.get("JP9").spans == (Span(3, 5, "x", {"k": "v"}),)
    assert [p.code for p in report.problems] == ["E039"]


def test_empty_tag_is_e011(tmp_path):
    path = xml_file(tmp_path / "m.xml", article("JP2", "発熱<d></d>あり"))
    with pytest.raises(EccrError) as info:
        read_corpus(path)
    assert info.value.code == "E011"
    assert info.value.location.doc_id == "JP2" and info.value.location.offset == 2


def test_malformed_xml_names_line(tmp_path):
    path = xml_file(tmp_path / "m.xml", article("JP3", "発熱<d>あり</a>"))
    with pytest.raises(EccrError) as info:
        read_corpus(path)
    assert info.value.code == "E037" and info.value.location.line == 7 and str(path) in str(info.value)


def test_missing_id_empty_article_and_duplicates(tmp_path):
    with pytest.raises(EccrError) as info:
        read_corpus(xml_file(tmp_path / "a.xml", "<article>x</article>\n"))
    assert info.value.code == "E038"
    empty = '<article id="E">\n\n</article>\n'
    path = xml_file(tmp_path / "b.xml", article("A", "x"), empty, article("A", "y"))
    with pytest.raises(EccrError) as info:
        read_corpus(path)
    assert info.value.code == "E020" and info.value.location.doc_id == "E"
    corpus = read_corpus(path, lenient=True)
    assert corpus.ids == ["A", "E", "A~2"] and corpus.get("A~2").text == "y"


def test_invalid_utf8(tmp_path):
    path = tmp_path / "m.xml"
    path.write_bytes(HEADER.encode() + b'<article id="a">\n\x93\xad\n</article>\n' + FOOTER.encode())
    with pytest.raises(EccrError) as info:
        read_corpus(path)
    assert info.value.code == "E001" and info.value.location.line == 7


def test_long_article_untruncated(tmp_path):
    body = "<d>熱</d>" + "あ" * 49_999
    (doc,) = read_corpus(xml_file(tmp_path / "m.xml", article("L", body)))
    assert len(doc.text) == 50_000 and doc.spans == (Span(0, 1, "d"),)


def test_writer_nests_contained_spans_and_rejects_crossing(tmp_path):
    nested = Document("n", "左肺炎", [Span(0, 3, "d"), Span(1, 2, "a"), Span(0, 3, "cc")])
    path = tmp_path / "w.xml"
    write_corpus([nested], path)
    assert read_corpus(path)[0].spans == nested.spans
    crossing = Document("x", "左肺炎", [Span(0, 2, "d"), Span(1, 3, "a")])
    with pytest.raises(EccrError) as info:
        write_corpus([crossing], path)
    assert info.value.code == "E012" and info.value.location.doc_id == "x" and info.value.location.offset == 1


def test_writer_refuses_meta_id(tmp_path):
    with pytest.raises(EccrError) as info:
        write_corpus([Document("a", "x", meta={"id": "b"})], tmp_path / "w.xml")
    assert info.value.code == "E025" and info.value.location.doc_id == "a"


def test_writer_escapes_markup_and_cr(tmp_path):
    doc = Document("e&1", 'a<b>&"c"\r\nd', [Span(1, 4, "d", {"note": 'x"<&\n'})], {"title": "t<>", "n": 3})
    path = tmp_path / "w.xml"
    write_corpus([doc], path)
    back = read_corpus(path)[0]
    assert (back.id, back.text, back.spans) == (doc.id, doc.text, doc.spans)
    assert dict(back.meta) == {"title": "t<>", "n": "3"}  # non-string meta is written JSON-encoded


ALPHABET = "あいうアイウ発熱咳嗽ＣＴ１５ｍｇｱ①㎎～ヿ〜@#<>&\"'\n\r\t abc"
LABELS = sorted(medtxt.ENTITY_TAGS)


@st.composite
def documents(draw) -> Document:
    text = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=40))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=10))))
    spans = [
        Span(a, b, draw(st.sampled_from(LABELS)),
             draw(st.dictionaries(st.sampled_from(["certainty", "state"]), st.text(ALPHABET, max_size=4))))
        for a, b in itertools.pairwise(cuts) if draw(st.booleans())
    ]
    return Document(draw(st.text(alphabet="abcJP-0123発熱", min_size=1, max_size=8)), text, spans,
                    {"title": draw(st.text(ALPHABET, max_size=6))})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(documents(), min_size=1, max_size=4, unique_by=lambda d: d.id))
def test_round_trip(tmp_path, docs):
    path = tmp_path / "rt.xml"
    write_corpus(docs, path)
    assert list(read_corpus(path)) == docs
