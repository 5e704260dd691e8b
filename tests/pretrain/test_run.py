"""``pretrain``: loss goes down, continual pretraining starts from the parent, resume, exclusion, outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from eccr.errors import ConfigError, EccrError
from eccr.pretrain.run import CHECKPOINTS, SUMMARY_FILE, PretrainOptions, pretrain

TINY = {"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64}
QUICK = {"batch_size": 8, "block_size": 64, "progress": False, "logging_steps": 5}


@pytest.fixture(scope="module")
def tiny_size(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sizes") / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def mlm_run(tokenizer_training_texts, unigram_bytefallback_tokenizer_dir, tiny_size, tmp_path_factory):
    out = tmp_path_factory.mktemp("mlm") / "model"
    options = _scratch(unigram_bytefallback_tokenizer_dir, tiny_size,
                              steps=15, eval_steps=5, learning_rate=3e-3, **QUICK)
    return pretrain(tokenizer_training_texts, out, options)


def _scratch(tokenizer, size: str, architecture: str = "deberta-v2", **options) -> PretrainOptions:
    return PretrainOptions(tokenizer=str(tokenizer), from_scratch=f"{architecture}:{size}", **options)


def _curve(out: Path) -> list[dict[str, str]]:
    with open(out / "loss.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_mlm_from_scratch_lowers_the_validation_loss(mlm_run) -> None:
    out, summary = mlm_run.out, mlm_run.summary
    rows = _curve(out)
    assert rows[0]["step"] == "0" and rows[0]["validation_loss"] and not rows[0]["train_loss"]
    validation = [float(r["validation_loss"]) for r in rows if r["validation_loss"]]
    assert validation[0] == pytest.approx(summary["initial_validation_loss"])
    assert summary["final_validation_loss"] < summary["initial_validation_loss"] - 0.2
    assert summary["steps"] == 15 and summary["objective"] == "mlm" and summary["tokens_seen"] > 0
    perplexity = summary["final_validation_perplexity"]
    assert perplexity == pytest.approx(2.718281828 ** summary["final_validation_loss"])
    assert abs(summary["documents"]["validation"] / sum(summary["documents"].values()) - 0.2) < 0.01
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "loss.csv", "loss.png", SUMMARY_FILE,
            "eccr-pretraining.json"} <= names
    assert CHECKPOINTS not in names and not any(p.name.startswith(".eccr-tmp") for p in out.parent.iterdir())
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    from transformers import AutoModelForMaskedLM

    assert AutoModelForMaskedLM.from_pretrained(out).config.architectures == ["DebertaV2ForMaskedLM"]


def test_clm_from_scratch_lowers_the_validation_loss(tokenizer_training_texts, unigram_decoder_tokenizer_dir,
                                                     tiny_size, tmp_path) -> None:
    options = _scratch(unigram_decoder_tokenizer_dir, tiny_size, "llama", objective="clm", steps=15,
                       eval_steps=5, learning_rate=3e-3, **QUICK)
    summary = pretrain(tokenizer_training_texts, tmp_path / "lm", options).summary
    assert summary["objective"] == "clm" and summary["architecture"] == "llama"
    assert summary["final_validation_loss"] < summary["initial_validation_loss"] - 0.2


class _Capture(TrainerCallback):
    def __init__(self) -> None:
        self.weights: dict[str, torch.Tensor] = {}

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.weights = {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_continual_pretraining_starts_from_the_saved_weights(mlm_run, tokenizer_training_texts, tmp_path
                                                            ) -> None:
    from safetensors.torch import load_file

    capture = _Capture()
    options = PretrainOptions(continue_from=str(mlm_run.out), steps=2, eval_steps=2, **QUICK)
    result = pretrain(tokenizer_training_texts, tmp_path / "continued", options, callbacks=[capture])
    parent = load_file(mlm_run.out / "model.safetensors")
    assert parent and all(torch.equal(capture.weights[k], v) for k, v in parent.items())
    assert result.summary["start"] == str(mlm_run.out) and not result.summary["from_scratch"]
    # starts where the parent ended, far below a random model's loss
    assert result.summary["initial_validation_loss"] < mlm_run.summary["initial_validation_loss"] - 0.2
    provenance = json.loads((tmp_path / "continued" / "eccr-pretraining.json").read_text(encoding="utf-8"))
    assert json.dumps(provenance).count(str(mlm_run.out)) >= 1


def test_continual_pretraining_with_vocabulary_extension(
        mlm_run, tokenizer_training_texts, char_tokenizer_dir, tmp_path) -> None:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    old = AutoTokenizer.from_pretrained(mlm_run.out).get_vocab()
    options = PretrainOptions(continue_from=str(mlm_run.out), extend_vocab=str(char_tokenizer_dir),
                              extend_vocab_limit=5, steps=1, eval_steps=1, **QUICK)
    result = pretrain(tokenizer_training_texts, tmp_path / "extended", options)
    extension = result.summary["vocabulary_extension"]
    assert extension["old_size"] == len(old) and extension["new_size"] == len(old) + extension["added"]
    tok = AutoTokenizer.from_pretrained(tmp_path / "extended")
    assert all(tok.get_vocab()[t] == i for t, i in old.items())
    model = AutoModelForMaskedLM.from_pretrained(tmp_path / "extended")
    assert model.get_input_embeddings().num_embeddings == len(tok)


class _Interrupt(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        if state.global_step == 2:
            raise KeyboardInterrupt


def test_resume_continues_the_step_count(
        tokenizer_training_texts, unigram_bytefallback_tokenizer_dir, tiny_size, tmp_path) -> None:
    out = tmp_path / "run"
    options = _scratch(unigram_bytefallback_tokenizer_dir, tiny_size,
                              steps=4, eval_steps=2, save_steps=2, **QUICK)
    with pytest.raises(KeyboardInterrupt):
        pretrain(tokenizer_training_texts, out, options, callbacks=[_Interrupt()])
    assert [p.name for p in out.iterdir()] == [CHECKPOINTS]
    assert (out / CHECKPOINTS / "checkpoint-2").is_dir()
    with pytest.raises(ConfigError) as err:  # never continued by accident
        pretrain(tokenizer_training_texts, out, options)
    assert err.value.code == "E134"
    from dataclasses import replace

    result = pretrain(tokenizer_training_texts, out, replace(options, resume=True))
    assert result.summary["steps"] == 4 and result.summary["resumed_from"] == "checkpoint-2"
    steps = [int(r["step"]) for r in _curve(out)]
    assert steps[0] == 0 and steps[-1] == 4  # the step-0 evaluation survived the interruption
    assert result.summary["initial_validation_loss"] is not None


def test_exclude_removes_duplicates_and_shared_sentences(unigram_bytefallback_tokenizer_dir, tiny_size,
                                                         tmp_path) -> None:
    from eccr.corpus.io import write_corpus
    from eccr.data import sample_corpus

    gold = list(sample_corpus())
    corpus = tmp_path / "gold.jsonl"
    write_corpus(gold[:3], corpus)
    long_sentence = next(s for s in gold[1].text.split("。") if len(s) >= 20) + "。"
    texts = [d.text for d in gold[:2]] + ["無関係な前置き。" + long_sentence] + [d.text for d in gold[5:25]]
    news: list[str] = []
    options = _scratch(unigram_bytefallback_tokenizer_dir, tiny_size,
                              steps=1, eval_steps=1, exclude=(str(corpus),), **QUICK)
    result = pretrain(texts, tmp_path / "out", options, log=news.append)
    assert result.summary["excluded"] == {"candidates": 23, "duplicate": 2, "shared-sentence": 1, "kept": 20}
    assert "removed 3 of 23 documents (2 duplicates, 1 sharing a sentence)" in news[0]
    kept = {d.text for d in result.texts.documents}
    assert not kept & {d.text for d in gold[:3]} and len(kept) == 20


@pytest.mark.parametrize(("options", "code"), [
    ({"from_scratch": "deberta-v2", "continue_from": "x"}, "E131"),
    ({"from_scratch": "llama:tiny", "objective": "mlm"}, "E133"),
    ({"from_scratch": "nosuch"}, "E133"),
    ({"from_scratch": "deberta-v2:huge"}, "E133"),
    ({"continue_from": "./no/such/model"}, "E086"),
])
def test_bad_options_are_coded_errors_before_anything_is_written(
        options, code, tokenizer_training_texts, unigram_decoder_tokenizer_dir, tmp_path) -> None:
    with pytest.raises(EccrError) as err:
        pretrain(tokenizer_training_texts, tmp_path / "out",
                 PretrainOptions(tokenizer=str(unigram_decoder_tokenizer_dir), **options))
    assert err.value.code == code
    assert not (tmp_path / "out").exists()
