"""spaCy pipelines as eccr models (eccr.models.spacy_pipeline): training, saving, GiNZA initialisation."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytest.importorskip("spacy", reason="spaCy is not installed (pip install 'eccr[spacy]')")

import itertools

from eccr.errors import ConfigError, ModelError
from eccr.metrics import score
from eccr.models.base import create_model, load_model

#: A blank Japanese pipeline small enough to overfit a few documents in seconds.
TINY = {
    "width": 32,
    "depth": 1,
    "max_steps": 60,
    "eval_frequency": 30,
    "learning_rate": 0.005,
    "progress": False,
}

needs_ginza = pytest.mark.skipif(
    importlib.util.find_spec("ja_ginza") is None,
    reason="ja-ginza is not installed (pip install 'eccr[spacy]')",
)


@pytest.fixture(scope="module")
def tiny_spacy(sample_gold, tmp_path_factory):
    """A tiny blank-``ja`` ``ner`` trained on 8 sample documents, and its saved directory."""
    train = sample_gold[:8]
    model = create_model("spacy:ja", TINY)
    run_dir = tmp_path_factory.mktemp("spacy-run")
    model.fit(train, train, run_dir=run_dir)
    return model, model.save(tmp_path_factory.mktemp("spacy-model")), train, run_dir


def test_blank_pipeline_overfits_its_training_documents(tiny_spacy):
    model, _, train, run_dir = tiny_spacy
    report = score(train, model.predict(train), p=(1.0,))
    assert report.wsm[1.0].f1 > 0.9
    assert model.labels == sorted({s.label for d in train for s in d.spans})
    assert (run_dir / "spacy-alignment.json").is_file()


def test_saved_directory_predicts_the_same(tiny_spacy, sample_gold):
    model, directory, _, _ = tiny_spacy
    assert (directory / "pipeline" / "config.cfg").is_file()
    suffixes = {p.suffix for p in directory.rglob("*") if p.is_file()}
    assert not suffixes & {".pkl", ".pickle", ".bin", ".pt"}  # nothing a model directory refuses
    loaded = load_model(directory)
    test = list(sample_gold[30:])
    assert loaded.predict_documents(test) == model.predict_documents(test)


def test_saved_pipeline_loads_in_plain_spacy(tiny_spacy):
    import spacy

    _, directory, train, _ = tiny_spacy
    nlp = spacy.load(directory / "pipeline")
    assert nlp.pipe_names == ["tok2vec", "ner"]
    assert nlp(train[0].text).text == train[0].text


def test_predicted_offsets_index_the_original_text(tiny_spacy, sample_gold):
    model, _, _, _ = tiny_spacy
    for doc, spans in zip(sample_gold[30:], model.predict_documents(list(sample_gold[30:])), strict=True):
        assert all(0 <= s.start < s.end <= len(doc.text) for s in spans)


def test_spancat_trains_and_predicts_non_overlapping_spans(sample_gold):
    train = sample_gold[:6]
    model = create_model("spacy:ja", {**TINY, "component": "spancat", "max_steps": 40})
    model.fit(train, train)
    assert model.options["max_span_tokens"] >= 1  # sized from the longest training concept
    for spans in model.predict_documents(list(train)):
        assert all(not a.overlaps(b) for a, b in itertools.pairwise(spans))


def test_spec_needs_a_source_and_options_are_checked():
    with pytest.raises(ConfigError) as err:
        create_model("spacy")
    assert err.value.code == "E044"
    with pytest.raises(ConfigError) as err:
        create_model("spacy:ja", {"max_step": 10})
    assert err.value.code == "E045" and "max_step" in err.value.message
    with pytest.raises(ConfigError) as err:  # would stop before the second evaluation
        create_model("spacy:ja", {"eval_frequency": 100, "patience": 75})
    assert err.value.code == "E045" and "patience" in err.value.message


def test_missing_package_is_an_error_not_a_download(sample_gold):
    model = create_model("spacy:ja_no_such_pipeline", TINY)
    with pytest.raises(ConfigError) as err:
        model.fit(sample_gold[:2])
    assert err.value.code == "E180"


def test_untrained_model_refuses_to_predict(sample_gold):
    with pytest.raises(ModelError) as err:
        create_model("spacy:ja").predict_documents(list(sample_gold[:1]))
    assert err.value.code == "E067"


def _param_arrays(model) -> list[np.ndarray]:
    """Every parameter array of a thinc model, in walk order."""
    arrays = []
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                arrays.append(np.asarray(node.get_param(name)))
    return arrays


@needs_ginza
def test_ginza_initialisation_loads_its_pretrained_tok2vec(sample_gold, tmp_path):
    """The starting point is GiNZA's trained tok2vec and vectors — checked array by array, not assumed."""
    import spacy

    model = create_model("spacy:ja_ginza", {"max_steps": 1, "progress": False})
    nlp = model.initialize(sample_gold[:4], sample_gold[4:6], tmp_path)
    ginza = spacy.load("ja_ginza")
    ours, theirs = (_param_arrays(n.get_pipe("tok2vec").model) for n in (nlp, ginza))
    assert len(ours) == len(theirs) > 10
    assert all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert nlp.vocab.vectors.shape == ginza.vocab.vectors.shape
    key = next(iter(ginza.vocab.vectors.keys()))
    assert np.array_equal(nlp.vocab.vectors[key], ginza.vocab.vectors[key])
    # a blank pipeline starts elsewhere: a new, smaller tok2vec
    blank = create_model("spacy:ja", {"progress": False}).initialize(sample_gold[:4], None, tmp_path)
    assert [a.shape for a in _param_arrays(blank.get_pipe("tok2vec").model)] != [a.shape for a in theirs]


