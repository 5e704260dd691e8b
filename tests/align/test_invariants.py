"""The invariant checker: each violation on a hand-made alignment; real tokenizers pass, broken ones fail."""

from __future__ import annotations

import json

import pytest

from eccr.align import TokenAlignment, align_text, check_alignment, check_alignments, check_tokenizer
from eccr.corpus.types import Document
from eccr.errors import ModelError
from eccr.pretrain.tokenizer import load_tokenizer, set_byte_fallback


def _checks(text, offsets, ids=None, unk=None, **kw):
    tokens = tuple("t" for _ in offsets)
    al = TokenAlignment(text, tuple(ids or [5] * len(offsets)), tuple(offsets), tokens, "doc", unk)
    return [v.check for v in check_alignment(al, **kw)]


def test_each_violation_is_detected():
    assert _checks("発熱あり", [(0, 2), (2, 3), (3, 4)]) == []
    assert _checks("発熱あり", [(0, 2), (2, 3), (3, 9)]) == ["bounds", "coverage"]
    assert _checks("発熱あり", [(2, 3), (0, 2), (3, 4)]) == ["monotonic"]
    assert _checks("発熱あり", [(0, 2), (1, 3), (3, 4)]) == ["overlap"]
    assert _checks("発熱 あり", [(0, 2), (3, 4)]) == ["coverage"]  # り uncovered; the space may be
    assert _checks("発熱あり", [(0, 4)], max_unit_chars=3) == ["oversized"]
    assert _checks("発熱あり", [(0, 4)], ids=[1], unk=1, max_unk_chars=3) == ["unknown"]


def test_shared_offsets_of_pieces_are_not_overlaps():
    # byte pieces of one character, and the two pieces of an NFKC expansion (８㎖ -> "8m" + "l")
    assert _checks("x齟", [(0, 1), (1, 2), (1, 2), (1, 2)]) == []
    assert _checks("８㎖を", [(0, 2), (1, 2), (2, 3)]) == []


def test_violation_names_document_and_offset():
    al = TokenAlignment("発熱あり", (5,), ((0, 2),), ("発熱",), "case-7")
    (violation,) = check_alignment(al)[:1]
    assert violation.doc_id == "case-7" and violation.offset == 2 and "'あ'" in violation.describe()


@pytest.fixture(scope="module")
def fixture_tokenizers(unigram_tokenizer_dir, unigram_bytefallback_tokenizer_dir, char_tokenizer_dir,
                       unigram_decoder_tokenizer_dir):
    bf = load_tokenizer(unigram_bytefallback_tokenizer_dir)
    return {
        "unigram": load_tokenizer(unigram_tokenizer_dir),
        "unigram-bf": bf,
        "unigram-bf-off": set_byte_fallback(bf, False),
        "char": load_tokenizer(char_tokenizer_dir),
        "decoder": load_tokenizer(unigram_decoder_tokenizer_dir),
    }


@pytest.mark.parametrize("name", ["unigram", "unigram-bf", "unigram-bf-off", "char", "decoder"])
def test_fixture_tokenizers_pass_on_training_text_and_rare_characters(fixture_tokenizers, name,
                                                                      tokenizer_training_texts):
    texts = [*tokenizer_training_texts, "齟齬と鼈を認めた\n次行 ＣＴ㎎①ｱ"]
    report = check_tokenizer(fixture_tokenizers[name], texts)
    assert report.ok, report.to_dict()
    assert report.texts == len(texts) and report.characters == sum(map(len, texts))
    report.raise_if_violated()
    if name == "unigram-bf":
        assert report.byte_fallback_tokens == 4 * 3 + 1 and report.unk_tokens == 0  # 4 rare kanji, "\n"
    if name == "unigram-bf-off":
        assert report.unk_tokens >= 2 and report.unk_chars >= 4


def test_fixture_tokenizers_pass_on_real_unlabeled_text(fixture_tokenizers, unlabeled_path):
    with unlabeled_path.open(encoding="utf-8") as handle:
        docs = [Document(row["id"], row["text"]) for row in map(json.loads, handle)][:40]
    for name, tok in fixture_tokenizers.items():
        report = check_tokenizer(tok, docs)
        assert report.ok, (name, report.to_dict())


def test_check_alignments_reports_what_check_tokenizer_reports(fixture_tokenizers):
    """Precomputed alignments (``eccr diagnose-tokenizer`` shares them with the ceiling): same report."""
    tok = fixture_tokenizers["unigram-bf-off"]
    docs = [Document("a", "齟齬と鼈を認めた"), Document("b", "ＣＴ㎎①ｱ 鬱")]
    report = check_tokenizer(tok, docs, max_unk_chars=1)
    assert report.unk_tokens >= 2 and report.counts == {"unknown": 1}
    assert check_alignments([align_text(tok, d.text, doc_id=d.id) for d in docs], max_unk_chars=1) == report


def test_broken_tokenizer_that_turns_a_sentence_into_one_unknown_is_reported():
    """transformers 5: DebertaV2Tokenizer without a usable vocabulary makes one [UNK] of a whole sentence."""
    from transformers import DebertaV2Tokenizer

    broken = DebertaV2Tokenizer()
    text = "ＣＴで胸水貯留を認めた。"
    report = check_tokenizer(broken, [Document("case-1", text)])
    assert not report.ok and report.counts == {"unknown-share": 1}
    assert report.unk_chars == len(text)
    longer = check_tokenizer(broken, [Document("case-2", text * 2)])
    assert longer.counts == {"unknown": 1, "unknown-share": 1}
    with pytest.raises(ModelError) as err:
        report.raise_if_violated("DebertaV2Tokenizer")
    message = str(err.value)
    assert err.value.code == "E079" and "12 of 12 characters (100%)" in message
