"""Gazetteer: longest match, NFKC-insensitive matching reported in original offsets, options, save/load."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, ModelError
from eccr.models.base import create_model, load_model
from eccr.models.dictionary import NormalizedText


def trained(*entries: str, **options) -> object:
    text = "、".join(entries)
    spans, start = [], 0
    for e in entries:
        spans.append(Span(start, start + len(e)))
        start += len(e) + 1
    model = create_model("dict", options)
    model.fit(Corpus([Document("train", text, spans)]))
    return model


def test_longest_match_wins_and_matches_do_not_overlap() -> None:
    model = trained("肺炎", "間質性肺炎", "肺")
    text = "間質性肺炎と肺炎、肺。"
    spans = model.match(text)
    assert [text[s.start : s.end] for s in spans] == ["間質性肺炎", "肺炎", "肺"]


def test_nfkc_insensitive_matching_reports_original_offsets() -> None:
    model = trained("15mg", "CT")
    text = "ＣＴで１５ｍｇ投与、15mgも。"
    spans = model.match(text)
    assert spans == [Span(0, 2), Span(3, 7), Span(10, 14)]
    assert [text[s.start : s.end] for s in spans] == ["ＣＴ", "１５ｍｇ", "15mg"]


def test_length_changing_normalisation_maps_back_to_whole_characters() -> None:
    # NFKC turns ㎎ (one character) into "mg" (two): the match covers the original single character
    model = trained("15mg", "mg")
    assert model.match("１５㎎と㎎") == [Span(0, 3), Span(4, 5)]
    # an entry may not match half of a character's normalisation
    assert trained("m").match("㎎") == []
    # half-width katakana with a voicing mark fold into one character
    assert trained("パン").match("ﾊﾟﾝを") == [Span(0, 3)]


def test_normalized_text_index_map() -> None:
    index = NormalizedText.of("a㎎ﾊﾟ")
    assert index.text == "amgパ"
    assert index.starts == (0, 1, 1, 2) and index.ends == (1, 2, 2, 4)
    assert index.boundary == (True, True, False, True, True)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="肺炎ＣＴct㎎mg１5ﾊﾟｶﾞ ・", max_size=30))
def test_matches_are_in_original_offsets_and_normalise_to_an_entry(text: str) -> None:
    model = trained("肺炎", "CT", "mg", "15", "パ", "ガ")
    entries = set(model.entries)
    last_end = 0
    for span in model.match(text):
        assert last_end <= span.start < span.end <= len(text)
        last_end = span.end
        import unicodedata

        assert unicodedata.normalize("NFKC", text[span.start : span.end]) in entries


def test_min_frequency_min_length_and_labels() -> None:
    docs = [
        Document("a", "発熱と咳", [Span(0, 2, "d"), Span(3, 4, "d")]),
        Document("b", "発熱", [Span(0, 2, "d")]),
        Document("c", "発熱", [Span(0, 2, "a")]),
    ]
    model = create_model("dict", {"min_frequency": 2})
    model.fit(Corpus(docs))
    assert model.entries == {"発熱": ("d", 3)}  # the label it was most often annotated with
    assert model.labels == ["d"]
    short = create_model("dict", {"min_length": 2})
    short.fit(Corpus(docs))
    assert set(short.entries) == {"発熱"}
    everything = create_model("dict")
    everything.fit(Corpus(docs))
    assert everything.entries == {"発熱": ("d", 3), "咳": ("d", 1)} and everything.labels == ["d"]


def test_casefold_option() -> None:
    assert trained("CT").match("ct") == []
    assert trained("CT", casefold=True).match("ｃｔ") == [Span(0, 2)]


def test_save_and_load_round_trip(tmp_path, sample_gold) -> None:
    model = create_model("dict")
    model.fit(sample_gold[:30])
    directory = model.save(tmp_path / "dict")
    assert (directory / "dictionary.json").is_file()
    loaded = load_model(directory)
    assert loaded.entries == model.entries and loaded.matched == model.matched
    assert loaded.labels == model.labels
    assert loaded.predict(sample_gold) == model.predict(sample_gold)
    (directory / "dictionary.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match=r"E068\] dictionary\.json is truncated"):
        load_model(directory)  # the manifest catches it first
    with pytest.raises(ModelError, match="cannot read the dictionary"):
        create_model("dict").load_weights(directory)  # and the reader itself stays defensive


def test_invalid_options_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"'model\.options\.min_frequency'"):
        create_model("dict", {"min_frequency": 0})


def test_entry_precision_and_min_precision() -> None:
    # 熱 is annotated once but occurs three times in the training texts; 発熱 always when it occurs
    docs = [Document("a", "熱が出た。発熱", [Span(5, 7)]), Document("b", "熱と熱感", [Span(0, 1)])]
    model = create_model("dict")
    model.fit(Corpus(docs))
    assert model.matched == {"熱": 3, "発熱": 1}
    assert model.precision("熱") == pytest.approx(1 / 3) and model.precision("発熱") == 1.0
    strict = create_model("dict", {"min_precision": 0.5})
    strict.fit(Corpus(docs))
    assert set(strict.entries) == {"発熱"}
