"""Sliding windows: planning, special tokens, exact reassembly on a long document, never truncating."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.align import (
    IGNORE_INDEX,
    LabelScheme,
    SpecialTokens,
    Window,
    align_text,
    best_window_per_token,
    decode_document,
    decode_token_labels,
    decode_token_scores,
    encode_document,
    merge_document_scores,
    merge_window_scores,
    plan_windows,
)
from eccr.corpus.types import Document, Span
from eccr.errors import ConfigError, ModelError
from eccr.pretrain.tokenizer import load_tokenizer

N_LABELS = 3


def _dummy_scores(input_ids) -> np.ndarray:
    """A position-independent predictor: each token's scores depend only on its id."""
    ids = np.asarray(input_ids, dtype=np.int64)
    return np.stack([np.sin(ids * 1.3 + k) for k in range(N_LABELS)], axis=1)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 300), window=st.integers(3, 40), special=st.integers(0, 2), data=st.data())
def test_planned_windows_cover_every_token_and_respect_the_size(n, window, special, data):
    size = window - special
    step = data.draw(st.integers(1, size))
    windows = plan_windows(n, window, step, special)
    assert all(len(w) <= size for w in windows)
    covered = np.zeros(n, dtype=int)
    for w in windows:
        covered[w.start : w.end] += 1
    assert (covered >= 1).all()
    if n:
        best = best_window_per_token(n, windows)
        assert ((best >= 0) & (best < len(windows))).all()


def test_step_larger_than_window_is_refused():
    with pytest.raises(ConfigError) as err:
        plan_windows(100, window=10, step=9, n_special=2)
    assert err.value.code == "E077"
    with pytest.raises(ConfigError):
        plan_windows(100, window=2, step=1, n_special=2)


def test_merge_refuses_uncovered_tokens_and_bad_shapes():
    with pytest.raises(ModelError):
        merge_window_scores(5, [Window(0, 3)], [np.zeros((3, 2))])
    with pytest.raises(ModelError):
        merge_window_scores(3, [Window(0, 3)], [np.zeros((2, 2))])


def test_maximum_context_picks_the_most_central_window():
    windows = [Window(0, 10), Window(5, 15)]
    best = best_window_per_token(15, windows)
    # token 7: context 2 in window 0 (7-0, 9-7) vs 2 in window 1 (7-5, 14-7) -> tie, earlier window
    # token 8: context 1 vs 3 -> window 1
    assert best[:8].tolist() == [0] * 8 and best[8:].tolist() == [1] * 7


@pytest.fixture(scope="module")
def bf_tokenizer(unigram_bytefallback_tokenizer_dir):
    return load_tokenizer(unigram_bytefallback_tokenizer_dir)


@pytest.fixture(scope="module")
def long_document(tokenizer_training_texts) -> Document:
    text = ""
    spans = []
    k = 0
    while len(text) < 5000:
        line = tokenizer_training_texts[k % len(tokenizer_training_texts)] + "齟齬。\n"
        start = len(text)
        text += line
        spans.append(Span(start + 1, start + 4))
        k += 1
    text = text[:5000]
    spans = [s for s in spans if s.end <= 5000]
    return Document("long", text, spans)


@pytest.mark.parametrize(("window", "step"), [(64, 20), (50, 48), (128, 1)])
def test_windows_reassemble_exactly_on_a_5000_character_document(bf_tokenizer, long_document, window, step):
    scheme = LabelScheme("io")
    enc = encode_document(bf_tokenizer, long_document, scheme, window=window, step=step)
    n = len(enc.alignment)
    assert len(long_document.text) == 5000 and n > window  # really long
    assert all(len(w.input_ids) <= window for w in enc.windows)
    # every token is predicted exactly once after the merge
    best = best_window_per_token(n, [w.window for w in enc.windows])
    chosen = np.zeros(n, dtype=int)
    for k, feat in enumerate(enc.windows):
        chosen[feat.window.start + np.flatnonzero(best[feat.window.start : feat.window.end] == k)] += 1
    assert (chosen == 1).all()
    # a position-independent predictor gives the same merged scores as a run without windows
    window_outputs = [_dummy_scores(w.input_ids) for w in enc.windows]
    merged = merge_document_scores(enc, window_outputs)
    no_window = _dummy_scores(enc.alignment.input_ids)
    np.testing.assert_array_equal(merged, no_window)
    # and so the same spans
    scheme3 = LabelScheme("bio", ("d",))
    assert len(scheme3.labels) == N_LABELS
    expected = decode_token_scores(enc.alignment, no_window, scheme3)
    assert decode_document(enc, window_outputs, scheme3) == expected


def test_window_labels_and_special_tokens(bf_tokenizer, long_document):
    special = SpecialTokens.from_tokenizer(bf_tokenizer)
    assert special.prefix == (bf_tokenizer.cls_token_id,) and special.suffix == (bf_tokenizer.sep_token_id,)
    scheme = LabelScheme("io")
    enc = encode_document(bf_tokenizer, long_document, scheme, window=64, step=32, special=special)
    full = enc.labels.label_ids.tolist()
    for feat in enc.windows:
        assert feat.input_ids[0] == bf_tokenizer.cls_token_id
        assert feat.input_ids[-1] == bf_tokenizer.sep_token_id
        assert feat.labels[0] == IGNORE_INDEX and feat.labels[-1] == IGNORE_INDEX
        assert list(feat.labels[1:-1]) == full[feat.window.start : feat.window.end]
        assert set(feat.to_dict()) == {"input_ids", "attention_mask", "labels"}
    # one-hot gold labels decode to spans through the windows
    perfect = [np.eye(len(scheme.labels))[np.clip(np.asarray(f.labels), 0, None)] for f in enc.windows]
    decoded = decode_document(enc, perfect, scheme)
    assert decoded and decoded == decode_token_labels(enc.alignment, full, scheme)  # as without windows
    unlabelled = encode_document(bf_tokenizer, long_document, scheme, window=64, with_labels=False)
    assert unlabelled.labels is None and all(f.labels is None for f in unlabelled.windows)


def test_decoder_special_tokens(unigram_decoder_tokenizer_dir):
    tok = load_tokenizer(unigram_decoder_tokenizer_dir)
    special = SpecialTokens.from_tokenizer(tok)
    assert special.prefix == (tok.bos_token_id,) and special.suffix == ()
    enc = encode_document(tok, Document("d", "発熱を認めた。" * 30, [Span(0, 2)]), LabelScheme("io"),
                          window=16, step=8)
    assert all(f.input_ids[0] == tok.bos_token_id and len(f.input_ids) <= 16 for f in enc.windows)
    assert len(enc.alignment) == len(align_text(tok, "発熱を認めた。" * 30))


def test_empty_document_has_one_empty_window(bf_tokenizer):
    enc = encode_document(bf_tokenizer, Document("e", ""), LabelScheme("io"), window=8)
    assert len(enc.windows) == 1 and len(enc.windows[0].input_ids) == 2
    assert decode_document(enc, [np.zeros((2, 2))], LabelScheme("io")) == []
