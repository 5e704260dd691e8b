"""Pre-segmentation: the tokenizer sees words joined by spaces, offsets still index the original text."""

from __future__ import annotations

import pytest

from eccr.align import align_text, check_alignment
from eccr.errors import ModelError
from eccr.models.presegment import PresegmentedTokenizer, join_words, map_offsets, word_spans


def test_words_are_found_across_whitespace_and_joined_with_single_spaces():
    text = "胸水\n貯留を 認めた"
    spans = word_spans(text, ["胸水", "貯留", "を", "認め", "た"])
    assert spans == [(0, 2), (3, 5), (5, 6), (7, 9), (9, 10)]
    joined, origin = join_words(text, spans)
    assert joined == "胸水 貯留 を 認め た" and origin[2] is None and origin[3] == 3
    assert map_offsets([(0, 3), (2, 3), (3, 5)], origin, len(text)) == [(0, 2), (3, 3), (3, 5)]


def test_a_segmenter_that_changes_the_text_is_refused():
    with pytest.raises(ModelError, match="E197"):
        word_spans("ＣＴ", ["CT"])
    with pytest.raises(ModelError, match="E197"):
        word_spans("胸水貯留", ["胸水"])


def test_mecab_presegmentation_aligns_with_the_original_text(family_dir):
    pytest.importorskip("fugashi")
    from eccr.models.hf_tokenizer import load_model_tokenizer
    from eccr.models.presegment import presegmented

    inner = load_model_tokenizer(family_dir("deberta-v2").path).tokenizer
    tokenizer = presegmented(inner, "mecab")
    text = "ＣＴで右胸水貯留を認め，ﾌﾟﾚﾄﾞﾆｿﾞﾛﾝ３０ｍｇを開始した。\n翌日 解熱。"
    alignment = align_text(tokenizer, text)
    assert check_alignment(alignment) == []
    assert tokenizer.presegment(text).startswith("ＣＴ で 右 胸水 貯留 を")
    # the model sees words as SentencePiece would after segmentation
    assert (
        list(alignment.input_ids) == inner(tokenizer.presegment(text), add_special_tokens=False)["input_ids"]
    )
    assert len(tokenizer) == len(inner) and tokenizer.pad_token == inner.pad_token


def test_the_wrapper_delegates_everything_else():
    class Inner:
        pad_token = "[PAD]"

        def __call__(self, text, **kwargs):
            words = text.split() if isinstance(text, str) else text
            return {"input_ids": [len(w) for w in words], "offset_mapping": []}

        def __len__(self):
            return 7

    wrapped = PresegmentedTokenizer(Inner(), lambda text: list(text), "chars")
    assert wrapped("発熱")["input_ids"] == [1, 1] and wrapped.pad_token == "[PAD]" and len(wrapped) == 7
    assert wrapped(["ab", "c"])["input_ids"] == [2, 1]  # batches go to the wrapped tokenizer unchanged
