"""Character CRF: features, training on the sample corpus, save/load, options and errors."""

from __future__ import annotations

import json

import pytest

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, ModelError
from eccr.metrics import score
from eccr.models import crf as crf_module
from eccr.models.base import MODEL_FILE, create_model, load_model
from eccr.models.crf import CRFOptions, document_features, document_tags


def test_features_cover_window_classes_ngrams_and_normalisation() -> None:
    feats = document_features("ＣＴで肺炎", CRFOptions(window=2))
    assert len(feats) == 5
    first = set(feats[0])
    assert {"c=Ｃ", "n=c", "t=fw-latin", "c-1=<s>", "c+1=t", "t+2=hiragana", "b0=c|t", "g0=c|t|で"} <= first
    assert "r=Bfw-latin" in first  # first of a run of full-width Latin letters
    # a full-width and a half-width spelling share their normalised window features
    half = document_features("CTで肺炎", CRFOptions(window=2))

    def chars(fs: list[str]) -> list[str]:
        return [f for f in fs if f.startswith(("c", "b", "g"))]

    assert chars(feats[3]) == chars(half[3]) and "c-2=t" in feats[3]
    assert "t-2=fw-latin" in feats[3] and "t-2=latin" in half[3]  # the class still tells them apart
    bare = document_features("ＣＴで", CRFOptions(window=1, bigrams=False, trigrams=False, normalize=False))
    assert not any(f.startswith(("b", "g", "n=")) and f != "bias" for f in bare[0])
    assert "c+1=Ｔ" in bare[0]


def test_tags_in_bio_and_io_keep_or_merge_adjacent_concepts() -> None:
    doc = Document("d", "発熱咳嗽あり", [Span(0, 2, "d"), Span(2, 4, "d")])
    assert document_tags(doc, "bio") == ["B-d", "I-d", "B-d", "I-d", "O", "O"]
    assert document_tags(doc, "io") == ["I-d", "I-d", "I-d", "I-d", "O", "O"]
    overlapping = Document("d", "発熱咳嗽", [Span(0, 3), Span(1, 4)])
    assert document_tags(overlapping, "bio") == ["B-concept", "I-concept", "I-concept", "I-concept"]


def test_crf_learns_the_sample_corpus(sample_gold, sample_crf) -> None:
    model, _ = sample_crf
    train_report = score(sample_gold[:30], model.predict(sample_gold[:30]))
    test_report = score(sample_gold[30:], model.predict(sample_gold[30:]))
    assert train_report.wsm[1.0].f1 > 0.9  # fits its training data (measured: 0.95)
    assert test_report.wsm[1.0].f1 > 0.45  # and generalises to unseen documents (measured: 0.66)
    assert model.labels == ["concept"]
    # predicted spans are real offsets into the original text
    for doc in model.predict(sample_gold[30:]):
        assert all(0 <= s.start < s.end <= len(doc.text) for s in doc.spans)


def test_saved_crf_reloads_with_identical_predictions(sample_gold, sample_crf) -> None:
    model, directory = sample_crf
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    assert record["kind"] == "crf" and record["options"]["max_iterations"] == 60
    assert (directory / "crf.crfsuite").is_file()
    loaded = load_model(directory)
    assert loaded.options == model.options
    assert loaded.predict(sample_gold) == model.predict(sample_gold)


def test_io_scheme_and_typed_labels() -> None:
    docs = [
        Document(
            f"d{i}",
            "発熱と頭痛を認めた。右肺に影を認めた。",
            [Span(0, 2, "d"), Span(3, 5, "d"), Span(10, 11, "a")],
        )
        for i in range(6)
    ]
    model = create_model("crf", {"scheme": "io", "max_iterations": 30})
    model.fit(Corpus(docs))
    assert model.labels == ["a", "d"]
    assert model.predict_text("発熱と頭痛を認めた。右肺に影を認めた。") == [
        Span(0, 2, "d"),
        Span(3, 5, "d"),
        Span(10, 11, "a"),
    ]


