"""Fold summaries, bootstrap intervals and paired tests."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ScoringError
from eccr.metrics import bootstrap_interval, compare_systems, document_totals, score, summarize_folds
from eccr.metrics.stats import compare_totals, f1_from_sums

TEXT = "あ" * 40


def make(docs: list[list[tuple[int, int]]]) -> Corpus:
    return Corpus(Document(f"d{i}", TEXT, [Span(*s) for s in spans]) for i, spans in enumerate(docs))


def random_system(rng: random.Random, gold: list[list[tuple[int, int]]], keep: float) -> list:
    out = []
    for spans in gold:
        mine = []
        for s, e in spans:
            if rng.random() < keep:
                mine.append((s, e))
            else:
                mine.append((s, s + 1))
        out.append(mine)
    return out


@pytest.fixture(scope="module")
def systems():
    rng = random.Random(0)
    gold = [[(s, s + rng.randint(3, 8)) for s in (0, 15, 30)] for _ in range(60)]
    return make(gold), make(random_system(rng, gold, 0.95)), make(random_system(rng, gold, 0.2))


def test_summarize_folds_mean_sample_sd_and_pooled(systems):
    gold, good, _bad = systems
    folds = [score(gold[i : i + 20], good[i : i + 20], by_length=True) for i in (0, 20, 40)]
    pooled = score(gold, good, by_length=True)
    summary = summarize_folds(folds, pooled)
    data = summary.to_dict()
    values = [f.wsm[1.5].f1 for f in folds]
    assert data["wsm"]["1.5"]["f1"]["mean"] == pytest.approx(np.mean(values))
    assert data["wsm"]["1.5"]["f1"]["sd"] == pytest.approx(np.std(values, ddof=1))
    assert data["wsm"]["1.5"]["f1"]["pooled"] == pooled.wsm[1.5].f1
    assert data["char"]["recall"]["pooled"] == pooled.char.recall
    assert set(data["by_length"]) == {"1-2", "3-6", "7-10", "11-20", ">=21"}
    assert data["folds"] == 3
    markdown = summary.to_markdown()
    assert "| wsm / 1.5 |" in markdown and "(SD)" in markdown
    rows = summary.rows()
    assert {"score", "metric", "mean", "sd", "pooled", "fold_1", "fold_3"} <= set(rows[0])


def test_summarize_folds_single_fold_has_no_sd_and_mismatch_is_an_error(systems):
    gold, good, _ = systems
    one = score(gold, good)
    assert summarize_folds([one], one).to_dict()["wsm"]["1"]["f1"]["sd"] is None
    with pytest.raises(ScoringError) as mismatch:
        summarize_folds([score(gold, good, p=(1,))], one)
    with pytest.raises(ScoringError) as empty:
        summarize_folds([], one)
    assert mismatch.value.code == empty.value.code == "E055" and "fold report #1" in mismatch.value.message


def test_bootstrap_is_seeded_and_brackets_the_estimate(systems):
    gold, good, _ = systems
    rows = document_totals(gold, good, p=(1,)).measure("wsm", 1)
    a = bootstrap_interval(rows, seed=7, n_resamples=500)
    b = bootstrap_interval(rows, seed=7, n_resamples=500)
    c = bootstrap_interval(rows, seed=8, n_resamples=500)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    assert a.low <= a.estimate <= a.high
    assert a.estimate == pytest.approx(score(gold, good, p=(1,)).wsm[1].f1)
    assert 0 < a.high - a.low < 0.2


def test_paired_test_identical_systems_give_p_one(systems):
    gold, good, _ = systems
    result = compare_systems(gold, good, good, n_resamples=200, n_permutations=200)
    assert result.difference == 0.0
    assert result.p_value == 1.0
    assert result.low == result.high == 0.0


def test_paired_test_very_different_systems_give_a_small_p(systems):
    gold, good, bad = systems
    result = compare_systems(gold, good, bad, p=2.0, n_resamples=500, n_permutations=500, seed=1)
    assert result.difference > 0.3
    assert result.p_value < 0.01
    assert result.low > 0
    assert result == compare_systems(gold, good, bad, p=2.0, n_resamples=500, n_permutations=500, seed=1)
    data = result.to_dict()
    assert data["p"] == "2" and data["ci"]["low"] == result.low
    assert "p = " in result.describe()


def test_paired_test_other_measures_and_mismatched_rows(systems):
    gold, good, bad = systems
    exact = compare_systems(gold, good, bad, measure="exact", n_resamples=100, n_permutations=100)
    assert exact.p is None and exact.difference > 0
    assert exact.value_a == pytest.approx(score(gold, good).exact.f1)
    assert exact.value_b == pytest.approx(score(gold, bad).exact.f1)
    char = compare_systems(gold, good, bad, measure="char", metric="recall", n_resamples=100,
                           n_permutations=100)
    assert char.p is None and char.value_a == pytest.approx(score(gold, good).char.recall)
    marker = compare_systems(gold, good, bad, measure="marker", p=math.inf, n_resamples=100,
                             n_permutations=100)
    assert marker.value_b == pytest.approx(score(gold, bad, p=(math.inf,)).marker[math.inf].f1)
    with pytest.raises(ScoringError):
        compare_totals(np.ones((3, 4)), np.ones((4, 4)))


def test_f1_from_sums_matches_prf_and_zero_division():
    sums = np.array([[3, 4, 3, 6], [0, 0, 0, 0]], dtype=float)
    assert f1_from_sums(sums)[0] == pytest.approx(0.6)
    assert f1_from_sums(sums)[1] == 0.0
    assert f1_from_sums(sums, zero_division=1.0)[1] == 1.0
    assert f1_from_sums(sums, metric="recall")[0] == 0.5
    assert not math.isnan(f1_from_sums(sums, metric="precision")[1])


def test_document_average_is_the_mean_of_per_document_scores(systems):
    from eccr.metrics import document_average

    gold, good, _ = systems
    report = score(gold, good, p=(1,), per_document=True)
    rows = document_totals(gold, good, p=(1,)).measure("wsm", 1)
    average = document_average(rows)
    assert average.f1 == pytest.approx(np.mean([d.wsm[1].f1 for d in report.per_document]))
    assert average.documents == 60
