"""``eccr convert``: formats, selection, inline options, lenient report, errors."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus import read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.data import SAMPLE_PATH
from eccr.errors import EccrError

runner = CliRunner()


def test_sample_to_jsonl_and_back_to_inline(tmp_path):
    out = tmp_path / "s.jsonl"
    result = runner.invoke(app, ["convert", str(SAMPLE_PATH), str(out)])
    assert result.exit_code == 0, result.output
    assert "(inline) ->" in result.output and "(jsonl)" in result.output
    back = tmp_path / "s.txt"
    assert runner.invoke(app, ["convert", str(out), str(back)]).exit_code == 0
    assert back.read_bytes() == SAMPLE_PATH.read_bytes().replace(b"\r\n", b"\n")


def test_select_and_explicit_formats(tmp_path):
    source = tmp_path / "c.data"
    write_corpus([Document("a", "発熱と咳嗽", [Span(0, 2, "d", {"certainty": "positive"}), Span(3, 5, "a")])],
                 source, "jsonl")
    out = tmp_path / "c.out"
    result = runner.invoke(app, ["convert", str(source), str(out), "--from", "jsonl", "--to", "inline",
                                 "--select", "d[certainty=positive]", "--inline-ids"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == "a\t@@発熱##と咳嗽\n"
    assert read_corpus(out, "inline", with_ids=True, label="d")[0].spans == (Span(0, 2, "d"),)


def test_multi_label_to_inline_needs_drop_labels(tmp_path):
    source = tmp_path / "c.jsonl"
    write_corpus([Document("a", "発熱と咳嗽", [Span(0, 2, "d"), Span(3, 5, "a")])], source)
    result = runner.invoke(app, ["convert", str(source), str(tmp_path / "o.txt")])
    assert isinstance(result.exception, EccrError) and result.exception.code == "E048"
    result = runner.invoke(app, ["convert", str(source), str(tmp_path / "o.txt"), "--drop-labels"])
    assert result.exit_code == 0
    assert (tmp_path / "o.txt").read_text(encoding="utf-8") == "@@発熱##と@@咳嗽##\n"


def test_lenient_writes_report_and_keeps_everything(tmp_path):
    source = tmp_path / "bad.txt"
    source.write_text("@@発熱##あり\n咳##嗽\n\n", encoding="utf-8")
    report = tmp_path / "report.json"
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["convert", str(source), str(out), "--lenient", "--report", str(report)])
    assert result.exit_code == 0, result.output
    problems = json.loads(report.read_text(encoding="utf-8"))
    assert problems["count"] == 2
    assert [(p["code"], p["line"], p["doc_id"]) for p in problems["problems"]] == [
        ("E030", 2, "bad-0002"), ("E020", 3, "bad-0003")]
    assert problems["problems"][0]["offset"] == 1 and problems["problems"][0]["file"] == str(source)
    corpus = read_corpus(out, lenient=True)
    assert [d.text for d in corpus] == ["発熱あり", "咳##嗽", ""]


def test_lenient_without_report_prints_problems(tmp_path):
    source = tmp_path / "bad.txt"
    source.write_text("咳##嗽\n", encoding="utf-8")
    result = runner.invoke(app, ["convert", str(source), str(tmp_path / "o.jsonl"), "--lenient"])
    assert result.exit_code == 0 and '"E030"' in result.output and "1 problem(s) reported" in result.output


def test_error_exits_2_with_one_coded_line(tmp_path):
    source = tmp_path / "bad.txt"
    source.write_text("ok\n咳##嗽\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "eccr", "convert", str(source), str(tmp_path / "o.jsonl")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "[E030]" in proc.stderr and "line 2" in proc.stderr and "bad-0002" in proc.stderr
    assert "offset 1" in proc.stderr and str(source) in proc.stderr.replace("\n", "")
