"""read_corpus / write_corpus / detect_format / check_documents / convert_corpus."""

from __future__ import annotations

import gc
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.corpus import read_corpus, write_corpus
from eccr.corpus.io import (
    FORMATS,
    check_documents,
    convert_corpus,
    detect_format,
    format_module,
    format_options,
    parse_format_options,
    read_documents,
)
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


# --- format options (reader/writer keyword parameters) -------------------------------------------------


def test_format_options_are_the_reader_and_writer_keywords():
    assert list(format_options("conll", "read")) == ["mode", "separator"]
    assert list(format_options("conll", "write")) == ["mode", "separator", "typed", "sentences"]
    assert list(format_options("inline", "write")) == ["with_ids", "layout", "drop_labels"]
    assert list(format_options("jmedllm", "write")) == ["instruction", "tag", "with_ids"]
    assert format_options("medtxt", "read") == {} and format_options("brat", "write") == {}


@pytest.mark.parametrize("name", FORMATS)
def test_every_listed_option_is_a_parameter_of_the_format_function(name):
    for role in ("read", "write"):
        params = format_options(name, role)
        function = getattr(format_module(name), role)
        assert all(key in function.__code__.co_varnames for key in params)
        assert "options" not in params and "report" not in params and "path" not in params


def test_unknown_reader_option_is_a_coded_error_not_a_type_error(tmp_path):
    path = tmp_path / "c.conll"
    path.write_text("# id = a\n発\tB-d\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_corpus(path, typed=False)
    err = info.value
    assert err.code == "E048"
    assert "conll reader option 'typed'" in err.message
    assert "mode (default 'char'), separator (default '')" in err.message
    with pytest.raises(ConfigError, match=r"E048.*medtxt reader takes no options"):
        read_documents(tmp_path / "c.conll", "medtxt", strict=True)


def test_unknown_writer_options_are_coded_and_nothing_is_written(tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(ConfigError) as info:
        write_corpus([Document("a", "発熱")], target, with_ids=True, typed=False)
    assert info.value.code == "E048"
    assert "unknown jsonl writer options 'typed', 'with_ids'" in info.value.message
    assert "surface (default False)" in info.value.message
    assert not target.exists()


def test_known_options_still_reach_the_format(tmp_path):
    doc = Document("a", "発熱 と 咳嗽", [Span(0, 2, "d"), Span(5, 7, "d")])
    target = tmp_path / "x.conll"
    write_corpus([doc], target, mode="token", separator=" ")
    assert target.read_text(encoding="utf-8") == "# id = a\n発熱\tB-d\nと\tO\n咳嗽\tB-d\n\n"
    (back,) = read_corpus(target, mode="token", separator=" ")
    assert (back.text, back.spans) == (doc.text, doc.spans)


def test_parse_format_options_reads_json_else_strings():
    parsed = parse_format_options("conll", "write", ["mode=token", 'separator=" "', "typed=false",
                                                     "sentences=true"])
    assert parsed == {"mode": "token", "separator": " ", "typed": False, "sentences": True}
    assert parse_format_options("conll", "read", ["separator= "]) == {"separator": " "}  # not JSON: as is
    assert parse_format_options("conll", "read", ["separator="]) == {"separator": ""}
    assert parse_format_options("jmedllm", "read", ["label=1"]) == {"label": "1"}  # str option: 1 -> "1"
    assert parse_format_options("jmedllm", "read", ["label=null"]) == {"label": None}
    assert parse_format_options("inline", "read", ["label=a", "label=b"]) == {"label": "b"}  # later wins
    assert parse_format_options("jmedllm", "write", ["tag=a=b"]) == {"tag": "a=b"}  # split at the first =


@pytest.mark.parametrize(
    ("name", "role", "pair", "expected"),
    [
        ("conll", "read", "mode=tok", "mode='tok' is not a valid value: choose one of 'char', 'token'"),
        ("inline", "write", "with_ids=yes", "with_ids='yes' is not a valid bool"),
        ("conll", "write", "typed=1", "typed='1' is not a valid bool"),
        ("conll", "read", "mode", "expected KEY=VALUE"),
        ("conll", "read", "=token", "expected KEY=VALUE"),
        ("brat", "write", "x=1", "unknown brat writer option 'x'; the brat writer takes no options"),
    ],
)
def test_parse_format_options_rejects_bad_pairs(name, role, pair, expected):
    with pytest.raises(ConfigError) as info:
        parse_format_options(name, role, [pair])
    assert info.value.code == "E048" and expected in info.value.message


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=12))
def test_a_json_string_value_reads_back_exactly(value):
    assert parse_format_options("inline", "read", [f"label={json.dumps(value, ensure_ascii=False)}"]) == {
        "label": value}

