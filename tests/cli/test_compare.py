"""``eccr compare GOLD RUN_A RUN_B``."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import write_corpus
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError

runner = CliRunner()
TEXT = "あ" * 30


@pytest.fixture
def runs(tmp_path):
    rng = random.Random(0)
    gold_spans = [[(s, s + rng.randint(3, 8)) for s in (0, 15)] for _ in range(40)]
    good = [[(s, e) for s, e in spans] for spans in gold_spans]
    bad = [[(s, s + 1) for s, _ in spans] for spans in gold_spans]
    paths = {}
    for name, docs in (("gold", gold_spans), ("good", good), ("bad", bad)):
        paths[name] = tmp_path / f"{name}.jsonl"
        corpus = Corpus(Document(f"d{i}", TEXT, [Span(*s) for s in spans]) for i, spans in enumerate(docs))
        write_corpus(corpus, paths[name])
    return paths


def test_compare_prints_difference_ci_and_p_value(runs):
    result = runner.invoke(app, ["compare", str(runs["gold"]), str(runs["good"]), str(runs["bad"]),
                                 "--permutations", "300", "--resamples", "300"])
    assert result.exit_code == 0, result.output
    assert "A−B +" in result.output and "CI" in result.output and "p = 0.00332" in result.output


def test_compare_json_and_identical_runs(runs):
    result = runner.invoke(app, ["compare", str(runs["gold"]), str(runs["good"]), str(runs["good"]),
                                 "--format", "json", "--measure", "marker", "--p", "inf"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["difference"] == 0.0 and data["p_value"] == 1.0 and data["p"] == "inf"


def test_compare_rejects_unknown_measure(runs):
    result = runner.invoke(app, ["compare", str(runs["gold"]), str(runs["good"]), str(runs["bad"]),
                                 "--measure", "bleu"])
    assert isinstance(result.exception, ConfigError)
