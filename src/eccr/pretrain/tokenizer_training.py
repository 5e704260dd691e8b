"""Train a tokenizer on pretraining text, measure it, and write it with its provenance (``eccr
pretrain-tokenizer``).

:func:`pretrain_tokenizer` reads the texts (:func:`eccr.pretrain.texts.read_pretraining_texts`), optionally
removes documents overlapping labelled corpora (the leakage guard), trains one of three models of
:mod:`eccr.pretrain.tokenizer` — ``unigram`` (SentencePiece-compatible Unigram, the default), ``bpe``
(SentencePiece-style BPE) or ``char`` — and writes the output directory as a whole
(:func:`eccr.atomic.atomic_directory`): the tokenizer files ``AutoTokenizer.from_pretrained`` loads, the
pretraining record (:mod:`eccr.pretrain.provenance`) and ``eccr-tokenizer-report.json`` (the statistics).

The statistics (:class:`TokenizerStatistics`), measured by encoding the training text itself (no special
tokens); characters are counted without whitespace, which no model here makes a token of its own:

* **character coverage** — the share of characters that fall in an ordinary token, i.e. neither in an
  unknown token nor spelt in byte-fallback pieces;
* **unknown-token rate** — unknown tokens / all tokens; **byte-fallback rate** likewise for byte pieces;
* **tokens per character** — all tokens / characters.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eccr.errors import ConfigError, Location

__all__ = [
    "MODELS",
    "REPORT_FILE",
    "TokenizerStatistics",
    "TokenizerTraining",
    "pretrain_tokenizer",
    "tokenizer_statistics",
    "train_tokenizer",
]

MODELS: tuple[str, ...] = ("unigram", "bpe", "char")
REPORT_FILE = "eccr-tokenizer-report.json"
# files that mark a directory as a tokenizer eccr may replace
_TOKENIZER_MARKERS = ("tokenizer.json", "tokenizer_config.json", "eccr-pretraining.json")


@dataclass(frozen=True)
class TokenizerStatistics:
    """How a tokenizer covers a text (module docstring for the definitions)."""

    vocab_size: int
    characters: int
    tokens: int
    unknown_tokens: int
    byte_tokens: int
    uncovered_characters: int

    @property
    def character_coverage(self) -> float:
        return 1.0 - self.uncovered_characters / self.characters if self.characters else 1.0

    @property
    def unknown_rate(self) -> float:
        return self.unknown_tokens / self.tokens if self.tokens else 0.0

    @property
    def byte_fallback_rate(self) -> float:
        return self.byte_tokens / self.tokens if self.tokens else 0.0

    @property
    def tokens_per_character(self) -> float:
        return self.tokens / self.characters if self.characters else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"vocab_size": self.vocab_size, "characters": self.characters, "tokens": self.tokens,
                "unknown_tokens": self.unknown_tokens, "byte_tokens": self.byte_tokens,
                "uncovered_characters": self.uncovered_characters,
                "character_coverage": self.character_coverage, "unknown_rate": self.unknown_rate,
                "byte_fallback_rate": self.byte_fallback_rate,
                "tokens_per_character": self.tokens_per_character}


def tokenizer_statistics(tokenizer: Any, texts: Sequence[str]) -> TokenizerStatistics:
    """Encode ``texts`` with a fast tokenizer (no special tokens) and count as the module docstring says."""
    from eccr.pretrain.tokenizer import BYTE_PIECES

    vocab = tokenizer.get_vocab()
    byte_ids = {vocab[p] for p in BYTE_PIECES if p in vocab}
    unk_id = tokenizer.unk_token_id
    tokens = unknown = byte_tokens = uncovered = characters = 0
    for text, encoding in zip(texts, tokenizer.backend_tokenizer.encode_batch(list(texts),
                                                                            add_special_tokens=False),
                              strict=True):
        characters += sum(not ch.isspace() for ch in text)
        tokens += len(encoding.ids)
        outside: set[int] = set()
        for token_id, (start, end) in zip(encoding.ids, encoding.offsets, strict=True):
            if token_id == unk_id:
                unknown += 1
            elif token_id in byte_ids:
                byte_tokens += 1
            else:
                continue
            outside.update(i for i in range(start, end) if not text[i].isspace())
        uncovered += len(outside)
    return TokenizerStatistics(len(tokenizer), characters, tokens, unknown, byte_tokens, uncovered)


def train_tokenizer(
    texts: Sequence[str],
    *,
    model: str = "unigram",
    vocab_size: int | None = 8000,
    byte_fallback: bool | None = None,
    character_coverage: float = 1.0,
    role: str = "encoder",
    model_max_length: int = 512,
) -> Any:
    """Train a ``unigram``, ``bpe`` or ``char`` tokenizer (:mod:`eccr.pretrain.tokenizer`).

    ``byte_fallback`` defaults to on for ``unigram``/``bpe`` and is refused for ``char`` (a character
    vocabulary has no byte pieces); ``vocab_size`` is required for ``unigram``/``bpe`` and, for ``char``,
    an upper bound the special tokens plus the covered characters must fit.

    Raises:
        ConfigError: ``E123`` unknown model, missing vocabulary size, or byte fallback asked of ``char``;
            ``E080`` (from the trainers) a vocabulary too small, a coverage outside (0, 1], a bad role.
    """
    from eccr.pretrain import tokenizer as tk

    if model not in MODELS:
        raise ConfigError("E123", f"unknown tokenizer model {model!r}; choose one of {', '.join(MODELS)}")
    if model == "char":
        if byte_fallback:
            raise ConfigError("E123", "a char tokenizer has no byte fallback; use --byte-fallback off or "
                              "--model unigram/bpe")
        tokenizer = tk.train_char_tokenizer(texts, role=role,  # type: ignore[arg-type]
                                            model_max_length=model_max_length,
                                            character_coverage=character_coverage)
        if vocab_size is not None and len(tokenizer) > vocab_size:
            raise ConfigError("E080", f"vocab_size {vocab_size} is too small: the char vocabulary needs "
                              f"{len(tokenizer)} entries (special tokens and the characters kept at coverage "
                              f"{character_coverage}); raise --vocab-size or lower --character-coverage")
        return tokenizer
    if vocab_size is None:
        raise ConfigError("E123", f"--vocab-size is required for a {model} tokenizer")
    trainer = tk.train_unigram_tokenizer if model == "unigram" else tk.train_bpe_tokenizer
    tokenizer = trainer(texts, vocab_size=vocab_size, byte_fallback=byte_fallback is not False,
                        role=role, character_coverage=character_coverage,  # type: ignore[arg-type]
                        model_max_length=model_max_length)
    if len(tokenizer) > vocab_size:
        # the Unigram trainer keeps every character of the alphabet even beyond its vocab_size
        raise ConfigError("E080", f"vocab_size {vocab_size} is too small: the {model} vocabulary needs "
                          f"{len(tokenizer)} entries (special and byte pieces and every character kept at "
                          f"coverage {character_coverage}); raise --vocab-size or lower --character-coverage")
    return tokenizer


@dataclass(frozen=True)
class TokenizerTraining:
    """What :func:`pretrain_tokenizer` did: settings, text, statistics, time, and the check's result."""

    out: str
    settings: Mapping[str, Any]
    texts: Any  # eccr.pretrain.texts.PretrainingTexts
    statistics: TokenizerStatistics
    seconds: float
    check: Any = None  # what the check callback returned (eccr diagnose-tokenizer's diagnosis)

    def to_dict(self) -> dict[str, Any]:
        texts = self.texts
        return {
            "out": self.out,
            "settings": dict(self.settings),
            "sources": [s.to_dict() for s in texts.sources],
            "documents": len(texts.documents),
            "exclusion": texts.exclusion.counts() if texts.exclusion is not None else None,
            "statistics": self.statistics.to_dict(),
            "training_seconds": round(self.seconds, 3),
        }


