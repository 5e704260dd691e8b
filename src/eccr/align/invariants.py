"""Checks that a tokenizer's alignment can be trusted on a corpus.

For every text, after :func:`~eccr.align.offsets.align_text`:

* ``bounds`` — offsets lie inside the text (``0 <= start <= end <= len(text)``);
* ``monotonic`` — token starts never go backwards;
* ``overlap`` — a token's characters do not overlap the previous token's, except when both have exactly
  the same offsets (the byte pieces of one character, the pieces of an NFKC expansion such as ``㎎``) or
  the shared characters are ones NFKC expands. (A single character split between two tokens — byte-level
  BPE, ``８㎖`` → ``8m`` + ``l`` — was already given to the earlier token by
  :func:`~eccr.align.offsets.align_text`.)
* ``coverage`` — every non-whitespace character is covered by some token;
* ``oversized`` — no unit (token or token group) stands for more than ``max_unit_chars`` characters;
* ``unknown`` — no ``[UNK]`` token stands for more than ``max_unk_chars`` characters;
* ``unknown-share`` (:func:`check_tokenizer`, over all texts) — at most ``max_unk_share`` of the
  characters are covered only by ``[UNK]`` tokens.

The last two catch broken tokenizers that still produce "valid" offsets: the transformers-5
``DebertaV2Tokenizer(vocab_file=sp.model)`` bug turned a Japanese sentence into a single ``[UNK]`` covering
all of it. Runs of unknown characters are normal without byte fallback (a SentencePiece Unigram fuses
them into one ``[UNK]``), hence the generous bounds.

>>> from eccr.align.offsets import TokenAlignment
>>> bad = TokenAlignment("発熱と咳嗽を認めた", (1,), ((0, 9),), ("[UNK]",), doc_id="d1", unk_token_id=1)
>>> [v.check for v in check_alignment(bad, max_unit_chars=8, max_unk_chars=8)]
['unknown', 'oversized']
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eccr.align.offsets import TokenAlignment, align_text, byte_of_piece
from eccr.corpus.types import Document
from eccr.errors import Location, ModelError

#: Default upper bounds used by the ``oversized`` and ``unknown`` checks.
MAX_UNIT_CHARS = 32
MAX_UNK_CHARS = 16
#: Default upper bound of the share of characters only ``[UNK]`` tokens cover (the ``unknown-share`` check).
MAX_UNK_SHARE = 0.5


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which check, where, and what was seen."""

    check: str
    doc_id: str | None
    token: int | None
    offset: int | None
    message: str

    def describe(self) -> str:
        where = Location(doc_id=self.doc_id, offset=self.offset).describe()
        token = f"token #{self.token}: " if self.token is not None else ""
        return f"[{self.check}] {token}{self.message}" + (f" ({where})" if where else "")


@dataclass(frozen=True)
class InvariantReport:
    """Result of checking a tokenizer on texts.

    Attributes:
        texts: texts checked. tokens: content tokens. characters: characters.
        unk_tokens: ``[UNK]`` tokens. unk_chars: characters covered only by ``[UNK]`` tokens.
        byte_fallback_tokens: byte pieces (``<0xE9>``).
        counts: violations per check. violations: the first ``max_examples`` violations.
    """

    texts: int
    tokens: int
    characters: int
    unk_tokens: int
    unk_chars: int
    byte_fallback_tokens: int
    counts: dict[str, int] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.counts

    def summary(self) -> str:
        """One line: ``ok`` or the violated checks, and the counts."""
        status = "ok" if self.ok else "VIOLATED: " + ", ".join(
            f"{n} {check}" for check, n in sorted(self.counts.items()))
        return (f"invariants: {status}; {self.texts} texts, {self.characters} characters, {self.tokens} "
                f"tokens, {self.unk_tokens} [UNK] ({self.unk_chars} characters), {self.byte_fallback_tokens} "
                "byte pieces")

    def describe(self, max_violations: int = 10) -> list[str]:
        """The report as ``eccr diagnose-tokenizer`` prints it: the summary, then the first violations."""
        return [self.summary(), *(f"  {v.describe()}" for v in self.violations[:max_violations])]

    def raise_if_violated(self, tokenizer_name: str = "tokenizer", hint: str | None = None) -> None:
        """Raise ``ModelError`` ``E079`` with the report (:meth:`describe`), if any invariant is violated.

        ``hint`` replaces the default advice (check the tokenizer) in the message.
        """
        if self.ok:
            return
        summary = ", ".join(f"{n} {check}" for check, n in sorted(self.counts.items()))
        first = self.violations[0]
        advice = hint or "check that it is a fast tokenizer that round-trips this text"
        raise ModelError(
            "E079",
            f"{tokenizer_name} does not align with the text ({summary}); its offsets cannot be trusted — "
            f"{advice}\n" + "\n".join(self.describe()),
            Location(doc_id=first.doc_id, offset=first.offset),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "texts": self.texts,
            "tokens": self.tokens,
            "characters": self.characters,
            "unk_tokens": self.unk_tokens,
            "unk_chars": self.unk_chars,
            "byte_fallback_tokens": self.byte_fallback_tokens,
            "violation_counts": dict(self.counts),
            "violations": [v.describe() for v in self.violations],
        }


