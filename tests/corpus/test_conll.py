"""CoNLL BIO reader/writer: char and token modes, ids, escapes, errors, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.corpus import conll, read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.errors import InputError, ProblemReport, SpanError


def read_text(path: Path, content: str, **options: object) -> list[Document]:
    path.write_text(content, encoding="utf-8", newline="")
    return conll.read(path, ProblemReport(), **options)  # type: ignore[arg-type]


def test_char_mode_layout_and_sentence_blocks(tmp_path: Path) -> None:
    doc = Document("c1", "発熱あり。咳嗽\tなし。", [Span(0, 2, "d"), Span(5, 7, "d")])
    out = tmp_path / "c.conll"
    write_corpus([doc], out)
    assert out.read_text(encoding="utf-8") == (
        "# id = c1\n発\tB-d\n熱\tI-d\nあ\tO\nり\tO\n。\tO\n\n"
        "咳\tB-d\n嗽\tI-d\n\\t\tO\nな\tO\nし\tO\n。\tO\n\n"
    )
    (back,) = read_corpus(out)
    assert (back.id, back.text, back.spans) == (doc.id, doc.text, doc.spans)


def test_span_across_a_sentence_end_keeps_the_block_whole(tmp_path: Path) -> None:
    doc = Document("c", "発熱。咳嗽。", [Span(1, 4, "d")])
    text = conll.document_text(doc)
    assert text.count("\n\n") == 1  # one block: the sentences were merged so the span is not cut
    out = tmp_path / "x.conll"
    out.write_text(text, encoding="utf-8")
    assert conll.read(out, ProblemReport())[0].spans == doc.spans


def test_escapes_cover_every_whitespace_and_specials(tmp_path: Path) -> None:
    text = "a b\u3000c\td\ne\rf\\g#h"
    doc = Document("esc", text, [Span(0, 3, "x")])
    lines = conll.document_text(doc, sentences=False).splitlines()
    items = [line.split("\t")[0] for line in lines[1:] if line]
    assert items == [
        "a", "\\s", "b", "\\u3000", "c", "\\t", "d", "\\n", "e", "\\r", "f", "\\\\", "g", "\\#", "h"
    ]
    assert all(len(line.split()) == 2 for line in lines[1:] if line)  # whitespace-splittable
    out = tmp_path / "e.conll"
    conll.write([doc], out)
    (back,) = conll.read(out, ProblemReport())
    assert back.text == text and back.spans == doc.spans


def test_files_without_ids_are_one_document_per_block(tmp_path: Path) -> None:
    docs = read_text(tmp_path / "plain.conll", "# a comment\n発 B-d\n熱 I-d\n\n咳 B\n嗽 O\n")
    assert [(d.id, d.text, d.spans) for d in docs] == [
        ("plain-0001", "発熱", (Span(0, 2, "d"),)),
        ("plain-0002", "咳嗽", (Span(0, 1, "concept"),)),
    ]
    assert docs[0].meta["conll"] == {"comments": ["# a comment"]}


def test_comments_round_trip(tmp_path: Path) -> None:
    content = "# id = k\n# text = 発熱\n発\tB-d\n熱\tI-d\n\n"
    (doc,) = read_text(tmp_path / "k.conll", content)
    out = tmp_path / "k2.conll"
    conll.write([doc], out)
    assert out.read_text(encoding="utf-8") == content


def test_token_mode_with_space_separator(tmp_path: Path) -> None:
    doc = Document("en", "severe chest pain and fever", [Span(0, 17, "d"), Span(22, 27, "d")])
    out = tmp_path / "t.conll"
    conll.write([doc], out, mode="token", separator=" ")
    assert out.read_text(encoding="utf-8").splitlines()[1:4] == ["severe\tB-d", "chest\tI-d", "pain\tI-d"]
    (back,) = conll.read(out, ProblemReport(), mode="token", separator=" ")
    assert (back.text, back.spans) == (doc.text, doc.spans)
    with pytest.raises(SpanError, match="token boundaries"):
        conll.write([doc.with_spans([Span(1, 5, "d")])], out, mode="token", separator=" ")
    with pytest.raises(SpanError, match="non-empty tokens"):
        conll.write([Document("x", "a  b")], out, mode="token", separator=" ")


def test_token_mode_japanese_tokenizes_by_character_class(tmp_path: Path) -> None:
    doc = Document("ja", "ＣＴで右肺に１５ｍｍの結節を認めた", [Span(3, 5, "a"), Span(6, 13, "d")])
    out = tmp_path / "ja.conll"
    conll.write([doc], out, mode="token")
    items = [line.split("\t")[0] for line in out.read_text(encoding="utf-8").splitlines()[1:] if line]
    assert items[:6] == ["ＣＴ", "で", "右肺", "に", "１５", "ｍｍ"]
    (back,) = conll.read(out, ProblemReport(), mode="token")
    assert (back.text, back.spans) == (doc.text, doc.spans)


def test_overlapping_spans_cannot_be_written(tmp_path: Path) -> None:
    doc = Document("o", "乾性咳嗽", [Span(0, 4, "d"), Span(0, 2, "f")])
    with pytest.raises(SpanError) as info:
        conll.write([doc], tmp_path / "o.conll")
    assert info.value.code == "E012" and info.value.location.doc_id == "o"


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        ("# id = a\n発熱\tO\n", "E037", 2),  # two characters in char mode
        ("# id = a\n発\tO\n熱\n", "E037", 3),  # no tag
        ("# id = a\n発\tO\n\\q\tO\n", "E037", 3),  # bad escape
        ("# id = a\n発\tO\n熱\tX-d\n", "E015", 3),  # bad tag
    ],
)
def test_bad_lines_name_file_line_and_document(tmp_path: Path, content: str, code: str, line: int) -> None:
    path = tmp_path / "bad.conll"
    with pytest.raises((InputError, SpanError)) as info:
        read_text(path, content)
    err = info.value
    assert err.code == code
    assert (err.location.file, err.location.line, err.location.doc_id) == (str(path), line, "a")


def test_untyped_tags_and_empty_and_duplicate_documents(tmp_path: Path) -> None:
    doc = Document("u", "発熱", [Span(0, 2, "d")])
    assert "\tB\n" in conll.document_text(doc, typed=False)
    path = tmp_path / "dup.conll"
    path.write_text("# id = a\n発\tO\n\n# id = a\n熱\tO\n\n# id = e\n\n", encoding="utf-8")
    report = ProblemReport(lenient=True)
    docs = conll.read(path, report)
    assert [d.id for d in docs] == ["a", "a~2", "e"] and docs[2].text == ""
    assert docs[1].meta["original_id"] == "a" and "original_id" not in docs[0].meta
    assert [p.code for p in report.problems] == ["E021", "E020"]


# --- properties ---------------------------------------------------------------------------------------------

ALPHABET = "発熱咳嗽肺炎のをにがと、。，．ＣＴ１５ｍｇアイウｱ①㎎〜「」（）\u3000 \n\r\t\\#ab12.!?"


@st.composite
def non_overlapping_documents(draw: st.DrawFn, index: int) -> Document:
    text = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=60))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=8))))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if end > start:
            spans.append(Span(start, end, draw(st.sampled_from(["d", "concept", "t-val"]))))
    return Document(f"doc {index}", text, spans)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), mode=st.sampled_from(["char", "token"]), sentences=st.booleans())
def test_round_trip_property(tmp_path: Path, data: st.DataObject, mode: str, sentences: bool) -> None:
    docs = [data.draw(non_overlapping_documents(i)) for i in range(data.draw(st.integers(1, 3)))]
    out = tmp_path / "p.conll"
    conll.write(docs, out, mode=mode, sentences=sentences)  # type: ignore[arg-type]
    back = conll.read(out, ProblemReport(), mode=mode)  # type: ignore[arg-type]
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in docs]


def test_a_50000_character_document_round_trips(tmp_path: Path) -> None:
    text = ("発熱と咳嗽を認めた。ｱ①㎎〜ヿ\r\n" * 3200)[:50_000]
    doc = Document("long", text, [Span(0, 2, "d"), Span(49_990, 50_000, "d")])
    conll.write([doc], tmp_path / "long.conll")
    (back,) = conll.read(tmp_path / "long.conll", ProblemReport())
    assert (back.text, back.spans) == (doc.text, doc.spans)
