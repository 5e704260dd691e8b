"""Token segment score: both sides projected onto the tokens of a tokenizer, then token P/R/F1.

Rule: a token is *predicted* (*gold*) when any of its characters is covered by a predicted (gold) span —
per label in the typed setting. Precision = tokens both predicted and gold / predicted tokens; recall = the
same / gold tokens. Characters no token covers (e.g. whitespace a tokenizer drops) take no part, and
tokens with an empty character range (special tokens) are ignored.

Tokenizers (the ``tokenizer`` argument of :func:`resolve_tokenizer`):

* ``"char"``: every character is a token (token score = character score).
* ``"simple"``: a built-in splitter with no dependencies (no MeCab/fugashi): maximal runs of one script
  class — kanji, hiragana, katakana (with ``ー``), Latin letters, digits (half- and full-width alike) —
  each other non-space character alone; whitespace is dropped.
* any other string: a Hugging Face tokenizer id or local path, loaded with ``AutoTokenizer`` (fast tokenizer
  needed for character offsets; ``trust_remote_code`` off). transformers is imported only then.
* a callable ``text -> sequence of (start, end)`` character offsets.

>>> simple_tokens("発熱とＣＴで38度")
[(0, 2), (2, 3), (3, 5), (5, 6), (6, 8), (8, 9)]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from eccr.corpus.types import Span
from eccr.errors import ConfigError

#: A tokenizer as the token score uses it: text -> character offsets of its tokens.
TokenOffsets = Callable[[str], Sequence[tuple[int, int]]]


def char_tokens(text: str) -> list[tuple[int, int]]:
    """One token per character."""
    return [(i, i + 1) for i in range(len(text))]


def _script_class(ch: str) -> str:
    if ch.isspace():
        return "space"
    code = ord(ch)
    if 0x3040 <= code <= 0x309F:
        return "hiragana"
    if 0x30A0 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "katakana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF or ch in "々〆ヶ":
        return "kanji"
    category = unicodedata.category(ch)
    if category == "Nd":
        return "digit"
    if category.startswith("L"):
        return "latin"
    return "other"


def simple_tokens(text: str) -> list[tuple[int, int]]:
    """Script-class runs (see the module docstring); each ``other`` character is its own token."""
    tokens: list[tuple[int, int]] = []
    start = 0
    current = ""
    for i, ch in enumerate(text):
        kind = _script_class(ch)
        if kind != current or kind == "other":
            if current and current != "space":
                tokens.append((start, i))
            start, current = i, kind
    if current and current != "space":
        tokens.append((start, len(text)))
    return tokens


def hf_tokens(name_or_path: str) -> TokenOffsets:
    """Offsets from a Hugging Face fast tokenizer (hub id or local directory)."""
    from eccr.paths import local_or_hub_id

    name_or_path = local_or_hub_id(name_or_path, "tokenizer")  # a missing path never reaches the Hub
    try:
        from transformers import AutoTokenizer
    except ImportError as err:  # pragma: no cover - depends on the installed extras
        raise ConfigError("E054", "a Hugging Face tokenizer needs transformers: "
                                  "pip install 'eccr[train]'") from err
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise ConfigError("E054", f"cannot load tokenizer {name_or_path!r}: {err}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError("E054", f"tokenizer {name_or_path!r} is not a fast tokenizer; character offsets "
                                  "are needed to project spans onto tokens")

    def offsets(text: str) -> list[tuple[int, int]]:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [(int(s), int(e)) for s, e in encoded["offset_mapping"]]

    return offsets


def resolve_tokenizer(tokenizer: str | TokenOffsets | None) -> TokenOffsets | None:
    """The offsets function for ``tokenizer`` (``None`` stays ``None``: no token score)."""
    if tokenizer is None or callable(tokenizer):
        return tokenizer
    if tokenizer == "char":
        return char_tokens
    if tokenizer == "simple":
        return simple_tokens
    return hf_tokens(tokenizer)


def token_counts(text: str, gold: Iterable[Span], pred: Iterable[Span], offsets: Sequence[tuple[int, int]],
                 typed: bool) -> tuple[int, int, int, int]:
    """``(precision_num, precision_den, recall_num, recall_den)`` in tokens for one document."""
    bounds = np.asarray([o for o in offsets if o[1] > o[0]], dtype=np.int64).reshape(-1, 2)
    gold, pred = list(gold), list(pred)
    labels = sorted({s.label for s in gold} | {s.label for s in pred}) if typed else [None]
    hits = n_pred = n_gold = 0
    for label in labels:
        g = _token_flags(text, [s for s in gold if label is None or s.label == label], bounds)
        q = _token_flags(text, [s for s in pred if label is None or s.label == label], bounds)
        hits += int(np.count_nonzero(g & q))
        n_pred += int(np.count_nonzero(q))
        n_gold += int(np.count_nonzero(g))
    return hits, n_pred, hits, n_gold


def _token_flags(text: str, spans: Sequence[Span], bounds: np.ndarray) -> np.ndarray:
    """Whether each token has at least one covered character."""
    covered = np.zeros(len(text) + 1, dtype=np.int64)
    for s in spans:
        covered[s.start] += 1
        covered[s.end] -= 1
    mask = np.cumsum(covered[:-1]) > 0
    prefix = np.concatenate(([0], np.cumsum(mask)))
    ends = np.minimum(bounds[:, 1], len(text))
    return (prefix[ends] - prefix[np.minimum(bounds[:, 0], ends)]) > 0
