"""Vocabulary extension for continual pretraining (:mod:`eccr.pretrain.vocabulary`)."""

from __future__ import annotations

import pytest
import torch

from eccr.models.scratch import model_config
from eccr.pretrain.tokenizer import load_tokenizer
from eccr.pretrain.vocabulary import extend_vocabulary, new_pieces, old_piece_ids

SIZES = {"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64, "max_length": 128}


def _model(architecture: str, tokenizer):
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    auto = AutoModelForCausalLM if architecture == "llama" else AutoModelForMaskedLM
    torch.manual_seed(0)
    return auto.from_config(model_config(architecture, tokenizer, **SIZES))


def test_new_pieces_are_domain_words_the_old_tokenizer_splits(char_tokenizer_dir, unigram_tokenizer_dir
                                                              ) -> None:
    old = load_tokenizer(char_tokenizer_dir)
    domain = load_tokenizer(unigram_tokenizer_dir)
    pieces = new_pieces(old, domain, limit=30)
    assert len(pieces) == 30 and len(set(pieces)) == 30
    assert all("\u2581" not in p and not p.startswith("<0x") for p in pieces)
    assert not set(pieces) & set(old.all_special_tokens)
    assert all(len(old_piece_ids(old, p)) > 1 or old.unk_token_id in old_piece_ids(old, p) for p in pieces)
    assert new_pieces(domain, domain) == []  # nothing is new to the tokenizer itself


@pytest.mark.parametrize("architecture", ["deberta-v2", "llama"])
def test_extension_keeps_old_ids_and_starts_new_rows_at_the_mean_of_their_pieces(
        architecture, char_tokenizer_dir, unigram_tokenizer_dir) -> None:
    tok = load_tokenizer(char_tokenizer_dir)
    old_vocab = dict(tok.get_vocab())
    model = _model(architecture, tok)
    old_inputs = model.get_input_embeddings().weight.detach().clone()
    old_outputs = model.get_output_embeddings().weight.detach().clone()
    pieces = new_pieces(tok, load_tokenizer(unigram_tokenizer_dir), limit=12)
    sources = {p: old_piece_ids(tok, p) for p in pieces}
    result = extend_vocabulary(model, tok, pieces)
    assert result.old_size == len(old_vocab) and result.new_size == len(old_vocab) + 12
    assert result.added == tuple(pieces)
    vocab = tok.get_vocab()
    assert all(vocab[token] == index for token, index in old_vocab.items())  # old ids kept
    inputs = model.get_input_embeddings().weight.detach()
    outputs = model.get_output_embeddings().weight.detach()
    assert inputs.shape[0] == len(tok) and model.config.vocab_size == len(tok)
    assert torch.equal(inputs[: len(old_vocab)], old_inputs[: len(old_vocab)])
    for piece in pieces:
        new_id = vocab[piece]
        assert new_id >= len(old_vocab)
        assert torch.allclose(inputs[new_id], old_inputs[sources[piece]].mean(dim=0))
        assert torch.allclose(outputs[new_id], old_outputs[sources[piece]].mean(dim=0))
    text = "既往歴に" + pieces[0] + "あり"
    assert vocab[pieces[0]] in tok(text, add_special_tokens=False)["input_ids"]  # the new token is used
