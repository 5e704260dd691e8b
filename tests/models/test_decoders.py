"""Decoders: detection, right padding and pad tokens, LoRA, and bidirectional attention (checked)."""

from __future__ import annotations

import pytest
import torch

from eccr.corpus.types import Document
from eccr.data import sample_corpus
from eccr.errors import ConfigError
from eccr.models import decoders
from eccr.models.base import create_model, load_model
from eccr.models.scratch import model_config

from .hf_options import FAST

DECODERS = ["llama", "mistral", "gpt_neox", "gpt2"]


def tiny_decoder(architecture: str, tokenizer, implementation: str, layers: int = 3):
    from transformers import AutoModelForTokenClassification

    config = model_config(
        architecture, tokenizer, hidden=32, layers=layers, heads=2, intermediate=64, max_length=64
    )
    config.num_labels = 3
    torch.manual_seed(0)
    return AutoModelForTokenClassification.from_config(config, attn_implementation=implementation).eval()


@pytest.fixture(scope="module")
def decoder_tokenizer(unigram_decoder_tokenizer_dir):
    from eccr.pretrain.tokenizer import load_tokenizer

    return load_tokenizer(unigram_decoder_tokenizer_dir)


def first_token_states(model, ids: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    return [h[:, 0] for h in out.hidden_states[1:]]  # one per layer, embeddings excluded


# --- detection and padding -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("architecture", "expected"),
    [
        ("llama", True),
        ("mistral", True),
        ("gpt_neox", True),
        ("gpt2", True),
        ("deberta-v2", False),
        ("roberta", False),
    ],
)
def test_decoder_only_detection(architecture, expected, decoder_tokenizer):
    assert decoders.is_decoder_only(model_config(architecture, decoder_tokenizer)) is expected


def test_pad_token_is_set_when_missing_and_padding_is_right(decoder_tokenizer):
    import copy

    tok = copy.deepcopy(decoder_tokenizer)
    tok.pad_token = None
    tok.padding_side = "left"
    config = model_config("llama", decoder_tokenizer)
    config.pad_token_id = None
    decoders.prepare_decoder_tokenizer(tok, config)
    assert tok.padding_side == "right"
    assert tok.pad_token == tok.eos_token and config.pad_token_id == tok.eos_token_id is not None
    batch = tok(["発熱", "発熱と咳嗽を認めた"], padding=True)
    assert batch["attention_mask"][0][-1] == 0 and batch["attention_mask"][0][0] == 1


@pytest.mark.parametrize("bidirectional", [False, "all"])
def test_right_padding_does_not_change_predictions(tiny_model_dir, tmp_path, bidirectional):
    """A short document batched with long ones gets the logits it gets alone (pads are masked)."""
    corpus = sample_corpus()
    model = create_model(f"hf:{tiny_model_dir('llama')}", {**FAST, "bidirectional": bidirectional})
    model.fit(corpus[:4], run_dir=tmp_path)
    assert model.tokenizer.padding_side == "right" and model.tokenizer.pad_token is not None
    docs = [Document("short", "発熱"), corpus[5], corpus[6]]
    encoded = [model._encode(d, with_labels=False) for d in docs]
    together = model.window_scores(encoded)
    alone = [model.window_scores([enc])[0] for enc in encoded]
    for batch_rows, single_rows in zip(together, alone, strict=True):
        for a, b in zip(batch_rows, single_rows, strict=True):
            assert a.shape == b.shape
            assert torch.allclose(torch.from_numpy(a), torch.from_numpy(b), atol=1e-5)


# --- bidirectional attention: checked, not assumed ---------------------------------------------------------
@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
@pytest.mark.parametrize("architecture", DECODERS)
def test_bidirectional_lets_the_first_token_see_later_tokens(architecture, implementation, decoder_tokenizer):
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [5, 6, 7, 8, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    changed = ids.clone()
    changed[:, 2] = 11  # a later token changes; token 0 is the same

    def layers_that_change(bidirectional) -> list[bool]:
        model = tiny_decoder(architecture, decoder_tokenizer, implementation)
        decoders.make_bidirectional(model, bidirectional)
        before = first_token_states(model, ids, mask)
        after = first_token_states(model, changed, mask)
        return [not torch.allclose(a, b, atol=1e-6) for a, b in zip(before, after, strict=True)]

    assert layers_that_change(False) == [False, False, False]  # causal: token 0 sees only itself
    assert layers_that_change("all") == [True, True, True]
    assert layers_that_change(1) == [False, False, True]  # only the top layer looks right


@pytest.mark.parametrize("architecture", ["llama", "gpt2"])
def test_bidirectional_still_masks_padding(architecture, decoder_tokenizer):
    """In bidirectional mode a padded row equals the same row alone (pad keys stay masked)."""
    model = tiny_decoder(architecture, decoder_tokenizer, "sdpa")
    decoders.make_bidirectional(model, "all")
    ids = torch.tensor([[5, 6, 7, 8, 0, 0], [5, 6, 7, 8, 9, 10]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    with torch.no_grad():
        batched = model(input_ids=ids, attention_mask=mask).logits[0, :4]
        alone = model(input_ids=ids[:1, :4]).logits[0]
    assert torch.allclose(batched, alone, atol=1e-5)


def test_bidirectional_layer_choice():
    assert decoders.bidirectional_layers(3, 2) == [1, 2]
    with pytest.raises(ConfigError, match="E045"):
        decoders.bidirectional_layers(3, 4)


def test_bidirectional_on_an_encoder_is_refused(tiny_model_dir):
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", {**FAST, "bidirectional": "all"})
    with pytest.raises(ConfigError, match=r"E045.*decoder-only"):
        model.fit(sample_corpus()[:2])


def test_bidirectional_survives_save_and_load(tiny_model_dir, tmp_path):
    corpus = sample_corpus()
    model = create_model(f"hf:{tiny_model_dir('llama', layers=2)}", {**FAST, "bidirectional": 1})
    model.fit(corpus[:4], run_dir=tmp_path / "run")
    predicted = model.predict(corpus[:6])
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    flags = [m.is_causal for m in decoders.attention_modules(loaded.model)]
    assert flags == [True, False]
    assert loaded.predict(corpus[:6]) == predicted


# --- LoRA -----------------------------------------------------------------------------------------------
def test_lora_trains_adapters_and_the_whole_head(decoder_tokenizer):
    model = tiny_decoder("llama", decoder_tokenizer, "sdpa")
    wrapped = decoders.apply_lora(model, r=4, alpha=8, dropout=0.0, target_modules=None)
    trainable = {name for name, p in wrapped.named_parameters() if p.requires_grad}
    assert any("lora_A" in n for n in trainable) and any("score" in n for n in trainable)
    assert not any("embed_tokens" in n for n in trainable)
    total = sum(p.numel() for p in wrapped.parameters())
    assert sum(p.numel() for n, p in wrapped.named_parameters() if n in trainable) < total / 2


def test_lora_with_unknown_target_modules_is_a_config_error(decoder_tokenizer):
    model = tiny_decoder("llama", decoder_tokenizer, "sdpa")
    with pytest.raises(ConfigError, match="E045"):
        decoders.apply_lora(model, r=4, alpha=8, dropout=0.0, target_modules=["no_such_module"])
