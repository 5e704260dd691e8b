"""Length strata: which gold and predicted spans count in which bin."""

from __future__ import annotations

import random

import numpy as np
import pytest

from eccr.corpus.types import Corpus, Document, Span
from eccr.metrics import score
from eccr.metrics.strata import bin_index

TEXT = "あ" * 60


def one_doc(gold, pred):
    return (Corpus([Document("d", TEXT, [Span(*s) for s in gold])]),
            Corpus([Document("d", TEXT, [Span(*s) for s in pred])]))


def test_recall_uses_gold_spans_of_the_bin():
    gold, pred = one_doc([(0, 2), (10, 15)], [(0, 2), (10, 12)])
    strata = score(gold, pred, p=(1,), by_length=True).by_length
    assert strata["1-2"].wsm[1].recall == 1.0 and strata["1-2"].gold_spans == 1
    assert strata["3-6"].wsm[1].recall == pytest.approx(2 / 5) and strata["3-6"].gold_spans == 1
    # the prediction [10, 12) has length 2 but its gold span is 5 long: it counts in 3-6
    assert strata["3-6"].pred_spans == 1 and strata["3-6"].wsm[1].precision == 1.0
    assert strata["7-10"].gold_spans == strata["7-10"].pred_spans == 0


def test_precision_goes_to_the_largest_overlap_gold_span_leftmost_on_ties():
    # prediction [0, 14) overlaps gold [0, 2) by 2 and gold [4, 12) by 8: bin of the 8-long gold span
    gold, pred = one_doc([(0, 2), (4, 12)], [(0, 14)])
    strata = score(gold, pred, p=(1,), by_length=True).by_length
    assert strata["7-10"].pred_spans == 1 and strata["1-2"].pred_spans == 0
    assert strata["7-10"].wsm[1].precision == pytest.approx(10 / 14)
    # a tie (3 and 3 characters) goes to the leftmost gold span
    gold, pred = one_doc([(0, 3), (5, 15)], [(0, 8)])
    strata = score(gold, pred, p=(1,), by_length=True).by_length
    assert strata["3-6"].pred_spans == 1 and strata["7-10"].pred_spans == 0


def test_prediction_without_gold_overlap_goes_to_its_own_length():
    gold, pred = one_doc([(0, 2)], [(30, 55)])
    strata = score(gold, pred, p=(1,), by_length=True).by_length
    assert strata[">=21"].pred_spans == 1 and strata[">=21"].wsm[1].precision == 0.0
    assert strata[">=21"].gold_spans == 0 and strata[">=21"].wsm[1].recall == 0.0


@pytest.mark.parametrize("typed", [False, True])
def test_bins_add_up_to_the_overall_scores(typed):
    rng = random.Random(3)
    docs_g, docs_q = [], []
    for i in range(30):
        g = [(s, s + rng.randint(1, 25)) for s in sorted(rng.sample(range(0, 30), 3))]
        q = [(s, s + rng.randint(1, 25)) for s in sorted(rng.sample(range(0, 30), 3))]
        docs_g.append(Document(f"d{i}", TEXT, [Span(*s, rng.choice("ab")) for s in g]))
        docs_q.append(Document(f"d{i}", TEXT, [Span(*s, rng.choice("ab")) for s in q]))
    report = score(Corpus(docs_g), Corpus(docs_q), p=(1, 2, float("inf")), by_length=True, typed=typed)
    for p in report.p_values:
        for measure in ("wsm", "marker"):
            total = None
            for stratum in report.by_length.values():
                part = getattr(stratum, measure)[p]
                total = part if total is None else total + part
            overall = getattr(report, measure)[p]
            assert total.precision == pytest.approx(overall.precision)
            assert total.recall == pytest.approx(overall.recall)
    assert sum(s.gold_spans for s in report.by_length.values()) == report.gold_spans
    assert sum(s.pred_spans for s in report.by_length.values()) == report.pred_spans


def test_bin_index_uses_the_paper_bins():
    lengths = np.array([1, 2, 3, 6, 7, 10, 11, 20, 21, 200])
    assert bin_index(lengths).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("seed", range(4))
def test_strata_match_the_reference_on_random_cases(seed):
    from .metrics_reference import reference_strata

    rng = random.Random(seed)
    docs = []
    for _ in range(20):
        length = rng.randint(5, 60)

        def spans(length=length):
            out = []
            for _ in range(rng.randint(0, 5)):
                s = rng.randrange(length)
                out.append((s, rng.randint(s + 1, min(length, s + 25)), "c"))
            return out

        docs.append((length, spans(), spans()))
    gold = Corpus(Document(f"d{i}", "あ" * n, [Span(*s) for s in g]) for i, (n, g, _) in enumerate(docs))
    pred = Corpus(Document(f"d{i}", "あ" * n, [Span(*s) for s in q]) for i, (n, _, q) in enumerate(docs))
    for p in (1.0, 2.0, float("inf")):
        strata = score(gold, pred, p=(p,), by_length=True).by_length
        expected = reference_strata(docs, p)
        for name, (precision, recall) in expected.items():
            assert strata[name].wsm[p].precision == pytest.approx(precision, abs=1e-9), (name, p)
            assert strata[name].wsm[p].recall == pytest.approx(recall, abs=1e-9), (name, p)
