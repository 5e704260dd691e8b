"""TokenClassificationModel: options, fit/predict/save/load per architecture family, windows, resume."""

from __future__ import annotations

import json

import pytest
import torch

from eccr.corpus.types import Corpus, Document, Span
from eccr.data import sample_corpus
from eccr.errors import ConfigError, ModelError
from eccr.metrics import score
from eccr.models.base import MODEL_FILE, ModelSpec, create_model, load_model
from eccr.models.token_classification import TokenClassificationModel, TokenClassificationOptions
from eccr.training.callbacks import read_metrics_log

from .hf_options import FAST


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return sample_corpus()


def wsm_f1(gold, pred) -> float:
    return score(gold, pred, p=(1.0,), conventional=False).wsm[1.0].f1


# --- options ---------------------------------------------------------------------------------------------
def test_unknown_option_is_a_coded_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"E045.*'model\.options\.learning_rat'"):
        create_model(f"hf:{tmp_path}", {"learning_rat": 1e-4})


def test_spec_needs_a_path_or_hub_id():
    with pytest.raises(ConfigError, match="E044"):
        TokenClassificationModel(ModelSpec("hf", None))


def test_option_defaults_follow_the_paper_and_stay_safe():
    opts = TokenClassificationOptions()
    assert opts.epochs == 10 and opts.scheme == "io" and opts.trust_remote_code is False
    assert opts.lora == "auto" and opts.bidirectional is False
    assert TokenClassificationOptions(bidirectional=True).bidirectional == "all"
    assert TokenClassificationOptions(bidirectional=2).bidirectional == 2
    with pytest.raises(ValueError):
        TokenClassificationOptions(bidirectional=0)


def test_trust_remote_code_is_never_passed_as_true(tiny_model_dir, corpus, monkeypatch, tmp_path):
    import transformers

    seen: list[object] = []

    def spy_on(auto_class):
        original = auto_class.from_pretrained.__func__

        def spy(cls, *args, **kwargs):
            seen.append(kwargs.get("trust_remote_code"))
            return original(cls, *args, **kwargs)

        monkeypatch.setattr(auto_class, "from_pretrained", classmethod(spy))

    spy_on(transformers.AutoConfig)
    spy_on(transformers.AutoTokenizer)
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", {**FAST, "max_train_docs": 2})
    model.fit(corpus[:2], run_dir=tmp_path)
    assert len(seen) >= 2 and set(seen) == {False}  # config and tokenizer
    model.save(tmp_path / "saved")
    record = json.loads((tmp_path / "saved" / MODEL_FILE).read_text(encoding="utf-8"))
    assert record["options"]["trust_remote_code"] is False


def test_missing_model_dir_is_a_model_error(tmp_path, corpus, unigram_bytefallback_tokenizer_dir):
    model = create_model(f"hf:{unigram_bytefallback_tokenizer_dir}", FAST)  # tokenizer but no config.json
    with pytest.raises(ModelError, match=r"E062.*cannot load a model config") as err:
        model.fit(corpus[:2])
    assert err.value.location.file == str(unigram_bytefallback_tokenizer_dir)


def test_predict_before_fit_is_a_model_error(tiny_model_dir):
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", FAST)
    with pytest.raises(ModelError, match="E067"):
        model.predict_text("発熱")


def test_window_beyond_the_model_limit_is_rejected(tiny_model_dir, corpus):
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", {**FAST, "window": 4096})
    with pytest.raises(ConfigError, match=r"E045.*limit of 128"):
        model.fit(corpus[:2])


