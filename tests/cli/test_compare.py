"""``eccr compare RUN_A RUN_B [--gold GOLD]`` on predictions files and cv run directories."""

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
    assert isinstance(result.exception, ConfigError) and result.exception.code == "E053"
    assert "bleu" in result.exception.message


# --- run directories (two real `eccr cv` runs on the sample corpus; fixture in tests/conftest.py) ----------


def _compare_json(*args: str) -> tuple[dict, str]:
    # defaults first: a repeated option keeps its last value
    result = runner.invoke(app, ["compare", "--format", "json", "--permutations", "500", "--resamples", "500",
                                 *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def test_compare_two_cv_run_directories(sample_cv_runs):
    data, stderr = _compare_json(str(sample_cv_runs["crf"]), str(sample_cv_runs["dict"]))
    assert data["documents"] == 40 and data["measure"] == "wsm" and data["metric"] == "f1"
    assert data["difference"] == pytest.approx(data["a"] - data["b"])
    assert data["ci"]["low"] <= data["difference"] <= data["ci"]["high"]
    assert data["ci"]["low"] < data["ci"]["high"]
    assert 0 < data["p_value"] <= 1
    # the pooled scores are the runs' own pooled scores from summary.json
    for key, name in (("a", "crf"), ("b", "dict")):
        summary = json.loads((sample_cv_runs[name] / "summary.json").read_text(encoding="utf-8"))
        assert data[key] == pytest.approx(summary["wsm"]["1"]["f1"]["pooled"])
    assert data["runs"]["gold"] == str(sample_cv_runs["crf"] / "gold.jsonl")
    assert data["warnings"] == [] and "warning" not in stderr


def test_compare_a_run_with_itself(sample_cv_runs):
    data, _ = _compare_json(str(sample_cv_runs["crf"]), str(sample_cv_runs["crf"]))
    assert data["difference"] == 0.0 and data["p_value"] == 1.0
    assert data["ci"]["low"] == data["ci"]["high"] == 0.0


def test_compare_run_directory_table_output(sample_cv_runs):
    result = runner.invoke(app, ["compare", str(sample_cv_runs["crf"]), str(sample_cv_runs["dict"]),
                                 "--permutations", "200", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wsm p=1 f1: A ") and "over 40 documents" in result.stdout
    assert f"gold = {sample_cv_runs['crf'] / 'gold.jsonl'}" in result.stdout


def test_compare_runs_with_different_folds_warns(sample_cv_runs):
    data, stderr = _compare_json(str(sample_cv_runs["dict"]), str(sample_cv_runs["dict-seed1"]))
    assert len(data["warnings"]) == 1 and "different folds" in data["warnings"][0]
    assert "warning: the runs used different folds" in stderr
    assert 0 < data["p_value"] <= 1


def test_compare_a_run_directory_with_a_predictions_file(sample_cv_runs, tmp_path):
    as_file = tmp_path / "dict-predictions.jsonl"
    as_file.write_bytes((sample_cv_runs["dict"] / "predictions.jsonl").read_bytes())
    directories, _ = _compare_json(str(sample_cv_runs["crf"]), str(sample_cv_runs["dict"]))
    mixed, _ = _compare_json(str(sample_cv_runs["crf"]), str(as_file))
    explicit, _ = _compare_json(str(sample_cv_runs["crf"]), str(as_file), "--gold",
                                str(sample_cv_runs["dict"] / "gold.jsonl"))
    for key in ("a", "b", "difference", "p_value", "ci"):
        assert mixed[key] == directories[key] == explicit[key]


def test_compare_files_need_gold(runs):
    result = runner.invoke(app, ["compare", str(runs["good"]), str(runs["bad"])])
    assert isinstance(result.exception, ConfigError) and result.exception.code == "E053"
    assert "--gold GOLD is required" in str(result.exception)
    with_gold = runner.invoke(app, ["compare", str(runs["good"]), str(runs["bad"]), "--gold",
                                    str(runs["gold"]), "--format", "json", "--permutations", "300",
                                    "--resamples", "300"])
    legacy = runner.invoke(app, ["compare", str(runs["gold"]), str(runs["good"]), str(runs["bad"]),
                                 "--format", "json", "--permutations", "300", "--resamples", "300"])
    assert json.loads(with_gold.stdout)["difference"] == json.loads(legacy.stdout)["difference"] > 0.2
    both = runner.invoke(app, ["compare", str(runs["gold"]), str(runs["good"]), str(runs["bad"]),
                               "--gold", str(runs["gold"])])
    assert isinstance(both.exception, ConfigError) and both.exception.code == "E053"


def test_compare_runs_on_different_documents_is_an_error(sample_cv_runs, tmp_path):
    lines = (sample_cv_runs["dict"] / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join(lines[:5] + lines[6:]) + "\n", encoding="utf-8")
    missing_id = json.loads(lines[5])["id"]
    result = runner.invoke(app, ["compare", str(sample_cv_runs["crf"]), str(dropped)])
    assert result.exception.code == "E055" and f"document {missing_id!r} is in run A" in str(result.exception)
    changed = json.loads(lines[3])
    changed["text"] = changed["text"][:4] + "Ｘ" + changed["text"][5:]
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join([*lines[:3], json.dumps(changed, ensure_ascii=False), *lines[4:]]) + "\n",
                      encoding="utf-8")
    result = runner.invoke(app, ["compare", str(sample_cv_runs["crf"]), str(edited)])
    assert result.exception.code == "E055"
    assert f"document {changed['id']!r} has a different text" in str(result.exception)
    assert result.exception.location.offset == 4


def test_score_paired_takes_a_run_directory(sample_cv_runs):
    crf, other = sample_cv_runs["crf"], sample_cv_runs["dict"]
    result = runner.invoke(app, ["score", str(crf / "gold.jsonl"), str(crf / "predictions.jsonl"),
                                 "--paired", str(other), "--p", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    paired = json.loads(result.stdout)["paired"]
    direct, _ = _compare_json(str(crf), str(other), "--permutations", "1000", "--resamples", "1000")
    assert paired["difference"] == direct["difference"] and paired["p_value"] == direct["p_value"]
