"""JMED-LLM CSV reader/writer: string lists to spans, errors, exact round trips."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.corpus import jmedllm, read_corpus, write_corpus
from eccr.corpus.jmedllm import ANSWERS_KEY, answer_strings, strings_to_spans
from eccr.corpus.types import Document, Span
from eccr.errors import DocumentError, EccrWarning, InputError, ProblemReport, RecoverableSpanError

INSTRUCTION = "以下の症例報告において、所見を表す表現は？\n"


def csv_file(tmp_path: Path, rows: list[tuple[str, str, str]], name: str = "mini.csv") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["tag", "question", "answer"])
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return path


def row(text: str, answer: str) -> tuple[str, str, str]:
    return ("d", f"{INSTRUCTION}「{text}」", answer)


def test_every_occurrence_is_marked_and_runs_merge(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [
        row("発熱と咳嗽，再び発熱．発熱咳嗽あり", "['発熱', '咳嗽']"),
        row("ああああ", "['ああ']"),
    ])
    docs = jmedllm.read(path, ProblemReport())
    assert [d.id for d in docs] == ["mini-0001", "mini-0002"]
    first = docs[0]
    assert first.text == "発熱と咳嗽，再び発熱．発熱咳嗽あり"
    # adjacent occurrences 発熱+咳嗽 at the end merge into one run of the binary mask
    assert [first.span_text(s) for s in first.spans] == ["発熱", "咳嗽", "発熱", "発熱咳嗽"]
    assert {s.label for s in first.spans} == {"d"}
    assert first.meta[ANSWERS_KEY] == ["発熱", "咳嗽"]
    assert first.meta["line"] == 2
    # overlapping occurrences merge too
    assert docs[1].spans == (Span(0, 4, "d"),)


def test_document_is_between_first_open_after_instruction_and_last_close(tmp_path: Path) -> None:
    question = "「指示」を含む指示文\n「症例は「発熱」を訴えた」"
    path = csv_file(tmp_path, [("d", question, "['発熱']")])
    (doc,) = jmedllm.read(path, ProblemReport())
    assert doc.text == "症例は「発熱」を訴えた"
    assert doc.meta["jmedllm"]["instruction"] == "「指示」を含む指示文\n"


def test_missing_string_is_reported_not_dropped(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [row("発熱を認めた", "['発熱']"), row("咳嗽なし", "['咳嗽', '頭痛']")])
    with pytest.raises(RecoverableSpanError) as info:
        jmedllm.read(path, ProblemReport())
    err = info.value
    assert err.code == "E017" and "頭痛" in err.message
    assert err.location.file == str(path) and err.location.line == 4 and err.location.doc_id == "mini-0002"

    report = ProblemReport(lenient=True)
    corpus = read_corpus(path, report=report, lenient=True)
    assert [p.code for p in report.problems] == ["E017"]
    assert corpus.get("mini-0002").meta[ANSWERS_KEY] == ["咳嗽", "頭痛"]
    out = tmp_path / "out.csv"
    write_corpus(corpus, out)
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("['発熱', ", "not a Python list literal"),
        ("__import__('os')", "not a Python list literal"),
        ("'発熱'", "answer is a str"),
        ("{'発熱': 1}", "answer is a dict"),
        ("['発熱', 3]", "item 1 is int"),
        ("['']", "item 0 is str ''"),
    ],
)
def test_bad_answer_literal_names_file_line_and_document(tmp_path: Path, answer: str, fragment: str) -> None:
    path = csv_file(tmp_path, [row("発熱", "['発熱']"), row("発熱あり", answer)])
    with pytest.raises(InputError) as info:
        jmedllm.read(path, ProblemReport())
    err = info.value
    assert err.code == "E036"
    assert fragment in err.message
    assert (err.location.file, err.location.line, err.location.doc_id) == (str(path), 4, "mini-0002")


def test_question_without_brackets_is_an_error(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [("d", "指示だけ\n本文に括弧がない", "[]")])
    with pytest.raises(InputError, match="E035") as info:
        jmedllm.read(path, ProblemReport())
    assert info.value.location.doc_id == "mini-0001"


def test_header_must_name_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("tag,text\nd,発熱\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks column"):
        jmedllm.read(path, ProblemReport())


def test_file_round_trip_is_byte_exact(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [
        row("発熱,咳嗽\n「引用」と\"記載\"", "['発熱', '咳嗽']"),
        row("ＣＴで１５ｍｍの結節", '["結節"]'),  # double-quoted literal: written back verbatim
        row("所見なし", "[]"),
    ])
    out = tmp_path / "out.csv"
    write_corpus(read_corpus(path), out)
    assert out.read_bytes() == path.read_bytes()


def test_predictions_are_written_from_their_spans_not_the_gold_answers(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [row("発熱と咳嗽", "['発熱', '咳嗽']")])
    (gold,) = jmedllm.read(path, ProblemReport())
    predicted = gold.with_spans([Span(3, 5, "d")])  # keeps the gold meta
    out = tmp_path / "pred.csv"
    jmedllm.write([predicted], out)
    (back,) = jmedllm.read(out, ProblemReport())
    assert back.meta[ANSWERS_KEY] == ["咳嗽"]
    assert back.spans == (Span(3, 5, "d"),)


def test_ids_round_trip_with_id_column(tmp_path: Path) -> None:
    docs = [Document("case-a", "発熱あり", [Span(0, 2, "d")]), Document("case-b", "咳嗽", [Span(0, 2, "d")])]
    out = tmp_path / "ids.csv"
    jmedllm.write(docs, out, with_ids=True)
    back = jmedllm.read(out, ProblemReport())
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in docs]


def test_duplicate_id_is_renamed_keeping_the_original_id_when_lenient(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    jmedllm.write([Document("x", "発熱", [Span(0, 2, "d")])] * 2, path, with_ids=True)
    with pytest.raises(DocumentError) as info:
        jmedllm.read(path, ProblemReport())
    assert info.value.code == "E021" and info.value.location.line == 4 and info.value.location.doc_id == "x"
    report = ProblemReport(lenient=True)
    back = jmedllm.read(path, report)
    assert [d.id for d in back] == ["x", "x~2"] and back[1].meta["original_id"] == "x"
    assert [p.code for p in report.problems] == ["E021"]


def test_writer_refuses_an_instruction_that_moves_the_document(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="E025"):
        jmedllm.write([Document("a", "発熱")], tmp_path / "x.csv", instruction="一行目\n「二行目」\n")


def test_answer_strings_accessor() -> None:
    read_doc = Document("a", "発熱発熱", [Span(0, 4, "d")], {ANSWERS_KEY: ["発熱", "発熱"]})
    assert answer_strings(read_doc) == ["発熱", "発熱"]
    predicted = Document("p", "発熱と咳嗽と発熱", [Span(6, 8), Span(0, 2), Span(3, 5)])
    assert answer_strings(predicted) == ["発熱", "咳嗽"]


def test_strings_to_spans_reports_missing() -> None:
    spans, missing = strings_to_spans("発熱", ["発熱", "咳"], "d")
    assert spans == [Span(0, 2, "d")] and missing == ["咳"]


def test_crlf_rows_are_read(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes('tag,question,answer\r\nd,"指示\r\n「発熱\r\nあり」",[\'発熱\']\r\n'.encode())
    (doc,) = jmedllm.read(path, ProblemReport())
    assert doc.text == "発熱\r\nあり" and doc.spans == (Span(0, 2, "d"),)


# --- properties ---------------------------------------------------------------------------------------------

ALPHABET = "発熱咳嗽肺炎のをにがと、。，．ＣＴ１５ｍｇアイウｱ①㎎〜「」（）,\"' \n\r\tab12"
texts = st.text(alphabet=ALPHABET, min_size=1, max_size=60)


@st.composite
def documents_with_answers(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(texts)
    answers = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        answers.append(text[start:end])
    return text, answers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(documents_with_answers(), min_size=1, max_size=4))
def test_round_trip_property(tmp_path: Path, items: list[tuple[str, list[str]]]) -> None:
    """Documents whose spans come from their answer lists survive write -> read -> write exactly."""
    docs = []
    for index, (text, answers) in enumerate(items, start=1):
        spans, missing = strings_to_spans(text, answers, "d")
        assert not missing
        docs.append(Document(f"p-{index:04d}", text, spans, {ANSWERS_KEY: answers}))
    first = tmp_path / "p.csv"
    jmedllm.write(docs, first)
    back = jmedllm.read(first, ProblemReport())
    assert [(d.id, d.text, d.spans, d.meta[ANSWERS_KEY]) for d in back] == [
        (d.id, d.text, d.spans, d.meta[ANSWERS_KEY]) for d in docs
    ]
    second = tmp_path / "p2.csv"
    jmedllm.write(back, second)
    assert second.read_bytes() == first.read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, data=st.data())
def test_arbitrary_spans_keep_their_coverage(tmp_path: Path, text: str, data: st.DataObject) -> None:
    """Spans without an answer list are written as their surfaces; reading marks at least their characters."""
    starts = data.draw(st.lists(st.integers(0, len(text) - 1), max_size=3))
    spans = [Span(s, data.draw(st.integers(s + 1, len(text))), "d") for s in starts]
    out = tmp_path / "a.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jmedllm.write([Document("a", text, spans)], out)
    (back,) = jmedllm.read(out, ProblemReport())
    covered = {i for s in spans for i in range(s.start, s.end)}
    assert covered <= {i for s in back.spans for i in range(s.start, s.end)}
    assert set(back.meta[ANSWERS_KEY]) == {text[s.start : s.end] for s in spans}
    # the writer warns (E026) exactly when the spans will not read back as written
    exact = [(s.start, s.end) for s in back.spans] == sorted({(s.start, s.end) for s in spans})
    codes = [w.message.code for w in caught if isinstance(w.message, EccrWarning)]
    assert codes == ([] if exact else ["E026"])


def test_a_50000_character_document_loads_whole(tmp_path: Path) -> None:
    text = ("発熱と咳嗽を認めた。ｱ①㎎〜ヿ" * 3334)[:50_000]
    path = csv_file(tmp_path, [row(text, "['ヿ']")])
    (doc,) = jmedllm.read(path, ProblemReport())
    assert doc.text == text and len(doc.spans) == text.count("ヿ")