# --- one fast smoke test per architecture family: fit, predict, save, load -------------------------------
@pytest.mark.parametrize("architecture", ["deberta-v2", "roberta", "llama", "gpt-neox"])
def test_fit_predict_save_load_round_trip(architecture, tiny_model_dir, corpus, tmp_path):
    train = corpus[:12]
    model = create_model(f"hf:{tiny_model_dir(architecture)}", {**FAST, "scheme": "bio", "epochs": 2})
    model.fit(train, corpus[12:16], run_dir=tmp_path / "run")
    assert model.labels == ["O", "B-concept", "I-concept"]
    assert model.uses_lora == (architecture in ("llama", "gpt-neox"))
    predicted = model.predict(corpus[:16])
    for doc in predicted:
        for span in doc.spans:
            assert 0 <= span.start < span.end <= len(doc.text)
    out = model.save(tmp_path / "model")
    assert (out / "model.safetensors").is_file() and (out / MODEL_FILE).is_file()
    assert not [p.name for p in out.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl")]  # no pickle
    assert not (out / "adapter_config.json").exists()  # LoRA merged: a plain model directory
    assert not (tmp_path / "run" / "checkpoints").exists()  # removed after a successful fit
    record = json.loads((out / MODEL_FILE).read_text(encoding="utf-8"))
    assert record["options"]["window"] == 128  # the model's limit; default step: half a window's content
    assert record["options"]["step"] == (128 - model.special.count) // 2 == 63
    loaded = load_model(out)
    assert loaded.predict(corpus[:16]) == predicted
    log = read_metrics_log(tmp_path / "run")
    assert [r["epoch"] for r in log if "eval_wsm_f1" in r] == [1.0, 2.0]


def test_lora_merge_on_save_keeps_predictions(tiny_model_dir, corpus, tmp_path):
    model = create_model(f"hf:{tiny_model_dir('llama')}", {**FAST, "lora_target_modules": "all-linear"})
    model.fit(corpus[:8], run_dir=tmp_path / "run")
    before = model.predict(corpus[:8])
    logits_before = model.window_scores([model._encode(corpus[0], False)])[0][0]
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    logits_after = loaded.window_scores([loaded._encode(corpus[0], False)])[0][0]
    assert torch.allclose(torch.from_numpy(logits_before), torch.from_numpy(logits_after), atol=1e-5)
    assert loaded.predict(corpus[:8]) == before


# --- windows: nothing is truncated ---------------------------------------------------------------------
def test_long_document_is_predicted_to_its_last_character(tiny_model_dir, corpus, tmp_path):
    """A head that says "inside" everywhere must cover the whole 2,000+ character text across windows."""
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", {**FAST, "window": 16, "step": 7})
    model.fit(corpus[:2], run_dir=tmp_path)
    head = model.model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 10.0]))  # O, I-concept
    text = "".join(doc.text for doc in corpus).replace(" ", "")
    assert len(text) > 2000
    encoded = model._encode(Document("long", text), with_labels=False)
    assert len(encoded.windows) > 100 and all(len(w.input_ids) <= 16 for w in encoded.windows)
    assert model.predict_text(text) == [Span(0, len(text), "concept")]


# --- training behaviour ---------------------------------------------------------------------------------
def test_early_stopping_on_validation_wsm_f1(tiny_model_dir, corpus, tmp_path):
    """With a negligible learning rate the validation F1 never improves: training stops after patience."""
    model = create_model(
        f"hf:{tiny_model_dir('deberta-v2')}", {**FAST, "epochs": 10, "patience": 1, "learning_rate": 1e-12}
    )
    model.fit(corpus[:4], corpus[4:6], run_dir=tmp_path)
    evals = [r for r in read_metrics_log(tmp_path) if "eval_wsm_f1" in r]
    assert [r["epoch"] for r in evals] == [1.0, 2.0]


def test_interrupted_run_resumes_from_its_last_checkpoint(tiny_model_dir, corpus, tmp_path):
    path = f"hf:{tiny_model_dir('deberta-v2')}"
    first = create_model(path, {**FAST, "epochs": 2, "keep_checkpoints": True})
    first.fit(corpus[:4], run_dir=tmp_path)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir())[-1].startswith("checkpoint-")
    steps_first = max(r["step"] for r in read_metrics_log(tmp_path))
    # the same run asked for more epochs (as after an interruption): it continues, it does not restart
    second = create_model(path, {**FAST, "epochs": 3, "keep_checkpoints": True})
    second.fit(corpus[:4], run_dir=tmp_path)
    later = read_metrics_log(tmp_path)[
        len([r for r in read_metrics_log(tmp_path) if r["step"] <= steps_first]) :
    ]
    assert later and min(r["step"] for r in later) > steps_first
    assert max(r["epoch"] for r in later) == 3.0