def check_alignment(alignment: TokenAlignment, *, max_unit_chars: int = MAX_UNIT_CHARS,
                    max_unk_chars: int = MAX_UNK_CHARS) -> list[Violation]:
    """All invariant violations of one text's alignment (empty list when it is sound)."""
    text, doc_id = alignment.text, alignment.doc_id
    n = len(text)
    found: list[Violation] = []
    covered = [False] * n
    previous: tuple[int, int] | None = None
    for index, (start, end) in enumerate(alignment.offsets):
        token = alignment.tokens[index]
        if not (0 <= start <= end <= n):
            found.append(Violation("bounds", doc_id, index, start,
                                   f"offsets ({start}, {end}) of {token!r} are outside the text of {n} "
                                   "characters"))
            continue
        if end > start:
            if previous is not None and start < previous[0]:
                found.append(Violation("monotonic", doc_id, index, start,
                                       f"{token!r} starts at {start}, before the previous token "
                                       f"({previous[0]})"))
            elif previous is not None and start < previous[1] and (start, end) != previous and \
                    not all(_expands(text[c]) for c in range(start, min(end, previous[1]))):
                found.append(Violation("overlap", doc_id, index, start,
                                       f"{token!r} ({start}, {end}) overlaps the previous token {previous}"))
            for c in range(start, end):
                covered[c] = True
            previous = (start, end)
            if alignment.unk_token_id is not None and alignment.input_ids[index] == alignment.unk_token_id \
                    and end - start > max_unk_chars:
                found.append(Violation("unknown", doc_id, index, start,
                                       f"{token!r} stands for {end - start} characters "
                                       f"{_preview(text[start:end])} (more than {max_unk_chars})"))
    for first, last, start, end in alignment.units:
        if end - start > max_unit_chars:
            found.append(Violation("oversized", doc_id, first, start,
                                   f"tokens #{first}..#{last - 1} stand for {end - start} characters "
                                   f"{_preview(text[start:end])} (more than {max_unit_chars})"))
    for c in range(n):
        if not covered[c] and not text[c].isspace():
            found.append(Violation("coverage", doc_id, None, c,
                                   f"character {text[c]!r} is covered by no token"))
    return found


def _expands(ch: str) -> bool:
    """True for a character NFKC turns into several (``㎖`` → ``ml``): its pieces may share it."""
    return len(unicodedata.normalize("NFKC", ch)) > 1


def _preview(s: str, limit: int = 20) -> str:
    return repr(s if len(s) <= limit else s[:limit] + "…")


def check_tokenizer(tokenizer: Any, texts: Iterable[str | Document], *, max_unit_chars: int = MAX_UNIT_CHARS,
                    max_unk_chars: int = MAX_UNK_CHARS, max_unk_share: float = MAX_UNK_SHARE,
                    max_examples: int = 20) -> InvariantReport:
    """Align every text with ``tokenizer`` and check the invariants (see the module docstring).

    Args:
        tokenizer: a Hugging Face tokenizer.
        texts: strings or documents (documents give their ids to the messages).
        max_unit_chars: the ``oversized`` bound.
        max_unk_chars: the ``unknown`` bound.
        max_unk_share: the ``unknown-share`` bound.
        max_examples: how many violations to keep as examples (all are counted).
    """
    alignments = (
        align_text(tokenizer, item.text, doc_id=item.id) if isinstance(item, Document)
        else align_text(tokenizer, item, doc_id=f"#{k}")
        for k, item in enumerate(texts)
    )
    return check_alignments(alignments, max_unit_chars=max_unit_chars, max_unk_chars=max_unk_chars,
                            max_unk_share=max_unk_share, max_examples=max_examples)


def check_alignments(alignments: Iterable[TokenAlignment], *, max_unit_chars: int = MAX_UNIT_CHARS,
                     max_unk_chars: int = MAX_UNK_CHARS, max_unk_share: float = MAX_UNK_SHARE,
                     max_examples: int = 20) -> InvariantReport:
    """:func:`check_tokenizer` on texts already aligned (e.g. alignments shared with the ceiling)."""
    counts: Counter[str] = Counter()
    examples: list[Violation] = []
    n_texts = n_tokens = n_chars = n_unk = unk_chars = n_bytes = 0
    worst: tuple[str | None, int, int] | None = None  # the text with the highest share of unknown characters
    for alignment in alignments:
        text = alignment.text
        n_texts += 1
        n_tokens += len(alignment)
        n_chars += len(text)
        known = [False] * len(text)
        unknown = [False] * len(text)
        for index, (start, end) in enumerate(alignment.offsets):
            is_unk = alignment.input_ids[index] == alignment.unk_token_id
            n_unk += is_unk
            n_bytes += byte_of_piece(alignment.tokens[index]) is not None
            for c in range(max(start, 0), min(end, len(text))):
                (unknown if is_unk else known)[c] = True
        only_unknown = sum(1 for u, kn in zip(unknown, known, strict=True) if u and not kn)
        unk_chars += only_unknown
        if text and (worst is None or only_unknown / len(text) > worst[1] / worst[2]):
            worst = (alignment.doc_id, only_unknown, len(text))
        found = check_alignment(alignment, max_unit_chars=max_unit_chars, max_unk_chars=max_unk_chars)
        for violation in found:
            counts[violation.check] += 1
            if len(examples) < max_examples:
                examples.append(violation)
    if n_chars and unk_chars / n_chars > max_unk_share:
        counts["unknown-share"] += 1
        doc_id, worst_unknown, worst_chars = worst or (None, 0, 0)
        examples.insert(0, Violation("unknown-share", doc_id, None, None,
                                     f"{unk_chars} of {n_chars} characters ({unk_chars / n_chars:.0%}) are "
                                     f"covered only by unknown tokens (more than {max_unk_share:.0%}); the "
                                     f"most in one document: {worst_unknown} of its {worst_chars}"))
        del examples[max_examples:]
    return InvariantReport(n_texts, n_tokens, n_chars, n_unk, unk_chars, n_bytes, dict(counts),
                           tuple(examples))
