"""Document-level folds: partition, no leakage, determinism, folds.json round trip and checks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.errors import ConfigError
from eccr.experiments.folds import Fold, FoldPlan, make_folds, read_folds, split_validation


def ids(n: int) -> list[str]:
    return [f"doc-{i:03d}" for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(5, 80), k=st.integers(2, 5), seed=st.integers(0, 10_000))
def test_folds_partition_documents_without_leakage(n: int, k: int, seed: int) -> None:
    plan = make_folds(ids(n), k=k, seed=seed, validation_fraction=0.2 if k > 2 else 0.1)
    tested = [i for f in plan.folds for i in f.test]
    assert sorted(tested) == ids(n)  # every document tested exactly once
    for fold in plan.folds:
        parts = [set(fold.train), set(fold.validation), set(fold.test)]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert parts[0] | parts[1] | parts[2] == set(ids(n))
        assert fold.train


def test_five_folds_give_the_papers_sixty_twenty_twenty_split() -> None:
    plan = make_folds(ids(100), k=5, seed=0)
    for fold in plan.folds:
        assert (len(fold.train), len(fold.validation), len(fold.test)) == (60, 20, 20)
    # the validation block of fold i is the test block of fold i+1
    assert plan.folds[0].validation == plan.folds[1].test


def test_folds_are_deterministic_under_the_seed_and_independent_of_input_order() -> None:
    a = make_folds(ids(37), k=5, seed=7)
    b = make_folds(list(reversed(ids(37))), k=5, seed=7)
    c = make_folds(ids(37), k=5, seed=8)
    assert a == b
    assert a != c


def test_folds_json_round_trip_and_reuse(tmp_path) -> None:
    plan = make_folds(ids(23), k=4, seed=3)
    path = plan.write(tmp_path / "folds.json")
    assert read_folds(path, ids(23)) == plan
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "eccr-folds/1" and data["k"] == 4 and data["seed"] == 3


def test_reused_folds_must_match_the_corpus(tmp_path) -> None:
    path = make_folds(ids(10), k=5, seed=0).write(tmp_path / "folds.json")
    with pytest.raises(ConfigError, match="does not contain") as err:
        read_folds(path, ids(9))
    assert err.value.code == "E047" and err.value.location.file == str(path)
    with pytest.raises(ConfigError, match="do not cover document 'doc-010'"):
        read_folds(path, ids(11))


def test_leaking_fold_is_rejected() -> None:
    leaky = FoldPlan((Fold(0, ("b", "c"), (), ("a",)), Fold(1, ("a", "b"), (), ("b", "c"))), 0, 0.0)
    with pytest.raises(ConfigError, match="leaks document 'b'"):
        leaky.check()
    double = FoldPlan((Fold(0, ("b",), (), ("a",)), Fold(1, ("b",), (), ("a",))), 0, 0.0)
    with pytest.raises(ConfigError, match="tested exactly once"):
        double.check()
    missing = FoldPlan((Fold(0, ("b",), (), ("a",)), Fold(1, (), ("a",), ("b", "c"))), 0, 0.0)
    with pytest.raises(ConfigError, match="fold 0 does not place document 'c'"):
        missing.check()
    unknown = FoldPlan((Fold(0, ("b", "z"), (), ("a",)), Fold(1, ("a",), (), ("b",))), 0, 0.0)
    with pytest.raises(ConfigError, match="fold 0 names document 'z'"):
        unknown.check()
    no_train = FoldPlan((Fold(0, ("b",), (), ("a",)), Fold(1, (), ("a",), ("b",))), 0, 0.0)
    with pytest.raises(ConfigError, match="fold 1 has no training documents") as err:
        no_train.check()
    assert err.value.code == "E047"


def test_bad_folds_files_name_the_problem(tmp_path) -> None:
    bad = tmp_path / "f.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_folds(bad)
    bad.write_text('{"format": "eccr-folds/1", "folds": [{"train": []}, {}]}', encoding="utf-8")
    with pytest.raises(ConfigError, match="fold #0 needs lists"):
        read_folds(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        read_folds(tmp_path / "missing.json")


def test_impossible_fold_requests_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="cannot make 5 folds from 3 documents"):
        make_folds(ids(3), k=5)
    with pytest.raises(ConfigError, match="validation_fraction"):
        make_folds(ids(10), k=5, validation_fraction=0.9)
    with pytest.raises(ConfigError, match="occurs twice"):
        make_folds(["a", "a", "b"], k=2)


def test_split_validation_is_seeded_and_disjoint() -> None:
    train, validation = split_validation(ids(50), 0.2, seed=1)
    assert len(validation) == 10 and not set(train) & set(validation)
    assert split_validation(ids(50), 0.2, seed=1) == (train, validation)
    all_train, none = split_validation(ids(50), 0.0)
    assert sorted(all_train) == ids(50) and none == ()
