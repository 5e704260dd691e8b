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
    assert isinstance(result.exception, EccrError) and result.exception.code == "E025"
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


# --- --read-option / --write-option ---------------------------------------------------------------------


def test_conll_token_mode_through_read_and_write_options(tmp_path):
    doc = Document("a", "発熱 と 咳嗽", [Span(0, 2, "d"), Span(5, 7, "d")])
    source = tmp_path / "c.jsonl"
    write_corpus([doc], source)
    conll = tmp_path / "c.conll"
    result = runner.invoke(app, ["convert", str(source), str(conll), "--write-option", "mode=token",
                                 "--write-option", 'separator=" "', "--write-option", "sentences=false"])
    assert result.exit_code == 0, result.output
    assert conll.read_text(encoding="utf-8") == "# id = a\n発熱\tB-d\nと\tO\n咳嗽\tB-d\n\n"
    back = tmp_path / "back.jsonl"
    result = runner.invoke(app, ["convert", str(conll), str(back), "--read-option", "mode=token",
                                 "--read-option", "separator= "])
    assert result.exit_code == 0, result.output
    (read_back,) = read_corpus(back)
    assert (read_back.id, read_back.text, read_back.spans) == (doc.id, doc.text, doc.spans)


def test_jmedllm_with_ids_write_option_keeps_ids(tmp_path):
    source = tmp_path / "c.jsonl"
    write_corpus([Document("case-7", "発熱あり", [Span(0, 2, "d")])], source)
    out = tmp_path / "c.csv"
    result = runner.invoke(app, ["convert", str(source), str(out), "--write-option", "with_ids=true"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == "tag,question,answer,id"
    assert list(read_corpus(out).ids) == ["case-7"]


def test_read_option_overrides_the_inline_flag(tmp_path):
    source = tmp_path / "c.txt"
    source.write_text("x\t@@発熱##\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    args = ["convert", str(source), str(out), "--inline-ids", "--read-option", 'label="d"']
    assert runner.invoke(app, args).exit_code == 0
    assert [(d.id, d.spans) for d in read_corpus(out)] == [("x", (Span(0, 2, "d"),))]
    result = runner.invoke(app, [*args, "--read-option", "with_ids=false"])
    assert result.exit_code == 0
    assert [d.text for d in read_corpus(out)] == ["x\t発熱"]


def test_unknown_option_names_format_and_accepted_options(tmp_path):
    source = tmp_path / "c.jsonl"
    write_corpus([Document("a", "発熱")], source)
    out = tmp_path / "o.conll"
    result = runner.invoke(app, ["convert", str(source), str(out), "--write-option", "with_ids=true"])
    err = result.exception
    assert isinstance(err, EccrError) and err.code == "E048"
    assert "unknown conll writer option 'with_ids'" in err.message
    accepted = "mode (default 'char'), separator (default ''), typed (default True), sentences (default True)"
    assert accepted in err.message
    result = runner.invoke(app, ["convert", str(source), str(out), "--read-option", "mode=token"])
    assert isinstance(result.exception, EccrError) and "the jsonl reader takes no options" in str(
        result.exception)
    assert not out.exists()


def test_bad_option_value_exits_2_with_a_coded_line(tmp_path):
    source = tmp_path / "c.jsonl"
    write_corpus([Document("a", "発熱")], source)
    proc = subprocess.run([sys.executable, "-m", "eccr", "convert", str(source), str(tmp_path / "o.conll"),
                           "--write-option", "mode=words"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error [E048] conll writer option mode='words' is not a valid value: "
                                   "choose one of 'char', 'token'")
