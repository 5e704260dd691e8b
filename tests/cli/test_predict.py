"""``eccr predict --model DIR INPUT... [-]``: inputs, formats, failures reported, the old form, html."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import read_corpus, write_corpus
from eccr.data import SAMPLE_PATH
from eccr.inference import Extractor

runner = CliRunner()


@pytest.fixture(scope="module")
def extractor(sample_crf):
    return Extractor.load(sample_crf[1])


def test_raw_text_files_directories_and_globs_keep_ids_and_text(tmp_path, sample_crf, sample_gold, extractor):
    notes = tmp_path / "notes"
    notes.mkdir()
    texts = {
        "a": "\ufeff" + sample_gold[31].text + "\r\n",
        "b": sample_gold[32].text,
        "c": sample_gold[33].text,
    }
    for name, text in texts.items():
        (notes / f"{name}.txt").write_text(text, encoding="utf-8", newline="")
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(sample_crf[1]),
            str(notes / "a.txt"),
            str(notes / "[bc].txt"),
            "--from",
            "text",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    predicted = read_corpus(out)
    assert predicted.ids == ["a", "b", "c"]
    assert predicted.get("a").text == texts["a"][1:]  # BOM removed, CRLF kept: offsets index the file's text
    for doc in predicted:
        assert list(doc.spans) == extractor.extract(doc.text)
    assert "predicted" in result.output and "documents/s" in result.output
    by_dir = runner.invoke(
        app,
        [
            "predict",
            "-m",
            str(sample_crf[1]),
            str(notes),
            "--from",
            "text",
            "--out",
            str(tmp_path / "d.jsonl"),
        ],
    )
    assert by_dir.exit_code == 0 and read_corpus(tmp_path / "d.jsonl") == predicted


def test_a_corpus_in_any_format_gold_ignored_written_in_another(tmp_path, sample_crf, sample_gold, extractor):
    out = tmp_path / "brat"  # a directory format: one .txt + .ann per document
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(sample_crf[1]),
            str(SAMPLE_PATH),
            "--from",
            "inline",
            "--out",
            str(out),
            "--to",
            "brat",
            "--batch-size",
            "7",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet: no progress, no summary
    back = read_corpus(out, "brat")
    assert sorted(back.ids) == sorted(sample_gold.ids)
    back = back.subset(sample_gold.ids)
    assert [list(d.spans) for d in back] == extractor.extract_many([d.text for d in sample_gold])


def test_stdin_as_text_and_as_jsonl(tmp_path, sample_crf, sample_gold, extractor):
    text = sample_gold[0].text
    result = runner.invoke(app, ["predict", "--model", str(sample_crf[1]), "-", "--quiet"], input=text)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["id"] == "stdin" and record["text"] == text
    assert [(s["start"], s["end"]) for s in record["spans"]] == [
        (s.start, s.end) for s in extractor.extract(text)
    ]
    write_corpus(sample_gold[:3], tmp_path / "in.jsonl")
    data = (tmp_path / "in.jsonl").read_bytes()
    result = runner.invoke(
        app,
        ["predict", "-m", str(sample_crf[1]), "-", "--from", "jsonl", "--to", "inline", "--quiet"],
        input=data,
    )
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3 and "@@" in result.stdout


def test_a_bad_input_is_reported_and_the_rest_predicted(tmp_path, sample_crf):
    (tmp_path / "good.txt").write_text("胸部Ｘ線写真で右胸水貯留を指摘された。", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xe7\x99\xba\xff")
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(sample_crf[1]),
            str(tmp_path / "*.txt"),
            "--from",
            "text",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert (
        "E001" in result.output
        and "bad.txt" in result.output
        and "1 input(s) or document(s) failed" in result.output
    )
    assert read_corpus(out).ids == ["good"]


def test_a_document_the_model_fails_on_is_reported_with_its_id(tmp_path, sample_crf, monkeypatch):
    from eccr.errors import ModelError
    from eccr.models.crf import CRFModel

    real = CRFModel.predict_documents

    def fussy(self, documents):
        if any("✗" in d.text for d in documents):
            raise ModelError("E079", "cannot tokenise faithfully")
        return real(self, documents)

    monkeypatch.setattr(CRFModel, "predict_documents", fussy)
    corpus = tmp_path / "in.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
            for i, t in [("n1", "発熱あり。"), ("n2", "✗ 咳嗽"), ("n3", "右胸水貯留。")]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(app, ["predict", "--model", str(sample_crf[1]), str(corpus), "--out", str(out)])
    assert result.exit_code == 1
    assert "E079" in result.output and "document 'n2'" in result.output
    assert read_corpus(out).ids == ["n1", "n3"]


def test_html_output_is_one_self_contained_page(tmp_path, sample_crf, sample_gold, extractor):
    out = tmp_path / "pred.html"
    result = runner.invoke(
        app,
        ["predict", "--model", str(sample_crf[1]), str(SAMPLE_PATH), "--from", "inline", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "http" not in page.replace("http-equiv", "")
    expected = extractor.extract(sample_gold[0].text)
    first = page.split('data-doc-id="sample-0001"')[1].split("</section>")[0]
    marks = [m.split(">", 1)[1] for m in first.split("<mark")[1:]]
    assert [m.split("</mark>")[0] for m in marks] == [sample_gold[0].text[s.start : s.end] for s in expected]


def test_old_positional_form_still_works_and_errors_are_coded(tmp_path, sample_crf):
    note = tmp_path / "note.txt"
    note.write_text("胸部Ｘ線写真で右胸水貯留を指摘された。", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = runner.invoke(
        app, ["predict", str(sample_crf[1]), str(note), "--from", "text", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "old form" in result.output and read_corpus(out).ids == ["note"]
    for args, code in [
        ([str(note)], "E168"),
        ([str(tmp_path / "missing.txt"), "-m", str(sample_crf[1])], "E043"),
        ([str(tmp_path / "*.none"), "-m", str(sample_crf[1])], "E043"),
        ([str(note), "-m", str(tmp_path)], "E060"),
        ([str(note), "-m", str(sample_crf[1]), "--to", "brat"], "E168"),
        ([str(note), "-m", str(sample_crf[1]), "--engine", "spark"], "E168"),
        (["-", "-", "-m", str(sample_crf[1])], "E167"),
    ]:
        result = runner.invoke(app, ["predict", *args])
        assert result.exit_code != 0 and code in str(result.exception), (args, result.output)
