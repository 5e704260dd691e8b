"""Regression tests of the seven must-fix cases of the hardening issue, through the command line.

Cases 1 (damaged ``crf.crfsuite``) and 2 (code in a model directory) are in ``tests/models/test_manifest.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eccr.corpus.io import read_corpus, write_corpus
from eccr.corpus.types import Document, Span
from eccr.errors import EccrError


def test_3_predict_reads_raw_text_as_the_corpus_readers_read_files(eccr_cli, sample_crf, tmp_path) -> None:
    """CRLF kept (offsets index the file's text), the BOM removed by the one documented rule."""
    model, directory = sample_crf
    text = "既往歴：高血圧。\r\n発熱と咳嗽を認めた。\r\n両下肢に浮腫あり。\r\n"
    note = tmp_path / "note.txt"
    note.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = tmp_path / "pred.jsonl"
    result = eccr_cli("predict", directory, note, "--from", "text", "--out", out)
    assert result.code == 0, result.stderr
    (doc,) = read_corpus(out)
    assert doc.id == "note" and doc.text == text  # CRs kept, BOM gone
    assert note.read_bytes()[3:].decode("utf-8") == doc.text  # so offsets index the file after the BOM
    assert list(doc.spans) == model.predict_text(text)
    assert doc.spans and all(doc.text[s.start : s.end] == text[s.start : s.end] for s in doc.spans)


def test_3_txt_means_inline_in_predict_convert_and_cv(eccr_cli, sample_crf, tmp_path) -> None:
    """One meaning of .txt everywhere: the inline format (markers parsed, one document per line)."""
    _, directory = sample_crf
    source = tmp_path / "notes.txt"
    source.write_text("@@発熱##を認めた。\n咳嗽なし。\n", encoding="utf-8")
    assert eccr_cli("convert", source, tmp_path / "c.jsonl").code == 0
    assert eccr_cli("predict", directory, source, "--out", tmp_path / "p.jsonl").code == 0
    converted, predicted = read_corpus(tmp_path / "c.jsonl"), read_corpus(tmp_path / "p.jsonl")
    assert converted.ids == predicted.ids == ["notes-0001", "notes-0002"]
    assert [d.text for d in converted] == [d.text for d in predicted] == ["発熱を認めた。", "咳嗽なし。"]
    raw = eccr_cli("convert", source, tmp_path / "raw.jsonl", "--from", "text")
    assert raw.code == 0 and read_corpus(tmp_path / "raw.jsonl")[0].text == source.read_text(encoding="utf-8")


def test_4_a_lone_surrogate_is_refused_at_read_time(eccr_cli, tmp_path) -> None:
    source = tmp_path / "s.jsonl"
    source.write_text('{"id": "ok", "text": "発熱"}\n{"id": "a", "text": "咳\\ud83d嗽"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = eccr_cli("convert", source, out)
    assert result.code == 2 and not out.exists()  # no 0-byte output
    assert result.stderr.startswith('error [E003] "text" holds a lone surrogate \\ud83d at character 1')
    assert f"file {source}, line 2, document 'a', offset 1" in result.stderr


#: Per output, a document its writer cannot write (each writer raises its own coded error).
UNWRITABLE = {
    "c.xml": Document("b", "頭\x01痛", [Span(0, 2, "d")]),  # a character XML 1.0 cannot hold
    "c.jsonl": Document("b", "頭痛", [Span(0, 2, "d")], {"k": object()}),  # meta JSON cannot hold
    "c.conll": Document("b", "頭痛", [Span(0, 2, "d"), Span(1, 2, "d")]),  # overlapping spans
    "c.txt": Document("b", "頭痛", [Span(0, 2, "d"), Span(1, 2, "d")]),
    "c.csv": Document("b", "頭痛", [Span(0, 2, "d")], {"jmedllm": {"instruction": "指示\n「x", "tag": "d"}}),
    "brat-dir": Document("b/../x", "頭痛", [Span(0, 2, "d")]),  # an id no file name can carry
}


@pytest.mark.parametrize("target", sorted(UNWRITABLE))
def test_5_a_failed_write_leaves_the_previous_output_untouched(tmp_path, target) -> None:
    good = [Document("a", "発熱と咳嗽。", [Span(0, 2, "d")]), Document("c", "頭痛。", [Span(0, 2, "d")])]
    path = tmp_path / target
    fmt = "brat" if target == "brat-dir" else None
    write_corpus(good, path, fmt)
    before = snapshot(path)
    with pytest.raises(EccrError):
        write_corpus([*good, UNWRITABLE[target]], path, fmt)
    assert snapshot(path) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".eccr-tmp-")]


