"""Fidelity: comparing a tokenizer's ids with a reference encoding; marks folded by a normaliser."""

from __future__ import annotations

import unicodedata

from eccr.align import align_text, check_alignment
from eccr.align.fidelity import PROBE_TEXTS, FidelityReport, compare_ids
from eccr.align.offsets import absorb_folded_marks, normalised_with_origin
from eccr.corpus.types import Document


class _Chars:
    """One token per character, its code point as the id; ``鬱`` is unknown (id 0)."""

    is_fast = True

    def __call__(self, text, **_):
        return {"input_ids": [0 if c == "鬱" else ord(c) for c in text]}

    def convert_ids_to_tokens(self, ids):
        return chr(ids) if isinstance(ids, int) else [chr(i) for i in ids]


def nfkc(text):
    return [0 if c == "鬱" else ord(c) for c in unicodedata.normalize("NFKC", text)]


def test_agreement_unknown_counts_and_the_first_difference():
    docs = [Document("same", "発熱"), Document("wide", "ＣＴで"), Document("rare", "鬱\uff21")]
    report = compare_ids(_Chars(), nfkc, docs, reference_name="NFKC", unk_token_id=0)
    assert (report.texts, report.agreeing_texts, report.ok) == (3, 1, False)
    assert (report.tokens, report.reference_tokens) == (7, 7)
    assert (report.unk_tokens, report.reference_unk_tokens) == (1, 1)
    assert report.first_difference.startswith(
        "document 'wide': tokenizer ['Ｃ', 'Ｔ', 'で'] vs reference ['C'"
    )
    assert report.to_dict()["agreement"] == round(1 / 3, 6)
    assert compare_ids(_Chars(), lambda t: [ord(c) for c in t], ["a"], reference_name="x", unk_token_id=0).ok


def test_nothing_to_compare_is_full_agreement():
    report = compare_ids(_Chars(), nfkc, [], reference_name="NFKC", unk_token_id=None)
    assert report.ok and report.agreement == 1.0
    assert FidelityReport("r", 4, 2, 10, 10, 3, 1).describe() == (
        "ids agree with r on 2 of 4 texts (50.0%); unknown tokens 3 vs 1"
    )


def test_probe_texts_hold_what_normalisers_disagree_on():
    joined = "".join(PROBE_TEXTS)
    for needed in ("Ｃ", "１", "ﾌﾟ", "か\u3099", "㎖", "①", "\u3000", "\n", "～", "\u2f8d"):
        assert needed in joined, needed


def test_a_mark_folded_into_its_kana_joins_the_kana_token():
    assert absorb_folded_marks("aﾌﾟb", [(0, 1), (1, 2), (3, 4)]) == [(0, 1), (1, 3), (3, 4)]
    # the byte pieces of one character move together
    assert absorb_folded_marks("ｶﾞ", [(0, 1), (0, 1)]) == [(0, 2), (0, 2)]
    # no token before: the one after takes it; an ordinary character stays uncovered
    assert absorb_folded_marks("\u3099が", [(1, 2)]) == [(0, 2)]
    assert absorb_folded_marks("aXb", [(0, 1), (2, 3)]) == [(0, 1), (2, 3)]


def test_nfkc_composition_keeps_the_alignment_sound():
    """tokenizers' NFKC gives ``プ`` the offsets of ``ﾌ`` only; the mark is absorbed, nothing is uncovered."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({"[UNK]": 0, "プ": 1, "レ": 2}, unk_token="[UNK]"))
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    alignment = align_text(tokenizer, "ﾌﾟﾚ")
    assert alignment.offsets == ((0, 2), (2, 3)) and check_alignment(alignment) == []


def test_slow_tokenizer_offsets_see_composed_kana():
    assert normalised_with_origin("ﾌﾟﾚ") == ("プレ", [0, 2])
    assert normalised_with_origin("ＡＢ", lowercase=True) == ("ab", [0, 1])
    assert normalised_with_origin("e\u0301") == ("é", [0])
