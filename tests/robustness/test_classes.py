"""Every class of bad input the hardening issue lists ends in a clear message — never a traceback or a silent
result. Each test runs the real ``eccr`` entry point (usage errors, coded errors, warnings, exit status)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eccr.corpus.io import read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.data import SAMPLE_PATH
from eccr.errors import EccrWarning

MEDTXT = """<?xml version="1.0" encoding="utf-8"?>
<root><articles>
<article id="a1" title="t">
<d certainty="positive">発熱</d>と<d certainty="negative">咳嗽</d>．<a>肺</a>
</article>
</articles></root>
"""


def one_error_line(stderr: str, code: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"error [{code}] "), stderr
    return lines[0]


# --- command-line usage errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "usage", "message"), [
    ((), "Usage: eccr [OPTIONS] COMMAND [ARGS]...", "error: missing command; choose one of convert, stats"),
    (("convert",), "Usage: eccr convert [OPTIONS]", "error: Missing argument"),
    (("cv", "--folds", "abc", "x"), "Usage: eccr cv [OPTIONS]", "error: Invalid value for '--folds'"),
    (("nosuch",), "Usage: eccr [OPTIONS] COMMAND", "error: No such command 'nosuch'."),
    (("stats", "--bogus", "x"), "Usage: eccr stats [OPTIONS]", "error: No such option: --bogus"),
    (("compare", "a", "b", "--resamples", "many"), "Usage: eccr compare",
     "error: Invalid value for '--resamples'"),
])
def test_usage_errors_print_the_usage_line_and_one_line_then_exit_2(eccr_cli, argv, usage, message) -> None:
    result = eccr_cli(*argv)
    assert result.code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(usage) and lines[1].startswith(message), result.stderr


def test_help_still_exits_0(eccr_cli) -> None:
    result = eccr_cli("--help")
    assert result.code == 0 and "convert" in result.stdout


# --- selectors that match nothing; zero spans ---------------------------------------------------------------


@pytest.mark.parametrize(("select", "expected"), [
    ("D", "'D' matches no span: no span is labelled 'D' (labels: a, d; labels are case-sensitive)"),
    ("d[Certainty=positive]", "no 'd' span has the attribute 'Certainty' (attributes: certainty)"),
    ("d[certainty='positive']", "no 'd' span has certainty=\"'positive'\" (values: negative, positive; write "
                                "values without quotes)"),
    ("d[certainty=postive]", "no 'd' span has certainty='postive' (values: negative, positive)"),
])
def test_a_selector_typo_warns_with_what_the_corpus_has(eccr_cli, tmp_path, select, expected) -> None:
    path = tmp_path / "c.xml"
    path.write_text(MEDTXT, encoding="utf-8")
    result = eccr_cli("stats", path, "--select", select, "--format", "json")
    assert result.code == 0
    assert result.stderr.startswith("warning [E027] ") and expected in result.stderr, result.stderr
    assert json.loads(result.stdout)["spans"] == 0


def test_a_selector_that_matches_warns_nothing(eccr_cli, tmp_path) -> None:
    path = tmp_path / "c.xml"
    path.write_text(MEDTXT, encoding="utf-8")
    result = eccr_cli("stats", path, "--select", "d[certainty=positive], a", "--format", "json")
    assert result.code == 0 and result.stderr == "" and json.loads(result.stdout)["spans"] == 2


def test_scoring_or_training_on_zero_spans_warns(eccr_cli, tmp_path) -> None:
    path = tmp_path / "c.xml"
    path.write_text(MEDTXT, encoding="utf-8")
    scored = eccr_cli("score", path, path, "--select", "f", "--format", "json")
    assert scored.code == 0
    assert "warning [E029] scoring against gold on a corpus without any span" in scored.stderr
    trained = eccr_cli("train", path, "--model", "dict", "--select", "f", "--out", tmp_path / "m")
    assert trained.code == 0 and "warning [E029] training on a corpus without any span" in trained.stderr


# --- round trips that would change data ---------------------------------------------------------------------


def test_medtxt_writer_refuses_tags_its_reader_refuses(eccr_cli, tmp_path) -> None:
    out = tmp_path / "s.xml"
    refused = eccr_cli("convert", SAMPLE_PATH, out)
    line = one_error_line(refused.stderr, "E025")
    assert "span label 'concept' is not a MedTxt entity tag" in line and "--write-option label=d" in line
    assert not out.exists()
    assert eccr_cli("convert", SAMPLE_PATH, out, "--write-option", "label=d").code == 0
    back, source = read_corpus(out), read_corpus(SAMPLE_PATH)
    assert [d.text for d in back] == [d.text for d in source]
    assert [[(s.start, s.end, s.label) for s in d.spans] for d in back] == [
        [(s.start, s.end, "d") for s in d.spans] for d in source]


def test_a_csv_field_over_the_csv_module_limit_reads_back(tmp_path) -> None:
    text = "発熱と咳嗽を認めた。" * 20_000  # 200,000 characters: over csv's default 131,072 field limit
    path = tmp_path / "long.csv"
    with pytest.warns(EccrWarning, match=r"E026\] .* their 1 spans come back as 20000"):
        write_corpus([Document("long", text, [Span(0, 2, "d")])], path, with_ids=True)
    (doc,) = read_corpus(path)
    assert doc.text == text and len(doc.spans) == 20_000  # every occurrence of 発熱, as the format reads


# --- CoNLL BIO ----------------------------------------------------------------------------------------------


def test_invalid_bio_is_e015_and_lenient_repairs_each_with_a_report(eccr_cli, tmp_path) -> None:
    path = tmp_path / "c.conll"
    path.write_text("# id = a\n発\tO\n熱\tI-d\n咳\tB-d\n嗽\tI-a\n", encoding="utf-8")
    strict = eccr_cli("convert", path, tmp_path / "o.jsonl")
    line = one_error_line(strict.stderr, "E015")
    assert "'I-d' after 'O' continues no span" in line and "line 3" in line and "document 'a'" in line
    report = tmp_path / "report.json"
    lenient = eccr_cli("convert", path, tmp_path / "o.jsonl", "--lenient", "--report", report)
    assert lenient.code == 0
    problems = json.loads(report.read_text(encoding="utf-8"))["problems"]
    assert [(p["code"], p["line"], p["offset"]) for p in problems] == [("E015", 3, 1), ("E015", 5, 3)]
    assert "'I-a' after 'B-d'" in problems[1]["message"]
    (doc,) = read_corpus(tmp_path / "o.jsonl")
    assert [(s.start, s.end, s.label) for s in doc.spans] == [(1, 2, "d"), (2, 3, "d"), (3, 4, "a")]


# --- paths --------------------------------------------------------------------------------------------------


def test_output_paths_of_the_wrong_kind_are_coded_errors(eccr_cli, tmp_path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    result = eccr_cli("convert", SAMPLE_PATH, tmp_path / "dir.jsonl", "--to", "jsonl")
    line = one_error_line(result.stderr, "E005")
    assert "is a directory" in line
    (tmp_path / "file").write_text("x", encoding="utf-8")
    line = one_error_line(eccr_cli("convert", SAMPLE_PATH, tmp_path / "file", "--to", "brat").stderr, "E005")
    assert "is a file" in line
    line = one_error_line(eccr_cli("convert", SAMPLE_PATH, tmp_path / "file" / "o.jsonl").stderr, "E005")
    assert "is a file, not a folder" in line
    bad = tmp_path / "bad.txt"
    bad.write_text("@@x\n", encoding="utf-8")
    report = tmp_path / "no" / "r.json"
    result = eccr_cli("convert", bad, tmp_path / "o.jsonl", "--lenient", "--report", report)
    assert "the folder" in one_error_line(result.stderr, "E005")
    assert not (tmp_path / "o.jsonl").exists()  # checked before anything was written


def test_a_directory_mixing_formats_is_refused(eccr_cli, tmp_path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.txt").write_text("@@発熱##\n", encoding="utf-8")
    (folder / "b.jsonl").write_text('{"id": "b", "text": "x"}\n', encoding="utf-8")
    line = one_error_line(eccr_cli("stats", folder).stderr, "E042")
    assert "mixes formats: inline files (.txt) and .jsonl files" in line
    assert eccr_cli("stats", folder, "--from", "inline").code == 0


def test_a_missing_tokenizer_path_fails_at_once_without_the_hub(eccr_cli, tmp_path) -> None:
    gold = tmp_path / "g.jsonl"
    write_corpus([Document("a", "発熱", [Span(0, 2, "d")])], gold)
    for value in ("./no/tokenizer", str(tmp_path / "none"), "tokenizers/x/y"):
        result = eccr_cli("score", gold, gold, "--tokenizer", value)
        assert f"tokenizer {value} does not exist" in one_error_line(result.stderr, "E086")


# --- cv and compare arguments -------------------------------------------------------------------------------


def test_cv_refuses_a_directory_holding_another_run(eccr_cli, tmp_path) -> None:
    corpus = tmp_path / "c.jsonl"
    write_corpus(read_corpus(SAMPLE_PATH)[:12], corpus)
    run = tmp_path / "run"
    assert eccr_cli("cv", corpus, "--model", "dict", "--folds", "4", "--out", run, "--quiet").code == 0
    again = eccr_cli("cv", corpus, "--model", "dict", "--folds", "3", "--out", run, "--quiet")
    line = one_error_line(again.stderr, "E057")
    assert "already holds an earlier run" in line and "fold-" in line
    assert len(list(run.glob("fold-*"))) == 4  # untouched
    # an interrupted run (no summary yet) with the same settings continues in its directory
    (run / "summary.json").unlink()
    resumed = eccr_cli("cv", corpus, "--model", "dict", "--folds", "4", "--out", run, "--quiet")
    assert resumed.code == 0 and (run / "summary.json").is_file()


def test_folds_contradicting_the_folds_file_is_refused(eccr_cli, tmp_path) -> None:
    corpus = tmp_path / "c.jsonl"
    write_corpus(read_corpus(SAMPLE_PATH)[:12], corpus)
    first = eccr_cli("cv", corpus, "--model", "dict", "--folds", "4", "--out", tmp_path / "a", "--quiet")
    assert first.code == 0
    folds = tmp_path / "a" / "folds.json"
    result = eccr_cli("cv", corpus, "--model", "dict", "--folds", "3", "--folds-file", folds, "--out",
                      tmp_path / "b", "--quiet")
    assert "--folds 3 contradicts --folds-file" in one_error_line(result.stderr, "E049")
    assert "4 folds" in result.stderr and not (tmp_path / "b").exists()
    same = eccr_cli("cv", corpus, "--model", "dict", "--folds-file", folds, "--out", tmp_path / "c",
                    "--quiet")
    assert same.code == 0 and "folds: 4" in (tmp_path / "c" / "resolved.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("option", "value"), [("--resamples", "0"), ("--resamples", "-5"),
                                               ("--permutations", "0")])
def test_compare_refuses_resampling_counts_below_one(eccr_cli, sample_cv_runs, option, value) -> None:
    result = eccr_cli("compare", sample_cv_runs["crf"], sample_cv_runs["dict"], option, value)
    assert f"{option} must be at least 1, got {value}" in one_error_line(result.stderr, "E056")


# --- show, JSONL duplicate keys, MedTxt outside <article> ---------------------------------------------------


def test_show_prints_document_text_as_text_not_markup(eccr_cli, tmp_path) -> None:
    path = tmp_path / "m.txt"
    path.write_text("@@[bold]発熱##と[red]咳嗽[/]\n", encoding="utf-8")
    result = eccr_cli("show", path, "--id", "m-0001")
    assert result.code == 0
    assert "[bold]発熱[concept]と[red]咳嗽[/]" in result.stdout  # the text, markup characters and all
    assert re.search(r"│ \[bold\]発熱\s*│", result.stdout), result.stdout  # the span's cell keeps its text


@pytest.mark.parametrize("line", [
    '{"id": "a", "text": "発熱", "id": "b"}',
    '{"id": "a", "text": "発熱", "spans": [{"start": 0, "end": 1, "end": 2}]}',
    '{"id": "a", "text": "発熱", "spans": [{"start": 0, "end": 2, "attrs": {"x": 1, "x": 2}}]}',
    '{"id": "a", "text": "発熱", "meta": {"k": {"n": 1, "n": 2}}}',
    '{"id": "a", "text": "発熱", "spans": [{"start": 0, "end": 2, "label": "d", "label": "a"}, '
    '{"start": 0, "end": 1}]}',
])
def test_a_duplicate_json_key_is_an_error_not_last_value_wins(eccr_cli, tmp_path, line) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "ok", "text": "x"}\n' + line + "\n", encoding="utf-8")
    error = one_error_line(eccr_cli("stats", path).stderr, "E004")
    assert "appears twice in one JSON object" in error and "line 2" in error


def test_medtxt_entity_tags_outside_articles_are_reported(eccr_cli, tmp_path) -> None:
    path = tmp_path / "c.xml"
    path.write_text(MEDTXT.replace("</articles>", "<d>迷子</d></articles>"), encoding="utf-8")
    line = one_error_line(eccr_cli("stats", path).stderr, "E028")
    assert "<d> ('迷子') lies outside every <article> (after article 'a1')" in line
    lenient = eccr_cli("stats", path, "--lenient", "--format", "json")
    assert lenient.code == 0 and '"E028"' in lenient.stderr


# --- what the before-stop hook runs -------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [(), ("convert",), ("cv", "--folds", "abc", "x")])
def test_the_hook_commands_print_no_traceback(argv) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "eccr", *argv], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith("Usage: ") and len(proc.stderr.strip().splitlines()) == 2
