"""Ensembles (eccr.models.ensemble) and per-character scores (eccr.models.char_scores)."""

from __future__ import annotations

import numpy as np
import pytest

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, ModelError
from eccr.models.base import create_model, load_model
from eccr.models.char_scores import CharScores, average
from eccr.models.ensemble import combine_predictions

NOTE = Document("note", "昨日から発熱と咳嗽あり。")  # 発熱 [4, 6), と 6, 咳嗽 [7, 9)


def _gazetteer(tmp_path, name: str, text: str, spans: list[Span]):
    """A saved gazetteer that predicts exactly the surfaces of ``spans`` (a hand-made member)."""
    model = create_model("dict")
    model.fit(Corpus([Document(name, text, spans)]))
    return model.save(tmp_path / name)


@pytest.fixture
def members(tmp_path):
    return {
        "two": _gazetteer(tmp_path, "two", "発熱と咳嗽", [Span(0, 2), Span(3, 5)]),  # 発熱, 咳嗽
        "long": _gazetteer(tmp_path, "long", "発熱と咳嗽", [Span(0, 5)]),  # 発熱と咳嗽
        "fever": _gazetteer(tmp_path, "fever", "発熱", [Span(0, 2)]),  # 発熱
    }


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # two members: a character needs both votes; と has one, so the concepts stay apart
        (("two", "long"), [Span(4, 6), Span(7, 9)]),
        # three members: 発熱 has 3 votes, と 1, 咳嗽 2 of 3
        (("two", "long", "fever"), [Span(4, 6), Span(7, 9)]),
        (("long", "fever"), [Span(4, 6)]),
    ],
)
def test_ensemble_is_the_majority_vote(members, names, expected):
    predictions = [load_model(members[n]).predict_documents([NOTE])[0] for n in names]
    assert predictions[0]  # the members really predict something here
    ensemble = create_model("ensemble", {"members": [str(members[n]) for n in names]})
    ensemble.fit(Corpus([]))  # saved members are loaded, not retrained
    assert ensemble.predict_documents([NOTE]) == [expected]


def test_adjacent_concepts_split_only_when_most_members_split():
    text_length = 6
    split = CharScores.from_spans([Span(0, 2), Span(2, 4)], text_length, ("concept",))
    joined = CharScores.from_spans([Span(0, 4)], text_length, ("concept",))
    assert average([split, split, joined]).to_spans() == [Span(0, 2), Span(2, 4)]
    assert average([split, joined, joined]).to_spans() == [Span(0, 4)]


def test_labels_vote_separately():
    a = CharScores.from_spans([Span(0, 2, "d")], 3, ("d",))
    b = CharScores.from_spans([Span(0, 2, "a")], 3, ("a",))
    assert average([a, a, b]).to_spans() == [Span(0, 2, "d")]
    assert average([a, b]).to_spans() == []  # one vote each: no majority


def test_saved_ensemble_loads_and_predicts_the_same(members, tmp_path):
    ensemble = create_model(
        "ensemble", {"members": [str(members["two"]), str(members["long"]), str(members["fever"])]}
    )
    ensemble.fit(Corpus([]))
    directory = ensemble.save(tmp_path / "ensemble")
    assert (directory / "member-3" / "eccr-model.json").is_file()
    loaded = load_model(directory)
    assert loaded.options["members"][0]["spec"] == "dict"  # saved as spec + options, weights alongside
    assert loaded.predict_documents([NOTE]) == ensemble.predict_documents([NOTE])


def test_cv_of_an_ensemble_equals_the_vote_of_its_members_cv(sample_gold):
    """Members trained inside the ensemble learn from the same folds as their own cv runs."""
    from eccr.experiments.config import resolve_config
    from eccr.experiments.runner import cross_validate, plan_folds

    members = [
        {"spec": "crf", "options": {"max_iterations": 15, "gazetteer": False}},
        {"spec": "dict"},
        {"spec": "dict", "options": {"min_precision": 0.5}},
    ]
    base = resolve_config({})
    plan = plan_folds(sample_gold, base)
    runs = [
        cross_validate(sample_gold, resolve_config({"model": m}), plan=plan, progress=False) for m in members
    ]
    ensemble = cross_validate(
        sample_gold,
        resolve_config({"model": {"spec": "ensemble", "options": {"members": members}}}),
        plan=plan,
        progress=False,
    )
    for k, fold in enumerate(ensemble.folds):
        voted = combine_predictions([run.folds[k].predictions for run in runs])
        assert list(fold.predictions) == voted


