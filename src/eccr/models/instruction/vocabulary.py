"""What each token of a vocabulary writes, in bytes, and a trie over it — for constrained decoding.

Constrained decoding must know, for every token, exactly which UTF-8 bytes it adds to the decoded text.
Working in bytes (not characters) makes byte-fallback pieces (``<0xE5>``) and byte-level BPE pieces (one
Japanese character split over two tokens) ordinary tokens. :func:`token_table` reads the rule from the fast
tokenizer's decoder:

* ``ByteLevel`` (GPT-2, GPT-NeoX, LLM-jp): each character of a piece stands for one byte (the GPT-2
  byte-to-unicode table);
* ``ByteFallback``: a ``<0xXX>`` piece is that byte;
* ``Metaspace`` / ``Replace("▁", " ")`` (SentencePiece: Llama, Mistral, Swallow): ``▁`` is a space; when the
  decoder drops the space a first token starts with (``prepend_scheme`` ``always``/``first``, or a
  ``Strip`` decoder), such tokens are *strippable*: generated first, their leading space is not written;
* special tokens write nothing and are never part of a copy; tokens that write nothing are left out.

Other decoders (WordPiece, CTC…) are refused with ``E102``. Because a wrong table would break the
"faithful by construction" promise, :meth:`TokenTable.check` compares the table's decoding with the
tokenizer's own ``decode`` on real texts before it is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eccr.errors import ModelError

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
_SPACE = 0x20


def _decoder_parts(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not spec:
        return []
    if spec.get("type") == "Sequence":
        return [part for inner in spec.get("decoders", []) for part in _decoder_parts(inner)]
    return [spec]


@dataclass(frozen=True)
class TokenTable:
    """Per token id, the bytes it writes (``None``: special or writes nothing), and the decoding rule.

    Attributes:
        pieces: bytes per token id.
        strippable: token ids whose leading space is dropped when they are the first token of an output.
        eos_ids: the ids that end a response.
    """

    pieces: tuple[bytes | None, ...]
    strippable: frozenset[int]
    eos_ids: frozenset[int]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes ``ids`` write, as the tokenizer decodes them (special tokens write nothing)."""
        out = bytearray()
        first = True
        for token in ids:
            piece = self.pieces[token] if 0 <= token < len(self.pieces) else None
            if piece is None:
                continue
            if first and token in self.strippable:
                piece = piece[1:]
            first = False
            out += piece
        return bytes(out)

    def decode(self, ids: Iterable[int]) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def check(self, tokenizer: Any, texts: Sequence[str]) -> None:
        """Raise ``E102`` unless the table decodes ``texts``' tokens exactly as the tokenizer does."""
        from eccr.models.instruction.generation import decode_tokens

        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            expected = decode_tokens(tokenizer, ids)
            if self.decode(ids) != expected:
                raise ModelError(
                    "E102",
                    f"constrained decoding cannot model this tokenizer's decoding: {text[:40]!r} decodes to "
                    f"{expected[:40]!r} but eccr's token table gives {self.decode(ids)[:40]!r}; "
                    "set model.options.constrained=false",
                )


def token_table(tokenizer: Any) -> TokenTable:
    """The :class:`TokenTable` of a fast tokenizer (rules in the module docstring).

    Raises:
        ModelError: ``E102`` for a tokenizer without a fast backend or with a decoder eccr cannot model;
            ``E101`` for one without an EOS token.
    """
    from eccr.models.instruction.generation import eos_token_id

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ModelError("E102", "constrained decoding needs a fast tokenizer (tokenizer.json); "
                         "set model.options.constrained=false")
    parts = _decoder_parts(json.loads(backend.to_str()).get("decoder"))
    kinds = {part["type"] for part in parts}
    unknown = kinds - {"ByteLevel", "ByteFallback", "Metaspace", "Replace", "Fuse", "Strip"}
    if unknown:
        raise ModelError("E102", f"constrained decoding cannot model the tokenizer decoder(s) "
                         f"{', '.join(sorted(unknown))}; set model.options.constrained=false")
    byte_level = "ByteLevel" in kinds
    byte_fallback = "ByteFallback" in kinds
    space_marks = {p.get("replacement", "▁") for p in parts if p["type"] == "Metaspace"}
    for part in parts:
        if part["type"] == "Replace" and part.get("content") == " ":
            pattern = part.get("pattern", {})
            space_marks.add(pattern.get("String", "") if isinstance(pattern, dict) else str(pattern))
    space_marks.discard("")
    strips_first = any(
        p["type"] == "Metaspace" and p.get("prepend_scheme", "always") in ("always", "first") for p in parts
    ) or any(p["type"] == "Strip" and p.get("content") == " " and int(p.get("start", 0)) > 0 for p in parts)

    byte_of: dict[str, int] = {}
    if byte_level:
        from transformers.convert_slow_tokenizer import bytes_to_unicode

        byte_of = {char: byte for byte, char in bytes_to_unicode().items()}
    special = set(tokenizer.all_special_ids)
    size = max(len(tokenizer), max(tokenizer.get_vocab().values(), default=-1) + 1)
    pieces: list[bytes | None] = [None] * size
    strippable: set[int] = set()
    for piece, token in tokenizer.get_vocab().items():
        if token in special:
            continue
        match = _BYTE_PIECE.match(piece) if byte_fallback else None
        if match:
            data = bytes([int(match.group(1), 16)])
        elif byte_level and all(ch in byte_of for ch in piece):
            data = bytes(byte_of[ch] for ch in piece)
        else:
            text = piece
            for mark in space_marks:
                text = text.replace(mark, " ")
            data = text.encode("utf-8")
        if data:
            pieces[token] = data
            if strips_first and data[0] == _SPACE and not match:
                strippable.add(token)
    return TokenTable(tuple(pieces), frozenset(strippable), frozenset({eos_token_id(tokenizer)}))


class TokenTrie:
    """A byte trie over a :class:`TokenTable`: node 0 is the root; each node lists the tokens ending there.

    ``children[node]`` maps a byte to the next node; ``tokens[node]`` are the token ids whose bytes spell the
    path to ``node`` (several ids may write the same bytes, e.g. ``@`` and ``<0x40>``).
    """

    def __init__(self, table: TokenTable) -> None:
        self.children: list[dict[int, int]] = [{}]
        self.tokens: list[list[int]] = [[]]
        for token, piece in enumerate(table.pieces):
            if not piece:
                continue
            node = 0
            for byte in piece:
                child = self.children[node].get(byte)
                if child is None:
                    child = len(self.children)
                    self.children[node][byte] = child
                    self.children.append({})
                    self.tokens.append([])
                node = child
            self.tokens[node].append(token)

    def __len__(self) -> int:
        return len(self.children)
