"""Token segment score: tokenizers and the projection rule."""

from __future__ import annotations

import pytest

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError
from eccr.metrics import score
from eccr.metrics.token import resolve_tokenizer, simple_tokens, token_counts


def test_simple_splitter_on_full_width_text():
    text = "ＣＴで１５ｍｇ、ステロイド投与。 AB"
    tokens = simple_tokens(text)
    expected = ["ＣＴ", "で", "１５", "ｍｇ", "、", "ステロイド", "投与", "。", "AB"]
    assert [text[s:e] for s, e in tokens] == expected


def test_a_token_is_positive_when_any_character_is_covered():
    text = "間質性肺炎を認めた"
    # simple tokens: 間質性肺炎 | を | 認 | めた
    assert token_counts(text, [Span(0, 5)], [Span(4, 5)], simple_tokens(text), typed=False) == (1, 1, 1, 1)
    assert token_counts(text, [Span(0, 5)], [Span(4, 7)], simple_tokens(text), typed=False) == (1, 3, 1, 1)


def test_typed_tokens_compare_per_label():
    text = "間質性肺炎を認めた"
    gold = [Span(0, 5, "d")]
    assert token_counts(text, gold, [Span(0, 5, "a")], simple_tokens(text), typed=True) == (0, 1, 0, 1)
    assert token_counts(text, gold, [Span(0, 5, "a")], simple_tokens(text), typed=False) == (1, 1, 1, 1)


def test_char_tokenizer_equals_character_score():
    text = "左下肢の浮腫と疼痛を認めた。"
    gold = Corpus([Document("a", text, [Span(0, 6), Span(7, 9)])])
    pred = Corpus([Document("a", text, [Span(1, 4), Span(8, 12)])])
    report = score(gold, pred, tokenizer="char")
    assert report.token == report.char


def test_callable_tokenizer_and_empty_offsets_are_ignored():
    text = "abcdef"
    gold = Corpus([Document("a", text, [Span(0, 2)])])
    pred = Corpus([Document("a", text, [Span(4, 6)])])
    report = score(gold, pred, tokenizer=lambda t: [(0, 0), (0, 3), (3, 6)])
    assert (report.token.precision_den, report.token.recall_den, report.token.recall_num) == (1, 1, 0)


def test_unknown_tokenizer_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        resolve_tokenizer(str(tmp_path / "no-such-tokenizer"))
    assert err.value.code == "E086"  # a local path that does not exist: refused before any Hub lookup


def test_hugging_face_tokenizer_from_a_local_path(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    texts = ["間質性肺炎を認めた。", "発熱と咳嗽を認めた。", "間質性肺炎の既往あり。"] * 20
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="[UNK]"))
    tok.train_from_iterator(texts, tokenizers.trainers.BpeTrainer(vocab_size=60, special_tokens=["[UNK]"]))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    fast.save_pretrained(tmp_path)
    text = texts[0]
    offsets = resolve_tokenizer(str(tmp_path))(text)
    assert "".join(text[s:e] for s, e in offsets) == text  # full-width round trip
    gold = Corpus([Document("a", text, [Span(0, 5)])])
    pred = Corpus([Document("a", text, [Span(4, 5)])])
    report = score(gold, pred, tokenizer=str(tmp_path))
    expected = token_counts(text, gold[0].spans, pred[0].spans, offsets, typed=False)
    got = (report.token.precision_num, report.token.precision_den, report.token.recall_den)
    assert got == (expected[0], expected[1], expected[3])
    assert report.token.recall <= 1.0
