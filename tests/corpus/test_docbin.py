"""spaCy DocBin I/O (eccr.corpus.docbin): exact offsets, unaligned spans reported, round trips."""

from __future__ import annotations

import pytest

pytest.importorskip("spacy", reason="spaCy is not installed (pip install 'eccr[spacy]')")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.corpus.docbin import read, tokenizer_pipeline, write
from eccr.corpus.io import format_options, read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.errors import ConfigError, InputError, ProblemReport, SpanError

# ヘコンサルト (a typo for へ) is one Sudachi token: the concept コンサルト [3, 8) does not align to tokens.
TEXT = "当科ヘコンサルトとなった．咳嗽を認めた。ＣＴで肺炎。"
UNALIGNED = Span(3, 8, "d")


def _doc(spans, doc_id="d1", meta=None):
    return Document(doc_id, TEXT, spans, meta)


def test_round_trip_keeps_ids_meta_attrs_and_offsets(tmp_path):
    docs = [
        _doc([Span(13, 15, "d", {"certainty": "positive"}), Span(23, 25, "d")], "a", {"title": "症例1"}),
        Document("b", "頭痛なし。", [Span(0, 2, "d", {"certainty": "negative"})]),
    ]
    path = tmp_path / "c.spacy"
    note = write(docs, path)
    assert note.startswith("3 of 3 spans (100.00%) align to spaCy tokens")
    assert read(path, ProblemReport()) == docs


def test_unaligned_span_is_reported_counted_and_kept(tmp_path):
    docs = [_doc([UNALIGNED, Span(13, 15, "d")])]
    report = ProblemReport()
    note = write(docs, tmp_path / "c.spacy", report=report)
    assert "1 of 2 spans (50.00%) align" in note and "1 unaligned" in note
    [problem] = report.problems
    assert (problem.code, problem.location.doc_id, problem.location.offset) == ("E181", "d1", 3)
    assert "[3, 8)" in problem.message
    # spaCy sees only the aligned span; eccr reads both back
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    [spacy_doc] = DocBin().from_disk(tmp_path / "c.spacy").get_docs(Vocab())
    assert [(e.start_char, e.end_char) for e in spacy_doc.ents] == [(13, 15)]
    # the token under the unaligned concept is missing ("-"), not outside: spaCy must not learn it as O
    assert {t.text: t.ent_iob_ for t in spacy_doc}["ヘコンサルト"] == ""
    assert {t.text: t.ent_iob_ for t in spacy_doc}["当科"] == "O"
    assert read(tmp_path / "c.spacy", ProblemReport()) == docs


def test_expand_mode_snaps_to_tokens_and_reports(tmp_path):
    report = ProblemReport()
    note = write([_doc([UNALIGNED])], tmp_path / "c.spacy", alignment_mode="expand", report=report)
    assert "1 snapped" in note
    assert "written as [2, 8)" in report.problems[0].message
    [doc] = read(tmp_path / "c.spacy", ProblemReport())
    assert doc.spans == (Span(2, 8, "d"),)


def test_spans_key_holds_overlapping_spans_and_ents_refuse_them(tmp_path):
    overlapping = [_doc([Span(13, 15, "d"), Span(13, 16, "d")])]
    with pytest.raises(SpanError) as err:
        write(overlapping, tmp_path / "ents.spacy")
    assert err.value.code == "E012"
    assert not (tmp_path / "ents.spacy").exists()  # nothing half-written
    write(overlapping, tmp_path / "sc.spacy", spans_key="sc")
    assert read(tmp_path / "sc.spacy", ProblemReport()) == overlapping


def test_foreign_docbin_without_record(tmp_path):
    """A DocBin written by spaCy itself: ids from the file name, spans from doc.ents."""
    from spacy.tokens import DocBin

    nlp = tokenizer_pipeline()
    doc = nlp.make_doc(TEXT)
    doc.ents = [doc.char_span(13, 15, label="d")]
    DocBin(docs=[doc]).to_disk(tmp_path / "train.spacy")
    assert read(tmp_path / "train.spacy", ProblemReport()) == [
        Document("train-0001", TEXT, [Span(13, 15, "d")])
    ]


