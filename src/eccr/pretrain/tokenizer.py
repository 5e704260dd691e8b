"""Train tokenizers locally with the ``tokenizers`` library and wrap them for ``transformers``.

Two kinds, both returned as a ``PreTrainedTokenizerFast`` (correct offsets into the original text, also on
full-width Japanese — checked by :func:`eccr.align.check_tokenizer` in the tests):

* :func:`train_unigram_tokenizer` — SentencePiece-style Unigram (NFKC normaliser, ``▁`` Metaspace
  pre-tokenizer), with or without **byte fallback**. With byte fallback the 256 pieces ``<0x00>``…``<0xFF>``
  are added and a character outside the vocabulary is spelt in UTF-8 bytes; without it, it becomes the
  unknown token (with its offsets).
* :func:`train_char_tokenizer` — one token per non-space character of the original text (no normaliser),
  optionally whitespace characters too; characters not seen in training become the unknown token.

* :func:`train_bpe_tokenizer` — SentencePiece-style BPE (NFKC, ``▁`` Metaspace, optional byte fallback),
  the model of SentencePiece's ``--model_type=bpe`` (Llama's tokenizer is one).

:func:`train_byte_level_bpe_tokenizer` trains a GPT-2/GPT-NeoX style byte-level BPE for comparison.

**Character coverage** (``character_coverage``, as SentencePiece's ``--character_coverage``): the training
text's characters (after the normaliser, whitespace not counted) are taken from the most frequent down until
they cover that share of all character occurrences; the rarer ones stay out of the vocabulary and become
byte pieces (byte fallback) or the unknown token. ``1.0`` (the default here) keeps every character;
SentencePiece recommends ``0.9995`` for Japanese. To keep pieces from spanning a left-out character it is
replaced by a space in the text the trainer sees (:func:`covered_alphabet`).

``role`` picks the special tokens: ``encoder`` → ``[CLS] … [SEP]`` with ``[PAD]``, ``[UNK]``, ``[MASK]``;
``decoder`` → ``<s> …`` (BOS only, Llama style) with ``</s>``, ``<pad>``, ``<unk>``.

:func:`set_byte_fallback` rebuilds a tokenizer with byte fallback switched on or off (``eccr
diagnose-tokenizer --byte-fallback off`` reproduces the paper's setting this way).

Example (``eccr`` API; the module imports ``tokenizers``/``transformers`` only inside functions)::

    tok = train_unigram_tokenizer(texts, vocab_size=8000, byte_fallback=True)
    tok.save_pretrained("tokenizers/unigram-8k-bf")
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from eccr.errors import ConfigError, InputError, Location

Role = Literal["encoder", "decoder"]

#: Special tokens per role, in vocabulary order (ids 0, 1, …), as ``(attribute, token)`` pairs.
SPECIAL_TOKENS: dict[str, tuple[tuple[str, str], ...]] = {
    "encoder": (("pad_token", "[PAD]"), ("unk_token", "[UNK]"), ("cls_token", "[CLS]"),
                ("sep_token", "[SEP]"), ("mask_token", "[MASK]")),
    "decoder": (("pad_token", "<pad>"), ("unk_token", "<unk>"), ("bos_token", "<s>"), ("eos_token", "</s>")),
}

#: The 256 byte-fallback pieces, in byte order.
BYTE_PIECES: tuple[str, ...] = tuple(f"<0x{b:02X}>" for b in range(256))


def _specials(role: Role) -> tuple[tuple[str, str], ...]:
    if role not in SPECIAL_TOKENS:
        raise ConfigError("E080", f"unknown tokenizer role {role!r}; choose encoder or decoder")
    return SPECIAL_TOKENS[role]


def _post_processor(role: Role, token_to_id: dict[str, int]) -> Any:
    from tokenizers import processors

    if role == "encoder":
        return processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", token_to_id["[CLS]"]), ("[SEP]", token_to_id["[SEP]"])],
        )
    return processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", token_to_id["<s>"])]
    )


def wrap_tokenizer(backend: Any, role: Role, *, model_max_length: int = 512) -> Any:
    """A ``PreTrainedTokenizerFast`` around a ``tokenizers.Tokenizer`` with the role's special tokens."""
    from transformers import PreTrainedTokenizerFast

    specials = _specials(role)
    vocab = backend.get_vocab()
    missing = [tok for _, tok in specials if tok not in vocab]
    if missing:
        raise ConfigError("E080", f"tokenizer vocabulary lacks the special tokens {missing}")
    backend.post_processor = _post_processor(role, vocab)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=model_max_length,
        padding_side="right",
        **dict(specials),
    )


