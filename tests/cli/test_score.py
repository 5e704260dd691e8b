"""``eccr score``: output formats, options and errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.cli.score import parse_p_values
from eccr.corpus.io import write_corpus
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, ScoringError

TEXT = "左下肢の浮腫と疼痛を認めた。"
runner = CliRunner()


@pytest.fixture
def files(tmp_path):
    gold = Corpus([Document("d1", TEXT, [Span(0, 6, "d", {"certainty": "positive"}), Span(7, 9, "d")]),
                   Document("d2", "間質性肺炎の既往あり。", [Span(0, 5, "d")])])
    pred = Corpus([Document("d1", TEXT, [Span(0, 3), Span(4, 6), Span(7, 9)]),
                   Document("d2", "間質性肺炎の既往あり。", [Span(3, 5)])])
    other = Corpus([Document("d1", TEXT, []), Document("d2", "間質性肺炎の既往あり。", [])])
    paths = {name: tmp_path / f"{name}.jsonl" for name in ("gold", "pred", "other")}
    for name, corpus in (("gold", gold), ("pred", pred), ("other", other)):
        write_corpus(corpus, paths[name])
    return paths


def test_json_output_has_the_documented_shape(files):
    result = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"]), "--format", "json",
                                 "--p", "1,1.5,2,100,inf", "--by-length"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data["wsm"]) == ["1", "1.5", "2", "100", "inf"]
    assert data["wsm"]["1"]["recall"] == pytest.approx(9 / 13)
    assert data["wsm"]["1"] == data["char"]
    assert set(data["by_length"]) == {"1-2", "3-6", "7-10", "11-20", ">=21"}
    assert (data["documents"], data["gold_spans"], data["pred_spans"]) == (2, 3, 4)


def test_table_csv_and_per_document_output(files, tmp_path):
    table = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"])])
    assert table.exit_code == 0 and "wsm" in table.output and "2 documents" in table.output
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"]), "--format", "csv",
                                 "--per-doc", "--tokenizer", "simple", "-o", str(out)])
    assert result.exit_code == 0, result.output
    pooled, per_doc = out.read_text(encoding="utf-8").split("\n\n")
    rows = list(csv.DictReader(io.StringIO(pooled)))
    assert {"measure", "p", "bin", "precision", "recall", "f1"} == set(rows[0])
    assert any(r["measure"] == "token" for r in rows)
    doc_rows = list(csv.DictReader(io.StringIO(per_doc)))
    assert {r["document"] for r in doc_rows} == {"d1", "d2"}


def test_select_applies_to_gold_and_typed_compares_labels(files):
    selected = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"]), "--format", "json",
                                   "--select", "d[certainty=positive]"])
    assert json.loads(selected.output)["gold_spans"] == 1
    typed = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"]), "--format", "json",
                                "--typed"])
    assert json.loads(typed.output)["wsm"]["1"]["f1"] == 0.0  # gold is "d", predictions "concept"


def test_paired_adds_the_comparison(files):
    result = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"]), "--format", "json",
                                 "--paired", str(files["other"])])
    assert result.exit_code == 0, result.output
    paired = json.loads(result.output)["paired"]
    assert paired["difference"] > 0 and 0 < paired["p_value"] <= 1


def test_errors_are_coded(files, tmp_path):
    changed = tmp_path / "changed.jsonl"
    write_corpus(Corpus([Document("d1", TEXT.replace("疼痛", "頭痛"), []),
                         Document("d2", "間質性肺炎の既往あり。", [])]), changed)
    result = runner.invoke(app, ["score", str(files["gold"]), str(changed)])
    assert isinstance(result.exception, ScoringError) and result.exception.code == "E051"
    half = tmp_path / "half.jsonl"
    write_corpus(Corpus([Document("d1", TEXT, [])]), half)
    result = runner.invoke(app, ["score", str(files["gold"]), str(half)])
    assert isinstance(result.exception, ScoringError) and result.exception.code == "E050"
    result = runner.invoke(app, ["score", str(files["gold"]), str(half), "--allow-missing",
                                 "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["char"]["recall"] == 0.0
    result = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"]), "--p", "0.5"])
    assert isinstance(result.exception, ConfigError) and result.exception.code == "E053"


def test_parse_p_values():
    assert parse_p_values(["1,1.5", "inf"]) == (1.0, 1.5, float("inf"))
    assert parse_p_values(None) is None
    with pytest.raises(ConfigError):
        parse_p_values(["one"])


def test_table_with_per_document_scores(files):
    result = runner.invoke(app, ["score", str(files["gold"]), str(files["pred"]), "--per-doc"])
    assert result.exit_code == 0, result.output
    assert "per-document scores" in result.output and "d2" in result.output
