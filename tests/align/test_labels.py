"""Character labels ↔ token labels: schemes, crossing rules, combination of byte pieces, BIO repair."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.align import (
    IGNORE_INDEX,
    LabelScheme,
    TokenAlignment,
    align_text,
    char_scores,
    decode_token_labels,
    decode_token_scores,
    token_labels,
)
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, SpanError
from eccr.pretrain.tokenizer import load_tokenizer


def _al(text, pieces, ids=None, doc_id="d"):
    """An alignment from (start, end) pieces."""
    tokens = tuple(text[s:e] or "▁" for s, e in pieces)
    return TokenAlignment(text, tuple(ids or range(10, 10 + len(pieces))), tuple(pieces), tokens, doc_id)


def _names(scheme, ids):
    return [scheme.labels[i] if i >= 0 else "-100" for i in ids]


def test_scheme_labels_and_round_trip_dict():
    scheme = LabelScheme("bio", ("d", "a"))
    assert scheme.labels == ("O", "B-d", "I-d", "B-a", "I-a")
    assert scheme.label2id["I-a"] == 4 and scheme.id2label[1] == "B-d"
    assert LabelScheme.from_dict(scheme.to_dict()) == scheme
    corpus = Corpus([Document("x", "肺炎と右肺", [Span(0, 2, "d"), Span(3, 5, "a")])])
    assert LabelScheme.from_corpus(corpus, "io").labels == ("O", "I-a", "I-d")
    assert LabelScheme.from_corpus(corpus, "io", typed=False).labels == ("O", "I-concept")
    no_spans = Corpus([Document("y", "所見なし")])  # typed, nothing to take types from: one named type
    assert LabelScheme.from_corpus(no_spans, "io").labels == ("O", "I-concept")
    assert LabelScheme.from_corpus(no_spans, "bio", label="ab").labels == ("O", "B-ab", "I-ab")
    with pytest.raises(ConfigError):
        LabelScheme("bioes")
    with pytest.raises(ConfigError):
        LabelScheme("io", ("d", "a"), typed=False)


def test_crossing_token_majority_versus_any():
    # "発熱と" is one token; the concept is "発熱" (2 of 3 characters)
    al = _al("発熱と咳", [(0, 3), (3, 4)])
    scheme = LabelScheme("io")
    majority = token_labels(al, [Span(0, 2)], scheme, "majority")
    assert _names(scheme, majority.label_ids) == ["I-concept", "O"]
    assert (majority.crossing_units, majority.crossing_tokens, majority.crossed_spans) == (1, 1, 1)
    # only "と" of "と咳" (1 of 2 characters, a tie) would be positive under majority; 1 of 3 is not
    minority = token_labels(_al("発熱と咳", [(0, 3), (3, 4)]), [Span(2, 3)], scheme, "majority")
    assert _names(scheme, minority.label_ids) == ["O", "O"]
    anyrule = token_labels(_al("発熱と咳", [(0, 3), (3, 4)]), [Span(2, 3)], scheme, "any")
    assert _names(scheme, anyrule.label_ids) == ["I-concept", "O"]
    with pytest.raises(ConfigError):
        token_labels(al, [], scheme, "first")


def test_bio_keeps_adjacent_concepts_apart_and_io_merges_them():
    al = _al("発熱咳嗽", [(0, 2), (2, 4)])
    spans = [Span(0, 2), Span(2, 4)]
    bio = LabelScheme("bio")
    labels = token_labels(al, spans, bio)
    assert _names(bio, labels.label_ids) == ["B-concept", "B-concept"]
    assert decode_token_labels(al, labels.label_ids, bio) == spans
    io = LabelScheme("io")
    assert decode_token_labels(al, token_labels(al, spans, io).label_ids, io) == [Span(0, 4)]


def test_typed_labels():
    al = _al("右肺に腫瘤", [(0, 2), (2, 3), (3, 5)])
    scheme = LabelScheme("bio", ("d", "a"))
    spans = [Span(0, 2, "a"), Span(3, 5, "d")]
    labels = token_labels(al, spans, scheme)
    assert _names(scheme, labels.label_ids) == ["B-a", "O", "B-d"]
    assert decode_token_labels(al, labels.label_ids, scheme) == spans
    with pytest.raises(SpanError) as err:
        token_labels(al, [Span(0, 2, "f")], scheme)
    assert err.value.code == "E073"
    with pytest.raises(SpanError) as err:
        token_labels(al, [Span(0, 3, "a"), Span(2, 5, "d")], LabelScheme("io", ("d", "a")))
    assert err.value.code == "E074"


def test_tokens_without_characters_are_ignored():
    al = _al("ＣＴ", [(0, 0), (0, 2)])
    scheme = LabelScheme("bio")
    labels = token_labels(al, [Span(0, 2)], scheme)
    assert labels.label_ids.tolist() == [IGNORE_INDEX, scheme.label2id["B-concept"]]


def test_byte_pieces_are_combined_mean_or_max():
    # three byte pieces of "齟" share offsets (1, 2): one unit
    al = TokenAlignment("x齟y", (1, 2, 3, 4, 5), ((0, 1), (1, 2), (1, 2), (1, 2), (2, 3)),
                        ("x", "<0xE9>", "<0xBD>", "<0x9F>", "y"))
    scheme = LabelScheme("io")
    labels = token_labels(al, [Span(1, 2)], scheme)
    assert _names(scheme, labels.label_ids) == ["O", "I-concept", "I-concept", "I-concept", "O"]
    # piece 1 very sure "O", pieces 2-3 mildly "I": mean says I, max says O
    scores = np.array([[5, 0], [9, 0], [0, 2], [0, 2], [5, 0]], dtype=float)
    assert decode_token_scores(al, scores, scheme, combine="mean") == []
    scores = np.array([[5, 0], [1, 0], [0, 2], [0, 2], [5, 0]], dtype=float)
    assert decode_token_scores(al, scores, scheme, combine="mean") == [Span(1, 2)]
    scores = np.array([[5, 0], [9, 0], [0, 2], [0, 2], [5, 0]], dtype=float)
    assert decode_token_scores(al, scores, scheme, combine="max") == []
    per_char = char_scores(al, scores)
    assert per_char.shape == (3, 2) and per_char[1].tolist() == [3.0, 4 / 3]


def test_bio_repair_on_and_off():
    al = _al("発熱と咳嗽", [(0, 2), (2, 3), (3, 5)])
    scheme = LabelScheme("bio")
    ids = [scheme.label2id["I-concept"], 0, scheme.label2id["B-concept"]]  # I after nothing
    assert decode_token_labels(al, ids, scheme, repair=True) == [Span(0, 2), Span(3, 5)]
    assert decode_token_labels(al, ids, scheme, repair=False) == [Span(3, 5)]


def test_whitespace_inside_a_concept_is_kept_but_never_at_its_edges():
    text = "Ｘ線 検査 で"
    al = _al(text, [(0, 2), (2, 3), (3, 5), (5, 6), (6, 7)])
    scheme = LabelScheme("bio")
    labels = token_labels(al, [Span(0, 5)], scheme)
    assert decode_token_labels(al, labels.label_ids, scheme) == [Span(0, 5)]
    # a "▁検査" token that includes the space before it: the space is not part of the concept
    al2 = _al(text, [(0, 2), (2, 5), (5, 6), (6, 7)])
    assert decode_token_labels(al2, token_labels(al2, [Span(3, 5)], scheme).label_ids, scheme) == [Span(3, 5)]


def test_score_shape_is_checked():
    al = _al("発熱", [(0, 2)])
    with pytest.raises(ConfigError) as err:
        decode_token_scores(al, np.zeros((2, 2)), LabelScheme("io"))
    assert err.value.code == "E075"
    with pytest.raises(ConfigError):
        decode_token_scores(al, np.zeros((1, 3)), LabelScheme("io"))


@st.composite
def _text_and_spans(draw):
    text = draw(st.text(alphabet="発熱咳嗽胸水貯留ＣＴ１５ｍｇ㎎①ｱを認め。 ", min_size=1, max_size=30))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        seg = text[a:b]
        if b > a and not seg[0].isspace() and not seg[-1].isspace():
            spans.append(Span(a, b, draw(st.sampled_from(["d", "a"]))))
    return text, spans


@pytest.fixture(scope="module")
def char_tokenizer(char_tokenizer_dir):
    return load_tokenizer(char_tokenizer_dir)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_text_and_spans())
def test_char_tokenizer_round_trip_is_exact(char_tokenizer, data):
    """char → token → char with one token per character gives every span back (BIO, typed)."""
    text, spans = data
    al = align_text(char_tokenizer, text)
    scheme = LabelScheme("bio", ("d", "a"))
    labels = token_labels(al, spans, scheme)
    assert labels.crossing_units == 0
    assert decode_token_labels(al, labels.label_ids, scheme) == sorted(spans, key=lambda s: (s.start, s.end))


@pytest.fixture(scope="module")
def unigram_tokenizers(unigram_tokenizer_dir, unigram_bytefallback_tokenizer_dir):
    return {"unigram": load_tokenizer(unigram_tokenizer_dir),
            "unigram-bf": load_tokenizer(unigram_bytefallback_tokenizer_dir)}


@pytest.mark.parametrize("name", ["unigram", "unigram-bf"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet="発熱咳嗽胸水貯留ＣＴ１５ｍｇ㎎①ｱを認め。齟齬鼈 ", min_size=1, max_size=30),
       data=st.data())
def test_unigram_round_trip_of_token_aligned_spans(unigram_tokenizers, name, text, data):
    """Spans whose boundaries are token (unit) boundaries come back exactly; nothing crosses."""
    al = align_text(unigram_tokenizers[name], text)
    units = [(s, e) for _, _, s, e in al.units if not text[s:e].isspace()]
    chosen = data.draw(st.lists(st.integers(0, len(units) - 1), unique=True, max_size=5)) if units else []
    spans = []
    for u in sorted(chosen):
        start, end = units[u]
        while text[start].isspace():
            start += 1
        spans.append(Span(start, end))
    scheme = LabelScheme("bio")
    labels = token_labels(al, spans, scheme)
    assert labels.crossing_units == 0
    assert decode_token_labels(al, labels.label_ids, scheme) == spans


def test_rare_kanji_concept_comes_back_as_exactly_that_character(unigram_tokenizers):
    text = "右齟齬あり"
    al = align_text(unigram_tokenizers["unigram-bf"], text)
    scheme = LabelScheme("bio")
    for span in (Span(1, 2), Span(2, 3), Span(1, 3)):
        labels = token_labels(al, [span], scheme)
        assert labels.crossing_units == 0
        assert decode_token_labels(al, labels.label_ids, scheme) == [span]


def test_untyped_io_merges_overlapping_spans_of_any_label():
    al = _al("右肺腫瘤", [(0, 2), (2, 4)])
    scheme = LabelScheme("io", ("concept",), typed=False)
    labels = token_labels(al, [Span(0, 3, "a"), Span(1, 4, "d")], scheme)
    assert labels.spans == 1 and labels.crossing_units == 0
    assert decode_token_labels(al, labels.label_ids, scheme) == [Span(0, 4)]