def train_unigram_tokenizer(
    texts: Iterable[str],
    *,
    vocab_size: int = 8000,
    byte_fallback: bool = True,
    role: Role = "encoder",
    max_piece_length: int = 16,
    model_max_length: int = 512,
    show_progress: bool = False,
    character_coverage: float = 1.0,
) -> Any:
    """Train a SentencePiece-style Unigram tokenizer.

    Args:
        texts: training texts.
        vocab_size: total vocabulary size, special tokens and (with byte fallback) the 256 byte pieces
            included.
        byte_fallback: spell out-of-vocabulary characters in UTF-8 byte pieces instead of the unknown token.
        role: ``encoder`` or ``decoder`` special tokens.
        max_piece_length: longest piece in characters.
        model_max_length: recorded in the wrapper (the window size models use by default).
        show_progress: the ``tokenizers`` progress bar.
        character_coverage: share of character occurrences the vocabulary must cover (module docstring).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    specials = [tok for _, tok in _specials(role)]
    reserved = len(specials) + (len(BYTE_PIECES) if byte_fallback else 0)
    if vocab_size <= reserved + 1:
        raise ConfigError("E080", f"vocab_size {vocab_size} leaves no room after {reserved} special/byte "
                          "pieces")
    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace()])
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size - (len(BYTE_PIECES) if byte_fallback else 0),
        special_tokens=specials,
        unk_token=dict(_specials(role))["unk_token"],
        max_piece_length=max_piece_length,
        show_progress=show_progress,
    )
    texts = _covered_texts(list(_non_empty(texts)), character_coverage)
    try:
        backend.train_from_iterator(texts, trainer)
    except Exception as err:  # the tokenizers trainer raises a bare Exception
        if "not large enough" not in str(err):
            raise
        alphabet = len(set(unicodedata.normalize("NFKC", "".join(texts))) - {" "})
        raise ConfigError(
            "E080",
            f"vocab_size {vocab_size} is too small: the training text has {alphabet} distinct characters "
            f"(after NFKC) and a Unigram vocabulary must hold them all plus {reserved} special/byte pieces",
        ) from None
    if byte_fallback:
        backend = _with_byte_pieces(backend)
    return wrap_tokenizer(backend, role, model_max_length=model_max_length)


def train_bpe_tokenizer(
    texts: Iterable[str],
    *,
    vocab_size: int = 8000,
    byte_fallback: bool = True,
    role: Role = "encoder",
    character_coverage: float = 1.0,
    model_max_length: int = 512,
    show_progress: bool = False,
) -> Any:
    """Train a SentencePiece-style BPE tokenizer: NFKC, ``▁`` Metaspace, merges learnt by ``tokenizers``.

    ``vocab_size`` counts everything: special tokens, the alphabet (characters kept by
    ``character_coverage``), merges and, with ``byte_fallback``, the 256 byte pieces (added after training,
    so a character outside the alphabet is spelt in UTF-8 bytes instead of the unknown token).

    Raises:
        ConfigError: ``E080`` when the alphabet and the special/byte pieces alone exceed ``vocab_size``.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    specials = [tok for _, tok in _specials(role)]
    unk = dict(_specials(role))["unk_token"]
    reserved = len(specials) + (len(BYTE_PIECES) if byte_fallback else 0)
    texts = _covered_texts(list(_non_empty(texts)), character_coverage)
    # Metaspace turns spaces into "▁", which is part of the alphabet too
    alphabet = covered_alphabet(texts, 1.0) | ({"▁"} if any(" " in t for t in texts) else set())
    if vocab_size < reserved + len(alphabet):
        raise ConfigError(
            "E080", f"vocab_size {vocab_size} is too small: a BPE vocabulary holds the {len(alphabet)} "
            f"characters kept (character coverage {character_coverage}) plus {reserved} special/byte "
            "pieces; raise --vocab-size or lower --character-coverage")
    backend = Tokenizer(models.BPE(unk_token=unk, byte_fallback=byte_fallback))
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace()])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - (len(BYTE_PIECES) if byte_fallback else 0), special_tokens=specials,
        show_progress=show_progress, initial_alphabet=sorted(alphabet),
    )
    backend.train_from_iterator(texts, trainer)
    if byte_fallback:
        data = json.loads(backend.to_str())
        vocab = data["model"]["vocab"]
        for piece in BYTE_PIECES:
            vocab.setdefault(piece, len(vocab))
        backend = Tokenizer.from_str(json.dumps(data))
    return wrap_tokenizer(backend, role, model_max_length=model_max_length)


