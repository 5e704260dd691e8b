"""``eccr stats``: JSON keys, table, selection."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from eccr.cli.common import OutputFormat
from eccr.cli.main import app
from eccr.cli.stats import render_stats
from eccr.corpus import read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.data import SAMPLE_PATH

runner = CliRunner()


def test_json_has_exactly_the_documented_keys(tmp_path):
    path = tmp_path / "c.jsonl"
    spans = [Span(0, 2, "d", {"certainty": "positive"}), Span(3, 5, "a"), Span(5, 30, "d")]
    write_corpus([Document("a", "発熱と咳嗽" * 6, spans)], path)
    result = runner.invoke(app, ["stats", str(path), "--format", "json", "--select", "d"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["documents", "characters", "spans", "labels", "length_bins"]
    assert data == {"documents": 1, "characters": 30, "spans": 2, "labels": {"d": 2},
                    "length_bins": {"1-2": 1, "3-6": 0, "7-10": 0, "11-20": 0, ">=21": 1}}


def test_table_and_csv_on_sample():
    result = runner.invoke(app, ["stats", str(SAMPLE_PATH)])
    assert result.exit_code == 0, result.output
    stats = read_corpus(SAMPLE_PATH).stats()
    assert "documents" in result.output and f"{stats.spans:,}" in result.output
    assert "length >=21" in result.output
    text = render_stats(stats, OutputFormat.csv)
    assert text.startswith("key,value\n") and f"spans,{stats.spans}\n" in text


def test_lenient_report_goes_to_the_file_or_to_stderr(tmp_path):
    source = tmp_path / "bad.txt"
    source.write_text("発熱\n咳##嗽\n", encoding="utf-8")
    strict = runner.invoke(app, ["stats", str(source)])
    assert strict.exit_code != 0 and strict.exception.code == "E030"
    report = tmp_path / "problems.json"
    result = runner.invoke(app, ["stats", str(source), "--lenient", "--report", str(report),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["characters"] == 2 + 4  # "咳##嗽": the unmatched '##' is kept as text
    problems = json.loads(report.read_text(encoding="utf-8"))
    assert [(p["code"], p["line"], p["doc_id"]) for p in problems["problems"]] == [("E030", 2, "bad-0002")]
    printed = runner.invoke(app, ["stats", str(source), "--lenient", "--format", "json"])
    assert printed.exit_code == 0 and '"E030"' in printed.stderr


def test_csv_quotes_a_label_with_a_comma(tmp_path):
    import csv
    import io

    path = tmp_path / "c.jsonl"
    write_corpus([Document("a", "発熱と咳嗽", [Span(0, 2, 'd,"x"'), Span(3, 5, "a")])], path)
    text = render_stats(read_corpus(path).stats(), OutputFormat.csv)
    rows = list(csv.reader(io.StringIO(text)))
    assert all(len(row) == 2 for row in rows)
    assert ['label:d,"x"', "1"] in rows
