"""The ``it:`` model kind: options, training data and loss mask, fit/predict/save/load, diagnostics, CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.types import Corpus, Document, Span
from eccr.data import SAMPLE_PATH, sample_corpus
from eccr.errors import ConfigError, ModelError
from eccr.models.base import MODEL_FILE, ModelSpec, create_model, load_model
from eccr.models.instruction.model import InstructionModel, InstructionOptions
from eccr.models.instruction.representations import PAPER_PROMPT, render_prompt
from eccr.models.instruction.sentences import split_sentences
from eccr.training.callbacks import read_metrics_log

#: Options that make a tiny decoder train in seconds.
FAST = {
    "init": "from_config",
    "epochs": 1,
    "batch_size": 4,
    "learning_rate": 3e-3,
    "warmup": 0.0,
    "progress": False,
    "logging_steps": 1,
    "new_tokens_extra": 4,
}


@pytest.fixture(scope="module")
def corpus():
    return sample_corpus()


@pytest.fixture(scope="module")
def trained(tiny_causal_lm_dir, corpus, tmp_path_factory):
    """A tiny Llama (byte-level BPE) trained for 2 epochs on 3 documents, validated on 2, and saved."""
    run = tmp_path_factory.mktemp("it-run")
    model = create_model(f"it:{tiny_causal_lm_dir('llama')}", {**FAST, "epochs": 2, "eval_max_sentences": 6})
    model.fit(corpus[:3], corpus[3:5], run_dir=run)
    saved = model.save(tmp_path_factory.mktemp("it-model") / "model")
    return model, run, saved


# --- options ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"prompt": "no placeholder"}, "prompt"),
        ({"representation": "json", "constrained": True}, ""),
        ({"prompt_lookup": 4, "num_beams": 2}, ""),
        ({"represntation": "json"}, "represntation"),
    ],
)
def test_invalid_options_are_coded_config_errors(tmp_path, options, key):
    with pytest.raises(ConfigError, match=rf"E045.*'model\.options\.{key}"):
        create_model(f"it:{tmp_path}", options)


def test_defaults_follow_the_paper_and_stay_safe():
    opts = InstructionOptions()
    assert opts.template == PAPER_PROMPT and opts.representation == "inline" and opts.epochs == 10
    assert opts.is_constrained and not InstructionOptions(representation="json").is_constrained
    assert not InstructionOptions(constrained=False).is_constrained  # the paper's free generation
    assert opts.trust_remote_code is False and opts.merge_lora is True


def test_spec_needs_a_path_and_an_encoder_is_refused(tiny_model_dir, corpus):
    with pytest.raises(ConfigError, match="E044"):
        InstructionModel(ModelSpec("it", None))
    with pytest.raises(ModelError, match="E100"):
        create_model(f"it:{tiny_model_dir('deberta-v2')}", FAST).fit(corpus[:1])


def test_predict_before_fit_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="E067"):
        create_model(f"it:{tmp_path}", FAST).predict_text("発熱")


# --- training data ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("tokenizer", "representation"), [("bpe", "inline"), ("unigram", "inline"),
                                                          ("bpe", "json")])
def test_loss_mask_covers_exactly_the_answer_and_eos(tiny_causal_lm_dir, tokenizer, representation):
    directory = tiny_causal_lm_dir("llama", tokenizer)
    model = create_model(f"it:{directory}", {**FAST, "representation": representation})
    model._build()
    doc = Document("d", "発熱と咳嗽を認めた。@@は記号。", [Span(0, 2), Span(3, 5)])
    sentences, _ = split_sentences([doc])
    features, counts = model.training_features(sentences)
    tok = model.tokenizer
    for sentence, feature in zip(sentences, features, strict=True):
        prompt = tok(render_prompt(PAPER_PROMPT if representation == "inline" else model.opts.template,
                                   sentence.text))["input_ids"]
        answer = model.representation.target(sentence.text, sentence.spans)
        ids, labels = feature["input_ids"], feature["labels"]
        assert ids[: len(prompt)] == prompt and labels[: len(prompt)] == [-100] * len(prompt)
        assert labels[len(prompt) :] == ids[len(prompt) :] and ids[-1] == tok.eos_token_id
        assert -100 not in labels[len(prompt) :]
        assert tok.decode(labels[len(prompt) : -1]) == answer
    assert counts["pairs"] == len(sentences) and counts["too_long"] == 0


def test_pairs_longer_than_max_length_are_skipped_and_counted(tiny_causal_lm_dir, corpus):
    model = create_model(f"it:{tiny_causal_lm_dir('llama')}", {**FAST, "max_length": 90})
    model._build()
    sentences, _ = split_sentences(corpus[:2])
    features, counts = model.training_features(sentences)
    assert counts["too_long"] > 0 and counts["pairs"] == len(features) == len(sentences) - counts["too_long"]
    assert all(len(f["input_ids"]) <= 90 for f in features)
    with pytest.raises(ModelError, match="E103"):
        create_model(f"it:{tiny_causal_lm_dir('llama')}", {**FAST, "max_length": 8}).fit(corpus[:1])


def test_a_tokenizer_that_normalises_is_counted_not_hidden(tiny_causal_lm_dir):
    model = create_model(f"it:{tiny_causal_lm_dir('llama', 'unigram')}", FAST)  # NFKC: ＣＴ becomes CT
    model._build()
    sentences, _ = split_sentences([Document("d", "ＣＴで胸水を認めた。", [Span(3, 5)])])
    assert model.training_features(sentences)[1]["answers_not_reproducible"] == 1


# --- fit, predict, save, load -----------------------------------------------------------------------------
def test_fit_writes_logs_data_counts_and_validates_by_generation(trained):
    _, run, _ = trained
    data = json.loads((run / "instruction-data.json").read_text(encoding="utf-8"))
    assert data["train"]["documents"] == 3 and data["train"]["pairs"] == data["train"]["sentences"]
    assert data["validation"]["eval_max_sentences"] == 6 and 1 <= data["validation"]["sentences"] <= 6
    evals = [r for r in read_metrics_log(run) if "eval_wsm_f1" in r]
    assert len(evals) == 2 and all(r["eval_sentences"] == data["validation"]["sentences"] for r in evals)
    assert "eval_exact_reproduction" in evals[0]
    assert not (run / "checkpoints").exists()


def test_saved_model_needs_only_its_directory_and_predicts_the_same(trained, corpus):
    model, _, saved = trained
    files = {p.name for p in saved.iterdir()}
    assert {"model.safetensors", "config.json", MODEL_FILE} <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    loaded = load_model(saved)
    assert loaded.labels == model.labels == ["concept"] and loaded.opts.trust_remote_code is False
    assert loaded.opts.recipe == model.opts.recipe is not None and (saved / "eccr-tokenizer.json").is_file()
    docs = Corpus(corpus[5:7])
    assert [d.spans for d in loaded.predict(docs)] == [d.spans for d in model.predict(docs)]


def test_prediction_is_faithful_and_its_diagnostics_are_complete(trained, corpus, tmp_path):
    model, _, _ = trained
    docs = Corpus(corpus[5:7])
    predicted = model.predict(docs)
    model.write_diagnostics(tmp_path)
    records = [json.loads(line) for line in (tmp_path / "generations.jsonl").read_text("utf-8").splitlines()]
    summary = json.loads((tmp_path / "generation-summary.json").read_text(encoding="utf-8"))
    assert len(records) == summary["sentences"] == len(split_sentences(docs, with_spans=False)[0])
    assert summary["constrained"] is True and summary["exact_reproduction"]["rate"] == 1.0
    assert all(r["exact"] and r["plain"] == r["input"] for r in records)  # constrained: faithful
    for doc in predicted:
        for span in doc.spans:
            assert any(r["id"] == doc.id and r["start"] <= span.start and span.end <= r["end"]
                       for r in records)


def test_prompt_lookup_returns_exactly_the_plain_greedy_text(trained, corpus):
    model, _, _ = trained
    sentences = [s.text for s in split_sentences(corpus[5:8], with_spans=False)[0]][:8]
    for constrained in (False, True):
        plain = model.generate(sentences, constrained=constrained, batch_size=1)
        lookup = model.generate(sentences, constrained=constrained, prompt_lookup=4)
        assert [a.text for a in lookup.answers] == [a.text for a in plain.answers]


@pytest.fixture(scope="module")
def pretrained_dir(tiny_causal_lm_dir, tmp_path_factory):
    """A tiny Llama saved with (random) weights: what a downloaded pretrained model looks like to eccr."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from eccr.pretrain.tokenizer import load_tokenizer

    source = tiny_causal_lm_dir("llama")
    base = tmp_path_factory.mktemp("pretrained")
    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source)).save_pretrained(base)
    load_tokenizer(source).save_pretrained(base)
    return base


