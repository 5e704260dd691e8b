"""Every tokenizer family, laid out like its hub repositories, tokenizes as its SentencePiece model does.

The fixtures (``family_dir``) are directories shaped like the paper's repositories, built locally; the
tokenizer eccr loads from each (:func:`eccr.models.hf_tokenizer.load_model_tokenizer`) must give exactly
SentencePiece's ids on the fixture texts, the probe texts and full-width text, with offsets that pass the
aligner's invariants and point at the characters each token stands for.
"""

from __future__ import annotations

import json
import unicodedata

import pytest

from eccr.align import align_text, check_tokenizer
from eccr.align.fidelity import PROBE_TEXTS, content_ids
from eccr.models.hf_tokenizer import (
    AS_LOADED,
    FROM_SENTENCEPIECE,
    FROM_TOKENIZER_JSON,
    load_model_tokenizer,
    sample_texts,
)
from eccr.models.hub_layouts import FAMILIES
from eccr.pretrain.tokenizer import byte_fallback_of, load_tokenizer

from ..conftest import RARE_KANJI, synthetic_fullwidth_lines

SENTENCEPIECE_FAMILIES = [name for name, family in FAMILIES.items() if family.sp_file]
FULL_WIDTH = [
    "ＣＴで胸水貯留，ＨｂＡ１ｃ ７．２％，ＣＲＰ １５．３ｍｇ／ｄＬ，体温　３８．５℃．",
    "ﾌﾟﾚﾄﾞﾆｿﾞﾛﾝ ３０ｍｇ/日とｱｾﾄｱﾐﾉﾌｪﾝ",
    "尿量 ５００㎖／日，① ② ③，２．４３～４．２０",
    f"稀な漢字 {RARE_KANJI} と改行\n\n  二重空白",
]


def _texts(tokenizer_training_texts):
    return [*tokenizer_training_texts[:60], *synthetic_fullwidth_lines(40, seed=7), *PROBE_TEXTS, *FULL_WIDTH]


def _prepare(family, layout, text):
    """What SentencePiece is given for ``text`` (rinna's RoBERTa was pretrained on lower-cased text)."""
    return text.lower() if family == "roberta-t5" else text


@pytest.mark.parametrize("files", ["model", "json", "both"])
@pytest.mark.parametrize("family", SENTENCEPIECE_FAMILIES)
def test_eccr_tokenizer_gives_sentencepiece_ids(family, files, family_dir, tokenizer_training_texts):
    layout = family_dir(family, files)
    loaded = load_model_tokenizer(layout.path, texts=tokenizer_training_texts)
    assert loaded.recipe.name == layout.family.recipe
    sp = layout.sentencepiece
    texts = _texts(tokenizer_training_texts)
    disagreeing = [
        t for t in texts if content_ids(loaded.tokenizer, t) != sp.encode(_prepare(family, layout, t))
    ]
    assert disagreeing == []
    # compared with the SentencePiece model or the tokenizer.json the class ignored (none when transformers
    # loads a tokenizer.json as written, as it does for Mistral)
    assert loaded.fidelity is None or loaded.fidelity.ok
    assert check_tokenizer(loaded.tokenizer, texts).ok


@pytest.mark.parametrize("family", SENTENCEPIECE_FAMILIES)
def test_offsets_point_at_the_characters_each_token_stands_for(family, family_dir, tokenizer_training_texts):
    """The pieces of a unit (without ``▁``) spell the normalised text of its offsets (``℃`` → ``°`` +
    ``C`` share one character); units with unknown or byte pieces excepted."""
    layout = family_dir(family)
    loaded = load_model_tokenizer(layout.path)
    lower = family == "roberta-t5"
    nfkc = layout.sentencepiece.normalization != "identity"
    checked = 0
    for text in _texts(tokenizer_training_texts)[::5]:
        alignment = align_text(loaded.tokenizer, text)
        for first, last, start, end in alignment.units:
            tokens = alignment.tokens[first:last]
            if any(
                t.startswith("<0x") or i == alignment.unk_token_id
                for t, i in zip(tokens, alignment.input_ids[first:last], strict=True)
            ):
                continue
            surface = "".join(text[start:end].split())
            surface = surface.lower() if lower else surface  # lower-cased before SentencePiece normalises
            surface = unicodedata.normalize("NFKC", surface) if nfkc else surface
            assert surface == "".join(tokens).replace("\u2581", ""), (text, tokens, (start, end))
            checked += 1
    assert checked > 100


def test_transformers_as_loaded_deberta_disagrees_and_eccr_repairs_it(family_dir, tokenizer_training_texts):
    """transformers 5 gives DebertaV2Tokenizer an NFC normaliser: full-width text becomes unknown."""
    layout = family_dir("deberta-v2")
    loaded = load_model_tokenizer(layout.path, texts=tokenizer_training_texts)
    before, after = loaded.fidelity_as_loaded, loaded.fidelity
    assert loaded.loaded_class == "DebertaV2Tokenizer" and loaded.choice == FROM_SENTENCEPIECE
    assert before.agreement < 0.2 and before.unk_tokens > 2 * before.reference_unk_tokens
    assert after.ok and after.unk_tokens == after.reference_unk_tokens
    as_loaded = load_tokenizer(layout.path)
    assert as_loaded.convert_ids_to_tokens(content_ids(as_loaded, "ＣＴ"))[-1] == "[UNK]"
    pieces = loaded.tokenizer.convert_ids_to_tokens(content_ids(loaded.tokenizer, "ＣＴ"))
    assert "[UNK]" not in pieces and "".join(pieces) == "▁CT"