def check_output_directory(out: str | Path) -> Path:
    """``out`` may be written: absent, empty, or a tokenizer/model directory eccr wrote (replaced whole).

    Raises:
        ConfigError: ``E124`` when ``out`` is a file or a non-empty directory holding no tokenizer.
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError("E124", f"--out {path} is a file; give a directory for the tokenizer",
                          Location(file=str(path)))
    if path.is_dir() and any(path.iterdir()) and not any((path / m).exists() for m in _TOKENIZER_MARKERS):
        raise ConfigError("E124", f"--out {path} is a non-empty directory that holds no tokenizer; it would "
                          "be replaced as a whole — choose a new or empty directory",
                          Location(file=str(path)))
    return path


def pretrain_tokenizer(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    model: str = "unigram",
    vocab_size: int | None = 8000,
    byte_fallback: bool | None = None,
    character_coverage: float = 0.9995,
    role: str = "encoder",
    model_max_length: int = 512,
    unit: str = "auto",
    field: str = "text",
    exclude: Sequence[str | Path] = (),
    check: Callable[[Path], Any] | None = None,
) -> TokenizerTraining:
    """Read, exclude, train, measure and write a tokenizer directory (module docstring).

    ``check`` is called with the written (not yet renamed) directory before it is put in place, so a
    failing check leaves no output; its return value is kept in the result.

    Raises:
        ConfigError: ``E124`` bad ``--out``, ``E043`` a missing input; the errors of :func:`train_tokenizer`.
        InputError: ``E125`` when the exclusion leaves no document; the errors of reading the texts.
    """
    from eccr.atomic import atomic_directory
    from eccr.pretrain.provenance import write_provenance
    from eccr.pretrain.texts import exclude_corpora, read_pretraining_texts

    target = check_output_directory(out)
    texts = exclude_corpora(read_pretraining_texts(paths, unit=unit, field=field), exclude)  # type: ignore[arg-type]
    if byte_fallback is None:
        byte_fallback = model != "char"
    settings = {"model": model, "vocab_size": vocab_size, "byte_fallback": byte_fallback,
                "character_coverage": character_coverage, "role": role, "unit": unit, "field": field,
                "exclude": [str(p) for p in exclude]}
    started = time.perf_counter()
    tokenizer = train_tokenizer(texts.texts, model=model, vocab_size=vocab_size, byte_fallback=byte_fallback,
                                character_coverage=character_coverage, role=role,
                                model_max_length=model_max_length)
    seconds = time.perf_counter() - started
    statistics = tokenizer_statistics(tokenizer, texts.texts)
    result = TokenizerTraining(str(target), settings, texts, statistics, seconds)
    with atomic_directory(target) as tmp:
        tokenizer.save_pretrained(str(tmp))
        write_provenance(tmp, texts, details={"command": "pretrain-tokenizer", **settings})
        (tmp / REPORT_FILE).write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")
        outcome = check(tmp) if check is not None else None
    return TokenizerTraining(str(target), settings, texts, statistics, seconds, outcome)
