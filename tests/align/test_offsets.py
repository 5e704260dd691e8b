"""Token ↔ character offsets on full-width Japanese: Unigram with/without byte fallback, char tokenizer."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from eccr.align import TokenAlignment, align_text, check_alignment
from eccr.align.offsets import byte_of_piece, reconstruct_offsets, split_byte_fallback_runs
from eccr.errors import ModelError
from eccr.pretrain.tokenizer import load_tokenizer, set_byte_fallback

FULL_WIDTH = ["ＣＴ", "１５ｍｇ", "㎎", "①", "ｱ", "ＨｂＡ１ｃが９．２％", "胸部Ｘ線で右胸水貯留",
              "８㎖を投与"]
ALPHABET = "ＣＴＭＲＩ１５０ｍｇ㎎㎖①②ｱｾﾄ発熱咳嗽胸水貯留を認めた。，．（）齟齬鼈鬱abc 　\n"


@pytest.fixture(scope="module")
def tokenizers(unigram_tokenizer_dir, unigram_bytefallback_tokenizer_dir, char_tokenizer_dir):
    return {
        "unigram": load_tokenizer(unigram_tokenizer_dir),
        "unigram-bf": load_tokenizer(unigram_bytefallback_tokenizer_dir),
        "char": load_tokenizer(char_tokenizer_dir),
    }


def _round_trip(alignment: TokenAlignment) -> str:
    """The text read back from the units (tokens' characters), in order, without uncovered characters."""
    return "".join(alignment.text[s:e] for _, _, s, e in alignment.units)


def _non_space_units(alignment: TokenAlignment) -> list[int]:
    units = alignment.char_units()
    return [int(units[c]) for c, ch in enumerate(alignment.text) if not ch.isspace()]


@pytest.mark.parametrize("name", ["unigram", "unigram-bf", "char"])
@pytest.mark.parametrize("text", FULL_WIDTH)
def test_full_width_round_trip(tokenizers, name, text):
    al = align_text(tokenizers[name], text)
    assert check_alignment(al) == []
    assert _round_trip(al) == text  # no spaces in these texts: every character comes back, in order
    assert all(u >= 0 for u in _non_space_units(al))


@pytest.mark.parametrize("name", ["unigram", "unigram-bf", "char"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=ALPHABET, min_size=1, max_size=40))
@example(text="\n鬱")  # the "▁" prefix pointed at the newline and overlapped the [UNK] for "\n鬱"
def test_random_full_width_text_invariants(tokenizers, name, text):
    al = align_text(tokenizers[name], text)
    assert check_alignment(al) == []
    # char -> token -> char: the non-space characters come back exactly, in order
    assert "".join(ch for ch in _round_trip(al) if not ch.isspace()) == "".join(
        ch for ch in text if not ch.isspace())
    units = _non_space_units(al)
    assert units == sorted(units)


def test_unigram_offsets_point_into_original_text_after_nfkc(tokenizers):
    text = "１５ｍｇ ㎎"
    al = align_text(tokenizers["unigram"], text)
    for token, (start, end) in zip(al.tokens, al.offsets, strict=True):
        if end > start and token.strip("▁"):
            piece = token.replace("▁", "")
            assert piece in unicodedata.normalize("NFKC", text[start:end])
    mg = [(t, o) for t, o in zip(al.tokens, al.offsets, strict=True) if o == (5, 6)]
    assert mg and "".join(t for t, _ in mg).replace("▁", "") == "mg"  # ㎎ → "mg", offsets of ㎎


def test_leading_metaspace_marker_has_no_characters(tokenizers):
    al = align_text(tokenizers["unigram"], "ＣＴ")
    assert al.tokens[0] == "▁" and al.offsets[0] == (0, 0)
    assert al.token_units()[0] == -1


@pytest.mark.parametrize("rare", ["齟", "齟齬", "鼈鬱齟"])
def test_byte_fallback_pieces_map_to_exactly_one_character(tokenizers, rare):
    text = f"胸部{rare}を認めた"
    al = align_text(tokenizers["unigram-bf"], text)
    byte_tokens = [i for i, t in enumerate(al.tokens) if byte_of_piece(t) is not None]
    assert len(byte_tokens) == 3 * len(rare)  # three UTF-8 bytes per kanji
    for i in byte_tokens:
        start, end = al.offsets[i]
        assert end - start == 1 and text[start] in rare
    for k, ch in enumerate(rare):
        pieces = [i for i in byte_tokens if al.offsets[i] == (2 + k, 3 + k)]
        assert bytes(byte_of_piece(al.tokens[i]) for i in pieces).decode() == ch
    assert check_alignment(al) == []


def test_byte_fallback_off_gives_unknown_with_offsets(tokenizers):
    off = set_byte_fallback(tokenizers["unigram-bf"], False)
    text = "胸部齟齬を認めた"
    al = align_text(off, text)
    unk = [o for i, o in zip(al.input_ids, al.offsets, strict=True) if i == off.unk_token_id]
    assert unk and "".join(text[s:e] for s, e in unk) == "齟齬"
    assert not any(byte_of_piece(t) is not None for t in al.tokens)
    assert check_alignment(al) == []


def test_split_byte_fallback_keeps_offsets_when_bytes_do_not_match_text():
    # the run decodes to "齟" but the text says "X": offsets kept as given (coarser, still correct)
    assert split_byte_fallback_runs("X", ["<0xE9>", "<0xBD>", "<0x9F>"], [(0, 1)] * 3) == [(0, 1)] * 3


class SlowWrapper:
    """Presents a fast tokenizer as a slow one (no offset mapping) to exercise offset reconstruction."""

    is_fast = False

    def __init__(self, fast):
        self._fast = fast
        self.unk_token = fast.unk_token
        self.unk_token_id = fast.unk_token_id
        self.all_special_tokens = fast.all_special_tokens

    def encode(self, text, add_special_tokens=False):
        return self._fast(text, add_special_tokens=add_special_tokens)["input_ids"]

    def convert_ids_to_tokens(self, ids):
        return self._fast.convert_ids_to_tokens(ids)

    def convert_tokens_to_string(self, tokens):
        return self._fast.convert_tokens_to_string(tokens)


@pytest.mark.parametrize("name", ["unigram", "unigram-bf", "char"])
@pytest.mark.parametrize("text", ["胸部Ｘ線で右胸水貯留を認めた", "ＣＴ １５ｍｇ ①", "齟齬を認めた 鬱"])
def test_slow_fallback_reconstructs_the_fast_offsets(tokenizers, name, text):
    fast = align_text(tokenizers[name], text)
    slow = align_text(SlowWrapper(tokenizers[name]), text)
    assert slow.input_ids == fast.input_ids
    assert [u[2:] for u in slow.units] == [u[2:] for u in fast.units]
    assert check_alignment(slow) == []


def test_slow_fallback_fails_clearly_when_tokens_do_not_match():
    class Liar(SlowWrapper):
        def convert_ids_to_tokens(self, ids):
            return ["全然違う"] * len(ids)

    class Fake:
        unk_token, unk_token_id, all_special_tokens = "[UNK]", 1, ["[UNK]"]

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [5, 6]}

        def convert_ids_to_tokens(self, ids):
            return ["a"] * len(ids)

        def convert_tokens_to_string(self, tokens):
            return "".join(tokens)

    with pytest.raises(ModelError) as err:
        reconstruct_offsets(Liar(Fake()), "発熱", [5, 6], doc_id="d7")
    assert err.value.code == "E071" and "d7" in str(err.value)