def test_choice_is_recorded(family_dir, tokenizer_training_texts):
    record = load_model_tokenizer(family_dir("gpt-neox-t5", "both").path).record()
    assert record["recipe"] == "gpt-neox-sentencepiece" and record["choice"] == FROM_TOKENIZER_JSON
    assert record["sentencepiece"]["add_dummy_prefix"] is False and record["byte_fallback"] is True
    assert record["fidelity_as_loaded"]["agreement"] < 0.5 and record["fidelity"]["ok"] is True
    json.dumps(record)  # JSON-ready


def test_a_tokenizer_that_already_agrees_is_kept_as_loaded(family_dir):
    loaded = load_model_tokenizer(family_dir("mistral", "both").path)
    assert loaded.choice == AS_LOADED and loaded.fidelity is not None and loaded.fidelity.ok


@pytest.mark.parametrize("family", ["gpt2-unigram", "gpt2-bpe", "bert-japanese-char"])
def test_families_without_sentencepiece_load_and_align(family, family_dir, tokenizer_training_texts):
    layout = family_dir(family)
    loaded = load_model_tokenizer(layout.path)
    assert loaded.recipe.name == layout.family.recipe and loaded.choice == AS_LOADED
    assert loaded.fidelity is None and loaded.sentencepiece is None
    assert check_tokenizer(loaded.tokenizer, _texts(tokenizer_training_texts)).ok


def test_rinna_recipe_lower_cases_and_puts_cls_in_front(family_dir):
    tokenizer = load_model_tokenizer(family_dir("roberta-t5").path).tokenizer
    ids = tokenizer("ＣＴ検査")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids)[
        0
    ] == "[CLS]" and "</s>" not in tokenizer.convert_ids_to_tokens(ids)
    assert content_ids(tokenizer, "ＣＴ") == content_ids(tokenizer, "ct")
    alignment = align_text(tokenizer, "ＣＴ検査")
    assert alignment.offsets[-1][1] == 4  # offsets index the original (upper-case, full-width) text


def test_saved_tokenizer_loads_back_exactly(family_dir, tmp_path, tokenizer_training_texts):
    """What eccr trains with is what a saved model directory gives back (a model-specific class would
    rebuild it from the vocabulary and lose the fix, the recipe settings and a byte-fallback switch)."""
    texts = _texts(tokenizer_training_texts)
    for family, byte_fallback in (("deberta-v2", None), ("roberta-t5", None), ("llama", False)):
        tokenizer = load_model_tokenizer(family_dir(family).path, byte_fallback=byte_fallback).tokenizer
        tokenizer.save_pretrained(str(tmp_path / family))
        again = load_tokenizer(tmp_path / family)
        assert [content_ids(again, t) for t in texts] == [content_ids(tokenizer, t) for t in texts]
        assert again(texts[0])["input_ids"] == tokenizer(texts[0])["input_ids"]
        if byte_fallback is False:
            assert byte_fallback_of(again) is False


def test_byte_fallback_switch_comes_after_the_fidelity_check(family_dir):
    loaded = load_model_tokenizer(family_dir("deberta-v2-identity-bf").path, byte_fallback=False)
    assert loaded.fidelity.ok  # compared as the model was pretrained (with byte fallback)
    assert byte_fallback_of(loaded.tokenizer) is False
    ids = content_ids(loaded.tokenizer, RARE_KANJI)
    assert loaded.tokenizer.unk_token_id in ids and not any(
        t.startswith("<0x") for t in loaded.tokenizer.convert_ids_to_tokens(ids)
    )


def test_sample_is_spread_over_the_corpus():
    items = list(range(1000))
    sample = sample_texts(items, 5)
    assert sample == [0, 250, 500, 749, 999] and sample_texts(items[:3], 5) == [0, 1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("family", SENTENCEPIECE_FAMILIES)
def test_real_medtxt_tokenizes_as_sentencepiece(family, medtxt_corpus, unlabeled_path, tmp_path):
    """Tokenizers trained on the real unlabeled clinical text, all 148 MedTxt-CR case reports."""
    from eccr.models.hub_layouts import write_family_dir
    from eccr.pretrain.tokenizer import read_texts

    layout = write_family_dir(
        family,
        read_texts(unlabeled_path),
        tmp_path / family,
        vocab_size=8000,
        hidden=32,
        layers=1,
        heads=2,
        max_length=128,
    )
    loaded = load_model_tokenizer(layout.path, texts=list(medtxt_corpus))
    sp = layout.sentencepiece
    assert all(
        content_ids(loaded.tokenizer, d.text) == sp.encode(_prepare(family, layout, d.text))
        for d in medtxt_corpus
    )
    assert check_tokenizer(loaded.tokenizer, medtxt_corpus).ok