def snapshot(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir())}
    return {path.name: path.read_bytes()}


def test_5_the_cli_reports_a_failed_write_and_keeps_the_old_xml(eccr_cli, tmp_path) -> None:
    out = tmp_path / "c.xml"
    write_corpus([Document("a", "発熱", [Span(0, 2, "d")])], out)
    before = out.read_bytes()
    source = tmp_path / "in.jsonl"
    lines = [{"id": f"d{i}", "text": "発熱" * 50, "spans": [{"start": 0, "end": 2, "label": "d"}]}
             for i in range(30)]
    lines.append({"id": "late", "text": "発熱", "spans": [{"start": 0, "end": 2, "label": "bad tag"}]})
    source.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    result = eccr_cli("convert", source, out)
    assert result.code == 2 and "[E025]" in result.stderr and "document 'late'" in result.stderr
    assert out.read_bytes() == before


def test_6_convert_in_place_loses_nothing_when_the_write_fails(eccr_cli, tmp_path) -> None:
    path = tmp_path / "c.conll"
    write_corpus([Document("a", "発熱 咳嗽", [Span(0, 2, "d")]),
                  Document("b", "発熱 咳嗽", [Span(0, 1, "d")])], path)
    before = path.read_bytes()
    # token mode with " " between tokens cannot hold document b's span (it ends inside a token)
    token_mode = ("--write-option", "mode=token", "--write-option", 'separator=" "')
    result = eccr_cli("convert", path, path, *token_mode)
    assert result.code == 2 and "[E025]" in result.stderr and "document 'b'" in result.stderr
    assert path.read_bytes() == before and len(read_corpus(path)) == 2
    assert eccr_cli("convert", path, path).code == 0 and read_corpus(path).ids == ["a", "b"]


def test_7_jmedllm_writes_the_label_as_the_tag_or_refuses(eccr_cli, tmp_path) -> None:
    source = tmp_path / "c.jsonl"
    write_corpus([Document("a", "発熱と咳嗽。", [Span(0, 2, "d"), Span(3, 5, "a")]),
                  Document("b", "頭痛。", [Span(0, 2, "concept")])], source)
    mixed = eccr_cli("convert", source, tmp_path / "m.csv")
    assert mixed.code == 2
    assert mixed.stderr.startswith("error [E025] the corpus has 3 span labels (a, concept, d)")
    assert not (tmp_path / "m.csv").exists()
    single = eccr_cli("convert", source, tmp_path / "a.csv", "--select", "a")
    assert single.code == 0, single.stderr
    back = read_corpus(tmp_path / "a.csv")
    assert [s.label for d in back for s in d.spans] == ["a"]  # not silently "d"
    forced = eccr_cli("convert", source, tmp_path / "all.csv", "--write-option", "tag=d")
    assert forced.code == 0 and {s.label for d in read_corpus(tmp_path / "all.csv") for s in d.spans} == {"d"}


def test_7_a_conversion_jmedllm_cannot_hold_warns_with_counts(eccr_cli, tmp_path) -> None:
    source = tmp_path / "c.jsonl"
    # touching spans merge, and every occurrence of a listed string becomes a span
    write_corpus([Document("a", "発熱発熱と咳嗽", [Span(0, 2, "d"), Span(2, 4, "d")]),
                  Document("b", "咳嗽と咳嗽", [Span(0, 2, "d")]),
                  Document("c", "頭痛", [Span(0, 2, "d")])], source)
    result = eccr_cli("convert", source, tmp_path / "c.csv")
    assert result.code == 0
    assert ("warning [E026] JMED-LLM lists answer strings, not offsets: 2 of 3 documents will not read back "
            "as written — their 3 spans come back as 3") in result.stderr
