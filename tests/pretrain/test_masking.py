"""Whole-word masking over MeCab words, token masking, frozen validation masks (``pretrain.masking``)."""

from __future__ import annotations

import torch

from eccr.pretrain.blocks import pack_blocks
from eccr.pretrain.masking import (
    IGNORE_INDEX,
    WholeWordMaskCollator,
    freeze_masking,
    make_collator,
    mecab_word_spans,
    token_word_ids,
)
from eccr.pretrain.tokenizer import load_tokenizer

SENTENCE = "患者は発熱を認めた"


def test_mecab_words_of_a_known_sentence() -> None:
    spans = mecab_word_spans(SENTENCE)
    assert [SENTENCE[a:b] for a, b in spans] == ["患者", "は", "発熱", "を", "認め", "た"]
    assert mecab_word_spans("胸水 貯留") == [(0, 2), (3, 5)]


def test_whole_word_masking_never_masks_part_of_a_word(unigram_tokenizer_dir) -> None:
    tok = load_tokenizer(unigram_tokenizer_dir)
    encoding = tok(SENTENCE, add_special_tokens=False, return_offsets_mapping=True)
    words = token_word_ids(SENTENCE, encoding["offset_mapping"])
    spans = mecab_word_spans(SENTENCE)
    # every token of 発熱 (characters 3–5) maps to the same word
    fever = {words[i] for i, (a, b) in enumerate(encoding["offset_mapping"]) if 3 <= a < 5}
    assert len(fever) == 1 and fever == {spans.index((3, 5))}
    blocks = pack_blocks([SENTENCE] * 6, tok, block_size=64, word_ids=token_word_ids)
    collator = WholeWordMaskCollator(tok, mlm_probability=0.3, mask_replace_prob=1.0, random_replace_prob=0.0)
    torch.manual_seed(0)
    seen_masked_words = set()
    for _ in range(20):
        batch = collator(blocks.examples())
        for row, word_row in zip(batch["labels"].tolist(), blocks.word_ids, strict=True):
            masked = {i for i, label in enumerate(row) if label != IGNORE_INDEX}
            assert masked, "every sequence predicts at least one word"
            for word in {word_row[i] for i in masked}:
                assert word >= 0, "special tokens are never masked"
                members = {i for i, w in enumerate(word_row) if w == word}
                assert members <= masked, "a chosen word is masked whole"
                seen_masked_words.add(word)
        chosen = batch["labels"] != IGNORE_INDEX
        assert (batch["input_ids"][chosen] == tok.mask_token_id).all()
        assert (batch["input_ids"][~chosen] == torch.tensor(blocks.input_ids)[~chosen]).all()
    assert len(seen_masked_words) > 3  # different words get chosen


def test_token_masking_and_causal_collators(unigram_tokenizer_dir, unigram_decoder_tokenizer_dir) -> None:
    tok = load_tokenizer(unigram_tokenizer_dir)
    blocks = pack_blocks([SENTENCE, "咳嗽なし。"] * 3, tok, block_size=10)
    batch = make_collator(tok, "mlm", mlm_probability=0.5)(blocks.examples())
    specials = (batch["input_ids"] == tok.cls_token_id) | (batch["input_ids"] == tok.pad_token_id)
    assert (batch["labels"][specials] == IGNORE_INDEX).all()
    assert batch["attention_mask"].shape == batch["input_ids"].shape
    dec = load_tokenizer(unigram_decoder_tokenizer_dir)
    dec_blocks = pack_blocks([SENTENCE, "咳嗽なし。"], dec, block_size=8)
    clm = make_collator(dec, "clm")(dec_blocks.examples())
    real = clm["attention_mask"].bool()
    assert (clm["labels"][real] == clm["input_ids"][real]).all()


def test_frozen_validation_masks_are_reproducible_and_leave_the_rng_alone(unigram_tokenizer_dir) -> None:
    tok = load_tokenizer(unigram_tokenizer_dir)
    examples = pack_blocks([SENTENCE] * 8, tok, block_size=16).examples()
    collator = make_collator(tok, "mlm")
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    first = freeze_masking(examples, collator, seed=1)
    assert torch.equal(torch.rand(3), expected_next)
    assert freeze_masking(examples, collator, seed=1) == first
    assert all(len(f["labels"]) == len(f["input_ids"]) for f in first)
    padded = collator(first[:3])  # already labelled: padded, not masked again
    assert padded["labels"][0].tolist()[: len(first[0]["labels"])] == first[0]["labels"]
