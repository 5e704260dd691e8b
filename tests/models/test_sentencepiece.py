"""SentencePiece models: reading them, and the fast tokenizer rebuilt from one (fuzzed against SentencePiece).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eccr.align import align_text, check_alignment
from eccr.errors import ModelError
from eccr.models.sentencepiece import (
    SentencePieceModel,
    find_sentencepiece_model,
    tokenizer_from_sentencepiece,
)

LIKE = SimpleNamespace(unk_token="[UNK]", pad_token="[PAD]", model_max_length=512, padding_side="right")


def test_settings_are_read_from_the_file(family_dir):
    deberta = SentencePieceModel.load(family_dir("deberta-v2").path / "spm.model")
    assert (deberta.model_type, deberta.normalization, deberta.byte_fallback, deberta.add_dummy_prefix) == (
        "unigram",
        "nmt_nfkc",
        False,
        True,
    )
    neox = SentencePieceModel.load(family_dir("gpt-neox-t5").path / "spiece.model")
    assert (neox.normalization, neox.byte_fallback, neox.add_dummy_prefix) == ("identity", True, False)
    assert SentencePieceModel.load(family_dir("llama").path / "tokenizer.model").model_type == "bpe"
    assert "nmt_nfkc" in deberta.describe() and deberta.to_dict()["vocab_size"] == deberta.vocab_size
    assert deberta.composes_sound_marks() and not neox.composes_sound_marks()


def test_a_file_that_is_not_a_sentencepiece_model_is_a_coded_error(tmp_path):
    path = tmp_path / "spm.model"
    path.write_bytes(b"\x00not a model\xff")
    with pytest.raises(ModelError, match="E192") as err:
        SentencePieceModel.load(path)
    assert str(path) in str(err.value)
    with pytest.raises(ModelError, match="E192"):
        SentencePieceModel.load(tmp_path / "missing.model")


def test_the_file_is_found_next_to_the_tokenizer(family_dir):
    layout = family_dir("roberta-t5")
    assert find_sentencepiece_model(SimpleNamespace(), layout.path) == layout.path / "spiece.model"
    assert (
        find_sentencepiece_model(SimpleNamespace(vocab_file=str(layout.path / "spiece.model"))).name
        == "spiece.model"
    )
    assert find_sentencepiece_model(SimpleNamespace(), family_dir("gpt2-bpe").path) is None


# Characters Japanese clinical text is made of, weighted towards what normalisers disagree on.
_ALPHABET = (
    "胸水貯留を認めた発熱咳嗽呼吸困難肝機能障害貧血歳男性女性投与体温"
    "ＣＴＭＲＩＨｂＡ１ｃ０１２３４５６７８９％℃㎎㎖ｍｇ／．，①②③"
    "ｱｾﾄﾐﾉﾌｪﾝﾚﾄﾞﾆｿﾞﾛﾝｶﾞﾊﾟﾍﾟﾞﾟかがぱ\u3099\u309a～〜 　\n\t.,abcXYZ齟齬鬱"
)


@pytest.mark.parametrize(
    "family", ["deberta-v2", "roberta-t5", "llama", "gpt-neox-t5", "deberta-v2-identity-bf"]
)
def test_rebuilt_tokenizer_reproduces_sentencepiece_on_any_text(family, family_dir):
    layout = family_dir(family)
    sp = layout.sentencepiece
    tokenizer = tokenizer_from_sentencepiece(sp, LIKE)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.text(alphabet=_ALPHABET, max_size=40))
    def check(text):
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == sp.encode(text)
        assert check_alignment(align_text(tokenizer, text)) == []

    check()


def test_half_width_kana_with_sound_marks_compose_as_in_sentencepiece(family_dir):
    sp = family_dir("deberta-v2").sentencepiece
    tokenizer = tokenizer_from_sentencepiece(sp, LIKE)
    for text in ("ﾌﾟﾚﾄﾞﾆｿﾞﾛﾝ", "ｶﾞ", "か\u3099", "２．４３～４．２０"):
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == sp.encode(text)
    alignment = align_text(tokenizer, "ｱﾌﾟ")
    assert check_alignment(alignment) == [] and max(end for _, end in alignment.offsets) == 3
