"""Pretraining text input: plain text by line or file, directories, JSONL, eccr corpora; errors; exclusion."""

from __future__ import annotations

import json

import pytest

from eccr.corpus.types import Document
from eccr.errors import ConfigError, InputError
from eccr.pretrain.texts import exclude_corpora, exclude_overlapping, read_pretraining_texts


def test_lines_bom_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("\ufeff発熱あり。\r\n\r\n  \r\n咳嗽なし。\r\n".encode())
    texts = read_pretraining_texts([path])
    assert [(d.id, d.text) for d in texts.documents] == [
        ("notes.txt:1", "発熱あり。"), ("notes.txt:4", "咳嗽なし。")]
    (source,) = texts.sources
    assert (source.kind, source.documents, source.characters) == ("lines", 2, 10)
    assert len(source.sha256) == 64 and texts.characters() == 10
    assert texts.texts == ["発熱あり。", "咳嗽なし。"]


def test_whole_file_unit_keeps_line_ends(tmp_path):
    path = tmp_path / "note.log"
    path.write_bytes("発熱。\r\n咳嗽。\r\n".encode())
    texts = read_pretraining_texts([path], unit="file")
    assert [(d.id, d.text) for d in texts.documents] == [("note.log", "発熱。\r\n咳嗽。\r\n")]
    assert texts.sources[0].kind == "file"


def test_directory_one_document_per_txt_file(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "b.txt").write_text("二つ目\n二行目\n", encoding="utf-8")
    (folder / "a.txt").write_text("一つ目", encoding="utf-8")
    (folder / "skip.md").write_text("読まない", encoding="utf-8")
    texts = read_pretraining_texts([folder])
    assert [d.id for d in texts.documents] == ["notes/a.txt", "notes/b.txt"]
    assert texts.sources[0].kind == "file"
    by_line = read_pretraining_texts([folder], unit="line")
    assert [d.id for d in by_line.documents] == ["notes/a.txt:1", "notes/b.txt:1", "notes/b.txt:2"]
    before = texts.sources[0].sha256
    (folder / "a.txt").write_text("変更", encoding="utf-8")
    assert read_pretraining_texts([folder]).sources[0].sha256 != before


def test_jsonl_field_and_ids_unique_across_sources(tmp_path):
    one, two = tmp_path / "x", tmp_path / "y"
    one.mkdir()
    two.mkdir()
    for folder in (one, two):
        (folder / "t.jsonl").write_text(
            json.dumps({"text": "本文です"}, ensure_ascii=False) + "\n\n"
            + json.dumps({"body": "b", "text": "次"}) + "\n", encoding="utf-8")
    texts = read_pretraining_texts([one / "t.jsonl", two / "t.jsonl"])
    assert [d.id for d in texts.documents] == ["t.jsonl:1", "t.jsonl:3", "t.jsonl#2:1", "t.jsonl#2:3"]
    assert [s.kind for s in texts.sources] == ["jsonl", "jsonl"]
    with pytest.raises(InputError) as err:
        read_pretraining_texts([one / "t.jsonl"], field="body")
    assert err.value.code == "E084" and err.value.location.line == 1


def test_jsonl_line_without_field_names_file_and_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a"}\n{"text": 3}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_pretraining_texts([path])
    assert err.value.code == "E084" and err.value.location.line == 2 and err.value.location.file == str(path)


def test_eccr_corpus_formats(sample_gold, tmp_path):
    from eccr.corpus.io import write_corpus

    write_corpus(list(sample_gold)[:3], tmp_path / "c.jsonl")
    write_corpus(list(sample_gold)[:3], tmp_path / "brat", "brat")
    write_corpus(list(sample_gold)[:3], tmp_path / "c.conll")
    texts = read_pretraining_texts([tmp_path / "c.jsonl", tmp_path / "brat", tmp_path / "c.conll"])
    expected = [d.text for d in list(sample_gold)[:3]]
    assert texts.texts[:3] == expected and texts.texts[3:6] == expected
    assert [s.kind for s in texts.sources] == ["jsonl", "corpus:brat", "corpus:conll"]
    assert texts.documents[3].id == f"brat:{next(iter(sample_gold)).id}"


