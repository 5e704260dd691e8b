"""Inline ``@@concept##`` reader/writer: layouts, ids, escapes, errors with locations, round trips."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.corpus import inline, read_corpus, write_corpus
from eccr.corpus.inline import mark_document, parse_marked
from eccr.corpus.types import Document, Span
from eccr.data import SAMPLE_PATH
from eccr.errors import ConfigError, EccrError, ProblemReport, SpanError

# Japanese text with the characters that matter for offsets and escaping.
JAPANESE = (
    "あいうえおかきくけこアイウエオ発熱咳嗽肺炎腫瘍ＡＢＣＤａｂｃ０１２３ｱｲｳ①②㎎～〜ヿ・，．、。"
    "（）「」abc123 @#\\\n\r\t"
)


@st.composite
def documents(draw, alphabet: str = JAPANESE, label: str = "concept") -> Document:
    """A document with random non-overlapping (possibly adjacent) spans."""
    text = draw(st.text(alphabet=alphabet, min_size=1, max_size=40))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=10))))
    spans = [Span(a, b, label) for a, b in itertools.pairwise(cuts) if draw(st.booleans())]
    doc_id = draw(st.text(alphabet="abcXYZ019-_.発熱", min_size=1, max_size=8))
    return Document(doc_id, text, spans)


def write_lines(path: Path, *lines: str, newline: str = "\n") -> Path:
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())
    return path


def error_of(path: Path, **options) -> EccrError:
    with pytest.raises(EccrError) as info:
        read_corpus(path, "inline", **options)
    return info.value


# --- reading ------------------------------------------------------------------------------------------------


def test_bundled_sample_reads_with_line_ids():
    corpus = read_corpus(SAMPLE_PATH)
    assert len(corpus) >= 30 and corpus[0].id == "sample-0001"
    first = corpus[0]
    assert all(first.text[s.start : s.end] and "@" not in first.text for s in first.spans)
    for doc in corpus:
        assert "@@" not in doc.text and "##" not in doc.text


def test_parse_marked_offsets_index_plain_text():
    text, spans = parse_marked("72歳男性．@@発熱##と@@乾性咳嗽##@@喀痰##を認めた")
    assert text == "72歳男性．発熱と乾性咳嗽喀痰を認めた"
    assert [text[s.start : s.end] for s in spans] == ["発熱", "乾性咳嗽", "喀痰"]
    assert spans[1].end == spans[2].start  # adjacent concepts stay apart


def test_escapes_are_decoded():
    text, spans = parse_marked(r"メール a\@b \#1 C:\\x 改\n行 @@\#\@##")
    assert text == "メール a@b #1 C:\\x 改\n行 #@"
    assert [text[s.start : s.end] for s in spans] == ["#@"]


def test_single_at_and_hash_are_literal():
    text, spans = parse_marked("a@b#c @@x##")
    assert text == "a@b#cx".replace("cx", "c x") and [text[s.start : s.end] for s in spans] == ["x"]


def test_read_order_is_left_to_right():
    text, spans = parse_marked("@@@x##")
    assert text == "@x" and spans == [Span(0, 2)]


def test_label_option(tmp_path):
    path = write_lines(tmp_path / "c.txt", "@@発熱##あり")
    assert read_corpus(path, label="d")[0].spans == (Span(0, 2, "d"),)


def test_with_ids_lines(tmp_path):
    path = write_lines(tmp_path / "c.txt", "JP-1\t@@発熱##\tあり", "JP-2\tなし")
    corpus = read_corpus(path, with_ids=True)
    assert corpus.ids == ["JP-1", "JP-2"]
    assert corpus[0].text == "発熱\tあり"


def test_missing_tab_with_ids_is_e034(tmp_path):
    path = write_lines(tmp_path / "c.txt", "JP-1\tok", "no tab here")
    err = error_of(path, with_ids=True)
    assert err.code == "E034" and err.location.line == 2 and str(path) in str(err)


def test_crlf_file_offsets_exact(tmp_path):
    path = write_lines(tmp_path / "c.txt", "@@発熱##と咳", "痰@@あり##", newline="\r\n")
    corpus = read_corpus(path)
    assert [d.text for d in corpus] == ["発熱と咳", "痰あり"]
    assert corpus[1].spans == (Span(1, 3),)


def test_bom_is_stripped(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes("\ufeff@@発熱##\n".encode())
    doc = read_corpus(path)[0]
    assert doc.text == "発熱" and doc.spans == (Span(0, 2),)


def test_nfkc_changing_characters_kept_verbatim(tmp_path):
    path = write_lines(tmp_path / "c.txt", "ｱ①@@㎎～##ヿ@@〜ｱ##")
    doc = read_corpus(path)[0]
    assert doc.text == "ｱ①㎎～ヿ〜ｱ"
    assert [doc.text[s.start : s.end] for s in doc.spans] == ["㎎～", "〜ｱ"]
    assert [(s.start, s.end) for s in doc.spans] == [(2, 4), (5, 7)]


def test_long_document_is_not_truncated(tmp_path):
    body = "発熱" * 25_000
    path = write_lines(tmp_path / "c.txt", f"@@{body}##x")
    doc = read_corpus(path)[0]
    assert len(doc.text) == 50_001 and doc.spans == (Span(0, 50_000),)


def test_one_document_per_file_directory(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "b.txt").write_bytes("@@咳嗽##\r\nあり\n".encode())
    (folder / "a.txt").write_bytes("@@発熱##".encode())
    corpus = read_corpus(folder)
    assert corpus.ids == ["a", "b"]
    assert corpus.get("b").text == "咳嗽\r\nあり\n"


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "code", "offset"),
    [
        ("あい##う", "E030", 2),  # ## closes nothing
        ("あ@@いう", "E030", 1),  # @@ never closed
        ("@@あ@@い##う##", "E031", 1),  # nested
        ("あ@@##い", "E032", 1),  # empty concept
        ("あ\\zい", "E033", 1),  # bad escape
        ("あい\\", "E033", 2),  # trailing backslash
    ],
)
def test_marker_errors_name_file_line_doc_and_offset(tmp_path, line, code, offset):
    path = write_lines(tmp_path / "notes.txt", "@@正常##な行", line)
    err = error_of(path)
    assert err.code == code
    assert err.location.file == str(path) and err.location.line == 2
    assert err.location.doc_id == "notes-0002" and err.location.offset == offset
    message = str(err)
    assert str(path) in message and "line 2" in message
    assert "notes-0002" in message and f"offset {offset}" in message


def test_lenient_keeps_unmatched_markers_as_text(tmp_path):
    path = write_lines(tmp_path / "c.txt", "あ##い@@う", "@@x@@y##z##", "a@@##b")
    report = ProblemReport(lenient=True)
    corpus = read_corpus(path, report=report)
    assert [d.text for d in corpus] == ["あ##い@@う", "x@@yz##", "a@@##b"]
    assert corpus[1].spans == (Span(0, 4),)
    assert [p.code for p in report.problems] == ["E030", "E030", "E031", "E030", "E032"]
    assert all(p.location.file == str(path) for p in report.problems)


def test_empty_line_is_an_empty_document(tmp_path):
    path = write_lines(tmp_path / "c.txt", "@@a##", "", "b")
    err = error_of(path)
    assert err.code == "E020" and err.location.line == 2 and err.location.doc_id == "c-0002"
    report = ProblemReport(lenient=True)
    corpus = read_corpus(path, report=report)
    assert len(corpus) == 3 and corpus[1].text == "" and report.problems[0].code == "E020"


def test_duplicate_ids_with_ids(tmp_path):
    path = write_lines(tmp_path / "c.txt", "x\ta", "x\tb")
    err = error_of(path, with_ids=True)
    assert err.code == "E021" and err.location.line == 2 and err.location.doc_id == "x"
    corpus = read_corpus(path, with_ids=True, lenient=True)
    assert corpus.ids == ["x", "x~2"] and corpus[1].meta["original_id"] == "x"


def test_invalid_utf8_is_e001(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"ok\n\xff\xfe\n")
    err = error_of(path)
    assert err.code == "E001" and err.location.line == 2 and str(path) in str(err)


# --- writing ------------------------------------------------------------------------------------------------


def test_overlapping_spans_cannot_be_written(tmp_path):
    doc = Document("d7", "発熱と咳嗽", [Span(0, 3), Span(2, 5)])
    with pytest.raises(SpanError) as info:
        write_corpus([doc], tmp_path / "o.txt")
    assert info.value.code == "E012"
    assert info.value.location.doc_id == "d7" and info.value.location.offset == 2


def test_multi_label_needs_drop_labels(tmp_path):
    doc = Document("d", "発熱と咳嗽", [Span(0, 2, "d"), Span(3, 5, "a")])
    with pytest.raises(ConfigError) as info:
        write_corpus([doc], tmp_path / "o.txt")
    assert info.value.code == "E025" and "--drop-labels" in str(info.value)
    write_corpus([doc], tmp_path / "o.txt", drop_labels=True)
    assert (tmp_path / "o.txt").read_text(encoding="utf-8") == "@@発熱##と@@咳嗽##\n"


def test_writer_escapes_only_what_is_needed():
    doc = Document("d", "a@b##c\\\n", [Span(2, 3)])
    assert mark_document(doc, line_layout=True) == "a\\@@@b##\\##c\\\\\\n"
    assert mark_document(doc, line_layout=False) == "a\\@@@b##\\##c\\\\\n"
    assert parse_marked(mark_document(doc, line_layout=True))[0] == doc.text


def test_paper_format_is_written_unchanged(tmp_path):
    out = tmp_path / "o.txt"
    write_corpus(read_corpus(SAMPLE_PATH), out)
    assert out.read_bytes() == SAMPLE_PATH.read_bytes().replace(b"\r\n", b"\n")


def test_file_layout_rejects_unsafe_ids(tmp_path):
    with pytest.raises(ConfigError):
        inline.write([Document("../x", "a")], tmp_path / "dir", layout="file")


# --- round trips -------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(documents(), min_size=1, max_size=4, unique_by=lambda d: d.id))
def test_round_trip_line_layout_with_ids(tmp_path, docs):
    path = tmp_path / "rt.txt"
    inline.write(docs, path, with_ids=True)
    back = inline.read(path, ProblemReport(), with_ids=True)
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in docs]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(documents(), min_size=1, max_size=3))
def test_round_trip_line_layout_positional_ids(tmp_path, docs):
    path = tmp_path / "rt.txt"
    inline.write(docs, path)
    back = inline.read(path, ProblemReport())
    assert [d.id for d in back] == [f"rt-{i:04d}" for i in range(1, len(docs) + 1)]
    assert [(d.text, d.spans) for d in back] == [(d.text, d.spans) for d in docs]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(documents(alphabet=JAPANESE.replace("\\", "")), min_size=1, max_size=3,
                     unique_by=lambda d: d.id))
def test_round_trip_file_layout(tmp_path_factory, docs):
    folder = tmp_path_factory.mktemp("files")
    docs = [Document(d.id.lstrip("."), d.text, d.spans) for d in docs if d.id.lstrip(".")]
    if not docs or len({d.id for d in docs}) != len(docs):
        return
    inline.write(docs, folder, layout="file")
    back = {d.id: d for d in inline.read(folder, ProblemReport())}
    assert {d.id: (d.text, d.spans) for d in docs} == {k: (d.text, d.spans) for k, d in back.items()}
