"""``eccr pretrain-tokenizer``: trained directories load, offsets round-trip, statistics, --check, errors."""

from __future__ import annotations

import json

import pytest

from eccr.align import align_text, check_tokenizer
from eccr.data import SAMPLE_PATH
from eccr.pretrain.provenance import read_provenance
from tests.conftest import RARE_KANJI

FULL_WIDTH = f"①７６歳女性．ＣＴで{RARE_KANJI}を認め，ｱｾﾄｱﾐﾉﾌｪﾝ ５００ｍｇ投与．"


@pytest.fixture(scope="module")
def training_file(tokenizer_training_texts, tmp_path_factory):
    path = tmp_path_factory.mktemp("texts") / "train.txt"
    lines = [t.replace("\n", " ") for t in tokenizer_training_texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("model", "fallback", "size"), [
    ("unigram", "on", 1200), ("unigram", "off", 900), ("bpe", "on", 1200), ("bpe", "off", 900)])
def test_offsets_round_trip_on_full_width_text(eccr_cli, training_file, tmp_path, model, fallback, size):
    from transformers import AutoTokenizer

    out = tmp_path / "tok"
    result = eccr_cli("pretrain-tokenizer", training_file, "--vocab-size", size, "--out", out,
                      "--model", model, "--byte-fallback", fallback, "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["statistics"]["vocab_size"] == len(AutoTokenizer.from_pretrained(str(out)))
    tok = AutoTokenizer.from_pretrained(str(out))
    assert tok.is_fast and tok.cls_token == "[CLS]" and tok.mask_token == "[MASK]"
    assert check_tokenizer(tok, [FULL_WIDTH]).ok
    alignment = align_text(tok, FULL_WIDTH)
    first = FULL_WIDTH.index(RARE_KANJI)  # the out-of-vocabulary characters: byte pieces or [UNK]
    rare = {tok.convert_ids_to_tokens(i) for i, (s, e) in zip(alignment.input_ids, alignment.offsets,
                                                             strict=True) if s <= first < e}
    assert rare and (all(p.startswith("<0x") for p in rare) if fallback == "on" else rare == {"[UNK]"})
    record = read_provenance(out)
    assert record.documents == data["documents"] and record.record["details"]["model"] == model


def test_statistics_on_a_hand_computable_text(eccr_cli, tmp_path):
    texts = tmp_path / "t.txt"
    texts.write_text("aaab\naa ab\n", encoding="utf-8")  # a ×6, b ×2: coverage 0.75 keeps only "a"
    result = eccr_cli("pretrain-tokenizer", texts, "--model", "char", "--character-coverage", "0.75",
                      "--out", tmp_path / "char", "--json")
    assert result.code == 0, result.stderr
    stats = json.loads(result.stdout)["statistics"]
    counts = (stats["vocab_size"], stats["characters"], stats["tokens"], stats["unknown_tokens"])
    assert counts == (6, 8, 8, 2)
    assert stats["character_coverage"] == 0.75 and stats["unknown_rate"] == 0.25
    assert stats["tokens_per_character"] == 1.0 and stats["byte_tokens"] == 0


def test_byte_fallback_statistics(tmp_path):
    from eccr.pretrain.tokenizer_training import tokenizer_statistics, train_tokenizer

    texts = ["ああああああああい"]  # coverage 0.8 keeps あ only: い is spelt in its 3 UTF-8 bytes
    tok = train_tokenizer(texts, model="bpe", vocab_size=300, character_coverage=0.8)
    stats = tokenizer_statistics(tok, texts)
    counts = (stats.characters, stats.uncovered_characters, stats.byte_tokens, stats.unknown_tokens)
    assert counts == (9, 1, 3, 0)
    assert stats.character_coverage == pytest.approx(8 / 9)


def test_table_output_with_check_and_exclude(eccr_cli, training_file, tmp_path, sample_gold):
    from eccr.corpus.io import write_corpus

    gold = tmp_path / "gold.jsonl"
    write_corpus(list(sample_gold)[:5], gold)
    both = tmp_path / "both.txt"
    both.write_text(training_file.read_text(encoding="utf-8") + sample_gold[0].text.replace("\n", " ") + "\n",
                    encoding="utf-8")
    out = tmp_path / "tok"
    result = eccr_cli("pretrain-tokenizer", both, "--vocab-size", 1200, "--out", out, "--exclude", gold,
                      "--check", SAMPLE_PATH, "--check-from", "inline", "--select", "d")
    assert result.code == 0, result.stderr
    for text in ("vocabulary size", "character coverage", "unknown-token rate", "tokens per character",
                 "training time", "tokenizer ceiling", "wsm", "overlapping documents excluded"):
        assert text in result.stdout
    record = read_provenance(out).record
    assert record["exclusion"]["duplicate"] >= 1 and record["details"]["exclude"] == [str(gold)]
    assert not read_provenance(out).check([sample_gold[0]]).found


@pytest.mark.parametrize(("setup", "args", "code"), [
    ("empty", ["--vocab-size", 500], "E120"),
    ("missing", ["--vocab-size", 500], "E043"),
    ("ok", ["--vocab-size", 20, "--byte-fallback", "off"], "E080"),
    ("ok", ["--vocab-size", 280], "E080"),
    ("ok", ["--vocab-size", 280, "--model", "bpe"], "E080"),
    ("ok", ["--vocab-size", 500, "--model", "wordpiece"], "E123"),
    ("ok", ["--model", "char", "--byte-fallback", "on"], "E123"),
    ("ok", [], "E123"),
    ("ok", ["--vocab-size", 500, "--character-coverage", "1.5"], "E080"),
    ("ok", ["--vocab-size", 500, "--check", "nope.jsonl"], "E043"),
])
def test_bad_inputs_are_coded_errors_without_output(eccr_cli, tmp_path, setup, args, code):
    texts = tmp_path / "t.txt"
    if setup == "empty":
        texts.write_text("\n\n", encoding="utf-8")
    elif setup == "ok":
        texts.write_text("発熱と咳嗽と呼吸困難を認めた。\n胸部ＣＴで異常なし。\n", encoding="utf-8")
    result = eccr_cli("pretrain-tokenizer", texts, "--out", tmp_path / "out", *args)
    assert result.code == 2 and f"[{code}]" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".eccr-tmp-")]


def test_out_must_not_be_a_foreign_directory(eccr_cli, training_file, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("大事", encoding="utf-8")
    result = eccr_cli("pretrain-tokenizer", training_file, "--vocab-size", 900, "--out", tmp_path / "notes")
    assert result.code == 2 and "[E124]" in result.stderr
    assert (tmp_path / "notes" / "keep.txt").read_text(encoding="utf-8") == "大事"
