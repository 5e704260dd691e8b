"""Token ↔ character alignment of one text: which characters of the ORIGINAL text each token stands for.

A :class:`TokenAlignment` holds the *content* tokens of a text (no special tokens; those are added per
window by :mod:`eccr.align.windows`) and, for each token, half-open character offsets into the original
text (never into a normalised copy). It is built by :func:`align_text`:

* **fast tokenizers** (``PreTrainedTokenizerFast``, the ``tokenizers`` library): offsets come from the
  tokenizer's offset mapping, which already points into the original text even when the normaliser
  changes its length (NFKC turns ``㎎`` into ``mg``: both pieces get the offsets of ``㎎``).
* **slow tokenizers**: offsets are reconstructed by :func:`reconstruct_offsets`, which matches each token's
  string (``▁``/``##``/byte pieces cleaned, NFKC-normalised) against the NFKC-normalised text.

Three corrections are then applied, so that every later step can rely on simple rules:

1. **Byte-fallback pieces** (``<0xE9>`` style). SentencePiece-style Unigram models fuse a run of unknown
   characters and then spell it in UTF-8 bytes, and the fast tokenizer gives every byte token the offsets
   of the whole run (``鬱鬱`` → six byte tokens all at ``(14, 16)``). The bytes are decoded and each token
   is given the offsets of the one character its bytes belong to, so the 3 tokens of ``鬱`` all map to
   exactly that character. (When the decoded characters do not match the text, e.g. the normaliser
   changed them, the run keeps its joint offsets: still correct, just coarser.)
2. **SentencePiece ``▁`` prefix.** A lone ``▁`` token whose offsets point at a character that is not a
   space (after NFKC) is the word-start marker the pre-tokenizer added; it is given empty offsets ``(s, s)``
   and therefore no characters. A ``▁`` that stands for a real space keeps that space.
3. **Split characters.** When a token starts on the last character of the previous token (byte-level BPE
   splits ``Ｃ``'s UTF-8 bytes over ``Ġï¼`` (6, 8) and ``£`` (7, 8); NFKC turns ``８㎖`` into ``8m`` (41, 43)
   + ``l`` (42, 43)), that shared character belongs to the earlier token: the later token starts after it
   (here it is left with no characters). Overlaps of more than one character are kept (the invariant
   checker reports them).
4. **Marks folded into a neighbour.** A normaliser that turns two characters into one (NFKC, or
   SentencePiece's ``nmt_nfkc``: ``ﾌﾟ`` → ``プ``) gives the result the offsets of one of them, and the other
   — a sound mark, combining mark, format or control character — is covered by no token. It joins the
   token that ends right before it (else the one that starts right after it), with every token of that
   token's group.

**Units.** Consecutive tokens whose character ranges overlap — after the corrections, tokens with
identical offsets: the byte pieces of one character, ``m`` + ``g`` of ``㎎`` — form a *unit*. Labels are
assigned per unit (all its tokens get the same label) and predictions are combined per unit
(:mod:`eccr.align.labels`).

Tokens with empty offsets (``[UNK]`` for nothing, lone ``▁`` markers) have no characters; they are
trained with the ignore label and their predictions are not used.

>>> al = TokenAlignment("発熱あり", (5, 6, 7), ((0, 2), (2, 3), (3, 4)), ("発熱", "あ", "り"))
>>> al.token_text(0), al.char_units().tolist()
('発熱', [0, 0, 1, 2])
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from eccr.errors import Location, ModelError

#: SentencePiece's word-start marker (U+2581).
METASPACE = "\u2581"
_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def byte_of_piece(token: str) -> int | None:
    """The byte a SentencePiece byte-fallback piece stands for, else ``None``.

    >>> byte_of_piece("<0xE9>"), byte_of_piece("ア")
    (233, None)
    """
    match = _BYTE_PIECE.match(token)
    return int(match.group(1), 16) if match else None


@dataclass(frozen=True)
class TokenAlignment:
    """The content tokens of one text and the characters each stands for.

    Args:
        text: the original text.
        input_ids: token ids, without special tokens.
        offsets: per token, half-open ``(start, end)`` character offsets into ``text``; ``start == end``
            means the token stands for no character.
        tokens: the token strings (for messages and diagnostics).
        doc_id: the document the text belongs to (named in errors).
        unk_token_id: the tokenizer's unknown-token id, if any.
    """

    text: str
    input_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    tokens: tuple[str, ...]
    doc_id: str | None = None
    unk_token_id: int | None = None

    def __post_init__(self) -> None:
        if not (len(self.input_ids) == len(self.offsets) == len(self.tokens)):
            raise ModelError(
                "E070",
                f"token alignment has {len(self.input_ids)} ids, {len(self.offsets)} offsets and "
                f"{len(self.tokens)} token strings; they must be equal",
                Location(doc_id=self.doc_id),
            )

    def __len__(self) -> int:
        return len(self.input_ids)

    def token_text(self, index: int) -> str:
        """The characters of the original text token ``index`` stands for."""
        start, end = self.offsets[index]
        return self.text[start:end]

    @cached_property
    def units(self) -> tuple[tuple[int, int, int, int], ...]:
        """Units as ``(first_token, last_token + 1, char_start, char_end)``.

        A unit is a maximal run of consecutive tokens with characters whose ranges overlap (byte pieces of
        one character, the pieces of an NFKC expansion). Tokens without characters belong to no unit.
        """
        units: list[list[int]] = []
        for index, (start, end) in enumerate(self.offsets):
            if end <= start:
                continue
            if units and units[-1][1] == index and start < units[-1][3]:
                units[-1][1] = index + 1
                units[-1][2] = min(units[-1][2], start)
                units[-1][3] = max(units[-1][3], end)
            else:
                units.append([index, index + 1, start, end])
        return tuple((a, b, c, d) for a, b, c, d in units)

    def token_units(self) -> np.ndarray:
        """Per token, the index of its unit, or -1 for tokens without characters."""
        result = np.full(len(self), -1, dtype=np.int64)
        for u, (first, last, _, _) in enumerate(self.units):
            result[first:last] = u
        return result

    def char_units(self) -> np.ndarray:
        """Per character of the text, the index of the unit covering it, or -1 when no token covers it."""
        result = np.full(len(self.text), -1, dtype=np.int64)
        for u, (_, _, start, end) in enumerate(self.units):
            result[start:end] = u
        return result


def _is_fast(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "is_fast", False))


def align_text(tokenizer: Any, text: str, *, doc_id: str | None = None) -> TokenAlignment:
    """Tokenize ``text`` without special tokens and align every token to the original characters.

    Nothing is truncated: the whole text is tokenized (long texts are split into windows later).

    Args:
        tokenizer: a Hugging Face tokenizer (fast: offsets from its offset mapping; slow: offsets
            reconstructed by :func:`reconstruct_offsets`).
        text: the original text.
        doc_id: named in error messages.

    Raises:
        ModelError: ``E071`` when a slow tokenizer's tokens cannot be matched against the text.
    """
    if _is_fast(tokenizer):
        encoding = tokenizer(
            text,
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        ids = list(encoding["input_ids"])
        offsets = [(int(s), int(e)) for s, e in encoding["offset_mapping"]]
    else:
        ids = list(tokenizer.encode(text, add_special_tokens=False))
        offsets = reconstruct_offsets(tokenizer, text, ids, doc_id=doc_id)
    tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(ids)]
    offsets = split_byte_fallback_runs(text, tokens, offsets)
    offsets = empty_metaspace_markers(text, tokens, offsets)
    offsets = trim_split_characters(offsets)
    offsets = absorb_folded_marks(text, offsets)
    return TokenAlignment(
        text=text,
        input_ids=tuple(int(i) for i in ids),
        offsets=tuple(offsets),
        tokens=tuple(tokens),
        doc_id=doc_id,
        unk_token_id=getattr(tokenizer, "unk_token_id", None),
    )


def split_byte_fallback_runs(text: str, tokens: Sequence[str], offsets: Sequence[tuple[int, int]]
                             ) -> list[tuple[int, int]]:
    """Give each byte-fallback piece the offsets of the one character its bytes encode.

    A run of consecutive byte pieces sharing the same offsets ``(s, e)`` is decoded as UTF-8; when it
    decodes to exactly ``text[s:e]``, the pieces of the ``k``-th character get ``(s + k, s + k + 1)``.
    Otherwise (the normaliser changed the characters) the run keeps its offsets.

    >>> split_byte_fallback_runs("x鬱鬱", ["x", "<0xE9>", "<0xAC>", "<0xB1>", "<0xE9>", "<0xAC>", "<0xB1>"],
    ...                          [(0, 1)] + [(1, 3)] * 6)
    [(0, 1), (1, 2), (1, 2), (1, 2), (2, 3), (2, 3), (2, 3)]
    """
    result = list(offsets)
    i = 0
    n = len(tokens)
    while i < n:
        if byte_of_piece(tokens[i]) is None:
            i += 1
            continue
        j = i
        while j < n and byte_of_piece(tokens[j]) is not None and offsets[j] == offsets[i]:
            j += 1
        start, end = offsets[i]
        data = bytes(byte_of_piece(t) or 0 for t in tokens[i:j])
        try:
            decoded: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            decoded = None
        if decoded is not None and decoded == text[start:end]:
            k = i
            for c, ch in enumerate(decoded):
                for _ in range(len(ch.encode("utf-8"))):
                    result[k] = (start + c, start + c + 1)
                    k += 1
        i = j
    return result


def empty_metaspace_markers(text: str, tokens: Sequence[str], offsets: Sequence[tuple[int, int]]
                            ) -> list[tuple[int, int]]:
    """Give a lone ``▁`` token that does not stand for a space empty offsets (it is a marker).

    The Metaspace pre-tokenizer replaces spaces (after NFKC, also U+3000) by ``▁`` and prefixes the text with
    one; the prefix's offsets point at the first character, which may be a kanji or a newline.

    >>> empty_metaspace_markers("ＣＴ ａ", ["▁", "C", "T", "▁", "a"],
    ...                         [(0, 1), (0, 1), (1, 2), (2, 3), (3, 4)])
    [(0, 0), (0, 1), (1, 2), (2, 3), (3, 4)]
    """
    result = list(offsets)
    for index, token in enumerate(tokens):
        start, end = offsets[index]
        if token == METASPACE and end > start and unicodedata.normalize("NFKC", text[start:end]) != " ":
            result[index] = (start, start)
    return result


def trim_split_characters(offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Give a character shared by two consecutive tokens (split bytes, NFKC pieces) to the earlier token.

    A token that starts exactly one character before the previous token's end, with other offsets than
    that token, starts at the previous end instead (empty if nothing is left). Identical offsets (a group)
    and overlaps of more than one character are kept.

    >>> trim_split_characters([(5, 6), (6, 8), (7, 8), (8, 9), (8, 9), (8, 10)])
    [(5, 6), (6, 8), (8, 8), (8, 9), (8, 9), (9, 10)]
    """
    result = list(offsets)
    previous: tuple[int, int] | None = None
    for index, (start, end) in enumerate(offsets):
        if end <= start:
            continue
        if previous is not None and (start, end) != previous and start == previous[1] - 1 < end:
            result[index] = (min(previous[1], end), end)
        if result[index][1] > result[index][0]:
            previous = result[index]
    return result


