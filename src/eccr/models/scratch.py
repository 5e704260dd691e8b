"""Training from scratch: model directories sized by hand, and the ``scratch:<architecture>`` model kind.

No pretrained Japanese clinical weights are available everywhere eccr runs (tests, CI, air-gapped
hospitals). :func:`write_model_dir` writes a directory that ``hf:<dir>`` with ``init: from_config``
turns into a randomly initialised model of the chosen architecture, sized from a few numbers, with
the vocabulary, special-token ids and maximum length taken from the tokenizer.

The model kind ``scratch:<architecture>`` (:class:`ScratchModel`) does all of it inside ``fit``: it
trains a tokenizer on the **training documents only** (plus optional unlabeled ``tokenizer_texts``),
writes such a directory and trains token classification on it. Nothing is downloaded and no text of a
held-out document shapes the vocabulary, so ``eccr cv --model scratch:deberta-v2`` is an honest
cross-validation of a small transformer on any machine.

>>> sorted(ARCHITECTURES)
['bert', 'deberta-v2', 'gpt2', 'gpt_neox', 'llama', 'mistral', 'roberta']
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from eccr.corpus.types import Corpus
from eccr.errors import ConfigError
from eccr.models.base import ModelSpec
from eccr.models.token_classification import TokenClassificationModel, TokenClassificationOptions

#: Supported architectures (``model_type`` of transformers); encoders first.
ARCHITECTURES = ("deberta-v2", "roberta", "bert", "llama", "mistral", "gpt_neox", "gpt2")

#: Accepted spellings of the architectures.
ALIASES = {"deberta-v3": "deberta-v2", "gpt-neox": "gpt_neox", "neox": "gpt_neox"}


def _token_ids(tokenizer: Any) -> dict[str, int]:
    ids: dict[str, int] = {}
    for name in ("pad", "bos", "eos"):
        value = getattr(tokenizer, f"{name}_token_id", None)
        if value is not None:
            ids[f"{name}_token_id"] = int(value)
    if "pad_token_id" not in ids and "eos_token_id" in ids:
        ids["pad_token_id"] = ids["eos_token_id"]
    return ids


def model_config(
    architecture: str,
    tokenizer: Any,
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 2,
    intermediate: int | None = None,
    max_length: int = 512,
) -> Any:
    """A ``transformers`` config of ``architecture`` sized ``hidden``/``layers``/``heads`` for ``tokenizer``.

    DeBERTa-v2 is configured like DeBERTa-v3 (relative positions with buckets, no absolute positions).
    """
    from transformers import AutoConfig

    architecture = ALIASES.get(architecture, architecture)
    if architecture not in ARCHITECTURES:
        raise ConfigError(
            "E045", f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}"
        )
    if hidden % heads:
        raise ConfigError("E045", f"hidden size {hidden} is not a multiple of the {heads} attention heads")
    inner = intermediate or 4 * hidden
    common: dict[str, Any] = {"vocab_size": len(tokenizer), **_token_ids(tokenizer)}
    if architecture == "gpt2":
        sizes = {
            "n_embd": hidden,
            "n_layer": layers,
            "n_head": heads,
            "n_inner": inner,
            "n_positions": max_length,
        }
    else:
        sizes = {
            "hidden_size": hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "intermediate_size": inner,
            "max_position_embeddings": max_length,
        }
    extra: dict[str, Any] = {}
    if architecture == "deberta-v2":
        extra = {
            "relative_attention": True,
            "position_buckets": 64,
            "max_relative_positions": -1,
            "pos_att_type": ["p2c", "c2p"],
            "position_biased_input": False,
            "type_vocab_size": 0,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": True,
        }
    elif architecture == "roberta":
        # RoBERTa numbers positions from pad_token_id + 1: reserve those rows so max_length tokens fit
        sizes["max_position_embeddings"] = max_length + int(common.get("pad_token_id", 1)) + 1
        extra = {"type_vocab_size": 1}
    elif architecture in ("llama", "mistral"):
        extra = {"num_key_value_heads": heads, "tie_word_embeddings": False}
        if architecture == "mistral":
            extra["sliding_window"] = None
    elif architecture == "gpt_neox":
        extra = {"use_parallel_residual": True, "rotary_pct": 1.0}
    return AutoConfig.for_model(architecture, **common, **sizes, **extra)


def write_model_dir(architecture: str, tokenizer: Any, directory: str | Path, **sizes: Any) -> Path:
    """Write ``config.json`` and the tokenizer into ``directory``; train it with ``init: from_config``.

    Args:
        architecture: one of :data:`ARCHITECTURES`.
        tokenizer: a ``transformers`` tokenizer (e.g. from :mod:`eccr.pretrain.tokenizer`).
        directory: created if missing.
        **sizes: ``hidden``, ``layers``, ``heads``, ``intermediate``, ``max_length``
            (see :func:`model_config`).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model_config(architecture, tokenizer, **sizes).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