def test_mean_combination_uses_crf_probabilities(sample_crf, sample_gold):
    model, _ = sample_crf
    docs = list(sample_gold[30:])
    scores = model.predict_char_scores(docs)
    predicted = model.predict_documents(docs)
    agree = total = 0
    for doc, s, spans in zip(docs, scores, predicted, strict=True):
        assert s.inside.shape == (len(doc.text), len(s.labels))
        assert np.all((s.inside >= -1e-6) & (s.inside.sum(axis=1) <= 1 + 1e-6))
        assert np.all(s.begin <= s.inside + 1e-6)
        inside = np.zeros(len(doc.text), dtype=bool)
        for span in spans:
            inside[span.start : span.end] = True
        agree += int(np.sum((s.inside.max(axis=1) > 0.5) == inside))
        total += len(doc.text)
    assert agree / total > 0.97  # marginals and the Viterbi path agree almost everywhere


def test_mean_ensemble_trains_and_round_trips(sample_gold, tmp_path):
    ensemble = create_model(
        "ensemble",
        {"combine": "mean", "members": [{"spec": "crf", "options": {"max_iterations": 20}}, "dict"]},
    )
    ensemble.fit(sample_gold[:20])
    loaded = load_model(ensemble.save(tmp_path / "mean"))
    test = list(sample_gold[30:])
    assert loaded.predict_documents(test) == ensemble.predict_documents(test)


def test_bad_ensembles_are_coded_errors(tmp_path):
    with pytest.raises(ConfigError) as err:
        create_model("ensemble", {"members": ["crf"]})
    assert err.value.code == "E045"
    with pytest.raises(ConfigError) as err:
        create_model("ensemble:crf")
    assert err.value.code == "E044"
    with pytest.raises(ConfigError) as err:
        create_model("ensemble", {"members": [{"spec": "crf", "path": "x"}, "dict"]})
    assert err.value.code == "E045"
    with pytest.raises(ModelError) as err:
        create_model("ensemble", {"members": ["crf", "dict"]}).predict_documents([NOTE])
    assert err.value.code == "E067"


def test_combine_predictions_refuses_different_documents():
    a = [Document("x", "発熱")]
    with pytest.raises(ConfigError) as err:
        combine_predictions([a, [Document("y", "発熱")]])
    assert err.value.code == "E185"
    with pytest.raises(ConfigError):
        combine_predictions([a])


@pytest.mark.slow
def test_eccr_cv_with_an_ensemble_of_crf_and_spacy(tmp_path):
    """``eccr cv --model ensemble`` end to end: members from --set, a run directory, fold models that load."""
    pytest.importorskip("spacy", reason="spaCy is not installed (pip install 'eccr[spacy]')")
    from typer.testing import CliRunner

    from eccr.cli.main import app
    from eccr.data import SAMPLE_PATH

    members = (
        "model.options.members=[{spec: crf, options: {max_iterations: 10}}, "
        '{spec: "spacy:ja", options: {width: 16, depth: 1, max_steps: 10, eval_frequency: 10, '
        "progress: false}}, dict]"
    )
    result = CliRunner().invoke(
        app,
        [
            "cv",
            str(SAMPLE_PATH),
            "--from",
            "inline",
            "--model",
            "ensemble",
            "--set",
            members,
            "--folds",
            "2",
            "--save-models",
            "--quiet",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "run" / "fold-1" / "model")
    assert [m.kind for m in model.members] == ["crf", "spacy", "dict"]
    assert (tmp_path / "run" / "predictions.jsonl").is_file()
