"""Tokenizer ceiling: exact for a character tokenizer, below 1 for a coarse one with a known crossing."""

from __future__ import annotations

import pytest

from eccr.align import LabelScheme, tokenizer_ceiling
from eccr.corpus.types import Corpus, Document, Span
from eccr.metrics import score
from eccr.pretrain.tokenizer import load_tokenizer, wrap_tokenizer


def coarse_tokenizer():
    """A word-level tokenizer whose piece "発熱と" swallows the particle after 発熱."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "発熱と", "咳嗽",
                                              "を", "認めた", "。"])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex("発熱と|認めた|."), behavior="isolated"),
    ])
    return wrap_tokenizer(backend, "encoder")


@pytest.mark.parametrize(("kind", "typed"), [("io", False), ("bio", False), ("bio", True)])
def test_char_tokenizer_ceiling_is_one(char_tokenizer_dir, kind, typed):
    from eccr.data import sample_corpus

    gold = sample_corpus()
    tok = load_tokenizer(char_tokenizer_dir)
    result = tokenizer_ceiling(gold, tok, LabelScheme.from_corpus(gold, kind, typed=typed))
    assert result.crossing_units == 0 and result.crossed_spans == 0
    assert result.exact_documents == len(gold)
    report = score(gold, result.round_trip, p=(1, 2, 100))
    assert all(report.wsm[p].f1 == 1.0 for p in (1, 2, 100))
    if kind == "bio":
        assert report.exact.f1 == 1.0  # BIO keeps adjacent concepts apart


def test_coarse_tokenizer_ceiling_is_below_one_with_the_known_crossing():
    gold = Corpus([
        Document("d1", "発熱と咳嗽を認めた。", [Span(0, 2), Span(3, 5)]),
        Document("d2", "咳嗽を認めた。", [Span(0, 2)]),
    ])
    result = tokenizer_ceiling(gold, coarse_tokenizer(), LabelScheme("io"))
    assert (result.crossing_units, result.crossing_tokens, result.crossed_spans) == (1, 1, 1)
    assert result.per_document == {"d1": 1} and result.exact_documents == 1
    assert result.round_trip.get("d1").spans == (Span(0, 5),)  # "発熱と" + "咳嗽" merge under IO
    report = score(gold, result.round_trip, p=(1, 2, 100))
    assert report.wsm[1].f1 < 1.0 and report.char.precision < 1.0 and report.char.recall == 1.0
    # with BIO the two concepts stay apart, but 発熱 still takes the particle と
    bio = tokenizer_ceiling(gold, coarse_tokenizer(), LabelScheme("bio"))
    assert bio.round_trip.get("d1").spans == (Span(0, 3), Span(3, 5))


def test_counts_are_json_ready(char_tokenizer_dir):
    import json

    gold = Corpus([Document("d", "発熱あり", [Span(0, 2)])])
    result = tokenizer_ceiling(gold, load_tokenizer(char_tokenizer_dir))
    data = json.loads(json.dumps(result.counts()))
    assert data["documents"] == 1 and data["scheme"]["kind"] == "bio" and data["crossing_units"] == 0


def test_io_keeps_concepts_separated_by_a_space_apart_only_when_whitespace_is_a_token():
    from eccr.pretrain.tokenizer import train_char_tokenizer

    texts = ["小顎症\u3000嚥下障害 と Ｘ線 検査"]
    # "Ｘ線 検査" has a space inside; 小顎症 and 嚥下障害 are two concepts separated by U+3000
    gold = Corpus([Document("d", texts[0], [Span(0, 3), Span(4, 8), Span(11, 15)])])
    scheme = LabelScheme("io")
    dropped = tokenizer_ceiling(gold, train_char_tokenizer(texts), scheme)
    assert dropped.round_trip.get("d").spans == (Span(0, 8), Span(11, 15))  # IO cannot tell them apart
    kept = tokenizer_ceiling(gold, train_char_tokenizer(texts, keep_whitespace=True), scheme)
    assert kept.round_trip.get("d").spans == gold.get("d").spans and kept.exact_documents == 1
