"""The measure registry: a measure registered once appears in score, summaries, compare and the CLI."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import write_corpus
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError
from eccr.metrics import (
    DOCUMENT_MEAN,
    Measure,
    bootstrap_interval,
    compare_systems,
    document_totals,
    get_measure,
    measure_names,
    register_measure,
    score,
    summarize_folds,
    unregister_measure,
)
from eccr.metrics.measures import ScoringInput, SpanBins

TEXT = "あ" * 40


def _start_counts(inp: ScoringInput) -> np.ndarray:
    """Spans whose start the other side also has: ``[pred hits, pred, gold hits, gold]`` per document."""
    rows = []
    for pair in inp.pairs:
        gold = {s.start for s in pair.gold.spans}
        pred = {s.start for s in pair.pred_spans}
        rows.append([len(gold & pred), len(pred), len(gold & pred), len(gold)])
    return np.asarray(rows, dtype=np.float64).reshape(inp.documents, 4)


def _half(array: np.ndarray) -> np.ndarray:
    out = array.copy()
    out[..., 0] /= 2
    out[..., 2] /= 2
    return out


def _half_wsm_counts(inp: ScoringInput) -> np.ndarray:
    return _half(get_measure("wsm").counts(inp))


def _half_wsm_strata(inp: ScoringInput, bins: SpanBins) -> np.ndarray:
    return _half(get_measure("wsm").strata(inp, bins))


@pytest.fixture
def new_measures():
    """Two measures only this test knows: one without p, one with a p axis and length strata."""
    added = [
        register_measure(Measure("start", "span start match", False, _start_counts,
                                 description="spans with the same start offset")),
        register_measure(Measure("half-wsm", "half weighted soft matching", True, _half_wsm_counts,
                                 strata=_half_wsm_strata)),
    ]
    try:
        yield added
    finally:
        for measure in added:
            unregister_measure(measure.name)


def make(docs: list[list[tuple[int, int]]]) -> Corpus:
    return Corpus(Document(f"d{i}", TEXT, [Span(*s) for s in spans]) for i, spans in enumerate(docs))


@pytest.fixture(scope="module")
def systems():
    rng = random.Random(3)
    gold = [[(s, s + rng.randint(3, 9)) for s in (0, 12, 25)] for _ in range(30)]
    good = [[(s, e) if rng.random() < 0.9 else (s + 1, e) for s, e in spans] for spans in gold]
    bad = [[(s + 1, e - 1) if rng.random() < 0.7 else (s, e) for s, e in spans] for spans in gold]
    return make(gold), make(good), make(bad)


def test_a_registered_measure_appears_in_score_summary_and_compare(new_measures, systems):
    gold, good, bad = systems
    report = score(gold, good, p=(1, 2), by_length=True, per_document=True)
    # score: pooled, per p, per bin, per document, in JSON and rows
    start = report.get("start")
    hits = sum(len({s.start for s in g.spans} & {s.start for s in q.spans}) for g, q in zip(gold, good,
                                                                                           strict=True))
    assert start.recall == hits / 90
    assert report.get("half-wsm", 2).recall == report.wsm[2].recall / 2
    assert report.by_length["3-6"].get("half-wsm")[1].recall == report.by_length["3-6"].wsm[1].recall / 2
    data = report.to_dict()
    assert data["start"] == start.to_dict() and set(data["half-wsm"]) == {"1", "2"}
    assert set(data["by_length_half-wsm"]) == set(data["by_length"])
    assert "start" in data["per_document"]["d0"]
    assert {"start", "half-wsm"} <= {row["measure"] for row in report.rows()}
    # fold summary
    folds = [score(gold[i : i + 10], good[i : i + 10], p=(1, 2), by_length=True) for i in (0, 10, 20)]
    summary = summarize_folds(folds, report)
    assert summary.entry("start").recall.pooled == start.recall
    assert summary.entry("start").f1.mean == pytest.approx(np.mean([f.get("start").f1 for f in folds]))
    assert summary.entry("by_length_half-wsm", "3-6", "1") is not None
    assert "| start |" in summary.to_markdown()
    # paired comparison and bootstrap
    comparison = compare_systems(gold, good, bad, measure="start", n_resamples=200, n_permutations=200)
    assert comparison.measure == "start" and comparison.p is None
    assert comparison.value_a == start.f1 and comparison.value_b == score(gold, bad).get("start").f1
    rows = document_totals(gold, good).measure("start")
    assert bootstrap_interval(rows, n_resamples=100).estimate == start.f1
    assert compare_systems(gold, good, bad, measure="half-wsm", p=2, n_resamples=50,
                           n_permutations=50).value_a == report.get("half-wsm", 2).f1


def test_a_registered_measure_is_a_choice_of_eccr_compare_and_in_cv_summaries(new_measures, systems,
                                                                              tmp_path):
    gold, good, bad = systems
    paths = {}
    for name, corpus in (("gold", gold), ("good", good), ("bad", bad)):
        paths[name] = tmp_path / f"{name}.jsonl"
        write_corpus(corpus, paths[name])
    result = CliRunner().invoke(app, ["compare", str(paths["good"]), str(paths["bad"]), "--gold",
                                      str(paths["gold"]), "--measure", "start", "--format", "json",
                                      "--resamples", "50", "--permutations", "50"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["measure"] == "start"
    scored = CliRunner().invoke(app, ["score", str(paths["gold"]), str(paths["good"]), "--format", "csv",
                                      "--per-doc"])
    assert scored.exit_code == 0 and "start," in scored.output and "d0,start" in scored.output

    from eccr.experiments.config import resolve_config
    from eccr.experiments.runner import cross_validate

    run = cross_validate(gold, resolve_config({"model": {"spec": "dict"}, "folds": 3}), tmp_path / "run",
                         progress=False)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["start"]["f1"]["pooled"] == run.pooled.get("start").f1
    assert "start" in summary["fold_results"][0]
    assert "start" in (tmp_path / "run" / "summary.csv").read_text(encoding="utf-8")


def test_registry_rules(new_measures):
    assert measure_names()[:3] == ("wsm", "marker", "char") and measure_names()[-2:] == ("start", "half-wsm")
    with pytest.raises(ConfigError) as duplicate:
        register_measure(Measure("start", "again", False, _start_counts))
    with pytest.raises(ConfigError) as bad_name:
        Measure("Start Match", "x", False, _start_counts)
    with pytest.raises(ConfigError) as clash:
        register_measure(Measure("other", "x", False, _start_counts, json_path=("jmedllm", "exact")))
    with pytest.raises(ConfigError) as unknown:
        get_measure("bleu")
    assert duplicate.value.code == bad_name.value.code == clash.value.code == "E140"
    assert unknown.value.code == "E141" and "wsm" in unknown.value.message


def test_document_mean_measures_compare_and_bootstrap_like_they_score(systems):
    gold, good, bad = systems
    report = score(gold, good)
    assert get_measure("jmedllm-exact").pooling is DOCUMENT_MEAN
    comparison = compare_systems(gold, good, bad, measure="jmedllm-exact", n_resamples=300,
                                 n_permutations=300)
    assert comparison.value_a == report.jmedllm_exact.f1
    assert comparison.value_b == score(gold, bad).jmedllm_exact.f1
    assert comparison.low <= comparison.difference <= comparison.high
    same = compare_systems(gold, good, good, measure="jmedllm-partial", n_resamples=50, n_permutations=50)
    assert same.difference == 0.0 and same.p_value == 1.0
    rows = document_totals(gold, good).measure("jmedllm-exact")
    interval = bootstrap_interval(rows, metric="recall", pooling=DOCUMENT_MEAN, n_resamples=300)
    assert interval.estimate == report.jmedllm_exact.recall
    assert interval.low <= interval.estimate <= interval.high


def test_token_measure_needs_a_tokenizer_in_compare(systems):
    gold, good, bad = systems
    with pytest.raises(ConfigError) as err:
        compare_systems(gold, good, bad, measure="token")
    assert err.value.code == "E142"
    result = compare_systems(gold, good, bad, measure="token", tokenizer="char", n_resamples=50,
                             n_permutations=50)
    assert result.value_a == score(gold, good, tokenizer="char").token.f1
