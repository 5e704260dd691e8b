"""Cross-validation, training and prediction runner: files written, no leakage, reuse, model-agnostic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from eccr.corpus.io import read_corpus
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError
from eccr.experiments.config import load_config, resolve_config
from eccr.experiments.folds import make_folds
from eccr.experiments.runner import cross_validate, load_corpus, predict_files, read_inputs, train_model
from eccr.models.base import ConceptModel, load_model, register


class SpyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shift: int = 0
    seed: int = 0


class SpyModel(ConceptModel):
    """Predicts each document's first two characters; records what it was fitted and asked on."""

    kind: ClassVar[str] = "spy"
    Options: ClassVar[type[BaseModel]] = SpyOptions
    log: ClassVar[list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = []

    def fit(self, train, validation=None, *, run_dir=None):
        SpyModel.log.append(("fit", tuple(train.ids), tuple(validation.ids) if validation else ()))

    def predict_documents(self, documents):
        SpyModel.log.append(("predict", tuple(d.id for d in documents), ()))
        shift = self.options["shift"]
        return [[Span(shift, shift + 2)] if len(d.text) >= shift + 2 else [] for d in documents]

    def save_weights(self, directory: Path) -> None:
        (directory / "spy.txt").write_text("spy", encoding="utf-8")

    def load_weights(self, directory: Path) -> None:
        assert (directory / "spy.txt").is_file()


register("spy", lambda: SpyModel)


def spy_corpus(n: int = 20) -> Corpus:
    return Corpus(Document(f"d{i:02d}", "発熱あり。" * (1 + i % 3), [Span(0, 2)]) for i in range(n))


def test_cv_writes_the_documented_run_directory(tmp_path, sample_gold) -> None:
    cfg = resolve_config({"model": {"spec": "crf", "options": {"max_iterations": 25}}})
    result = cross_validate(sample_gold, cfg, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    for name in ("resolved.yaml", "folds.json", "summary.json", "summary.md", "summary.csv"):
        assert (run / name).is_file(), name
    for k in range(5):
        for name in ("predictions.jsonl", "gold.jsonl", "scores.json", "fold.json"):
            assert (run / f"fold-{k}" / name).is_file(), (k, name)
        assert not (run / f"fold-{k}" / "model").exists()
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    for p in ("1", "1.5", "2", "100"):
        for metric in ("f1", "precision", "recall"):
            assert set(summary["wsm"][p][metric]) == {"mean", "sd", "pooled"}
    assert 0.4 < summary["wsm"]["1"]["f1"]["mean"] <= 1.0
    assert summary["run"]["folds"] == 5 and len(summary["run"]["fold_wall_s"]) == 5
    assert summary["run"]["wall_s"] >= sum(summary["run"]["fold_wall_s"]) * 0.99
    assert summary["run"]["environment"]["packages"]["python-crfsuite"]
    assert summary["run"]["corpus"] == sample_gold.source
    assert set(summary["by_length"]) == {"1-2", "3-6", "7-10", "11-20", ">=21"}
    # predictions cover each test document exactly once, in original offsets
    predicted = [read_corpus(run / f"fold-{k}" / "predictions.jsonl") for k in range(5)]
    assert sorted(i for c in predicted for i in c.ids) == sorted(sample_gold.ids)
    for c in predicted:
        for doc in c:
            assert doc.text == sample_gold.get(doc.id).text
    assert "| wsm / 1 |" in (run / "summary.md").read_text(encoding="utf-8")
    assert (run / "summary.csv").read_text(encoding="utf-8").startswith("score,metric,mean,sd,pooled,fold_1")
    assert load_config(run / "resolved.yaml") == result.config


def test_no_test_document_reaches_fit_and_reused_folds_reproduce_the_run(tmp_path) -> None:
    corpus = spy_corpus()
    SpyModel.log.clear()
    first = cross_validate(
        corpus, resolve_config({"model": {"spec": "spy"}, "seed": 4}), tmp_path / "a", progress=False
    )
    fits = [entry for entry in SpyModel.log if entry[0] == "fit"]
    predicts = [entry for entry in SpyModel.log if entry[0] == "predict"]
    assert len(fits) == len(predicts) == 5
    for fold, (_, train, validation), (_, tested, _) in zip(first.plan.folds, fits, predicts, strict=True):
        assert set(train) == set(fold.train) and set(validation) == set(fold.validation)
        assert set(tested) == set(fold.test)
        assert not set(tested) & (set(train) | set(validation))
        assert (len(train), len(validation), len(tested)) == (12, 4, 4)
    # the experiment seed reaches models that have a seed option
    assert first.config.model.options["seed"] == 4
    reused = resolve_config(
        {"model": {"spec": "spy"}, "seed": 99, "folds_file": str(tmp_path / "a" / "folds.json")}
    )
    second = cross_validate(corpus, reused, tmp_path / "b", progress=False)
    assert second.plan.folds == first.plan.folds
    assert second.to_dict()["wsm"] == first.to_dict()["wsm"]


def test_reused_folds_for_another_corpus_are_rejected(tmp_path) -> None:
    cross_validate(spy_corpus(20), resolve_config({"model": {"spec": "spy"}}), tmp_path / "a", progress=False)
    cfg = resolve_config({"model": {"spec": "spy"}, "folds_file": str(tmp_path / "a" / "folds.json")})
    with pytest.raises(ConfigError, match="do not cover document 'd20'"):
        cross_validate(spy_corpus(21), cfg, None, progress=False)


def test_search_tunes_on_validation_only(tmp_path) -> None:
    # gold spans start at 0, so shift=0 is right and shift=1 is wrong
    corpus = spy_corpus()
    SpyModel.log.clear()
    cfg = resolve_config({"model": {"spec": "spy"}, "search": {"shift": [1, 0]}})
    result = cross_validate(corpus, cfg, tmp_path / "run", progress=False)
    for fold, fold_result in zip(result.plan.folds, result.folds, strict=True):
        assert fold_result.options["shift"] == 0
        search = json.loads(
            (tmp_path / "run" / f"fold-{fold.index}" / "search.json").read_text(encoding="utf-8")
        )
        assert [t["shift"] for t in search["trials"]] == [1, 0]
        assert search["best"]["shift"] == 0 and search["trials"][1]["validation_f1"] == 1.0
    fits = [(set(train), set(validation)) for kind, train, validation in SpyModel.log if kind == "fit"]
    # per fold: two search fits and the final fit, all on the training split with its validation split
    assert len(fits) == 15
    for k, fold in enumerate(result.plan.folds):
        assert fits[3 * k] == fits[3 * k + 1] == fits[3 * k + 2] == (set(fold.train), set(fold.validation))
    tested = [set(ids) for kind, ids, _ in SpyModel.log if kind == "predict"]
    # per fold: two search predictions on the validation split, then one on the test split
    assert len(tested) == 15
    for k, fold in enumerate(result.plan.folds):
        assert tested[3 * k] == tested[3 * k + 1] == set(fold.validation)
        assert tested[3 * k + 2] == set(fold.test)


def test_merge_validation_trains_on_both_splits(tmp_path) -> None:
    SpyModel.log.clear()
    result = cross_validate(
        spy_corpus(),
        resolve_config({"model": {"spec": "spy"}, "merge_validation": True}),
        None,
        progress=False,
    )
    fits = [entry for entry in SpyModel.log if entry[0] == "fit"]
    assert len(fits) == 5
    for fold, fold_result, (_, train, validation) in zip(result.plan.folds, result.folds, fits, strict=True):
        assert len(train) == 16 and validation == ()
        assert set(train) == set(fold.train) | set(fold.validation) and not set(train) & set(fold.test)
        assert (fold_result.n_train, fold_result.n_validation) == (16, 0)


def test_a_given_plan_is_checked_against_the_corpus() -> None:
    plan, config = make_folds(spy_corpus(20).ids, k=5), resolve_config({"model": {"spec": "spy"}})
    with pytest.raises(ConfigError, match="do not cover document 'd20'") as err:
        cross_validate(spy_corpus(21), config, None, plan=plan, progress=False)
    assert err.value.code == "E047"
    result = cross_validate(spy_corpus(20), config, None, plan=plan, progress=False)
    assert result.plan == plan


def test_resolved_yaml_reproduces_the_run(tmp_path, sample_gold) -> None:
    first = cross_validate(
        sample_gold, resolve_config({"model": {"spec": "dict"}, "seed": 3}), tmp_path / "a", progress=False
    )
    config = load_config(tmp_path / "a" / "resolved.yaml")
    assert config.corpus.path == sample_gold.source
    again = cross_validate(load_corpus(config), config, tmp_path / "b", progress=False)
    assert again.plan == first.plan
    assert again.pooled.to_dict() == first.pooled.to_dict()
    assert again.to_dict()["wsm"] == first.to_dict()["wsm"]
    predictions = [(tmp_path / run / "predictions.jsonl").read_bytes() for run in ("a", "b")]
    assert predictions[0] == predictions[1]


def test_save_models_keeps_loadable_fold_models(tmp_path, sample_gold) -> None:
    cfg = resolve_config({"model": {"spec": "dict"}, "save_models": True, "folds": 2})
    result = cross_validate(sample_gold, cfg, tmp_path / "run", progress=False)
    model = load_model(tmp_path / "run" / "fold-1" / "model")
    test = sample_gold.subset(result.plan.folds[1].test)
    assert model.predict(test) == result.folds[1].predictions


def test_train_model_saves_a_model_directory_with_its_config(tmp_path, sample_gold) -> None:
    cfg = resolve_config({"model": {"spec": "crf", "options": {"max_iterations": 20}}})
    result = train_model(sample_gold, cfg, tmp_path / "model", progress=False)
    assert result.n_train == 40 and result.n_validation == 0  # the CRF uses no validation split
    record = json.loads((tmp_path / "model" / "training.json").read_text(encoding="utf-8"))
    assert record["n_train"] == 40 and record["environment"]["packages"]["eccr"]
    assert (
        yaml.safe_load((tmp_path / "model" / "resolved.yaml").read_text(encoding="utf-8"))["model"]["spec"]
        == "crf"
    )
    assert record["corpus"] == sample_gold.source
    # resolved.yaml alone reproduces the model: same corpus, options and predictions
    again_config = load_config(tmp_path / "model" / "resolved.yaml")
    again = train_model(load_corpus(again_config), again_config, tmp_path / "again", progress=False)
    assert again.model.options == load_model(tmp_path / "model").options
    assert again.model.predict(sample_gold) == load_model(tmp_path / "model").predict(sample_gold)
    SpyModel.log.clear()
    spy = train_model(
        spy_corpus(), resolve_config({"model": {"spec": "spy"}}), tmp_path / "spy", progress=False
    )
    assert (spy.n_train, spy.n_validation) == (16, 4)


def test_read_inputs_reads_txt_as_every_command_does(tmp_path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_bytes("\ufeff発熱あり。\\n改行\r\n二行目\r\n".encode())
    (tmp_path / "notes" / "b.txt").write_text("咳嗽", encoding="utf-8")
    corpus = read_inputs([tmp_path / "notes"], "text")  # raw: CRLF kept, BOM removed, no escapes
    assert corpus.ids == ["a", "b"] and corpus.get("a").text == "発熱あり。\\n改行\r\n二行目\r\n"
    inline = tmp_path / "x.txt"
    inline.write_text("@@発熱##あり\n二行目\n", encoding="utf-8")
    assert [d.text for d in read_inputs([inline])] == ["発熱あり", "二行目"]  # .txt is inline everywhere
    assert read_inputs([inline], "text").get("x").text == "@@発熱##あり\n二行目\n"
    with pytest.raises(ConfigError, match="does not exist"):
        read_inputs([tmp_path / "none.txt"])


def test_predict_files_round_trip(tmp_path, sample_crf, sample_gold) -> None:
    model, directory = sample_crf
    note = tmp_path / "note.txt"
    note.write_text(sample_gold[35].text, encoding="utf-8")
    out = predict_files(directory, [note], tmp_path / "out.jsonl", from_format="text")
    assert out[0].spans == tuple(model.predict_text(sample_gold[35].text))
    assert read_corpus(tmp_path / "out.jsonl") == out


def test_iter_summaries_reads_run_directories(tmp_path) -> None:
    from eccr.experiments.runner import iter_summaries

    cross_validate(
        spy_corpus(), resolve_config({"model": {"spec": "spy"}, "folds": 2}), tmp_path / "a", progress=False
    )
    (tmp_path / "empty").mkdir()
    found = list(iter_summaries([tmp_path / "a", tmp_path / "empty"]))
    assert [path.name for path, _ in found] == ["a"]
    assert found[0][1]["run"]["model"] == "spy" and "wsm" in found[0][1]


def test_cv_writes_one_prediction_file_for_the_whole_corpus(tmp_path) -> None:
    corpus = spy_corpus(23)
    run = tmp_path / "run"
    result = cross_validate(corpus, resolve_config({"model": {"spec": "spy"}}), run, progress=False)
    predicted = read_corpus(run / "predictions.jsonl")
    gold = read_corpus(run / "gold.jsonl")
    # every document of the corpus exactly once (Corpus would reject a duplicate id), in fold order
    assert len(predicted.ids) == len(set(predicted.ids)) == len(corpus)
    assert set(predicted.ids) == set(corpus.ids) and predicted.ids == gold.ids == list(result.plan.ids)
    folds = [read_corpus(run / f"fold-{k}" / name) for name in ("predictions.jsonl", "gold.jsonl")
             for k in range(5)]
    assert list(predicted) == [d for c in folds[:5] for d in c]
    assert list(gold) == [d for c in folds[5:] for d in c]
    assert all(gold.get(i) == corpus.get(i) for i in corpus.ids)
    assert list(predicted) == [d for f in result.folds for d in f.predictions]


def test_train_refuses_a_search_grid_instead_of_ignoring_it(tmp_path):
    from eccr.data import sample_corpus
    from eccr.errors import ConfigError
    from eccr.experiments.config import resolve_config
    from eccr.experiments.runner import train_model

    config = resolve_config({"model": {"spec": "crf"}, "search": {"c2": [0.01, 0.1]}})
    with pytest.raises(ConfigError, match="search") as info:
        train_model(sample_corpus(), config, tmp_path / "model", progress=False)
    assert info.value.code == "E045"
    assert not (tmp_path / "model").exists()
