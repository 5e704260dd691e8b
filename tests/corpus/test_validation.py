"""Shared input checks: UTF-8 decoding (BOM, CRLF, invalid bytes), span checks, overlaps, NFKC, unique ids."""

from __future__ import annotations

import pytest

from eccr.corpus.types import Document, Span
from eccr.corpus.validation import (
    CheckedDocuments,
    UniqueIds,
    check_no_overlap,
    check_span_bounds,
    check_surface,
    decode_utf8,
    find_overlap,
    nfkc_changing_characters,
    read_text_file,
    split_records,
)
from eccr.errors import InputError, Location, ProblemReport, RecoverableDocumentError, SpanError


def test_bom_is_stripped_and_crlf_kept(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeff発熱\r\n咳嗽\r\n".encode())
    assert read_text_file(path) == "発熱\r\n咳嗽\r\n"


def test_only_a_leading_bom_is_removed(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("a\ufeffb".encode())
    assert read_text_file(path) == "a\ufeffb"


def test_invalid_utf8_names_file_line_and_byte_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes("発熱\n咳".encode() + b"\xe5\x92" + b"\n")  # truncated 3-byte sequence on line 2
    with pytest.raises(InputError) as info:
        read_text_file(path)
    err = info.value
    assert err.code == "E001"
    assert err.location.file == str(path) and err.location.line == 2
    assert "byte offset 10" in str(err) and "column 1" in str(err) and str(path) in str(err)


def test_shift_jis_file_is_rejected_clearly(tmp_path):
    path = tmp_path / "sjis.txt"
    path.write_bytes("発熱".encode("shift_jis"))
    with pytest.raises(InputError, match=r"E001.*re-save the file as UTF-8"):
        read_text_file(path)


def test_missing_file_is_e002(tmp_path):
    with pytest.raises(InputError) as info:
        read_text_file(tmp_path / "nope.txt")
    assert info.value.code == "E002"


def test_decode_keeps_lone_cr():
    assert decode_utf8(b"a\rb") == "a\rb"


def test_split_records_handles_crlf_and_final_newline():
    assert list(split_records("a\r\nb\r\n")) == [(1, "a"), (2, "b")]
    assert list(split_records("a\n\nb")) == [(1, "a"), (2, ""), (3, "b")]
    assert list(split_records("")) == []
    assert list(split_records("a\rb\n")) == [(1, "a\rb")]


def test_span_bounds_errors_carry_location():
    where = Location(file="f.jsonl", doc_id="d1", line=3)
    with pytest.raises(SpanError) as info:
        check_span_bounds(2, 9, 5, where)
    assert info.value.code == "E010" and info.value.location == Location("f.jsonl", "d1", 3, 9)
    with pytest.raises(SpanError) as info:
        check_span_bounds(-1, 2, 5, where)
    assert info.value.location.offset == -1
    with pytest.raises(SpanError) as info:
        check_span_bounds(3, 3, 5, where)
    assert info.value.code == "E011"
    check_span_bounds(0, 5, 5, where)


def test_surface_mismatch_shows_both_strings():
    with pytest.raises(SpanError) as info:
        check_surface("発熱と咳嗽", 0, 2, "咳嗽", Location(file="f", doc_id="d", line=1))
    message = str(info.value)
    assert info.value.code == "E016" and "'咳嗽'" in message and "'発熱'" in message
    assert "document 'd'" in message and "offset 0" in message and "line 1" in message


def test_find_overlap_sweeps_past_long_spans():
    spans = [Span(0, 10), Span(2, 3), Span(4, 5)]
    assert find_overlap(spans) == (Span(0, 10), Span(2, 3))
    assert find_overlap([Span(0, 2), Span(2, 4), Span(4, 6)]) is None
    assert find_overlap([Span(0, 5), Span(1, 2, "a"), Span(5, 6)]) == (Span(0, 5), Span(1, 2, "a"))


def test_check_no_overlap_names_document_and_offset():
    doc = Document("d9", "あいうえお", [Span(0, 3), Span(2, 4)])
    with pytest.raises(SpanError) as info:
        check_no_overlap(doc, "inline", "out.txt")
    assert info.value.code == "E012"
    assert info.value.location == Location(file="out.txt", doc_id="d9", offset=2)


def test_nfkc_changing_characters_are_found_by_offset():
    text = "ｱ①㎎～ヿ〜ア１"
    found = dict(nfkc_changing_characters(text))
    assert found == {0: "ｱ", 1: "①", 2: "㎎", 3: "～", 4: "ヿ", 7: "１"}
    assert nfkc_changing_characters("ascii only") == []
    assert nfkc_changing_characters("発熱と咳嗽") == []


def test_unique_ids_strict_and_lenient():
    strict = UniqueIds(ProblemReport())
    assert strict.claim("a", Location()) == "a"
    with pytest.raises(RecoverableDocumentError) as info:
        strict.claim("a", Location(file="f", line=7))
    assert info.value.code == "E021" and info.value.location.line == 7 and info.value.location.doc_id == "a"
    report = ProblemReport(lenient=True)
    lenient = UniqueIds(report)
    assert [lenient.claim(x, Location()) for x in ("a", "a~2", "a", "a")] == ["a", "a~2", "a~3", "a~4"]
    assert [p.code for p in report.problems] == ["E021", "E021"]


def test_checked_documents_marker():
    from eccr.corpus.io import check_documents
    from eccr.corpus.validation import already_checked

    duplicates = [Document("a", "x"), Document("a", "y")]
    checked = CheckedDocuments(duplicates)
    assert already_checked(checked) and not already_checked(duplicates)
    # a reader's checked list is passed through as is: its duplicate was already reported by the reader
    assert check_documents(checked, ProblemReport(), "f") == duplicates
    with pytest.raises(RecoverableDocumentError):
        check_documents(duplicates, ProblemReport(), "f")


def test_claim_document_keeps_the_read_id_of_a_renamed_duplicate():
    ids = UniqueIds(ProblemReport(lenient=True))
    first = Document("a", "x", meta={"line": 1})
    assert ids.claim_document(first) is first
    renamed = ids.claim_document(Document("a", "y", meta={"line": 2}), file="f", line=2)
    assert (renamed.id, renamed.text, dict(renamed.meta)) == ("a~2", "y", {"line": 2, "original_id": "a"})
    assert [(p.code, p.location.file, p.location.line, p.location.doc_id) for p in ids.report.problems] == [
        ("E021", "f", 2, "a")]
