"""The weighted soft matching score: the issue's hand-worked examples, the reference, and its properties."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError
from eccr.metrics import holder_norm, score
from eccr.metrics.runs import Layout, RunSet, find_markers
from eccr.metrics.wsm import check_p, span_scores

from .metrics_reference import reference_scores

INF = math.inf
P_GRID = (1.0, 1.25, 1.5, 2.0, 3.0, 10.0, 100.0, INF)


def corpus(*docs: tuple[str, list[tuple[int, int]] | list[tuple[int, int, str]]]) -> Corpus:
    out = []
    for i, (text, spans) in enumerate(docs):
        out.append(Document(f"d{i}", text, [Span(*s) for s in spans]))
    return Corpus(out)


TEXT10 = "あいうえおかきくけこ"


def test_gold_of_ten_with_two_markers_of_three():
    gold = corpus((TEXT10, [(0, 10)]))
    pred = corpus((TEXT10, [(1, 4), (6, 9)]))
    report = score(gold, pred, p=(1, 2, INF, 100))
    assert report.wsm[1].recall == pytest.approx(0.6, abs=1e-12)
    assert report.wsm[2].recall == pytest.approx(math.sqrt(18) / 10, abs=1e-12)
    assert report.wsm[INF].recall == pytest.approx(0.3, abs=1e-12)
    assert report.wsm[100].recall == pytest.approx(0.3 * 2 ** (1 / 100), abs=1e-12)
    assert all(report.wsm[p].precision == 1.0 for p in (1, 2, INF, 100))


def test_one_prediction_over_two_gold_spans_is_penalised_on_precision_for_p_above_one():
    gold = corpus(("あいうえおかきくけこ", [(0, 3), (5, 8)]))
    pred = corpus(("あいうえおかきくけこ", [(0, 8)]))
    report = score(gold, pred, p=(1, 1.5, 2, INF))
    assert report.wsm[1].precision == pytest.approx(6 / 8)
    assert report.wsm[2].precision == pytest.approx(math.sqrt(18) / 8)
    assert report.wsm[INF].precision == pytest.approx(3 / 8)
    assert report.wsm[1.5].precision < report.wsm[1].precision
    assert all(report.wsm[p].recall == 1.0 for p in (1, 1.5, 2, INF))


def test_identical_inputs_score_one_for_every_p():
    gold = corpus(("発熱と咳嗽を認めた。", [(0, 2), (3, 5)]), ("間質性肺炎", [(0, 5)]))
    report = score(gold, gold, p=P_GRID, tokenizer="simple", by_length=True)
    for p in P_GRID:
        for prf in (report.wsm[p], report.marker[p]):
            assert (prf.precision, prf.recall, prf.f1) == (1.0, 1.0, 1.0)
    assert report.char.f1 == report.exact.f1 == report.token.f1 == 1.0
    assert report.jmedllm_exact.f1 == report.jmedllm_partial.f1 == 1.0


def test_marker_score_is_the_unweighted_mean_of_span_scores():
    gold = corpus((TEXT10, [(0, 8), (9, 10)]))
    pred = corpus((TEXT10, [(0, 4), (9, 10)]))
    report = score(gold, pred, p=(1,))
    assert report.marker[1].recall == pytest.approx((4 / 8 + 1) / 2)
    assert report.wsm[1].recall == pytest.approx((4 + 1) / 9)


def test_holder_norm_scalar_matches_the_formula():
    assert holder_norm([], 2) == 0.0
    assert holder_norm([3, 4], 2) == pytest.approx(5.0)
    assert holder_norm([3, 4], INF) == 4.0
    assert holder_norm([3, 4], 1) == 7.0


@pytest.mark.parametrize("bad", [0.5, 0, -1, float("nan"), "x", None])
def test_p_below_one_or_not_a_number_is_an_error(bad):
    with pytest.raises(ConfigError) as err:
        check_p(bad)
    assert err.value.code == "E053"


def test_large_p_does_not_overflow_on_long_markers():
    text = "あ" * 5000
    gold = corpus((text, [(0, 5000)]))
    pred = corpus((text, [(0, 2000), (2001, 5000)]))
    report = score(gold, pred, p=(100, 1000, INF))
    assert report.wsm[100].recall == pytest.approx(2999 / 5000 * (1 + (2000 / 2999) ** 100) ** 0.01)
    assert report.wsm[1000].recall == pytest.approx(2999 / 5000)
    assert report.wsm[INF].recall == 2999 / 5000


# --- against the pure-Python reference ---------------------------------------------------------------


def random_docs(rng: random.Random, n_docs: int, labels: str = "c") -> list[tuple[int, list, list]]:
    docs = []
    for _ in range(n_docs):
        length = rng.randint(1, 60)

        def spans(k: int, length: int = length) -> list[tuple[int, int, str]]:
            out = []
            for _ in range(k):
                s = rng.randrange(length)
                out.append((s, rng.randint(s + 1, min(length, s + 15)), rng.choice(labels)))
            return out

        docs.append((length, spans(rng.randint(0, 6)), spans(rng.randint(0, 6))))
    return docs


def as_corpora(docs: list[tuple[int, list, list]]) -> tuple[Corpus, Corpus]:
    gold = Corpus(Document(f"d{i}", "あ" * n, [Span(*s) for s in g]) for i, (n, g, _) in enumerate(docs))
    pred = Corpus(Document(f"d{i}", "あ" * n, [Span(*s) for s in q]) for i, (n, _, q) in enumerate(docs))
    return gold, pred


@pytest.mark.parametrize("typed", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_matches_the_reference_on_random_cases(seed, typed):
    rng = random.Random(seed)
    docs = random_docs(rng, rng.randint(1, 25), labels="ab" if typed else "c")
    gold, pred = as_corpora(docs)
    report = score(gold, pred, p=P_GRID, typed=typed)
    for p in P_GRID:
        expected = reference_scores(docs, p, typed=typed)
        for measure in ("wsm", "marker"):
            got = getattr(report, measure)[p]
            assert got.precision == pytest.approx(expected[measure][0], abs=1e-9), (measure, p)
            assert got.recall == pytest.approx(expected[measure][1], abs=1e-9), (measure, p)
    expected_char = reference_scores(docs, 1.0, typed=typed)["char"]
    assert report.char.precision == pytest.approx(expected_char[0], abs=1e-12)
    assert report.char.recall == pytest.approx(expected_char[1], abs=1e-12)


# --- properties ----------------------------------------------------------------------------------------


@st.composite
def doc_pairs(draw, labels: str = "c"):
    n_docs = draw(st.integers(1, 5))
    docs = []
    for _ in range(n_docs):
        length = draw(st.integers(1, 40))
        span = st.integers(0, length - 1).flatmap(
            lambda s, length=length: st.tuples(st.just(s), st.integers(s + 1, length),
                                               st.sampled_from(labels)))
        docs.append((length, draw(st.lists(span, max_size=6)), draw(st.lists(span, max_size=6))))
    return docs


@settings(max_examples=60, deadline=None)
@given(doc_pairs())
def test_span_scores_are_between_zero_and_one_and_non_increasing_in_p(docs):
    gold, pred = as_corpora(docs)
    layout = Layout.build([n for n, _, _ in docs], ("c",))

    def runset(side: int) -> RunSet:
        rows = [(i, s, e) for i, doc in enumerate(docs) for s, e, _ in doc[side]]
        return RunSet.from_arrays(layout, [r[0] for r in rows], [0] * len(rows), [r[1] for r in rows],
                                  [r[2] for r in rows])

    g, q = runset(1), runset(2)
    for targets, covers in ((g, q), (q, g)):
        markers = find_markers(targets, covers)
        previous = None
        for p in P_GRID:
            s = span_scores(markers, targets.lengths, p)
            assert ((s >= 0) & (s <= 1 + 1e-12)).all()
            if previous is not None:
                assert (s <= previous + 1e-12).all()
            previous = s
    report = score(gold, pred, p=P_GRID)
    for measure in ("wsm", "marker"):
        table = getattr(report, measure)
        for a, b in itertools.pairwise(P_GRID):
            assert table[b].precision <= table[a].precision + 1e-12
            assert table[b].recall <= table[a].recall + 1e-12


@settings(max_examples=60, deadline=None)
@given(doc_pairs(labels="ab"), st.booleans())
def test_p_one_equals_character_scoring_exactly(docs, typed):
    gold, pred = as_corpora(docs)
    report = score(gold, pred, p=(1,), typed=typed)
    assert report.wsm[1].precision == report.char.precision
    assert report.wsm[1].recall == report.char.recall
    assert report.wsm[1].f1 == report.char.f1


@settings(max_examples=50, deadline=None)
@given(doc_pairs(), st.randoms(use_true_random=False))
def test_invariant_to_document_and_span_order(docs, rnd):
    gold, pred = as_corpora(docs)
    base = score(gold, pred, p=P_GRID).to_dict()
    order = list(range(len(docs)))
    rnd.shuffle(order)
    shuffled = [docs[i] for i in order]
    for _, g, q in shuffled:
        rnd.shuffle(g)
        rnd.shuffle(q)
    gold2 = Corpus(Document(f"d{i}", "あ" * docs[i][0], [Span(*s) for s in docs[i][1]]) for i in order)
    pred2 = Corpus(Document(f"d{i}", "あ" * docs[i][0], [Span(*s) for s in reversed(docs[i][2])])
                   for i in order)
    again = score(gold2, pred2, p=P_GRID).to_dict()
    for key in ("wsm", "marker", "char", "exact"):
        assert flat(again[key]) == pytest.approx(flat(base[key]), abs=1e-12)


def flat(node, prefix=""):
    """Nested score dicts as {"wsm/1/f1": value}, for approximate comparison."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}/{key}").items()}
    return {prefix: node}


