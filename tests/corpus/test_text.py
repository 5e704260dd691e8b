"""Raw text (``text``): each file one document, decoded as every reader decodes files; never by extension."""

from __future__ import annotations

import pytest

from eccr.corpus.io import detect_format, read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.errors import DocumentError, EccrWarning, InputError


def test_a_file_is_one_document_with_crlf_kept_and_the_bom_removed(tmp_path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes("\ufeff発熱\\n@@x##\r\n咳嗽\r\n".encode())
    (doc,) = read_corpus(path, "text")
    assert (doc.id, doc.text, doc.spans) == ("note", "発熱\\n@@x##\r\n咳嗽\r\n", ())  # no markup read
    assert detect_format(path) == "inline"  # the name alone never means raw text


def test_a_directory_is_one_document_per_txt_file_in_name_order(tmp_path) -> None:
    (tmp_path / "b.txt").write_text("二", encoding="utf-8")
    (tmp_path / "a.txt").write_text("一", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not read", encoding="utf-8")
    corpus = read_corpus(tmp_path, "text")
    assert [(d.id, d.text) for d in corpus] == [("a", "一"), ("b", "二")]


def test_an_empty_file_is_an_empty_document(tmp_path) -> None:
    (tmp_path / "e.txt").write_bytes(b"")
    with pytest.raises(DocumentError, match="E020"):
        read_corpus(tmp_path / "e.txt", "text")
    assert read_corpus(tmp_path / "e.txt", "text", lenient=True)[0].text == ""


def test_writing_keeps_texts_and_warns_about_the_spans_it_cannot_hold(tmp_path) -> None:
    docs = [Document("a", "発熱\r\n", [Span(0, 2, "d")]), Document("b", "咳嗽")]
    with pytest.warns(EccrWarning, match=r"E026\] raw text cannot hold spans: 1 spans of 1 documents"):
        write_corpus(docs, tmp_path / "out", "text")
    assert (tmp_path / "out" / "a.txt").read_bytes() == "発熱\r\n".encode()
    assert [d.text for d in read_corpus(tmp_path / "out", "text")] == ["発熱\r\n", "咳嗽"]
    write_corpus(docs[1:], tmp_path / "one.txt", "text")
    assert (tmp_path / "one.txt").read_text(encoding="utf-8") == "咳嗽"
    with pytest.raises(InputError, match="E025"):
        write_corpus([Document("x", "1"), Document("y", "2")], tmp_path / "two.txt", "text")
    with pytest.raises(InputError, match="E025"):
        write_corpus([Document("../x", "1")], tmp_path / "bad", "text")
