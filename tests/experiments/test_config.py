"""Experiment config: YAML + flags + dotted overrides, validation errors that name the key."""

from __future__ import annotations

import pytest
import yaml

from eccr.errors import ConfigError
from eccr.experiments.config import (
    ExperimentConfig,
    apply_overrides,
    load_config,
    parse_override,
    resolve_config,
)


def test_defaults_are_the_papers_protocol_with_the_crf() -> None:
    cfg = resolve_config({})
    assert (cfg.model.spec, cfg.folds, cfg.seed, cfg.validation_fraction) == ("crf", 5, 0, 0.2)
    assert cfg.p == [1.0, 1.5, 2.0, 100.0]
    # model options are completed with the model's defaults
    assert cfg.model.options["window"] == 4 and cfg.model.options["scheme"] == "bio"


def test_yaml_flags_and_overrides_layer_in_order(tmp_path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"spec": "crf", "options": {"c2": 0.5, "window": 2}},
                "folds": 3,
                "corpus": {"select": "d"},
            }
        ),
        encoding="utf-8",
    )
    cfg = load_config(
        path,
        overrides=["model.options.c2=0.05", "search.c1=[0.0, 0.1]"],
        folds=4,
        corpus__select=None,
        seed=None,
    )
    assert cfg.model.options["c2"] == 0.05  # --set beats the file
    assert cfg.model.options["window"] == 2  # the file beats the default
    assert cfg.folds == 4  # a flag beats the file
    assert cfg.corpus.select == "d"  # None flags mean "not given"
    assert cfg.search == {"c1": [0.0, 0.1]}


def test_resolved_config_round_trips_through_yaml(tmp_path) -> None:
    cfg = resolve_config({"model": {"spec": "dict", "options": {"min_frequency": 2}}, "seed": 3})
    path = cfg.write(tmp_path)
    assert path.name == "resolved.yaml"
    again = load_config(path)
    assert again == cfg and isinstance(again, ExperimentConfig)


@pytest.mark.parametrize(
    ("data", "overrides", "key"),
    [
        ({"model": {"options": {"c3": 1}}}, [], "model.options.c3"),
        ({}, ["model.options.c2=-1"], "model.options.c2"),
        ({}, ["model.options.window=wide"], "model.options.window"),
        ({"folds": 1}, [], "folds"),
        ({"corpus": {"selct": "d"}}, [], "corpus.selct"),
        ({"validation_fraction": 1.5}, [], "validation_fraction"),
        ({"search": {"window": ["x"]}}, [], "search.window"),
        ({"model": {"spec": "dict", "options": {"min_frequency": 0}}}, [], "model.options.min_frequency"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_key(data, overrides, key) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_config(data, overrides=overrides)
    assert err.value.code == "E045"
    assert f"'{key}'" in str(err.value)


def test_config_file_errors_name_the_file_and_line(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  spec: crf\n  options: [1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.code == "E046" and err.value.location.file == str(path) and err.value.location.line
    path.write_text("folds: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'folds'") as err:
        load_config(path)
    assert err.value.location.file == str(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")


def test_unknown_model_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown model kind 'svm'"):
        resolve_config({"model": {"spec": "svm"}})


def test_override_parsing() -> None:
    assert parse_override("seed=3") == (["seed"], 3)
    assert parse_override("corpus.select=d[certainty=positive]") == (
        ["corpus", "select"],
        "d[certainty=positive]",
    )
    assert apply_overrides({"a": {"b": 1}}, ["a.c=x"]) == {"a": {"b": 1, "c": "x"}}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("seed")
    with pytest.raises(ConfigError, match="not a mapping"):
        apply_overrides({"seed": 1}, ["seed.x=2"])
    # a named flag under a key the file set to a scalar
    with pytest.raises(ConfigError, match=r"'corpus\.path': 'corpus' is 'x', not a mapping") as err:
        resolve_config({"corpus": "x"}, corpus__path="a.jsonl", source="exp.yaml")
    assert err.value.location.file == "exp.yaml"
