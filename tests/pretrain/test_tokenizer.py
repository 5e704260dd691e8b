"""Locally trained tokenizers: special tokens per role, save/load, byte fallback switch, clear errors."""

from __future__ import annotations

import json

import pytest

from eccr.align import align_text, check_tokenizer
from eccr.errors import ConfigError, InputError
from eccr.pretrain.tokenizer import (
    BYTE_PIECES,
    byte_fallback_of,
    load_tokenizer,
    read_texts,
    set_byte_fallback,
    train_char_tokenizer,
    train_unigram_tokenizer,
)


def test_encoder_special_tokens_and_template(unigram_bytefallback_tokenizer_dir):
    tok = load_tokenizer(unigram_bytefallback_tokenizer_dir)
    assert tok.is_fast
    assert (tok.cls_token, tok.sep_token, tok.pad_token, tok.unk_token, tok.mask_token) == (
        "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")
    ids = tok("発熱")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert byte_fallback_of(tok) is True and set(BYTE_PIECES) <= set(tok.get_vocab())
    assert len(tok) == 1256


def test_decoder_special_tokens(unigram_decoder_tokenizer_dir):
    tok = load_tokenizer(unigram_decoder_tokenizer_dir)
    assert (tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token) == ("<s>", "</s>", "<pad>", "<unk>")
    ids = tok("発熱")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] != tok.eos_token_id  # Llama style: BOS only
    assert tok.padding_side == "right"


def test_unigram_without_byte_fallback_has_no_byte_pieces(unigram_tokenizer_dir):
    tok = load_tokenizer(unigram_tokenizer_dir)
    assert byte_fallback_of(tok) is False and "<0xE9>" not in tok.get_vocab()
    al = align_text(tok, "齟齬")  # a "▁" marker without characters, then one [UNK] for both
    assert al.input_ids[-1] == tok.unk_token_id and al.offsets == ((0, 0), (0, 2))


def test_byte_fallback_switch_round_trip(unigram_bytefallback_tokenizer_dir, tmp_path):
    tok = load_tokenizer(unigram_bytefallback_tokenizer_dir)
    off = set_byte_fallback(tok, False)
    assert byte_fallback_of(off) is False and byte_fallback_of(tok) is True  # the original is untouched
    assert off.convert_ids_to_tokens(off("齟")["input_ids"]) == ["[CLS]", "▁", "[UNK]", "[SEP]"]
    on = set_byte_fallback(off, True)
    assert on("齟")["input_ids"] == tok("齟")["input_ids"]
    off.save_pretrained(str(tmp_path / "off"))
    assert byte_fallback_of(load_tokenizer(tmp_path / "off")) is False
    assert byte_fallback_of(load_tokenizer(unigram_bytefallback_tokenizer_dir, byte_fallback=False)) is False
    with pytest.raises(ConfigError) as err:
        set_byte_fallback(load_tokenizer(unigram_tokenizer_dir_of(tmp_path)), True)
    assert err.value.code == "E081"


def unigram_tokenizer_dir_of(tmp_path):
    tok = train_unigram_tokenizer(["発熱を認めた。", "咳嗽を認めた。"], vocab_size=40, byte_fallback=False)
    tok.save_pretrained(str(tmp_path / "tiny"))
    return tmp_path / "tiny"


def test_char_tokenizer_one_token_per_character(char_tokenizer_dir):
    tok = load_tokenizer(char_tokenizer_dir)
    text = "ＣＴ １５㎎ ①ｱ"
    al = align_text(tok, text)
    assert [text[s:e] for s, e in al.offsets] == [ch for ch in text if not ch.isspace()]
    assert byte_fallback_of(tok) is None
    assert check_tokenizer(tok, [text]).ok


def test_vocabulary_too_small_is_a_clear_error():
    with pytest.raises(ConfigError) as err:
        train_unigram_tokenizer(["発熱と咳嗽と呼吸困難を認めた"], vocab_size=10, byte_fallback=False)
    assert err.value.code == "E080" and "distinct characters" in str(err.value)
    with pytest.raises(ConfigError):
        train_unigram_tokenizer(["abc"], role="seq2seq")  # type: ignore[arg-type]


def test_no_training_text_is_an_error():
    with pytest.raises(InputError):
        train_char_tokenizer(["", "  "])


def test_read_texts(tmp_path):
    jsonl = tmp_path / "t.jsonl"
    lines = json.dumps({"text": "発熱"}, ensure_ascii=False) + "\n\n" + '{"text": 3}\n'
    jsonl.write_text(lines, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_texts(jsonl)
    assert err.value.code == "E084" and err.value.location.line == 3
    plain = tmp_path / "t.txt"
    plain.write_text("発熱\n\n咳嗽\n", encoding="utf-8")
    assert read_texts(plain) == ["発熱", "咳嗽"]


def test_load_missing_tokenizer_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_tokenizer(tmp_path / "nothing-here")
    assert err.value.code == "E086"  # a local path that does not exist: refused before any Hub lookup


def test_char_tokenizer_keeping_whitespace():
    text = "発熱 と\u3000咳\n嗽"
    tok = train_char_tokenizer([text], keep_whitespace=True)
    al = align_text(tok, text + "鬱")
    assert [(text + "鬱")[s:e] for s, e in al.offsets] == list(text + "鬱")
    assert al.input_ids[-1] == tok.unk_token_id and check_tokenizer(tok, [text]).ok