def test_interrupted_lora_run_resumes_from_its_last_checkpoint(pretrained_dir, corpus, tmp_path):
    options = {**FAST, "init": "pretrained", "max_train_sentences": 8, "keep_checkpoints": True}
    first = create_model(f"it:{pretrained_dir}", options)
    first.fit(corpus[:2], run_dir=tmp_path)
    assert first.uses_lora
    first_records = len(read_metrics_log(tmp_path))
    steps_first = max(r["step"] for r in read_metrics_log(tmp_path))
    # the same run asked for more epochs (as after an interruption): it continues, it does not restart
    create_model(f"it:{pretrained_dir}", {**options, "epochs": 2}).fit(corpus[:2], run_dir=tmp_path)
    later = read_metrics_log(tmp_path)[first_records:]
    assert later and min(r["step"] for r in later) > steps_first and max(r["epoch"] for r in later) == 2.0


def test_adapter_only_save_loads_on_its_pretrained_base(tiny_causal_lm_dir, pretrained_dir, corpus, tmp_path):
    source = tiny_causal_lm_dir("llama")
    base = pretrained_dir
    options = {**FAST, "init": "pretrained", "merge_lora": False, "max_train_sentences": 4}
    model = create_model(f"it:{base}", options)
    model.fit(corpus[:1], run_dir=tmp_path / "run")
    assert model.uses_lora
    saved = model.save(tmp_path / "adapter")
    files = {p.name for p in saved.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json"} <= files and "model.safetensors" not in files
    docs = Corpus(corpus[5:6])
    assert [d.spans for d in load_model(saved).predict(docs)] == [d.spans for d in model.predict(docs)]
    scratch = create_model(f"it:{source}",
                           {**FAST, "lora": True, "merge_lora": False, "max_train_sentences": 2})
    scratch.fit(corpus[:1], run_dir=tmp_path / "run2")
    with pytest.raises(ModelError, match="E104"):
        scratch.save(tmp_path / "no")


def test_json_representation_trains_and_reports_what_it_could_not_read(tiny_causal_lm_dir, corpus, tmp_path):
    model = create_model(f"it:{tiny_causal_lm_dir('llama')}",
                         {**FAST, "representation": "json", "max_train_sentences": 6})
    model.fit(corpus[:2], run_dir=tmp_path)
    model.predict(corpus[5:6])
    summary = model.generation_summary
    assert summary["representation"] == "json" and "exact_reproduction" not in summary
    silent = [r for r in model.generations if not r["problems"] and not r["outcomes"]
              and r["output"].strip() != "[]"]
    assert silent == []  # every answer is read into concepts, or its problem is counted
    totals: dict[str, int] = {}
    for record in model.generations:
        for key, value in record["problems"].items():
            totals[key] = totals.get(key, 0) + value
    assert totals == summary["problems"]


# --- command line -----------------------------------------------------------------------------------------
def test_cv_with_it_writes_generations_agreement_and_compares_with_another_kind(tiny_causal_lm_dir, tmp_path):
    runner = CliRunner()
    options = ["--set", "model.options.init=from_config", "--set", "model.options.epochs=1",
               "--set", "model.options.max_train_docs=2", "--set", "model.options.eval_max_sentences=3",
               "--set", "model.options.progress=false", "--set", "model.options.constrained=false"]
    it_run, dict_run = tmp_path / "it", tmp_path / "dict"
    result = runner.invoke(app, ["cv", str(SAMPLE_PATH), "--from", "inline", "--model",
                                 f"it:{tiny_causal_lm_dir('llama')}", *options, "--folds", "2", "--out",
                                 str(it_run), "--quiet"])
    assert result.exit_code == 0, result.output
    for fold in ("fold-0", "fold-1"):
        for name in ("generations.jsonl", "generation-summary.json", "instruction-data.json", "scores.json"):
            assert (it_run / fold / name).is_file(), (fold, name)
    result = runner.invoke(app, ["agreement", str(it_run), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [f["fold"] for f in report["folds"]] == ["fold-0", "fold-1"]
    assert report["sentences"] == sum(f["sentences"] for f in report["folds"]) > 0
    assert (it_run / "agreement.md").is_file()
    folds = str(it_run / "folds.json")
    result = runner.invoke(app, ["cv", str(SAMPLE_PATH), "--from", "inline", "--model", "dict",
                                 "--folds-file", folds, "--out", str(dict_run), "--quiet"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["compare", str(it_run), str(dict_run)])
    assert result.exit_code == 0, result.output


def test_predict_cli_with_a_saved_it_model(trained, tmp_path):
    _, _, saved = trained
    note = tmp_path / "note.txt"
    note.write_text("発熱と咳嗽を認めた。\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["predict", str(saved), str(note), "--out", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.jsonl").is_file()