def test_alignment_lengths_must_agree():
    with pytest.raises(ModelError) as err:
        TokenAlignment("ab", (1, 2), ((0, 1),), ("a", "b"), doc_id="x")
    assert err.value.code == "E070"


@pytest.mark.parametrize("name", ["unigram", "unigram-bf", "char"])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=ALPHABET.replace("㎎", "").replace("㎖", ""), min_size=1, max_size=30))
def test_slow_fallback_agrees_with_fast_offsets_on_random_text(tokenizers, name, text):
    fast = align_text(tokenizers[name], text)
    slow = align_text(SlowWrapper(tokenizers[name]), text)
    assert check_alignment(slow) == []
    assert _stripped_units(slow) == _stripped_units(fast)  # equal up to whitespace at unit edges


def _stripped_units(alignment: TokenAlignment) -> list[tuple[int, int]]:
    out = []
    for _, _, start, end in alignment.units:
        while start < end and alignment.text[start].isspace():
            start += 1
        while end > start and alignment.text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end))
    return out


@pytest.fixture(scope="module")
def byte_level_bpe(tokenizer_training_texts):
    """A GPT-2/GPT-NeoX style byte-level BPE: Japanese characters' UTF-8 bytes are split across tokens."""
    from eccr.pretrain.tokenizer import train_byte_level_bpe_tokenizer

    return train_byte_level_bpe_tokenizer(tokenizer_training_texts[:200], vocab_size=400)


def test_byte_level_bpe_split_characters_belong_to_one_token(byte_level_bpe, tokenizer_training_texts):
    from eccr.align import check_tokenizer

    raw = byte_level_bpe(" ＣＴ㎎", add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert any(a[0] < b[0] < a[1] for a, b in itertools.pairwise(raw))  # the raw offsets overlap
    report = check_tokenizer(byte_level_bpe, [*tokenizer_training_texts, "齟齬を認めた ＣＴ㎎"])
    assert report.ok, report.to_dict()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=ALPHABET, min_size=1, max_size=40))
def test_byte_level_bpe_round_trip(byte_level_bpe, text):
    al = align_text(byte_level_bpe, text)
    assert check_alignment(al) == []
    assert "".join(ch for ch in _round_trip(al) if not ch.isspace()) == "".join(
        ch for ch in text if not ch.isspace())
