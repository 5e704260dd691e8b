"""A local path that does not exist is refused at once; it never falls through to Hugging Face Hub retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from eccr.errors import ConfigError
from eccr.paths import local_or_hub_id, looks_like_path


@pytest.mark.parametrize("value", ["./tok", "../tok", "~/tok", "/abs/tok", "a/b/c", "tok/", "tok.json",
                                   "C:\\models\\tok"])
def test_values_that_can_only_be_paths(value) -> None:
    assert looks_like_path(value)
    with pytest.raises(ConfigError, match=r"E086\]"):
        local_or_hub_id(value, "tokenizer")


@pytest.mark.parametrize("value", ["bert-base-japanese", "cl-tohoku/bert-base-japanese", "org/model-v1.5"])
def test_hub_ids_pass(value) -> None:
    assert not looks_like_path(value) and local_or_hub_id(value, "model") == value


def test_an_existing_path_passes_and_an_existing_first_folder_means_a_path(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tokenizers" / "unigram").mkdir(parents=True)
    assert local_or_hub_id("tokenizers/unigram", "tokenizer") == "tokenizers/unigram"
    with pytest.raises(ConfigError, match="E086"):
        local_or_hub_id("tokenizers/missing", "tokenizer")  # "tokenizers/" is a folder here, not an org
    with pytest.raises(ConfigError, match="E086"):
        local_or_hub_id(Path("anything"), "tokenizer")  # a Path is always a path
