"""``eccr diagnose-tokenizer``: table/JSON output, byte fallback switch, broken tokenizers fail clearly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eccr.cli.diagnose_tokenizer import diagnose_tokenizer
from eccr.cli.main import app
from eccr.data import SAMPLE_PATH
from eccr.errors import ConfigError, ModelError

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["diagnose-tokenizer", *map(str, args)])


def test_json_output_for_the_char_tokenizer(char_tokenizer_dir):
    result = _run(SAMPLE_PATH, "--tokenizer", char_tokenizer_dir, "--from", "inline", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["invariants"]["ok"] is True and data["byte_fallback"] is None
    assert set(data["ceiling"]["wsm"]) == {"1", "2", "100"}
    assert data["ceiling"]["wsm"]["1"]["f1"] == 1.0 and data["ceiling"]["crossing_units"] == 0


def test_table_output_and_byte_fallback_switch(unigram_bytefallback_tokenizer_dir):
    result = _run(SAMPLE_PATH, "--tokenizer", unigram_bytefallback_tokenizer_dir, "--from", "inline")
    assert result.exit_code == 0, result.output
    assert "byte fallback on" in result.output and "tokenizer ceiling" in result.output
    assert "wsm" in result.output
    off = diagnose_tokenizer(SAMPLE_PATH, unigram_bytefallback_tokenizer_dir, corpus_format="inline",
                             byte_fallback=False)
    assert off.byte_fallback is False and off.invariants.ok


@pytest.mark.parametrize("enabled", [True, False])
def test_byte_fallback_cannot_be_switched_on_a_char_tokenizer(char_tokenizer_dir, enabled):
    with pytest.raises(ConfigError) as err:
        diagnose_tokenizer(SAMPLE_PATH, char_tokenizer_dir, corpus_format="inline", byte_fallback=enabled)
    assert err.value.code == "E081"


def test_broken_tokenizer_is_reported_and_fails(tmp_path):
    from transformers import DebertaV2Tokenizer

    DebertaV2Tokenizer().save_pretrained(str(tmp_path / "broken"))
    with pytest.raises(ModelError) as err:
        diagnosis = diagnose_tokenizer(SAMPLE_PATH, tmp_path / "broken", corpus_format="inline")
        diagnosis.invariants.raise_if_violated()
    assert err.value.code == "E079" and "unknown" in str(err.value)
    result = _run(SAMPLE_PATH, "--tokenizer", tmp_path / "broken", "--from", "inline", "--no-strict")
    assert result.exit_code == 0 and "VIOLATED" in result.output
    strict = _run(SAMPLE_PATH, "--tokenizer", tmp_path / "broken", "--from", "inline")
    assert strict.exit_code != 0 and isinstance(strict.exception, ModelError)


def test_real_medtxt_selection(medtxt_path, unigram_bytefallback_tokenizer_dir):
    diagnosis = diagnose_tokenizer(medtxt_path, unigram_bytefallback_tokenizer_dir,
                                   select="d[certainty=positive]")
    assert diagnosis.invariants.ok
    assert diagnosis.ceiling.spans > 1000 and 0.5 < diagnosis.report.wsm[1.0].f1 <= 1.0