def test_medtxt_corpus(medtxt_path):
    texts = read_pretraining_texts([medtxt_path])
    assert texts.sources[0].kind == "corpus:medtxt" and texts.sources[0].documents == 148


@pytest.mark.parametrize("content", [b"", b"\n \n\r\n", b"\xef\xbb\xbf"])
def test_empty_sources_are_e120(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_pretraining_texts([path])
    assert err.value.code == "E120" and err.value.location.file == str(path)


def test_empty_directory_and_empty_member_are_e120(tmp_path):
    with pytest.raises(InputError, match=r"no \*\.txt") as err:
        read_pretraining_texts([tmp_path])
    assert err.value.code == "E120"
    (tmp_path / "a.txt").write_text("本文", encoding="utf-8")
    (tmp_path / "b.txt").write_text("", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_pretraining_texts([tmp_path])
    assert err.value.code == "E120" and err.value.location.file.endswith("b.txt")


def test_missing_path_invalid_utf8_and_bad_unit(tmp_path):
    with pytest.raises(ConfigError) as err:
        read_pretraining_texts([tmp_path / "nope.txt"])
    assert err.value.code == "E043"
    bad = tmp_path / "bad.txt"
    bad.write_bytes("発熱\n".encode() + b"ok\xff\n")
    with pytest.raises(InputError) as err:
        read_pretraining_texts([bad])
    assert err.value.code == "E001" and "byte offset 9" in err.value.message
    assert err.value.location.file == str(bad) and err.value.location.line == 2
    with pytest.raises(ConfigError) as err:
        read_pretraining_texts([bad], unit="sentence")  # type: ignore[arg-type]
    assert err.value.code == "E121"
    with pytest.raises(ConfigError) as err:
        read_pretraining_texts([])
    assert err.value.code == "E121"


def test_exclude_overlapping_removes_duplicates_and_shared_sentences(tmp_path):
    one, two = tmp_path / "a.txt", tmp_path / "b.txt"
    one.write_text("胸部ＣＴで両側肺野にすりガラス影を認めた。翌日解熱した。\n頭部MRIでは異常を認めなかった。\n",
                   encoding="utf-8")
    two.write_text("胸部CTで両側肺野にすりガラス影を認めた。抗菌薬を開始した。\n無関係の文。\n",
                   encoding="utf-8")
    texts = read_pretraining_texts([one, two])
    reference = [Document("t1", "胸部CTで両側肺野にすりガラス影を認めた。抗菌薬を開始した。")]
    kept = exclude_overlapping(texts, reference)
    assert [d.id for d in kept.documents] == ["a.txt:2", "b.txt:2"]
    assert [(s.documents, s.removed) for s in kept.sources] == [(2, 1), (2, 1)]
    assert kept.exclusion.counts() == {"candidates": 4, "duplicate": 1, "shared-sentence": 1, "kept": 2}
    again = exclude_overlapping(kept, [Document("t2", "無関係の文。")])
    assert [(s.documents, s.removed) for s in again.sources] == [(2, 1), (2, 2)]


def test_exclude_corpora_reads_the_labelled_corpus_and_refuses_an_empty_result(tmp_path):
    from eccr.corpus.io import write_corpus

    notes = tmp_path / "notes.txt"
    notes.write_text("胸部CTで両側肺野にすりガラス影を認めた。抗菌薬を開始した。\n頭部MRIでは異常を認めなかった。\n",
                     encoding="utf-8")
    corpus = tmp_path / "gold.jsonl"
    write_corpus([Document("t1", "胸部ＣＴで両側肺野にすりガラス影を認めた。抗菌薬を開始した。")], corpus)
    texts = read_pretraining_texts([notes])
    assert exclude_corpora(texts, []) is texts
    kept = exclude_corpora(texts, [corpus])
    assert [d.id for d in kept.documents] == ["notes.txt:2"] and kept.exclusion.counts()["duplicate"] == 1
    with pytest.raises(InputError) as err:
        exclude_corpora(read_pretraining_texts([corpus]), [corpus])
    assert err.value.code == "E125" and str(corpus) in str(err.value)