def covered_alphabet(texts: Iterable[str], coverage: float, *, normalize: bool = True) -> set[str]:
    """The characters a vocabulary keeps at ``coverage`` (SentencePiece's rule).

    Characters (NFKC-normalised unless ``normalize`` is off; whitespace not counted) are taken from the
    most frequent down (ties by code point) while the ones taken cover less than ``coverage`` of all
    character occurrences.

    >>> sorted(covered_alphabet(["aaaaaaaab c"], 0.9))
    ['a', 'b']
    >>> sorted(covered_alphabet(["aaaaaaaab c"], 1.0))
    ['a', 'b', 'c']

    Raises:
        ConfigError: ``E080`` when ``coverage`` is not in (0, 1].
    """
    from collections import Counter

    if not 0.0 < coverage <= 1.0:
        raise ConfigError("E080", f"character coverage {coverage} must be in (0, 1]")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(unicodedata.normalize("NFKC", text) if normalize else text)
    for space in [ch for ch in counts if ch.isspace()]:
        del counts[space]
    total = sum(counts.values())
    kept: set[str] = set()
    accumulated = 0
    for ch, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if coverage < 1.0 and accumulated >= coverage * total:
            break
        kept.add(ch)
        accumulated += n
    return kept


def _covered_texts(texts: list[str], coverage: float) -> list[str]:
    """The NFKC texts with characters outside the covered alphabet replaced by a space (none at 1.0)."""
    if coverage >= 1.0:
        covered_alphabet([], coverage)  # validates the value
        return texts
    kept = covered_alphabet(texts, coverage)
    normalized = (unicodedata.normalize("NFKC", t) for t in texts)
    return ["".join(ch if ch in kept or ch.isspace() else " " for ch in t) for t in normalized]


def train_byte_level_bpe_tokenizer(
    texts: Iterable[str],
    *,
    vocab_size: int = 8000,
    role: Role = "decoder",
    model_max_length: int = 512,
    show_progress: bool = False,
) -> Any:
    """Train a GPT-2 / GPT-NeoX style byte-level BPE (no normaliser, no unknown token).

    Every text is representable, but a Japanese character's 3 UTF-8 bytes may be split over two tokens;
    :func:`eccr.align.align_text` gives such a character to the earlier token.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = [tok for _, tok in _specials(role)]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=show_progress,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(list(_non_empty(texts)), trainer)
    return wrap_tokenizer(backend, role, model_max_length=model_max_length)


def _non_empty(texts: Iterable[str]) -> Iterator[str]:
    count = 0
    for text in texts:
        if text and not text.isspace():
            count += 1
            yield text
    if count == 0:
        raise InputError("E083", "no training text for the tokenizer (all texts are empty)")


def _with_byte_pieces(backend: Any) -> Any:
    """The Unigram tokenizer with the 256 byte pieces added (lowest score) and byte fallback switched on."""
    from tokenizers import Tokenizer

    data = json.loads(backend.to_str())
    vocab = data["model"]["vocab"]
    present = {piece for piece, _ in vocab}
    floor = min((score for _, score in vocab), default=0.0) - 10.0
    vocab.extend([piece, floor] for piece in BYTE_PIECES if piece not in present)
    data["model"]["byte_fallback"] = True
    return Tokenizer.from_str(json.dumps(data))


def train_char_tokenizer(
    texts: Iterable[str],
    *,
    role: Role = "encoder",
    min_frequency: int = 1,
    keep_whitespace: bool = False,
    model_max_length: int = 512,
    character_coverage: float = 1.0,
) -> Any:
    """Train a character-level tokenizer: one token per character of the original text (no normaliser).

    By default whitespace separates tokens and is not itself a token (the usual character BERT). With
    ``keep_whitespace`` every whitespace character (space, U+3000, newline…) is a token too, so a model
    sees the layout and IO labels can keep two concepts separated by a space apart. Characters seen fewer
    than ``min_frequency`` times in ``texts``, or left out by ``character_coverage`` (counted on the original
    characters, whitespace excluded), become the unknown token.
    """
    from collections import Counter

    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    counts: Counter[str] = Counter()
    texts = list(_non_empty(texts))
    for text in texts:
        counts.update(ch for ch in text if keep_whitespace or not ch.isspace())
    covered = covered_alphabet(texts, character_coverage, normalize=False)
    specials = [tok for _, tok in _specials(role)]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if n >= min_frequency and (ch in covered or ch.isspace()) and ch not in vocab:
            vocab[ch] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=dict(_specials(role))["unk_token"]))
    each_char = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.pre_tokenizer = each_char if keep_whitespace else pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), each_char]
    )
    return wrap_tokenizer(backend, role, model_max_length=model_max_length)


def byte_fallback_of(tokenizer: Any) -> bool | None:
    """Whether a fast tokenizer's model uses byte fallback (``None`` when its model has no such option)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    model = json.loads(backend.to_str()).get("model", {})
    return bool(model["byte_fallback"]) if "byte_fallback" in model else None


