"""The cv summary's ``pretraining`` entry: a model's pretraining record checked against the test folds."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest

from eccr.errors import EccrWarning
from eccr.experiments.folds import make_folds
from eccr.experiments.leakage import pretraining_line, pretraining_record
from eccr.pretrain.provenance import write_provenance
from eccr.pretrain.texts import read_pretraining_texts


def _pretrained_copy(model_dir, tmp_path, lines):
    """A copy of ``model_dir`` whose pretraining record lists ``lines`` (one document each)."""
    copy = tmp_path / "pretrained"
    shutil.copytree(model_dir, copy)
    notes = tmp_path / "notes.txt"
    notes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_provenance(copy, read_pretraining_texts([notes]))
    return copy


def test_record_finds_the_test_document_in_its_fold(sample_gold, tmp_path):
    leaked = sample_gold[3]
    model = tmp_path / "model"
    model.mkdir()
    model = _pretrained_copy(model, tmp_path, [leaked.text.replace("\n", " "), "無関係な文書です。"])
    plan = make_folds(sample_gold.ids, k=2, seed=0)
    with pytest.warns(EccrWarning, match=r"\[E126\] 1 test documents were in the pretraining text"):
        record = pretraining_record(f"hf:{model}", sample_gold, plan)
    assert record["documents"] == 2 and record["test_documents_found"] == 1
    found = {f["fold"]: f for f in record["folds"]}
    holding = next(f.index for f in plan.folds if leaked.id in f.test)
    assert found[holding]["duplicate_ids"] + found[holding]["shared_sentence_ids"] == [leaked.id]
    assert sum(f["checked"] for f in record["folds"]) == len(sample_gold)
    assert "test documents found in the pretraining text: 1" in pretraining_line(record)


def test_no_record_without_a_pretrained_directory(sample_gold, tmp_path):
    plan = make_folds(sample_gold.ids, k=2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pretraining_record("crf", sample_gold, plan) is None
        assert pretraining_record("hf:org/name", sample_gold, plan) is None
        assert pretraining_record(f"hf:{tmp_path}", sample_gold, plan) is None
        (tmp_path / "empty").mkdir()
        model = _pretrained_copy(tmp_path / "empty", tmp_path, ["無関係な文書です。"])
        record = pretraining_record(f"hf:{model}", sample_gold, plan)
    assert record["test_documents_found"] == 0
    assert "found in the pretraining text: 0" in pretraining_line(record)


def test_cv_summary_records_pretraining(sample_gold, tiny_model_dir, tmp_path, eccr_cli):
    from eccr.corpus.io import write_corpus

    leaked = sample_gold[0]
    model = _pretrained_copy(tiny_model_dir("deberta-v2"), tmp_path, [leaked.text.replace("\n", " ")])
    corpus = tmp_path / "gold.jsonl"
    write_corpus(list(sample_gold)[:12], corpus)
    result = eccr_cli("cv", corpus, "--model", f"hf:{model}", "--folds", "2", "--out", tmp_path / "run",
                      "--set", "model.options.epochs=1", "--set", "model.options.progress=false",
                      "--set", "model.options.init=from_config", "--quiet")
    assert result.code == 0, result.stderr
    assert "[E126]" in result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["pretraining"]["test_documents_found"] == 1
    assert summary["pretraining"]["sources"][0]["path"].endswith("notes.txt")
    markdown = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8")
    assert "test documents found in the pretraining text: 1" in markdown


def test_cv_warns_before_the_first_fold_trains(sample_gold, tiny_model_dir, tmp_path, monkeypatch):
    from eccr.experiments import runner
    from eccr.experiments.config import resolve_config

    model = _pretrained_copy(tiny_model_dir("deberta-v2"), tmp_path, [sample_gold[0].text.replace("\n", " ")])

    def no_training(*args, **kwargs):
        raise RuntimeError("a fold started")

    monkeypatch.setattr(runner, "run_fold", no_training)
    config = resolve_config({"model": {"spec": f"hf:{model}"}, "folds": 2})
    with pytest.warns(EccrWarning, match=r"\[E126\]"), pytest.raises(RuntimeError, match="a fold started"):
        runner.cross_validate(sample_gold.subset([d.id for d in list(sample_gold)[:12]]), config,
                              progress=False)
