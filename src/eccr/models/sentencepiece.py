"""SentencePiece models shipped with pretrained checkpoints: read them, encode with them, rebuild from them.

Most of the paper's models carry their original tokenizer as a SentencePiece model file (``spm.model`` for
DeBERTa-v2, ``spiece.model`` for rinna's RoBERTa and GPT-NeoX, ``tokenizer.model`` for LLaMA/Mistral).
That file is the ground truth of what the model saw in pretraining: its normaliser (``nmt_nfkc``,
``identity``…), dummy prefix, whitespace handling and byte fallback are all recorded in it.

* :func:`find_sentencepiece_model` — the SentencePiece file behind a loaded tokenizer or in a model directory;
* :class:`SentencePieceModel` — the file's settings, and ``encode`` with the ``sentencepiece`` library itself
  (the reference :mod:`eccr.align.fidelity` compares a Hugging Face tokenizer with);
* :func:`tokenizer_from_sentencepiece` — a fast tokenizer built from the file's own settings (its
  precompiled normaliser, dummy prefix, byte fallback) with the special tokens and template of the tokenizer
  it replaces, so offsets into the original text come from the ``tokenizers`` library as usual;
* :func:`train_sentencepiece` — train a SentencePiece model (tests, benchmarks, domain pretraining).

``sentencepiece`` and ``protobuf`` are imported inside the functions (both are in the ``train`` extra).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from eccr.errors import ConfigError, Location, ModelError

#: File names under which model repositories ship a SentencePiece model.
SENTENCEPIECE_FILES = (
    "spm.model",
    "spiece.model",
    "tokenizer.model",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
)

_MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


def _sentencepiece() -> Any:
    try:
        import sentencepiece
    except ImportError:
        raise ConfigError(
            "E191",
            "the model ships a SentencePiece model, and checking the tokenizer against it needs the "
            "'sentencepiece' package: pip install 'eccr[train]'",
        ) from None
    return sentencepiece


@dataclass(frozen=True)
class SentencePieceModel:
    """A SentencePiece model file and the settings recorded in it.

    Attributes:
        path: the ``.model`` file (``None`` when built from bytes).
        model_type: ``unigram``, ``bpe``, ``word`` or ``char``.
        normalization: the normalisation rule (``nmt_nfkc``, ``nfkc``, ``identity``…).
        byte_fallback: unknown characters are spelt in ``<0xNN>`` byte pieces.
        add_dummy_prefix: a ``▁`` is put before the text.
        remove_extra_whitespaces: leading, trailing and repeated spaces are dropped.
        vocab_size: pieces in the model. unk_id: the unknown piece's id.
    """

    path: Path | None
    data: bytes = field(repr=False)
    model_type: str
    normalization: str
    byte_fallback: bool
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool
    vocab_size: int
    unk_id: int

    @classmethod
    def load(cls, path: str | Path) -> SentencePieceModel:
        """Read a ``.model`` file.

        Raises:
            ConfigError: ``E191`` without the ``sentencepiece`` package.
            ModelError: ``E192`` when the file is not a readable SentencePiece model.
        """
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as err:
            raise ModelError(
                "E192", f"cannot read the SentencePiece model: {err}", Location(file=str(p))
            ) from None
        return cls.from_bytes(data, p)

    @classmethod
    def from_bytes(cls, data: bytes, path: Path | None = None) -> SentencePieceModel:
        _sentencepiece()
        from transformers.convert_slow_tokenizer import import_protobuf

        proto = import_protobuf().ModelProto()
        try:
            proto.ParseFromString(data)
        except Exception as err:  # protobuf raises DecodeError (not exported under one name across versions)
            raise ModelError(
                "E192",
                f"not a SentencePiece model ({type(err).__name__}: {err})",
                Location(file=str(path) if path else None),
            ) from None
        if not proto.pieces:
            raise ModelError(
                "E192", "the SentencePiece model has no pieces", Location(file=str(path) if path else None)
            )
        spec, trainer = proto.normalizer_spec, proto.trainer_spec
        return cls(
            path,
            data,
            _MODEL_TYPES.get(trainer.model_type, str(trainer.model_type)),
            spec.name or "custom",
            bool(trainer.byte_fallback),
            bool(spec.add_dummy_prefix),
            bool(spec.remove_extra_whitespaces),
            len(proto.pieces),
            int(trainer.unk_id),
        )

    @cached_property
    def proto(self) -> Any:
        from transformers.convert_slow_tokenizer import import_protobuf

        proto = import_protobuf().ModelProto()
        proto.ParseFromString(self.data)
        return proto

    @cached_property
    def processor(self) -> Any:
        return _sentencepiece().SentencePieceProcessor(model_proto=self.data)

    def composes_sound_marks(self) -> bool:
        """Whether this model's normaliser turns a kana and its sound mark into one character (``ﾌﾟ`` →
        ``プ``, ``か`` + U+3099 → ``が``), as NFKC-based rules do.

        SentencePiece looks the pair up as a unit in its precompiled character map; the tokenizers
        library's ``Precompiled`` normaliser only looks up graphemes shorter than 6 UTF-8 bytes and maps the
        two characters separately (``フ`` + a combining ``゚``), which :func:`tokenizer_from_sentencepiece`
        repairs by composing its output (NFC).
        """
        if not self.proto.normalizer_spec.precompiled_charsmap:
            return False
        return len(self.processor.normalize("\uff8c\uff9f").lstrip("\u2581")) == 1

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "SentencePiece model"

    def encode(self, text: str) -> list[int]:
        """The ids SentencePiece itself gives ``text`` (no special tokens)."""
        return list(self.processor.encode(text))

    def describe(self) -> str:
        """``spm.model: unigram, 32000 pieces, nmt_nfkc, dummy prefix, byte fallback off``."""
        return (
            f"{self.name}: {self.model_type}, {self.vocab_size} pieces, {self.normalization}, "
            f"{'dummy prefix' if self.add_dummy_prefix else 'no dummy prefix'}, "
            f"byte fallback {'on' if self.byte_fallback else 'off'}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path) if self.path else None,
            "model_type": self.model_type,
            "normalization": self.normalization,
            "byte_fallback": self.byte_fallback,
            "add_dummy_prefix": self.add_dummy_prefix,
            "remove_extra_whitespaces": self.remove_extra_whitespaces,
            "vocab_size": self.vocab_size,
        }


def _compose_after_precompiled(backend: Any) -> Any:
    """``backend`` with NFC right after its ``Precompiled`` normaliser (see
    :meth:`SentencePieceModel.composes_sound_marks`). The output of an NFKC-based rule is already NFC except
    for these split pairs, so nothing else changes; the aligner gives the mark that NFC folds into its kana
    to the kana's token (:func:`eccr.align.offsets.absorb_folded_marks`).
    """
    from tokenizers import Tokenizer

    data = json.loads(backend.to_str())
    normalizer = data.get("normalizer") or {}
    steps = (
        normalizer.get("normalizers", [normalizer]) if normalizer.get("type") == "Sequence" else [normalizer]
    )
    at = next((k for k, step in enumerate(steps) if step.get("type") == "Precompiled"), None)
    if at is None:
        return backend
    data["normalizer"] = {
        "type": "Sequence",
        "normalizers": [*steps[: at + 1], {"type": "NFC"}, *steps[at + 1 :]],
    }
    return Tokenizer.from_str(json.dumps(data))


def find_sentencepiece_model(tokenizer: Any, source: str | Path | None = None) -> Path | None:
    """The SentencePiece file behind ``tokenizer`` (the file it was loaded from) or in folder ``source``."""
    for attribute in ("vocab_file", "spm_file"):
        value = getattr(tokenizer, attribute, None)
        if isinstance(value, str) and value.endswith(".model") and Path(value).is_file():
            return Path(value)
    if source is not None and Path(source).is_dir():
        for name in SENTENCEPIECE_FILES:
            if (Path(source) / name).is_file():
                return Path(source) / name
    return None


def tokenizer_from_sentencepiece(model: SentencePieceModel, like: Any) -> Any:
    """A fast tokenizer that encodes as ``model`` does, with ``like``'s special tokens and template.

    The backend follows the SentencePiece model's own settings (transformers'
    ``SpmConverter.build_tokenizer_from_spm_proto``: precompiled normaliser, whitespace handling, dummy
    prefix, byte fallback, BPE merges ranked by piece score), so offsets into the original text come from
    the ``tokenizers`` library. ``like`` (the tokenizer transformers loaded) gives the special tokens, the
    post-processor (``[CLS] … [SEP]``, ``<s> …``), ``model_max_length`` and the padding side.

    Raises:
        ModelError: ``E195`` when the installed transformers cannot build it (too old) or the model type
            (``word``, ``char``) has no fast equivalent.
    """
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import SpmConverter

    build = getattr(SpmConverter, "build_tokenizer_from_spm_proto", None)
    if build is None:
        raise ModelError(
            "E195",
            "this transformers version cannot build a tokenizer from a SentencePiece "
            "model (SpmConverter.build_tokenizer_from_spm_proto); install transformers >= 5.24",
        )
    pieces = [(p.piece, p.score) for p in model.proto.pieces]
    vocab: Any = (
        pieces if model.model_type == "unigram" else {piece: i for i, (piece, _) in enumerate(pieces)}
    )
    backend = build(proto=model.proto, vocab=vocab) if model.model_type in ("unigram", "bpe") else None
    if backend is None:
        raise ModelError(
            "E195",
            f"{model.name} is a {model.model_type} SentencePiece model; only unigram and "
            "BPE models have a fast equivalent",
            Location(file=str(model.path) if model.path else None),
        )
    if model.composes_sound_marks():
        backend = _compose_after_precompiled(backend)
    post_processor = getattr(getattr(like, "backend_tokenizer", None), "post_processor", None)
    if post_processor is not None:
        backend.post_processor = post_processor
    specials = {
        name: str(getattr(like, name))
        for name in _SPECIAL_ATTRIBUTES
        if getattr(like, name, None) is not None
    }
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=getattr(like, "model_max_length", None) or 512,
        padding_side=getattr(like, "padding_side", "right"),
        **specials,
    )


_SPECIAL_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)


def train_sentencepiece(
    texts: Iterable[str],
    *,
    vocab_size: int,
    model_type: str = "unigram",
    normalization: str = "nmt_nfkc",
    byte_fallback: bool = False,
    specials: Sequence[tuple[str, str]] = (
        ("pad", "[PAD]"),
        ("unk", "[UNK]"),
        ("bos", "[CLS]"),
        ("eos", "[SEP]"),
    ),
    **options: Any,
) -> SentencePieceModel:
    """Train a SentencePiece model in memory (single-threaded, deterministic for the same texts).

    Args:
        texts: training texts (one sentence per text; long texts are fine).
        vocab_size: pieces, special and byte pieces included (at most: fewer when the texts do not support
            as many).
        model_type: ``unigram`` (DeBERTa, T5, rinna) or ``bpe`` (LLaMA, Mistral).
        normalization: ``nmt_nfkc``, ``nfkc``, ``identity``…
        byte_fallback: add the 256 byte pieces and spell unknown characters with them.
        specials: ``(kind, piece)`` for ``pad``/``unk``/``bos``/``eos``, in id order (ids 0, 1, …); kinds not
            listed are disabled.
        **options: further ``SentencePieceTrainer`` options (``add_dummy_prefix``, ``split_digits``,
            ``control_symbols``, ``user_defined_symbols``…).
    """
    spm = _sentencepiece()
    ids = {f"{kind}_id": -1 for kind in ("pad", "unk", "bos", "eos")}
    pieces = {}
    for index, (kind, piece) in enumerate(specials):
        ids[f"{kind}_id"] = index
        pieces[f"{kind}_piece"] = piece
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([t for t in texts if t.strip()]),
        model_writer=out,
        vocab_size=vocab_size,
        model_type=model_type,
        normalization_rule_name=normalization,
        byte_fallback=byte_fallback,
        character_coverage=options.pop("character_coverage", 0.9995),
        hard_vocab_limit=options.pop("hard_vocab_limit", False),
        num_threads=1,
        minloglevel=2,
        **ids,
        **pieces,
        **options,
    )
    return SentencePieceModel.from_bytes(out.getvalue())
