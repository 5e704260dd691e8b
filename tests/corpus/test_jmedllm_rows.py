"""JMED-LLM files asking several questions per text: --select TAG keeps that tag's rows; merge joins them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from eccr.corpus import read_corpus, write_corpus
from eccr.corpus.jmedllm import ANSWERS_KEY, FORMAT_KEY, ROWS_KEY, asked_labels
from eccr.errors import ConfigError
from eccr.metrics import score

KEY_Q = "以下の症例報告において、薬品名は？\n"
VAL_Q = "以下の症例報告において、処方量など薬品にかかわる値は？\n"
TEXT_A = "高血圧に対しアムロジピン5mgを開始した．"
TEXT_B = "疼痛にロキソプロフェン180mg/日を処方した．"
TEXT_C = "発熱に対しアセトアミノフェンを投与した．"


def medicine_file(tmp_path: Path) -> Path:
    """Text A asked for m-key and m-val, text B for m-val then m-key, text C for m-key only."""
    rows = [
        ("m-key", f"{KEY_Q}「{TEXT_A}」", "['アムロジピン']"),
        ("m-val", f"{VAL_Q}「{TEXT_B}」", "['180mg/日']"),
        ("m-key", f"{KEY_Q}「{TEXT_C}」", "['アセトアミノフェン']"),
        ("m-val", f"{VAL_Q}「{TEXT_A}」", "['5mg']"),
        ("m-key", f"{KEY_Q}「{TEXT_B}」", "['ロキソプロフェン']"),
    ]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["tag", "question", "answer"])
    writer.writerows(rows)
    path = tmp_path / "med.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return path


def surfaces(doc) -> list[tuple[str, str]]:
    return [(doc.span_text(s), s.label) for s in doc.spans]


def test_without_selection_every_row_is_a_document(tmp_path) -> None:
    corpus = read_corpus(medicine_file(tmp_path))
    assert corpus.ids == [f"med-{i:04d}" for i in range(1, 6)]
    assert [asked_labels(d) for d in corpus][:2] == [frozenset({"m-key"}), frozenset({"m-val"})]


def test_select_tag_keeps_only_the_rows_asked_about_it(tmp_path) -> None:
    path = medicine_file(tmp_path)
    keys = read_corpus(path, select="m-key")
    assert keys.ids == ["med-0001", "med-0003", "med-0005"]
    assert [surfaces(d) for d in keys] == [[("アムロジピン", "m-key")], [("アセトアミノフェン", "m-key")],
                                           [("ロキソプロフェン", "m-key")]]
    values = read_corpus(path, select="m-val")
    assert values.ids == ["med-0002", "med-0004"]
    assert read_corpus(path, select="m-key,m-val").ids == read_corpus(path).ids
    assert read_corpus(path, select="*").ids == read_corpus(path).ids


def test_other_rows_no_longer_count_as_false_positives(tmp_path) -> None:
    """Without row selection m-val rows stay as documents without gold: each prediction a false positive."""
    path = medicine_file(tmp_path)
    gold = read_corpus(path, select="m-key")
    everything = read_corpus(path)
    # a system that marks every drug name in every text it is given
    predicted = everything.map_spans(lambda d: [s for row in everything if row.text == d.text
                                                for s in row.spans if s.label == "m-key"])
    on_selected = score(gold, predicted.subset(gold.ids))
    assert on_selected.wsm[1.0].precision == 1.0 and on_selected.wsm[1.0].recall == 1.0
    spans_only = everything.select("m-key")  # the old behaviour: rows kept, spans dropped
    assert score(spans_only, predicted).wsm[1.0].precision < 1.0


def test_a_selection_matching_no_row_is_e156(tmp_path) -> None:
    with pytest.raises(ConfigError) as info:
        read_corpus(medicine_file(tmp_path), select="d[certainty=positive]")
    assert info.value.code == "E156"
    assert "m-key, m-val" in info.value.message and info.value.location.file.endswith("med.csv")


def test_merge_joins_rows_with_the_same_text_into_typed_documents(tmp_path) -> None:
    merged = read_corpus(medicine_file(tmp_path), merge=True)
    assert merged.ids == ["med-0001", "med-0002", "med-0003"]
    a, b, c = merged
    assert (a.text, surfaces(a)) == (TEXT_A, [("アムロジピン", "m-key"), ("5mg", "m-val")])
    assert surfaces(b) == [("ロキソプロフェン", "m-key"), ("180mg/日", "m-val")]
    assert a.meta[ANSWERS_KEY] == ["アムロジピン", "5mg"]
    assert [(r["id"], r["label"], r["line"]) for r in a.meta[ROWS_KEY]] == [("med-0001", "m-key", 2),
                                                                           ("med-0004", "m-val", 8)]
    assert FORMAT_KEY in c.meta and ROWS_KEY not in c.meta  # asked once: the one-row shape
    assert asked_labels(b) == frozenset({"m-key", "m-val"})


def test_merge_then_select_keeps_the_selected_rows_of_each_document(tmp_path) -> None:
    path = medicine_file(tmp_path)
    values = read_corpus(path, merge=True, select="m-val")
    # one selected row left: the document is that row again, as if read without merging
    assert values.ids == ["med-0004", "med-0002"]
    assert [(d.text, d.spans, dict(d.meta)) for d in values] == [
        (d.text, d.spans, dict(d.meta)) for d in read_corpus(path, select="m-val").subset(values.ids)]
    assert [surfaces(d) for d in values] == [[("5mg", "m-val")], [("180mg/日", "m-val")]]
    first = values[0]
    assert first.meta[ANSWERS_KEY] == ["5mg"] and first.meta[FORMAT_KEY]["tag"] == "m-val"
    out = tmp_path / "values.csv"
    write_corpus(values, out)  # one row per document again, each exactly as it was in the file
    lines = out.read_text(encoding="utf-8")
    assert lines.count("m-val,") == 2 and "'5mg'" in lines and "m-key" not in lines


def test_selected_rows_write_back_unchanged(tmp_path) -> None:
    path = medicine_file(tmp_path)
    out = tmp_path / "keys.csv"
    write_corpus(read_corpus(path, select="m-key"), out)
    original = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert list(csv.reader(io.StringIO(out.read_text(encoding="utf-8")))) == [
        original[0], *(row for row in original[1:] if row[0] == "m-key")]


def test_real_mrner_medicine(mrner_path) -> None:
    path = mrner_path.parent / "mrner_medicine.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    assert len(read_corpus(path)) == 100
    keys, values = read_corpus(path, select="m-key"), read_corpus(path, select="m-val")
    assert (len(keys), len(values)) == (66, 34)
    assert {s.label for d in keys for s in d.spans} == {"m-key"}
    merged = read_corpus(path, merge=True)
    assert len(merged) == 75  # 50 texts asked once, 25 asked twice
    assert sum(len(d.meta.get(ROWS_KEY, [None])) for d in merged) == 100
    assert sum(len(d.spans) for d in merged) == sum(len(d.spans) for d in read_corpus(path))