@pytest.mark.slow
def test_cv_end_to_end_through_the_cli(tmp_path):
    """``eccr cv --model spacy:ja`` on the sample corpus: run directory, predictions, scores."""
    from typer.testing import CliRunner

    from eccr.cli.main import app
    from eccr.data import SAMPLE_PATH

    result = CliRunner().invoke(
        app,
        [
            "cv",
            str(SAMPLE_PATH),
            "--from",
            "inline",
            "--model",
            "spacy:ja",
            "--folds",
            "2",
            "--quiet",
            "--save-models",
            "--out",
            str(tmp_path / "run"),
            *[arg for key, value in TINY.items() for arg in ("--set", f"model.options.{key}={value}")],
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "predictions.jsonl").is_file()
    assert load_model(tmp_path / "run" / "fold-1" / "model").kind == "spacy"


def test_diagnose_tokenizer_reports_a_spacy_segmentation(sample_gold, tmp_path):
    """``eccr diagnose-tokenizer --tokenizer spacy:ja --split-mode A``: invariants and ceiling."""
    import json

    from typer.testing import CliRunner

    from eccr.cli.main import app
    from eccr.data import SAMPLE_PATH

    result = CliRunner().invoke(
        app,
        [
            "diagnose-tokenizer",
            str(SAMPLE_PATH),
            "--from",
            "inline",
            "--tokenizer",
            "spacy:ja",
            "--split-mode",
            "A",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["tokenizer"] == "spacy:ja (ja, Sudachi split mode A)"
    assert data["invariants"]["ok"] and data["ceiling"]["tokens"] > 0
    assert 0.9 < data["ceiling"]["wsm"]["1"]["f1"] <= 1.0


def test_lookup_tables_survive_without_a_bin_file(tiny_spacy, tmp_path):
    """spaCy's ``lookups.bin`` is a refused suffix in model directories; the tables travel as msgpack."""
    model, _, _, _ = tiny_spacy
    model.nlp.vocab.lookups.add_table("eccr_test", {"咳嗽": "がいそう"})
    try:
        directory = model.save(tmp_path / "with-lookups")
    finally:
        model.nlp.vocab.lookups.remove_table("eccr_test")
    assert (directory / "lookups.msgpack").is_file() and not list(directory.rglob("*.bin"))
    assert load_model(directory).nlp.vocab.lookups.get_table("eccr_test")["咳嗽"] == "がいそう"