#: Spacing sound marks a normaliser composes with the kana before them (half-width and full-width).
_SOUND_MARKS = frozenset("\uff9e\uff9f\u309b\u309c")


def _foldable(ch: str) -> bool:
    """A character a normaliser may fold into (or drop beside) its neighbour: a sound mark, a combining
    mark, a format or a control character."""
    return ch in _SOUND_MARKS or unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cf", "Cc")


def absorb_folded_marks(text: str, offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Give a foldable character no token covers to the token group ending right before it, else to the
    one starting right after it (see rule 4 of the module docstring). Other uncovered characters stay
    uncovered (the invariant checker reports them).

    >>> absorb_folded_marks("aﾌﾟb", [(0, 1), (1, 2), (3, 4)])
    [(0, 1), (1, 3), (3, 4)]
    >>> absorb_folded_marks("\u3099が", [(1, 2)])
    [(0, 2)]
    """
    result = list(offsets)
    covered = [False] * len(text)
    for start, end in result:
        covered[max(start, 0) : max(end, 0)] = [True] * (max(end, 0) - max(start, 0))
    orphans = [c for c in range(len(text)) if not covered[c] and _foldable(text[c])]
    for c in orphans:
        before = [i for i, (s, e) in enumerate(result) if e == c and e > s]
        if before:
            group = result[before[-1]]
            result = [(s, c + 1) if (s, e) == group else (s, e) for s, e in result]
            continue
        after = [i for i, (s, e) in enumerate(result) if s == c + 1 and e > s]
        if after:
            group = result[after[0]]
            result = [(c, e) if (s, e) == group else (s, e) for s, e in result]
    return result


def _normalise_char(ch: str, lowercase: bool) -> str:
    out = unicodedata.normalize("NFKC", ch)
    return out.lower() if lowercase else out


def normalised_with_origin(text: str, lowercase: bool = False) -> tuple[str, list[int]]:
    """NFKC (and lower-cased) ``text``, and for each of its characters the index of the original one.

    Characters are normalised one at a time, except a character followed by combining or sound marks that
    NFKC composes with it (``ﾌﾟ`` → ``プ``): the composed character points at the first one, and the
    mark is left to :func:`absorb_folded_marks`.

    >>> normalised_with_origin("ﾌﾟ㎎")
    ('プmg', [0, 2, 2])
    """
    chars: list[str] = []
    origin: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and (unicodedata.combining(text[j]) or text[j] in _SOUND_MARKS):
            j += 1
        group = _normalise_char(text[i:j], lowercase) if j > i + 1 else ""
        if j > i + 1 and len(group) < sum(len(_normalise_char(c, lowercase)) for c in text[i:j]):
            chars.extend(group)
            origin.extend([i] * len(group))
        else:
            for index in range(i, j):
                for nc in _normalise_char(text[index], lowercase):
                    chars.append(nc)
                    origin.append(index)
        i = j
    return "".join(chars), origin


def _piece_string(tokenizer: Any, token: str) -> str:
    """The text a token stands for, as well as it can be told from the token string alone."""
    if token.startswith("##"):
        token = token[2:]
    token = token.replace(METASPACE, " ")
    if hasattr(tokenizer, "convert_tokens_to_string") and not token.isspace():
        try:
            converted = tokenizer.convert_tokens_to_string([token])
        except Exception:  # some slow tokenizers reject lone pieces; the raw string is the fallback
            converted = token
        if converted and converted.strip():
            token = converted
    return token.strip()


def reconstruct_offsets(tokenizer: Any, text: str, ids: Sequence[int], *, doc_id: str | None = None
                        ) -> list[tuple[int, int]]:
    """Offsets for a slow tokenizer: match each token's string against the text from left to right.

    The text and the pieces are compared after NFKC (and lower-casing when the tokenizer lower-cases), one
    original character at a time, so offsets still index the original text. Whitespace between pieces is
    skipped. Byte-fallback pieces are collected until they decode to characters. Unknown tokens (and
    special tokens) cover the non-whitespace characters between the previous match and the next one (all of
    them when there are only whitespace characters); consecutive unknown tokens share that gap one character
    each (the last takes the rest). Fast tokenizers may give an unknown token a leading newline too; the
    units then differ only by whitespace.

    Raises:
        ModelError: ``E071`` naming the token and the offset where matching failed — the tokenizer does
            not reproduce the text (e.g. a whole sentence became one ``[UNK]``: then the check in
            :mod:`eccr.align.invariants` reports it instead, because the ``[UNK]`` spans the sentence).
    """
    lowercase = bool(getattr(tokenizer, "do_lower_case", False))
    tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(list(ids))]
    unk = getattr(tokenizer, "unk_token", None)
    special = set(getattr(tokenizer, "all_special_tokens", []) or []) - {unk}
    # normalised text with a map back to original characters
    norm, origin = normalised_with_origin(text, lowercase)
    offsets: list[tuple[int, int] | None] = [None] * len(tokens)
    pending_unknown: list[int] = []
    cursor = 0  # position in norm
    pending_bytes: list[int] = []
    byte_tokens: list[int] = []

    def place(token_indices: list[int], piece: str, metaspace: bool = False) -> None:
        nonlocal cursor
        probe = cursor
        while probe < len(norm) and norm[probe].isspace() and not piece[:1].isspace():
            probe += 1
        if pending_unknown:  # unknown tokens before: the piece is the next occurrence
            found = norm.find(piece, cursor + 1 if cursor < len(norm) else cursor)
            probe = found if found >= 0 else probe
        if not norm.startswith(piece, probe):
            raise ModelError(
                "E071",
                f"cannot align token {tokens[token_indices[0]]!r} (#{token_indices[0]}) to the text near "
                f"{text[origin[probe] if probe < len(origin) else len(text):][:20]!r}; the slow tokenizer "
                "does not reproduce the text — use a fast tokenizer",
                Location(doc_id=doc_id, offset=origin[probe] if probe < len(origin) else len(text)),
            )
        # "▁x" stands for the space before x, as fast tokenizers say
        take_space = metaspace and probe > cursor and norm[probe - 1] == " "
        _assign_gap(pending_unknown, cursor, probe - 1 if take_space else probe)
        pending_unknown.clear()
        start, end = origin[probe], origin[probe + len(piece) - 1] + 1
        if take_space:
            start = origin[probe - 1]
        for t in token_indices:
            offsets[t] = (start, end)
        cursor = probe + len(piece)

    def _assign_gap(unknown: list[int], gap_start: int, gap_end: int) -> None:
        chars = sorted({origin[p] for p in range(gap_start, gap_end) if not norm[p].isspace()}
                       or {origin[p] for p in range(gap_start, gap_end)})
        for k, t in enumerate(unknown):
            if k >= len(chars):
                offsets[t] = (chars[-1] + 1, chars[-1] + 1) if chars else (origin_at(gap_start),) * 2
                continue
            last = chars[-1] + 1 if k == len(unknown) - 1 else chars[k] + 1
            offsets[t] = (chars[k], last)

    def origin_at(position: int) -> int:
        return origin[position] if position < len(origin) else len(text)

    for index, token in enumerate(tokens):
        byte = byte_of_piece(token)
        if byte is not None:
            pending_bytes.append(byte)
            byte_tokens.append(index)
            try:
                piece = bytes(pending_bytes).decode("utf-8")
            except UnicodeDecodeError:
                continue
            place(list(byte_tokens), "".join(_normalise_char(c, lowercase) for c in piece))
            pending_bytes.clear()
            byte_tokens.clear()
            continue
        if token == unk or token in special:
            pending_unknown.append(index)
            continue
        piece = _piece_string(tokenizer, token)
        if not piece:
            # a lone "▁": a real space (the next one, after any unknown characters) or the prefix marker
            space = -1
            if token.startswith(METASPACE):
                space = norm.find(" ", cursor + 1) if pending_unknown else (
                    cursor if norm.startswith(" ", cursor) else -1)
            if space >= 0:
                _assign_gap(pending_unknown, cursor, space)
                pending_unknown.clear()
                offsets[index] = (origin[space], origin[space] + 1)
                cursor = space + 1
            else:
                offsets[index] = (origin_at(cursor), origin_at(cursor))
            continue
        place([index], "".join(_normalise_char(c, lowercase) for c in piece), token.startswith(METASPACE))
    _assign_gap(pending_unknown, cursor, len(norm))
    return [o if o is not None else (len(text), len(text)) for o in offsets]
