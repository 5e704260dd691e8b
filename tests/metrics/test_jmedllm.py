"""JMED-LLM document-level string-set exact and partial scores."""

import pytest

from eccr.corpus.types import Corpus, Document, Span
from eccr.metrics import score
from eccr.metrics.jmedllm import document_prf, jmedllm_scores


def strings(*items):
    return {("", s) for s in items}


def test_exact_is_set_intersection():
    assert document_prf(strings("肺炎", "発熱"), strings("肺炎", "咳"), partial=False, zero_division=0.0) == (
        0.5, 0.5, 0.5)


def test_partial_is_substring_containment_in_either_direction():
    gold = strings("間質性肺炎", "発熱")
    pred = strings("肺炎", "高熱", "咳")
    precision, recall, _f1 = document_prf(gold, pred, partial=True, zero_division=0.0)
    assert precision == pytest.approx(1 / 3)  # 肺炎 ⊂ 間質性肺炎; 高熱 and 咳 match nothing
    assert recall == 0.5
    # the JMED-LLM script would count set membership only here: no exact string in common -> 0
    assert document_prf(strings("肺炎"), strings("間質性肺炎の既往"), partial=True, zero_division=0.0) == (
        1.0, 1.0, 1.0)


def test_precision_counts_predicted_strings_so_it_stays_at_most_one():
    p, r, _ = document_prf(strings("肺炎"), strings("肺", "炎", "肺炎"), partial=True, zero_division=0.0)
    assert p == 1.0 and r == 1.0
    p, r, _ = document_prf(strings("肺炎", "発熱"), strings("肺炎の"), partial=True, zero_division=0.0)
    assert p == 1.0 and r == 0.5


def test_scores_are_macro_averaged_over_documents():
    docs = [(strings("a"), strings("a")), (strings("b", "c"), strings("x"))]
    exact, _partial = jmedllm_scores(docs)
    assert exact.f1 == 0.5 and exact.documents == 2
    assert exact.precision == 0.5 and exact.recall == 0.5


def test_zero_division_for_documents_without_gold_or_predictions():
    docs = [(set(), set())]
    assert jmedllm_scores(docs, zero_division=1.0)[0].f1 == 1.0
    assert jmedllm_scores(docs, zero_division=0.0)[0].f1 == 0.0


def test_score_reports_jmedllm_on_span_surfaces():
    text = "間質性肺炎と発熱を認めた。"
    gold = Corpus([Document("d", text, [Span(0, 5), Span(6, 8)])])
    pred = Corpus([Document("d", text, [Span(3, 5)])])
    data = score(gold, pred).to_dict()["jmedllm"]
    assert data["exact"]["f1"] == 0.0
    assert data["partial"]["precision"] == 1.0 and data["partial"]["recall"] == 0.5


def jmedllm_script_exact_f1(answers, predictions):
    """JMED-LLM's exact_f1_score, re-written from its description (per-document F1, averaged)."""
    total = 0.0
    for answer, predict in zip(answers, predictions, strict=True):
        answer, predict = set(answer), set(predict)
        hits = answer & predict
        recall = len(hits) / len(answer)
        precision = len(hits) / len(predict) if predict else 0
        total += 2 * recall * precision / (recall + precision) if recall + precision else 0
    return total / len(answers)


def test_exact_f1_equals_the_jmedllm_script_when_every_document_has_gold():
    import random

    rng = random.Random(5)
    vocab = ["肺炎", "発熱", "咳嗽", "浮腫", "疼痛", "腫瘤", "出血"]
    answers = [rng.sample(vocab, rng.randint(1, 4)) for _ in range(30)]
    predictions = [rng.sample(vocab, rng.randint(0, 4)) for _ in range(30)]
    exact, _ = jmedllm_scores([(strings(*a), strings(*q)) for a, q in zip(answers, predictions, strict=True)])
    assert exact.f1 == pytest.approx(jmedllm_script_exact_f1(answers, predictions), abs=1e-12)


def test_gold_uses_listed_answers_and_prediction_its_own_spans():
    # 発熱 and 熱感 overlap in the text, so the gold spans merge into one run 発熱感;
    # JMED-LLM scores the listed strings.
    text = "発熱感あり"
    gold = Corpus([Document("d", text, [Span(0, 3)], {"answers": ["発熱", "熱感"]})])
    # predictions inherit the gold document's meta; their own spans must be what is scored
    pred = Corpus([Document("d", text, [Span(0, 2)], {"answers": ["発熱", "熱感"]})])
    report = score(gold, pred)
    assert report.jmedllm_exact.recall == 0.5
    assert report.jmedllm_exact.precision == 1.0


def test_mrner_gold_against_itself_scores_one_on_the_listed_strings(mrner_path):
    from eccr.corpus import read_corpus

    gold = read_corpus(mrner_path)
    assert sum(len(set(d.meta["answers"])) for d in gold) <= 810
    report = score(gold, gold.map_spans(lambda d: d.spans))
    assert report.jmedllm_exact.f1 == 1.0
    assert report.jmedllm_partial.f1 == 1.0