#: Decoder-only architectures (their tokenizers get the decoder special tokens).
DECODER_ARCHITECTURES = ("llama", "mistral", "gpt_neox", "gpt2")


class ScratchOptions(TokenClassificationOptions):
    """Options of ``scratch:<architecture>``: every ``hf:`` option, plus the tokenizer and the model size.

    Attributes:
        tokenizer: ``char`` (one token per character) or ``unigram`` (SentencePiece-style, byte fallback
            unless ``byte_fallback: false``), trained on the training documents.
        vocab_size: Unigram vocabulary size (at most what the texts support).
        tokenizer_texts: a ``.jsonl`` (``text`` field) or text file of unlabeled texts that also train the
            tokenizer (never the held-out documents of a cross-validation).
        hidden, layers, heads, intermediate, max_length: the model size (:func:`model_config`).
    """

    init: Literal["from_config"] = "from_config"
    tokenizer: Literal["char", "unigram"] = "char"
    vocab_size: int = Field(8000, ge=300)
    tokenizer_texts: str | None = None
    hidden: int = Field(64, ge=8)
    layers: int = Field(2, ge=1)
    heads: int = Field(2, ge=1)
    intermediate: int | None = Field(None, ge=8)
    max_length: int = Field(512, ge=16)


class ScratchModel(TokenClassificationModel):
    """``scratch:<architecture>``: a randomly initialised transformer whose tokenizer is trained in ``fit``.

    Example::

        model = create_model("scratch:deberta-v2", {"tokenizer": "char", "hidden": 64, "epochs": 10})
        model.fit(train, validation)          # tokenizer from train's texts, then token classification
        model.save("models/tiny")             # an ordinary model directory (weights + tokenizer)
    """

    kind: ClassVar[str] = "scratch"
    Options: ClassVar[type[BaseModel]] = ScratchOptions

    def __init__(self, spec: ModelSpec, options: dict[str, Any] | None = None) -> None:
        architecture = ALIASES.get(spec.name_or_path or "", spec.name_or_path)
        if architecture not in ARCHITECTURES:
            raise ConfigError(
                "E044",
                f"invalid model spec {str(spec)!r}; expected scratch:<architecture> with one of "
                f"{', '.join(ARCHITECTURES)}",
            )
        super().__init__(ModelSpec(spec.kind, architecture), options)
        self.architecture = architecture
        self._init_dir: Path | None = None

    def _source(self) -> str:
        if self._init_dir is None:
            raise AssertionError("ScratchModel._source is only used while fit() builds the model")
        return str(self._init_dir)

    def train_tokenizer(self, train: Corpus) -> Any:
        """The tokenizer trained on ``train``'s texts (and ``tokenizer_texts``), for this architecture."""
        from eccr.pretrain.tokenizer import read_texts, train_char_tokenizer, train_unigram_tokenizer

        opts = self.opts
        assert isinstance(opts, ScratchOptions)
        texts = [doc.text for doc in train]
        if opts.tokenizer_texts is not None:
            texts += read_texts(opts.tokenizer_texts)
        role = "decoder" if self.architecture in DECODER_ARCHITECTURES else "encoder"
        if opts.tokenizer == "char":
            return train_char_tokenizer(texts, role=role, model_max_length=opts.max_length)
        return train_unigram_tokenizer(texts, vocab_size=opts.vocab_size, role=role,
                                       byte_fallback=opts.byte_fallback is not False,
                                       model_max_length=opts.max_length)

    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Train the tokenizer on ``train``, write a from-config model directory, then fine-tune on it."""
        opts = self.opts
        assert isinstance(opts, ScratchOptions)
        directory = Path(tempfile.mkdtemp(prefix="eccr-scratch-"))
        try:
            write_model_dir(self.architecture, self.train_tokenizer(train), directory, hidden=opts.hidden,
                            layers=opts.layers, heads=opts.heads, intermediate=opts.intermediate,
                            max_length=opts.max_length)
            self._init_dir = directory
            super().fit(train, validation, run_dir=run_dir)
        finally:
            self._init_dir = None
            shutil.rmtree(directory, ignore_errors=True)
