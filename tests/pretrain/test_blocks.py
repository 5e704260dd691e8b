"""Document split and block packing for pretraining (:mod:`eccr.pretrain.blocks`)."""

from __future__ import annotations

import pytest

from eccr.errors import ConfigError, InputError
from eccr.pretrain.blocks import document_separator, pack_blocks, special_frame, split_documents
from eccr.pretrain.masking import token_word_ids
from eccr.pretrain.tokenizer import load_tokenizer

TEXTS = ["患者は発熱を認めた。", "胸部ＣＴで両側肺野にすりガラス影を認めた。",
         "抗菌薬を開始し、翌日解熱した。"] * 4


def test_split_is_by_document_eighty_twenty_and_seeded() -> None:
    train, valid = split_documents(50, seed=3)
    assert len(valid) == 10 and len(train) == 40
    assert sorted(train + valid) == list(range(50))
    assert split_documents(50, seed=3) == (train, valid)
    assert split_documents(50, seed=4) != (train, valid)
    assert split_documents(2) in (([0], [1]), ([1], [0]))


def test_split_needs_two_documents_and_a_sane_fraction() -> None:
    with pytest.raises(InputError) as err:
        split_documents(1)
    assert err.value.code == "E130"
    with pytest.raises(ConfigError) as err:
        split_documents(10, validation_fraction=1.0)
    assert err.value.code == "E131"


def test_encoder_blocks_are_framed_full_and_hold_the_documents_in_order(unigram_tokenizer_dir) -> None:
    tok = load_tokenizer(unigram_tokenizer_dir)
    assert special_frame(tok) == ((tok.cls_token_id,), (tok.sep_token_id,))
    blocks = pack_blocks(TEXTS, tok, block_size=16)
    assert all(b[0] == tok.cls_token_id and b[-1] == tok.sep_token_id for b in blocks.input_ids)
    assert all(len(b) == 16 for b in blocks.input_ids[:-1]) and 2 < len(blocks.input_ids[-1]) <= 16
    stream = [i for b in blocks.input_ids for i in b[1:-1]]
    expected: list[int] = []
    for n, text in enumerate(TEXTS):
        expected += ([tok.sep_token_id] if n else []) + tok(text, add_special_tokens=False)["input_ids"]
    assert stream == expected
    assert blocks.tokens == len(expected) - (len(TEXTS) - 1) and blocks.documents == len(TEXTS)
    assert blocks.word_ids is None and blocks.examples()[0] == {"input_ids": list(blocks.input_ids[0])}


def test_decoder_blocks_start_with_bos_and_separate_documents_with_eos(unigram_decoder_tokenizer_dir) -> None:
    tok = load_tokenizer(unigram_decoder_tokenizer_dir)
    assert special_frame(tok) == ((tok.bos_token_id,), ())
    assert document_separator(tok) == tok.eos_token_id
    blocks = pack_blocks(TEXTS[:3], tok, block_size=1000)
    assert len(blocks) == 1 and blocks.input_ids[0][0] == tok.bos_token_id
    assert list(blocks.input_ids[0]).count(tok.eos_token_id) == 2


def test_word_ids_follow_the_tokens_and_mark_specials(unigram_tokenizer_dir) -> None:
    tok = load_tokenizer(unigram_tokenizer_dir)
    blocks = pack_blocks(TEXTS[:3], tok, block_size=12, word_ids=token_word_ids)
    assert blocks.word_ids is not None
    for ids, words in zip(blocks.input_ids, blocks.word_ids, strict=True):
        assert len(ids) == len(words) and words[0] == -1 and words[-1] == -1
        assert all((w == -1) == (i in (tok.cls_token_id, tok.sep_token_id)) for i, w in zip(ids, words,
                                                                                           strict=True))
    flat = [w for words in blocks.word_ids for w in words if w >= 0]
    assert flat == sorted(flat)  # numbered across the stream, never reused by a later document


def test_block_size_must_leave_room_and_text_must_hold_tokens(unigram_tokenizer_dir) -> None:
    tok = load_tokenizer(unigram_tokenizer_dir)
    with pytest.raises(ConfigError) as err:
        pack_blocks(TEXTS, tok, block_size=2)
    assert err.value.code == "E132"
    with pytest.raises(InputError) as err:
        pack_blocks([""], tok, block_size=8)
    assert err.value.code == "E130"
