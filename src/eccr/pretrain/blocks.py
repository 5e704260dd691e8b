"""Pretraining data: the documents' train/validation split and their packing into fixed-length blocks.

The rules (the paper's, and those of Hugging Face's ``run_mlm.py``/``run_clm.py`` where the paper is silent):

* **Split by document**, never by block: :func:`split_documents` shuffles the document indices with ``seed``
  and keeps ``validation_fraction`` (the paper's 0.2) of them, at least one, for validation; the rest, at
  least one, train. A document's text is on one side only, so the validation loss is measured on unseen text.
* **Packing** (:func:`pack_blocks`): each document is tokenized without special tokens, the documents are
  concatenated in order with the tokenizer's document separator between them (``[SEP]`` for encoders,
  ``</s>`` for decoders: :func:`document_separator`), and the stream is cut into chunks of ``block_size``
  minus the special tokens the tokenizer puts around one input; each chunk then gets those special tokens
  (``[CLS] … [SEP]`` for the encoder tokenizers of :mod:`eccr.pretrain.tokenizer`, ``<s> …`` for decoders),
  so every block is exactly what the tokenizer would produce for one input. The last, shorter chunk is kept
  (the collator pads it): with the little text a hospital has, dropping it would drop text.
* With ``word_ids`` (whole-word masking), every token also carries the index of the MeCab word its first
  character falls in (:func:`eccr.pretrain.masking.token_word_ids`), numbered across the whole stream, and
  ``-1`` for special tokens and separators. A word cut by a block boundary becomes two partial words.

>>> class Toy:  # a stand-in tokenizer: one token per character, [CLS]=1 … [SEP]=2
...     sep_token_id, eos_token_id, pad_token_id = 2, None, 0
...     def __call__(self, text, add_special_tokens=True, **_):
...         ids = [ord(c) - 0x3000 for c in text]
...         return {"input_ids": [1, *ids, 2] if add_special_tokens else ids}
>>> blocks = pack_blocks(["あい", "うえお"], Toy(), block_size=5)
>>> blocks.input_ids, blocks.tokens
(((1, 66, 68, 2, 2), (1, 70, 72, 74, 2)), 5)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eccr.errors import ConfigError, InputError

__all__ = ["Blocks", "document_separator", "pack_blocks", "special_frame", "split_documents"]

#: The paper's share of documents held out for the validation loss.
VALIDATION_FRACTION = 0.2


def split_documents(count: int, *, validation_fraction: float = VALIDATION_FRACTION, seed: int = 0
                    ) -> tuple[list[int], list[int]]:
    """``(train, validation)`` document indices, sorted: a seeded shuffle, ``validation_fraction`` held out.

    At least one document is held out and at least one trains, so two documents are the minimum.

    Raises:
        InputError: ``E130`` for fewer than two documents.
        ConfigError: ``E131`` for a fraction outside (0, 1).

    >>> split_documents(10, seed=0)
    ([0, 1, 2, 3, 4, 5, 6, 9], [7, 8])
    """
    if not 0 < validation_fraction < 1:
        raise ConfigError("E131", f"validation fraction {validation_fraction} must lie strictly between 0 "
                          "and 1")
    if count < 2:
        raise InputError("E130", f"pretraining needs at least 2 documents (one to train on, one to validate "
                         f"on); the text holds {count}")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    held_out = min(count - 1, max(1, round(count * validation_fraction)))
    return sorted(order[held_out:]), sorted(order[:held_out])


@dataclass(frozen=True)
class Blocks:
    """Packed token blocks of some documents.

    Attributes:
        input_ids: one tuple of token ids per block, special tokens included.
        word_ids: per block, the MeCab word index of each token (``-1`` for special tokens), when packed for
            whole-word masking; else ``None``.
        tokens: the documents' own tokens (no special tokens, no separators).
        documents: how many documents were packed.
    """

    input_ids: tuple[tuple[int, ...], ...]
    word_ids: tuple[tuple[int, ...], ...] | None
    tokens: int
    documents: int

    def __len__(self) -> int:
        return len(self.input_ids)

    def examples(self) -> list[dict[str, list[int]]]:
        """One ``{"input_ids": [...]}`` (and ``"word_ids"``) dict per block: a ``Trainer`` dataset."""
        if self.word_ids is None:
            return [{"input_ids": list(ids)} for ids in self.input_ids]
        return [{"input_ids": list(ids), "word_ids": list(words)}
                for ids, words in zip(self.input_ids, self.word_ids, strict=True)]


def special_frame(tokenizer: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(prefix, suffix)``: the special token ids the tokenizer puts before and after one input.

    Found by encoding a probe with and without special tokens, so it holds for any tokenizer
    (``[CLS] … [SEP]``, ``<s> …``, nothing for GPT-2).
    """
    probe = "患者"
    with_specials = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
    content = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    for start in range(len(with_specials) - len(content) + 1):
        if with_specials[start : start + len(content)] == content:
            return tuple(with_specials[:start]), tuple(with_specials[start + len(content):])
    return (), ()


def document_separator(tokenizer: Any) -> int | None:
    """The token put between two documents: the encoder's ``[SEP]``, else the end-of-sequence token."""
    for name in ("sep_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return None


WordIds = Callable[[str, Sequence[tuple[int, int]]], list[int]]


def pack_blocks(
    texts: Sequence[str], tokenizer: Any, *, block_size: int, word_ids: WordIds | None = None
) -> Blocks:
    """Tokenize ``texts`` and pack them into blocks of at most ``block_size`` tokens (rules in the module).

    Args:
        texts: the documents, in order.
        tokenizer: a ``transformers`` tokenizer (a fast one when ``word_ids`` is given: offsets are needed).
        block_size: tokens per block, special tokens included.
        word_ids: ``(text, token offsets) -> word index per token``; given, the blocks carry word ids.

    Raises:
        ConfigError: ``E132`` when ``block_size`` leaves no room after the special tokens.
        InputError: ``E130`` when the texts hold no token at all.
    """
    prefix, suffix = special_frame(tokenizer)
    room = block_size - len(prefix) - len(suffix)
    if room < 1:
        raise ConfigError("E132", f"block size {block_size} leaves no room for text after the tokenizer's "
                          f"{len(prefix) + len(suffix)} special tokens per block")
    separator = document_separator(tokenizer)
    stream: list[int] = []
    words: list[int] = []
    next_word = 0
    for index, text in enumerate(texts):
        if index and separator is not None:
            stream.append(separator)
            words.append(-1)
        encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=word_ids is not None,
                             verbose=False)  # long documents are cut into blocks below
        ids = list(encoding["input_ids"])
        stream.extend(ids)
        if word_ids is not None:
            local = word_ids(text, encoding["offset_mapping"])
            words.extend(next_word + w for w in local)
            next_word += max(local, default=-1) + 1
    tokens = len(stream) - (max(len(texts) - 1, 0) if separator is not None else 0)
    if tokens == 0:
        raise InputError("E130", "the pretraining text holds no token once tokenized")
    chunks = [(start, min(start + room, len(stream))) for start in range(0, len(stream), room)]
    blocks = tuple((*prefix, *stream[a:b], *suffix) for a, b in chunks)
    block_words = None
    if word_ids is not None:
        frame = ((-1,) * len(prefix), (-1,) * len(suffix))
        block_words = tuple((*frame[0], *words[a:b], *frame[1]) for a, b in chunks)
    return Blocks(blocks, block_words, tokens, len(texts))
