"""WindowCollator: right padding, labels padded with -100, bookkeeping keys dropped."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tokenizer(unigram_decoder_tokenizer_dir):
    from eccr.pretrain.tokenizer import load_tokenizer

    tok = load_tokenizer(unigram_decoder_tokenizer_dir)
    tok.padding_side = "right"
    return tok


def test_pads_right_with_ignored_labels_and_drops_extra_keys(tokenizer):
    from eccr.training.collator import WindowCollator

    batch = WindowCollator(tokenizer)(
        [
            {"input_ids": [1, 5, 6], "attention_mask": [1, 1, 1], "labels": [-100, 1, 0], "doc_id": "a"},
            {"input_ids": [1, 7], "attention_mask": [1, 1], "labels": [-100, 2], "doc_id": "b"},
        ]
    )
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].tolist() == [[1, 5, 6], [1, 7, tokenizer.pad_token_id]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, 1, 0], [-100, 2, -100]]


def test_pad_to_multiple_of(tokenizer):
    from eccr.training.collator import WindowCollator

    batch = WindowCollator(tokenizer, pad_to_multiple_of=8)(
        [{"input_ids": [1, 5, 6], "attention_mask": [1, 1, 1]}]
    )
    assert batch["input_ids"].shape == (1, 8) and batch["attention_mask"].tolist() == [
        [1, 1, 1, 0, 0, 0, 0, 0]
    ]
