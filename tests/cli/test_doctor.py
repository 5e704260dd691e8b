"""``eccr doctor``: every field, on every fixture family, from the library and the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eccr.cli.doctor import doctor, render
from eccr.cli.main import app
from eccr.data import SAMPLE_PATH
from eccr.errors import ConfigError, ModelError
from eccr.models.hub_layouts import FAMILIES

runner = CliRunner()
FIELDS = (
    "model",
    "size",
    "recipe",
    "training",
    "tokenizer",
    "length",
    "corpus",
    "unknown",
    "invariants",
    "ceiling",
    "memory",
    "time",
)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_doctor_reports_every_field_for_every_family(family, family_dir):
    layout = family_dir(family)
    report = doctor(str(layout.path), corpus=SAMPLE_PATH, corpus_format="inline")
    text = render(report)
    for field in FIELDS:
        assert any(line.startswith(field) for line in text.splitlines()), (field, text)
    data = report.to_dict()
    assert data["recipe"]["recipe"] == layout.family.recipe
    assert data["parameters"] > 0 and data["sizes"]["layers"] == 1
    assert data["training"]["mode"] == ("LoRA" if data["decoder"] else "full fine-tuning")
    assert data["diagnosis"]["invariants"]["ok"] is True
    assert set(data["diagnosis"]["ceiling"]["wsm"]) == {"1", "2", "100"}
    assert data["corpus"]["documents"] == 40 and data["limits"]["window"] <= 129
    assert data["memory_gib"]["full_fine_tuning"]["training"] > 0
    if layout.family.sp_file:
        assert data["tokenizer"]["fidelity"]["ok"] is True and "fidelity" in text


def test_parameters_and_lora_counts_match_the_real_model(family_dir):
    """The meta-device count equals the built model's; the LoRA count equals peft's trainable count."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    from eccr.models.decoders import apply_lora
    from eccr.models.footprint import measure

    config = AutoConfig.from_pretrained(family_dir("llama").path, num_labels=2)
    footprint = measure(config, ["q_proj", "v_proj"], 8)
    model = AutoModelForTokenClassification.from_config(config)
    assert footprint.parameters == sum(p.numel() for p in model.parameters())
    wrapped = apply_lora(model, r=8, alpha=16, dropout=0.0, target_modules=None)
    assert footprint.lora_parameters == sum(p.numel() for p in wrapped.parameters() if p.requires_grad)


def test_memory_grows_with_the_batch():
    from eccr.models.footprint import estimate_bytes

    sizes = {
        "hidden": 768,
        "layers": 12,
        "heads": 12,
        "intermediate": 3072,
        "seq": 512,
        "weight_bytes": 2,
        "activation_bytes": 2,
    }
    small = estimate_bytes(7_000_000_000, batch=1, trainable=4_000_000, **sizes)
    large = estimate_bytes(7_000_000_000, batch=8, trainable=4_000_000, **sizes)
    full = estimate_bytes(7_000_000_000, batch=1, trainable=7_000_000_000, **sizes)
    assert small.weights == large.weights == 14_000_000_000
    assert small.training < large.training and small.inference < large.inference
    assert full.training > 16 * 7_000_000_000 > small.training  # Adam states dominate full fine-tuning


def test_command_line_table_json_and_options(family_dir):
    path = str(family_dir("roberta-t5").path)
    result = runner.invoke(app, ["doctor", f"hf:{path}", "--set", "model.options.window=64"])
    assert result.exit_code == 0, result.output
    assert "window 64 tokens" in result.output and "corpus       none given" in result.output
    assert "lower-cases the text" in result.output and "position ids from-zero" in result.output
    result = runner.invoke(
        app,
        [
            "doctor",
            path,
            "--corpus",
            str(SAMPLE_PATH),
            "--from",
            "inline",
            "--format",
            "json",
            "--set",
            "model.options.batch_size=2",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["memory_gib"]["assumptions"].startswith("batch 2 ×") and data["tokenizer"]["recipe"]


def test_bad_arguments_are_coded_errors(tmp_path):
    result = runner.invoke(app, ["doctor", str(tmp_path / "missing")])
    assert isinstance(result.exception, ConfigError) and result.exception.code == "E194"
    result = runner.invoke(app, ["doctor", "./nowhere", "--format", "csv"])
    assert isinstance(result.exception, ConfigError) and result.exception.code == "E194"
    result = runner.invoke(app, ["doctor", str(tmp_path), "--set", "folds=3"])
    assert isinstance(result.exception, ConfigError) and result.exception.code == "E194"


def test_a_misaligned_tokenizer_is_reported_and_fails_unless_not_strict(misaligned_model_dir):
    args = ["doctor", str(misaligned_model_dir), "--corpus", str(SAMPLE_PATH), "--from", "inline"]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, ModelError) and result.exception.code == "E079"
    assert "VIOLATED" in result.output
    assert runner.invoke(app, [*args, "--no-strict"]).exit_code == 0


def test_an_eccr_model_directory_brings_its_options(family_dir, tmp_path):
    from eccr.data import sample_corpus
    from eccr.models.base import create_model

    from ..models.hf_options import FAST

    model = create_model(f"hf:{family_dir('gpt-neox-t5').path}", {**FAST, "window": 32, "lora": False})
    model.fit(sample_corpus()[:4], run_dir=tmp_path / "run")
    model.save(tmp_path / "model")
    report = doctor(str(tmp_path / "model"))
    assert report.limits["window"] == 32 and report.training["mode"] == "full fine-tuning"
    assert report.recipe.name == "gpt-neox-sentencepiece"