def test_typed_bio_labels_come_from_the_corpus(tiny_model_dir, tmp_path):
    docs = Corpus(
        [
            Document("a", "発熱と右肺を認めた", [Span(0, 2, "d"), Span(3, 5, "a")]),
            Document("b", "咳嗽と左肺", [Span(0, 2, "d"), Span(3, 5, "a")]),
        ]
    )
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", {**FAST, "typed": True, "scheme": "bio"})
    model.fit(docs, run_dir=tmp_path)
    assert model.labels == ["O", "B-a", "I-a", "B-d", "I-d"]
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.scheme == model.scheme
    assert {s.label for doc in loaded.predict(docs) for s in doc.spans} <= {"a", "d"}


# --- overfitting the sample corpus (the acceptance check of issue 5) -------------------------------------
@pytest.mark.slow
def test_tiny_deberta_overfits_the_sample_corpus(tiny_model_dir, corpus, tmp_path):
    directory = tiny_model_dir("deberta-v2", hidden=64, layers=2, intermediate=128)
    model = create_model(
        f"hf:{directory}",
        {**FAST, "epochs": 12, "learning_rate": 3e-3, "scheme": "bio", "batch_size": 8, "logging_steps": 10},
    )
    model.fit(corpus, corpus, run_dir=tmp_path)
    assert wsm_f1(corpus, model.predict(corpus)) >= 0.95


@pytest.mark.slow
def test_tiny_llama_with_lora_overfits_the_sample_corpus(tiny_model_dir, corpus, tmp_path):
    directory = tiny_model_dir("llama", hidden=64, layers=2, intermediate=128)
    model = create_model(
        f"hf:{directory}",
        {
            **FAST,
            "epochs": 10,
            "learning_rate": 1e-2,
            "scheme": "bio",
            "batch_size": 4,
            "logging_steps": 10,
            "lora_target_modules": "all-linear",
            "lora_r": 16,
            "lora_modules_to_save": ["embed_tokens"],
        },
    )
    model.fit(corpus, corpus, run_dir=tmp_path)
    assert model.uses_lora
    assert wsm_f1(corpus, model.predict(corpus)) >= 0.95


def test_pickled_weights_are_refused_on_load(tiny_model_dir, corpus, tmp_path):
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", FAST)
    model.fit(corpus[:2], run_dir=tmp_path / "run")
    out = model.save(tmp_path / "model")
    torch.save(model.model.state_dict(), out / "pytorch_model.bin")
    (out / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"E069\] pytorch_model\.bin is a pickle"):
        load_model(out)  # refused by the manifest check before transformers sees the directory


def test_left_padding_tokenizer_gives_the_same_window_scores(tiny_model_dir, corpus, tmp_path):
    """Padding rows are dropped by the attention mask, whichever side the tokenizer pads on."""
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", FAST)
    model.fit(corpus[:2], run_dir=tmp_path)
    encoded = [model._encode(d, with_labels=False) for d in (Document("short", "発熱"), corpus[5])]
    right = model.window_scores(encoded)
    model.tokenizer.padding_side = "left"
    left = model.window_scores(encoded)
    alone = model.window_scores(encoded[:1])[0][0]
    assert left[0][0].shape == alone.shape == (len(encoded[0].windows[0].input_ids), 2)
    for a, b in zip([*right[0], *right[1]], [*left[0], *left[1]], strict=True):
        assert torch.allclose(torch.from_numpy(a), torch.from_numpy(b), atol=1e-5)


def test_empty_and_blank_documents_predict_no_spans(tiny_model_dir, corpus, tmp_path):
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", FAST)
    model.fit(corpus[:2], run_dir=tmp_path)
    docs = [Document("empty", ""), Document("blank", "  \n "), corpus[0]]
    predicted = model.predict_documents(docs)
    assert predicted[0] == [] and predicted[1] == [] and len(predicted) == 3
