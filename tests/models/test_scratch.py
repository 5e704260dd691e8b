"""``scratch:<architecture>``: a transformer whose tokenizer is trained in fit, on training documents only."""

from __future__ import annotations

import pytest

from eccr.corpus.types import Corpus
from eccr.errors import ConfigError
from eccr.models.base import create_model, load_model

TINY = {"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64, "max_length": 128, "epochs": 1,
        "batch_size": 4, "learning_rate": 5e-3, "warmup": 0.0, "progress": False, "logging_steps": 1}


def test_fit_trains_the_tokenizer_on_training_texts_only_and_round_trips(sample_gold, tmp_path) -> None:
    train, held_out = sample_gold[:20], Corpus(sample_gold[20:])
    unseen = sorted({ch for d in held_out for ch in d.text} - {ch for d in train for ch in d.text}
                    - {" ", "\u3000", "\n"})
    assert unseen, "the sample should have characters only in its held-out documents"
    model = create_model("scratch:deberta-v2", {**TINY, "tokenizer": "char"})
    model.fit(Corpus(train), None)
    vocab = model.tokenizer.get_vocab()
    assert not any(ch in vocab for ch in unseen)
    assert all(ch in vocab for ch in train[0].text if not ch.isspace())
    predictions = model.predict(held_out)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.kind == "scratch" and str(loaded.spec) == "scratch:deberta-v2"
    assert [d.spans for d in loaded.predict(held_out)] == [d.spans for d in predictions]


def test_unigram_tokenizer_and_a_decoder(sample_gold) -> None:
    model = create_model("scratch:llama", {**TINY, "tokenizer": "unigram", "vocab_size": 800})
    model.fit(Corpus(sample_gold[:12]), Corpus(sample_gold[12:16]))
    assert model.decoder and model.tokenizer.bos_token == "<s>"
    assert len(model.predict(Corpus(sample_gold[16:18]))) == 2


@pytest.mark.parametrize(
    ("spec", "options", "code", "fragment"),
    [
        ("scratch:t5", {}, "E044", "scratch:<architecture>"),
        ("scratch", {}, "E044", "scratch:<architecture>"),
        ("scratch:deberta-v2", {"init": "pretrained"}, "E045", "model.options.init"),
        ("scratch:deberta-v2", {"tokenizer": "bpe"}, "E045", "model.options.tokenizer"),
    ],
)
def test_bad_specs_and_options(spec, options, code, fragment) -> None:
    with pytest.raises(ConfigError) as info:
        create_model(spec, options)
    assert info.value.code == code and fragment in info.value.message