def test_edited_entities_win_over_the_record(tmp_path):
    """The spaCy annotation is the truth: an entity removed in spaCy stays removed."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    path = tmp_path / "c.spacy"
    write([_doc([Span(13, 15, "d", {"certainty": "positive"}), Span(23, 25, "d")])], path)
    [doc] = DocBin(store_user_data=True).from_disk(path).get_docs(Vocab())
    doc.ents = [e for e in doc.ents if e.start_char == 13]
    DocBin(docs=[doc], store_user_data=True).to_disk(path)
    [back] = read(path, ProblemReport())
    assert back.spans == (Span(13, 15, "d", {"certainty": "positive"}),)


def test_not_a_docbin_is_a_coded_error(tmp_path):
    path = tmp_path / "bad.spacy"
    path.write_bytes(b"not msgpack at all \x00\xff")
    with pytest.raises(InputError) as err:
        read_corpus(path)
    assert err.value.code == "E183" and "bad.spacy" in str(err.value)


def test_split_mode_for_another_language_is_refused(tmp_path):
    with pytest.raises(ConfigError) as err:
        write([Document("e", "fever")], tmp_path / "c.spacy", pipeline="en", split_mode="A")
    assert err.value.code == "E180"


def test_missing_pipeline_is_refused_without_download(tmp_path):
    with pytest.raises(ConfigError) as err:
        write([_doc([])], tmp_path / "c.spacy", pipeline="ja_no_such_model")
    assert err.value.code == "E180" and "never downloads" in err.value.message


def test_format_registry_and_options():
    assert sorted(format_options("docbin", "write")) == [
        "alignment_mode",
        "pipeline",
        "spans_key",
        "split_mode",
    ]
    assert sorted(format_options("docbin", "read")) == ["spans_key"]


def test_write_corpus_passes_the_report(tmp_path):
    report = ProblemReport()
    note = write_corpus([_doc([UNALIGNED])], tmp_path / "c.spacy", report=report)
    assert "0 of 1 spans" in note and len(report) == 1


_CHARS = "当科ヘコンサルト咳嗽をＣＴ肺炎 、。abc1２\n"


@st.composite
def _documents(draw):
    text = draw(st.text(alphabet=_CHARS, min_size=1, max_size=30))
    bounds = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=6))))
    spans = [
        Span(a, b, draw(st.sampled_from(["d", "a"])))
        for a, b in zip(bounds[::2], bounds[1::2], strict=False)
        if a < b
    ]
    return Document("h", text, spans, {"n": draw(st.integers(0, 9))})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_documents())
def test_any_document_round_trips(tmp_path, document):
    path = tmp_path / "h.spacy"
    write([document], path)
    assert read(path, ProblemReport()) == [document]


def test_medtxt_round_trip(medtxt_corpus, tmp_path, capsys):
    """All of MedTxt-CR (13 tags, attributes): text and every span identical; the unaligned ones counted."""
    path = tmp_path / "medtxt.spacy"
    report = ProblemReport()
    note = write_corpus(medtxt_corpus, path, report=report)
    back = read_corpus(path)
    assert list(back) == list(medtxt_corpus)
    spans = sum(len(d.spans) for d in medtxt_corpus)
    assert note.startswith(f"{spans - len(report)} of {spans} spans")
    assert 0 < len(report) < spans * 0.01  # a few concepts cut Sudachi tokens (C mode); none lost
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    ents = sum(len(d.ents) for d in DocBin().from_disk(path).get_docs(Vocab()))
    assert ents == spans - len(report)


def test_convert_cli_writes_docbin_and_prints_the_aligned_fraction(tmp_path):
    from typer.testing import CliRunner

    from eccr.cli.main import app
    from eccr.data import SAMPLE_PATH

    out = tmp_path / "sample.spacy"
    result = CliRunner().invoke(
        app, ["convert", str(SAMPLE_PATH), str(out), "--write-option", "split_mode=A"]
    )
    assert result.exit_code == 0, result.output
    assert "(docbin)" in result.output and "align to spaCy tokens (ja, Sudachi split mode A)" in result.output
    assert read_corpus(out) == read_corpus(SAMPLE_PATH)