def test_untrained_crf_cannot_predict_or_save(tmp_path) -> None:
    model = create_model("crf")
    with pytest.raises(ModelError, match="not been trained"):
        model.predict_text("発熱")
    with pytest.raises(ModelError, match="not been trained"):
        model.save(tmp_path / "m")
    with pytest.raises(ModelError, match=r"lacks crf\.crfsuite"):
        model.load_weights(tmp_path)
    with pytest.raises(ModelError, match="without text") as err:
        model.fit(Corpus([Document("empty", "")]))
    assert err.value.code == "E066"


def test_a_malformed_model_record_is_a_coded_error(tmp_path, sample_crf) -> None:
    _, directory = sample_crf
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "crf.crfsuite").write_bytes((directory / "crf.crfsuite").read_bytes())
    for text in ("{not json", '{"kind": "crf"}', "[1, 2]"):
        (broken / MODEL_FILE).write_text(text, encoding="utf-8")
        with pytest.raises(ModelError, match="not a valid eccr model record") as err:
            load_model(broken)
        assert err.value.code == "E062" and err.value.location.file == str(broken / MODEL_FILE)


def test_invalid_options_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"'model\.options\.window'"):
        create_model("crf", {"window": 11})
    with pytest.raises(ConfigError, match=r"'model\.options\.iterations'"):
        create_model("crf", {"iterations": 3})


def test_word_features_need_fugashi(monkeypatch) -> None:
    monkeypatch.setattr(crf_module, "word_features_available", lambda: False)
    with pytest.raises(ConfigError, match="fugashi"):
        create_model("crf", {"word_features": "on"})
    assert create_model("crf", {"word_features": "auto"}).options["word_features"] == "off"


@pytest.mark.skipif(not crf_module.word_features_available(), reason="fugashi + unidic-lite not installed")
def test_word_features_mark_mecab_word_positions() -> None:
    model = create_model("crf", {"word_features": "on", "gazetteer": False})
    feats = model._features("肺炎に１５ｍｇ")
    assert "wp=B" in feats[0] and "wp=E" in feats[1] and "wpos=名詞" in feats[0]
    assert "wp=S" in feats[2] and "wpos=助詞" in feats[2]


def test_gazetteer_features_are_cross_fitted_and_saved(tmp_path, sample_gold) -> None:
    docs = [Document(f"d{i}", f"患者に疾患{i}あり", [Span(3, 6)]) for i in range(6)]
    model = create_model("crf", {"gazetteer": True, "gazetteer_folds": 3, "max_iterations": 20})
    gazetteers = model._training_gazetteers(docs)
    for doc, gazetteer in zip(docs, gazetteers, strict=True):
        own = doc.span_text(doc.spans[0])
        assert own not in gazetteer.entries  # a document never sees its own spans in its gazetteer
        assert len(gazetteer.entries) == 4
    model.fit(sample_gold[:30])
    assert "gz=B" in model._features(sample_gold[0].text)[sample_gold[0].spans[0].start]
    directory = model.save(tmp_path / "gz")
    assert (directory / "dictionary.json").is_file()
    assert load_model(directory).predict(sample_gold[30:]) == model.predict(sample_gold[30:])
    # the entries' training precision is saved with the gazetteer, so its features survive a reload too
    precise = create_model("crf", {"gazetteer_precision": True, "max_iterations": 20})
    precise.fit(sample_gold[:30])
    loaded = load_model(precise.save(tmp_path / "gzp"))
    text = sample_gold[0].text
    assert any(f.startswith("gzp=B") for f in precise._features(text)[sample_gold[0].spans[0].start])
    assert loaded._features(text) == precise._features(text)
    assert loaded.predict(sample_gold[30:]) == precise.predict(sample_gold[30:])


def test_yaml_on_off_booleans_are_accepted_for_word_features() -> None:
    from eccr.experiments.config import resolve_config

    cfg = resolve_config({}, overrides=["model.options.word_features=off"])  # YAML reads off as False
    assert cfg.model.options["word_features"] == "off"