def split_spans(spans: list[tuple[int, int, str]], rnd: random.Random) -> list[tuple[int, int, str]]:
    """Cut every span into adjacent pieces, and sometimes duplicate a piece (overlap)."""
    out = []
    for s, e, label in spans:
        cuts = sorted({s, e, *(rnd.randint(s, e) for _ in range(rnd.randint(0, 3)))})
        pieces = [(a, b, label) for a, b in itertools.pairwise(cuts) if b > a]
        out.extend(pieces)
        if pieces and rnd.random() < 0.3:
            out.append(rnd.choice(pieces))
    return out


@settings(max_examples=50, deadline=None)
@given(doc_pairs(), st.randoms(use_true_random=False))
def test_binary_scores_do_not_depend_on_how_spans_are_split(docs, rnd):
    gold, pred = as_corpora(docs)
    base = score(gold, pred, p=P_GRID, by_length=True).to_dict()
    split = [(n, split_spans(g, rnd), split_spans(q, rnd)) for n, g, q in docs]
    gold2, pred2 = as_corpora(split)
    again = score(gold2, pred2, p=P_GRID, by_length=True).to_dict()
    for key in ("wsm", "marker", "char", "by_length", "by_length_marker", "gold_spans", "pred_spans"):
        assert flat(again[key]) == pytest.approx(flat(base[key]), abs=1e-12)
