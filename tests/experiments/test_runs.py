"""Reading cv run directories and predictions files for paired comparison (``eccr.experiments.runs``)."""

from __future__ import annotations

import json
import shutil

import pytest

from eccr.corpus.io import read_corpus, write_corpus
from eccr.corpus.types import Corpus, Document
from eccr.errors import ConfigError, ScoringError
from eccr.experiments.runs import check_same_documents, compare_runs, is_run_directory, read_run


def test_read_run_directory_and_fold_file_fallback(sample_cv_runs, tmp_path) -> None:
    whole = read_run(sample_cv_runs["crf"])
    assert whole.is_directory and whole.folds is not None and whole.folds.k == 5
    assert whole.gold is not None and sorted(whole.gold.ids) == sorted(whole.predictions.ids)
    # a run written before DIR/predictions.jsonl existed: the fold files, in fold order
    old = tmp_path / "old-run"
    shutil.copytree(sample_cv_runs["crf"], old)
    (old / "predictions.jsonl").unlink()
    (old / "gold.jsonl").unlink()
    assert is_run_directory(old)
    from_folds = read_run(old)
    assert list(from_folds.predictions) == list(whole.predictions)
    assert list(from_folds.gold) == list(whole.gold)


def test_read_run_rejects_what_is_not_a_run(sample_cv_runs, tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as err:
        read_run(tmp_path / "nowhere")
    assert err.value.code == "E043"
    (tmp_path / "empty").mkdir()
    assert not is_run_directory(tmp_path / "empty")
    with pytest.raises(ConfigError, match="not an eccr cv run directory") as err:
        read_run(tmp_path / "empty")
    assert err.value.code == "E043"
    # a document in two folds' prediction files
    broken = tmp_path / "broken"
    shutil.copytree(sample_cv_runs["dict"], broken)
    (broken / "predictions.jsonl").unlink()
    first = (broken / "fold-0" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()[0]
    with (broken / "fold-3" / "predictions.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(first + "\n")
    with pytest.raises(ScoringError, match="is in two folds") as err:
        read_run(broken)
    assert err.value.code == "E055" and err.value.location.doc_id == json.loads(first)["id"]


def _write(path, docs):
    write_corpus(Corpus(docs), path)
    return path


def test_same_documents_check_names_the_first_differing_id(tmp_path) -> None:
    a = read_run(_write(tmp_path / "a.jsonl", [Document("x", "発熱"), Document("y", "咳嗽")]))
    b = read_run(_write(tmp_path / "b.jsonl", [Document("y", "咳嗽"), Document("z", "頭痛")]))
    with pytest.raises(ScoringError, match="'x' is in run A") as err:
        check_same_documents(a, b)
    assert err.value.code == "E055"
    only_y = read_run(_write(tmp_path / "a2.jsonl", [Document("y", "咳嗽")]))
    with pytest.raises(ScoringError, match="'z' is in run B"):
        check_same_documents(only_y, b)
    check_same_documents(a, b, allow_missing=True)  # only shared ids are checked
    c = read_run(_write(tmp_path / "c.jsonl", [Document("x", "発熱"), Document("y", "咳そう")]))
    with pytest.raises(ScoringError, match="'y' has a different text") as err:
        check_same_documents(a, c)
    assert err.value.location.offset == 1


def test_different_gold_in_two_runs_warns(sample_cv_runs, tmp_path) -> None:
    other = tmp_path / "other-gold"
    shutil.copytree(sample_cv_runs["dict"], other)
    gold = read_corpus(other / "gold.jsonl")
    first = gold[0]
    changed = [first.with_spans(first.spans[1:]), *gold[1:]]
    write_corpus(Corpus(changed), other / "gold.jsonl")
    result = compare_runs(sample_cv_runs["crf"], other, n_resamples=100, n_permutations=100)
    assert len(result.warnings) == 1 and f"first at document {first.id!r}" in result.warnings[0]
    assert result.gold == str(sample_cv_runs["crf"] / "gold.jsonl")
    # an explicit gold replaces both runs' gold.jsonl: no warning
    explicit = compare_runs(sample_cv_runs["crf"], other, sample_cv_runs["crf"] / "gold.jsonl",
                            n_resamples=100, n_permutations=100)
    assert explicit.warnings == () and explicit.comparison == result.comparison


def test_gold_comes_from_the_directory_side(sample_cv_runs, tmp_path) -> None:
    as_file = tmp_path / "crf.jsonl"
    shutil.copyfile(sample_cv_runs["crf"] / "predictions.jsonl", as_file)
    result = compare_runs(as_file, sample_cv_runs["dict"], n_resamples=100, n_permutations=100)
    assert result.gold == str(sample_cv_runs["dict"] / "gold.jsonl") and result.comparison.difference > 0
    with pytest.raises(ConfigError, match="--gold GOLD is required") as err:
        compare_runs(as_file, as_file)
    assert err.value.code == "E053"
