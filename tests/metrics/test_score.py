"""``score()``: pairing rules, zero_division, typed scoring, report shape, per-document scores, real data."""

from __future__ import annotations

import json
import math

import pytest

from eccr.corpus.io import read_corpus
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import DocumentError, ScoringError
from eccr.metrics import DEFAULT_P, PRF, document_totals, score

from .metrics_reference import reference_scores

TEXT = "左下肢の浮腫と疼痛を認めた。"


def doc(doc_id: str, spans: list[tuple], text: str = TEXT) -> Document:
    return Document(doc_id, text, [Span(*s) for s in spans])


def test_report_to_dict_has_the_issue_shape():
    gold = Corpus([doc("a", [(0, 6), (7, 9)])])
    pred = Corpus([doc("a", [(0, 3), (7, 9)])])
    data = score(gold, pred, p=(1, 1.5, 2, 100, math.inf), by_length=True).to_dict()
    assert list(data["wsm"]) == ["1", "1.5", "2", "100", "inf"]
    assert set(data["marker"]) == set(data["wsm"])
    for key in ("char", "exact"):
        assert set(data[key]) == {"precision", "recall", "f1"}
    assert set(data["by_length"]) == {"1-2", "3-6", "7-10", "11-20", ">=21"}
    assert set(data["by_length"]["3-6"]["1.5"]) == {"precision", "recall", "f1"}
    assert (data["documents"], data["gold_spans"], data["pred_spans"]) == (1, 2, 2)
    json.dumps(data)  # serialisable
    assert "by_length" not in score(gold, pred).to_dict()


def test_default_p_values_and_typed_access():
    gold = Corpus([doc("a", [(0, 6)])])
    report = score(gold, Corpus([doc("a", [(0, 3)])]))
    assert report.p_values == DEFAULT_P == (1.0, 1.5, 2.0, 100.0)
    assert report.wsm[1.0].recall == report.wsm[1].recall == 0.5
    assert isinstance(report.wsm[2.0], PRF)


def test_text_differing_between_gold_and_pred_names_the_document():
    gold = Corpus([doc("a", []), doc("b", [])])
    pred = Corpus([doc("a", []), doc("b", [], text=TEXT.replace("疼痛", "頭痛"))])
    with pytest.raises(ScoringError) as err:
        score(gold, pred)
    assert err.value.code == "E051"
    assert err.value.location.doc_id == "b"
    assert err.value.location.offset == 7


def test_missing_predictions_are_an_error_unless_allowed():
    gold = Corpus([doc("a", [(0, 6)]), doc("b", [(7, 9)])])
    pred = Corpus([doc("a", [(0, 6)])])
    with pytest.raises(ScoringError) as err:
        score(gold, pred)
    assert err.value.code == "E050" and "'b'" in str(err.value)
    report = score(gold, pred, allow_missing=True)
    assert report.documents == 2
    assert report.char.recall == 6 / 8 and report.char.precision == 1.0


def test_predicted_document_without_gold_is_always_an_error():
    gold = Corpus([doc("a", [])])
    pred = Corpus([doc("a", []), doc("zzz", [])])
    for allow in (False, True):
        with pytest.raises(ScoringError) as err:
            score(gold, pred, allow_missing=allow)
        assert err.value.code == "E052" and err.value.location.doc_id == "zzz"


def test_a_duplicate_id_in_a_plain_list_is_an_error_not_a_silent_drop():
    gold = [doc("a", [(0, 6)])]
    for g, p, side in ((gold, [doc("a", [(0, 6)]), doc("a", [])], "predicted"), (gold * 2, gold, "gold")):
        with pytest.raises(DocumentError) as err:
            score(g, p)
        assert err.value.code == "E021" and err.value.location.doc_id == "a" and side in err.value.message


def test_zero_division_applies_to_empty_sides():
    gold = Corpus([doc("a", [(0, 2)])])
    empty = Corpus([doc("a", [])])
    report = score(gold, empty, p=(1,))
    assert (report.wsm[1].precision, report.wsm[1].recall, report.wsm[1].f1) == (0.0, 0.0, 0.0)
    report = score(gold, empty, p=(1,), zero_division=1.0)
    assert (report.wsm[1].precision, report.wsm[1].recall, report.wsm[1].f1) == (1.0, 0.0, 0.0)
    both_empty = score(empty, empty, p=(1,), zero_division=1.0)
    assert both_empty.wsm[1].f1 == both_empty.char.f1 == both_empty.exact.f1 == 1.0
    assert score(empty, empty, p=(1,)).wsm[1].f1 == 0.0


