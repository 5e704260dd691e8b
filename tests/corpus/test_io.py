"""read_corpus / write_corpus / detect_format / check_documents / convert_corpus."""

from __future__ import annotations

import gc

import pytest

from eccr.corpus import read_corpus, write_corpus
from eccr.corpus.io import check_documents, convert_corpus, detect_format, read_documents
from eccr.corpus.types import Document, Span
from eccr.errors import ConfigError, DocumentError, ProblemReport


def test_detect_format_from_extension_and_directory(tmp_path):
    assert detect_format("a.jsonl") == "jsonl"
    assert detect_format("a.XML") == "medtxt"
    assert detect_format("a.txt") == "inline"
    folder = tmp_path / "d"
    folder.mkdir()
    with pytest.raises(ConfigError) as info:
        detect_format(folder)
    assert info.value.code == "E042"
    (folder / "x.txt").write_text("a", encoding="utf-8")
    assert detect_format(folder) == "inline"
    (folder / "x.ann").write_text("", encoding="utf-8")
    assert detect_format(folder) == "brat"


def test_unknown_extension_and_format(tmp_path):
    with pytest.raises(ConfigError, match="--from/--to"):
        detect_format("corpus.dat")
    (tmp_path / "x.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_corpus(tmp_path / "x.jsonl", "yaml")
    assert info.value.code == "E041"


def test_missing_input(tmp_path):
    with pytest.raises(ConfigError) as info:
        read_corpus(tmp_path / "none.jsonl")
    assert info.value.code == "E043"


def test_check_documents_uses_meta_line_and_renames():
    docs = [Document("a", "x", meta={"line": 1}), Document("a", "y", meta={"line": 2}), Document("e", "")]
    with pytest.raises(DocumentError) as info:
        check_documents(docs, ProblemReport(), "f")
    assert info.value.code == "E021" and info.value.location.line == 2
    report = ProblemReport(lenient=True)
    checked = check_documents(docs, report, "f")
    assert [d.id for d in checked] == ["a", "a~2", "e"] and checked[1].meta["original_id"] == "a"
    assert [p.code for p in report.problems] == ["E021", "E020"]


def test_read_corpus_selects_and_keeps_documents(tmp_path):
    path = tmp_path / "c.jsonl"
    docs = [Document("a", "発熱と咳嗽", [Span(0, 2, "d", {"certainty": "positive"}), Span(3, 5, "a")]),
            Document("b", "なし")]
    write_corpus(docs, path)
    corpus = read_corpus(path, select="d[certainty=positive]")
    assert corpus.ids == ["a", "b"] and corpus[0].spans == (docs[0].spans[0],)
    assert corpus.source == str(path)


def test_reading_restores_the_garbage_collector(tmp_path):
    path = tmp_path / "c.jsonl"
    write_corpus([Document("a", "x")], path)
    assert gc.isenabled()
    read_documents(path)
    assert gc.isenabled()
    gc.disable()
    try:
        read_documents(path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_convert_corpus_chain_and_report(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("@@発熱##と@@咳嗽##\n\n咳##\n", encoding="utf-8")
    result = convert_corpus(source, tmp_path / "out.jsonl", lenient=True)
    assert (result.source_format, result.target_format, result.documents, result.spans) == ("inline", "jsonl",
                                                                                               3, 2)
    assert [p.code for p in result.report.problems] == ["E020", "E030"]
    back = read_corpus(tmp_path / "out.jsonl", lenient=True)
    assert [d.text for d in back] == ["発熱と咳嗽", "", "咳##"]


def test_convert_needs_output_format(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="--to"):
        convert_corpus(source, tmp_path / "out")