def set_byte_fallback(tokenizer: Any, enabled: bool) -> Any:
    """A copy of a fast tokenizer with byte fallback switched on or off (vocabulary unchanged).

    Switching it off reproduces the paper's setting: out-of-vocabulary characters become the unknown token
    (with correct offsets) instead of byte pieces. Switching it on needs the byte pieces in the vocabulary.

    Raises:
        ConfigError: ``E081`` when the tokenizer is not a fast tokenizer whose model (Unigram, BPE) has a
            ``byte_fallback`` option, or lacks byte pieces when switching on.
    """
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", None)
    data = json.loads(backend.to_str()) if backend is not None else {}
    model = data.get("model", {})
    if "byte_fallback" not in model:
        raise ConfigError(
            "E081",
            f"cannot switch byte fallback {'on' if enabled else 'off'}: the tokenizer's model "
            f"({model.get('type', 'not a fast tokenizer')}) has no byte_fallback option",
        )
    if enabled:
        pieces = {p[0] if isinstance(p, list) else p for p in model.get("vocab", [])}
        if not set(BYTE_PIECES) <= pieces:
            raise ConfigError("E081", "cannot switch byte fallback on: the vocabulary lacks the "
                              "<0x00>…<0xFF> pieces")
    model["byte_fallback"] = bool(enabled)
    clone = tokenizer.__class__(
        tokenizer_object=Tokenizer.from_str(json.dumps(data)),
        model_max_length=tokenizer.model_max_length,
        padding_side=tokenizer.padding_side,
        **{name: getattr(tokenizer, name) for name in _special_attributes(tokenizer)},
    )
    return clone


def _special_attributes(tokenizer: Any) -> list[str]:
    names = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
    return [n for n in names if getattr(tokenizer, n, None) is not None]


def load_tokenizer(name_or_path: str | Path, *, byte_fallback: bool | None = None,
                   trust_remote_code: bool = False) -> Any:
    """Load a tokenizer from a local directory or a hub id (``AutoTokenizer``; fast when available).

    Args:
        name_or_path: a directory written by ``save_pretrained`` or a hub id.
        byte_fallback: when not ``None``, switch byte fallback on/off (:func:`set_byte_fallback`).
        trust_remote_code: passed to ``AutoTokenizer`` (off unless asked).

    Raises:
        ConfigError: ``E082`` when the tokenizer cannot be loaded.
    """
    from transformers import AutoTokenizer

    from eccr.paths import local_or_hub_id

    name_or_path = local_or_hub_id(name_or_path, "tokenizer")  # a missing path never reaches the Hub
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise ConfigError("E082", f"cannot load a tokenizer from {name_or_path}: {err}",
                          Location(file=str(name_or_path))) from None
    if byte_fallback is not None:
        tokenizer = set_byte_fallback(tokenizer, byte_fallback)
    return tokenizer


def read_texts(path: str | Path, *, field: str = "text") -> list[str]:
    """The texts of one pretraining source, read by :func:`eccr.pretrain.texts.read_pretraining_texts`:
    a ``.jsonl`` file (one object per line, key ``field``), a plain text file (one text per non-empty line),
    a directory of ``.txt`` files or any eccr corpus.

    Raises:
        ConfigError: ``E043`` when the path does not exist.
        InputError: ``E084`` naming the file and line of a JSON line without a string ``field``; ``E120``
            for a source without text; ``E001`` for bytes that are not UTF-8.
    """
    from eccr.pretrain.texts import read_pretraining_texts

    return read_pretraining_texts([path], field=field).texts