def test_typed_compares_labels_and_binary_ignores_them():
    gold = Corpus([doc("a", [(0, 6, "d"), (7, 9, "d")])])
    pred = Corpus([doc("a", [(0, 6, "a"), (7, 9, "d")])])
    binary = score(gold, pred, p=(1,))
    typed = score(gold, pred, p=(1,), typed=True)
    assert binary.wsm[1].f1 == binary.exact.f1 == 1.0
    assert typed.wsm[1].recall == pytest.approx(2 / 8) and typed.wsm[1].precision == pytest.approx(2 / 8)
    assert typed.exact.recall == 0.5 and typed.exact.precision == 0.5
    assert typed.to_dict()["typed"] is True


def test_typed_runs_overlapping_across_labels_stay_separate():
    gold = Corpus([doc("a", [(0, 6, "d"), (2, 4, "a")])])
    report = score(gold, gold, p=(2,), typed=True)
    assert report.gold_spans == 2 and report.wsm[2].f1 == 1.0
    assert score(gold, gold, p=(2,)).gold_spans == 1


def test_exact_match_uses_spans_as_given_not_runs():
    gold = Corpus([doc("a", [(0, 3), (3, 6)])])
    pred = Corpus([doc("a", [(0, 6)])])
    report = score(gold, pred, p=(1, 2))
    assert report.wsm[2].f1 == 1.0  # both sides are one run [0, 6)
    assert report.exact.recall == 0.0 and report.exact.precision == 0.0


def test_per_document_scores_add_up_to_the_pooled_score():
    gold = Corpus([doc("a", [(0, 6)]), doc("b", [(7, 9)]), doc("c", [])])
    pred = Corpus([doc("a", [(0, 2), (4, 6)]), doc("b", [(0, 1)]), doc("c", [(3, 4)])])
    report = score(gold, pred, per_document=True)
    assert [d.doc_id for d in report.per_document] == ["a", "b", "c"]
    for p in report.p_values:
        total = report.per_document[0].wsm[p] + report.per_document[1].wsm[p] + report.per_document[2].wsm[p]
        assert total.f1 == pytest.approx(report.wsm[p].f1)
    assert report.per_document[2].char.recall == 0.0  # zero_division for a document without gold
    assert set(report.to_dict()["per_document"]) == {"a", "b", "c"}


def test_document_totals_rows_are_per_document_sums():
    gold = Corpus([doc("a", [(0, 6)]), doc("b", [(7, 9)])])
    pred = Corpus([doc("a", [(0, 3)]), doc("b", [(7, 9)])])
    totals = document_totals(gold, pred, p=(1, 2))
    assert totals.doc_ids == ("a", "b")
    assert totals.measure("char").tolist() == [[3, 3, 3, 6], [2, 2, 2, 2]]
    assert totals.measure("wsm", 1).tolist() == totals.measure("char").tolist()
    with pytest.raises(ValueError):
        totals.measure("wsm")


# --- real data -------------------------------------------------------------------------------------------


def _without_last_char(corpus: Corpus) -> Corpus:
    return corpus.map_spans(
        lambda d: [Span(s.start, s.end - 1, s.label, s.attrs) for s in d.spans if s.length > 1])


def _ref_docs(gold: Corpus, pred: Corpus) -> list[tuple[int, list, list]]:
    return [(len(g.text), [(s.start, s.end, "c") for s in g.spans],
             [(s.start, s.end, "c") for s in pred.get(g.id).spans]) for g in gold]


def test_medtxt_gold_against_itself_scores_one(medtxt_path):
    gold = read_corpus(medtxt_path, select="d[certainty=positive]")
    report = score(gold, gold, p=(1, 1.5, 2, 100, math.inf), by_length=True, tokenizer="simple")
    assert report.documents == 148 and report.gold_spans > 1000
    for p in report.p_values:
        assert report.wsm[p].f1 == report.marker[p].f1 == 1.0
    assert report.char.f1 == report.exact.f1 == report.token.f1 == 1.0
    for stratum in report.by_length.values():
        assert all(stratum.wsm[p].f1 == 1.0 for p in report.p_values)


def test_medtxt_gold_without_last_characters_matches_the_reference(medtxt_path):
    gold = read_corpus(medtxt_path, select="d[certainty=positive]")
    pred = _without_last_char(gold)
    report = score(gold, pred, p=(1, 1.5, 2, 100, math.inf))
    docs = _ref_docs(gold, pred)
    for p in report.p_values:
        expected = reference_scores(docs, p)
        for measure in ("wsm", "marker"):
            got = getattr(report, measure)[p]
            assert got.precision == pytest.approx(expected[measure][0], abs=1e-9)
            assert got.recall == pytest.approx(expected[measure][1], abs=1e-9)
    assert report.wsm[1].precision == 1.0
    assert 0.7 < report.wsm[1].recall < 1.0
