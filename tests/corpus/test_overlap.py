"""eccr.corpus.overlap: duplicates and shared sentences between two collections."""

from __future__ import annotations

import pytest

from eccr.corpus import read_corpus
from eccr.corpus.overlap import (
    MIN_SENTENCE_CHARS,
    OverlapIndex,
    find_overlaps,
    normalize_for_overlap,
    remove_overlapping,
)
from eccr.corpus.types import Document

LONG_A = "腹部造影ＣＴで肝右葉に径３ｃｍの低吸収域を認めた。"
LONG_B = "抗GAD抗体が3790.0 U/mLと上昇しており1型糖尿病と診断した。"
SHORT = "考察"


def test_normalisation_ignores_width_and_whitespace_only() -> None:
    assert normalize_for_overlap("ＣＴ　で\r\n異常") == normalize_for_overlap("CT で異常")
    assert normalize_for_overlap("肺癌") != normalize_for_overlap("胃癌")


def test_duplicate_shared_and_clean_documents_are_told_apart() -> None:
    reference = [Document("r1", LONG_A + "\n" + LONG_B), Document("r2", "別の症例である。" + LONG_B)]
    candidates = [
        Document("dup", LONG_A.replace("ＣＴ", "CT") + "\n" + LONG_B),  # same text up to width
        Document("shares", "経過は良好であった。" + LONG_B),  # one long sentence in r1 and r2
        Document("clean", "経過は良好であった。"),
    ]
    report = find_overlaps(candidates, reference)
    by_id = {o.doc_id: o for o in report.overlaps}
    assert set(by_id) == {"dup", "shares"}
    assert by_id["dup"].kind == "duplicate" and by_id["dup"].matched_ids == ("r1",)
    assert by_id["shares"].kind == "shared-sentence"
    assert by_id["shares"].matched_ids == ("r1", "r2") and by_id["shares"].shared_sentences == 1
    assert report.counts() == {"candidates": 3, "duplicate": 1, "shared-sentence": 1, "kept": 1}
    assert report.to_dict()["overlaps"][0]["id"] == "dup"


def test_short_sentences_are_not_evidence() -> None:
    reference = [Document("r", SHORT + "\n" + LONG_A)]
    assert len(normalize_for_overlap(SHORT)) < MIN_SENTENCE_CHARS
    other = Document("c", SHORT + "\n別の長い文章がここに続いていて内容は全く異なる。")
    assert find_overlaps([other], reference).ids == set()
    # the threshold is a parameter
    assert find_overlaps([Document("c", SHORT + "\nx")], reference, min_sentence_chars=1).ids == {"c"}


def test_remove_keeps_order_and_index_is_reusable() -> None:
    reference = [Document("r", LONG_B)]
    candidates = [Document(f"c{i}", LONG_B if i % 2 else f"症例{i}は経過観察とした。") for i in range(6)]
    kept, report = remove_overlapping(candidates, reference)
    assert [d.id for d in kept] == ["c0", "c2", "c4"]
    index = OverlapIndex(reference)
    assert index.check(candidates).ids == report.ids
    assert index.match(Document("x", "無関係な文である。")) is None
    with pytest.raises(ValueError):
        OverlapIndex(reference, min_sentence_chars=0)


def test_real_mrner_case_reports_are_medtxt_documents(medtxt_path, mrner_path, unlabeled_path) -> None:
    medtxt = read_corpus(medtxt_path, select="d[certainty=positive]")
    mrner = read_corpus(mrner_path)
    report = find_overlaps(mrner, medtxt)
    assert report.counts() == {"candidates": 100, "duplicate": 50, "shared-sentence": 0, "kept": 50}
    # cut each document's first line: still found, now through its remaining long sentences
    edited = [Document(d.id, d.text.split("\n", 1)[1]) for d in mrner if "\n" in d.text.strip()]
    assert len(find_overlaps(edited, medtxt).overlaps) == 50
    # the unlabeled clinical texts were cleaned of shared sentences by their provider
    unlabeled = read_corpus(unlabeled_path, lenient=True)
    assert find_overlaps(unlabeled, list(medtxt) + list(mrner)).ids == set()
