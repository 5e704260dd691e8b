"""Tokenizer fidelity: does a tokenizer give the token ids its model was pretrained with?

A pretrained model only understands the ids its own tokenizer produced during pretraining. When a model
repository carries the original tokenizer (a SentencePiece ``.model`` file, or a ``tokenizer.json``
written when the model was released) and the library rebuilds the tokenizer differently — transformers 5
gives ``DebertaV2Tokenizer`` an NFC normaliser where the SentencePiece model uses ``nmt_nfkc``, so
full-width ``ＣＴ`` or ``１５ｍｇ`` reach the model as ids it never saw — the offsets may still be perfect
(:mod:`eccr.align.invariants` passes) while every full-width character is an unknown token.

:func:`compare_ids` encodes texts with the tokenizer (content tokens, no special tokens) and with a
*reference* (a function ``text -> ids``, e.g. ``SentencePieceProcessor.encode``) and counts the texts whose
id sequences are identical, and the unknown tokens on each side. :data:`PROBE_TEXTS` are short texts that
exercise what Japanese clinical text needs from a normaliser (full-width Latin and digits, unit symbols,
circled numbers, half-width katakana with sound marks, combining marks, the full-width tilde that
SentencePiece's ``nmt_nfkc`` keeps where NFKC does not, ideographic space, newlines, CJK radicals); they are
checked with every corpus sample so a normaliser difference is caught even when the sample lacks it.

This module imports no tokenizer library: the tokenizer and the reference are passed in.

>>> import unicodedata
>>> nfkc = lambda text: [ord(c) for c in unicodedata.normalize("NFKC", text)]
>>> report = compare_ids(_Chars(), nfkc, ["発熱", "ＣＴで"], reference_name="NFKC", unk_token_id=None)
>>> report.agreeing_texts, report.texts, report.ok
(1, 2, False)
>>> report.first_difference
"text #1: tokenizer ['Ｃ', 'Ｔ', 'で'] vs reference ['C', 'T', 'で'] from token 0"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eccr.corpus.types import Document

#: Texts every fidelity check includes: what a normaliser must get right in Japanese clinical text.
PROBE_TEXTS: tuple[str, ...] = (
    "ＣＴで胸水貯留を認めた。",
    "ＨｂＡ１ｃ ７．２％，ＣＲＰ １５．３ｍｇ／ｄＬと上昇した．",
    "ﾌﾟﾚﾄﾞﾆｿﾞﾛﾝ ３０ｍｇ/日を開始し、ｱｾﾄｱﾐﾉﾌｪﾝを併用した。",
    "①発熱 ②咳嗽 ③呼吸困難（Ｘ線で浸潤影）",
    "体温　３８．５℃，血圧 １２０／８０ ㎜Hg，尿量 ５００㎖／日，㎎ と ㎝ と ㎏",
    "抗GAD抗体が3790.0 U/mLと上昇\n既往歴：なし\r\n家族歴：特記事項なし",
    "  二重の空白  と\tタブ、末尾の空白  ",
    "蛔⾍(Ascaris)の虫卵を認めた。齟齬鼈鬱",
    "ＭＲＩ　Ｔ２強調像で高信号。Ｎｏ．３，Ｋ ２．４３～４．２０（基準値），か\u3099んの既往",
)


@dataclass(frozen=True)
class FidelityReport:
    """How a tokenizer's ids compare with a reference encoding on some texts.

    Attributes:
        reference: what the ids were compared with (e.g. ``sentencepiece spm.model``).
        texts: texts compared. agreeing_texts: texts whose id sequences are identical.
        tokens, reference_tokens: content tokens on each side.
        unk_tokens, reference_unk_tokens: unknown tokens on each side (the same unknown id).
        first_difference: where the first disagreeing text first differs, for messages.
    """

    reference: str
    texts: int
    agreeing_texts: int
    tokens: int
    reference_tokens: int
    unk_tokens: int
    reference_unk_tokens: int
    first_difference: str | None = None

    @property
    def ok(self) -> bool:
        """Every text gets exactly the reference's ids."""
        return self.agreeing_texts == self.texts

    @property
    def agreement(self) -> float:
        """Share of texts with identical ids (1.0 when there was nothing to compare)."""
        return self.agreeing_texts / self.texts if self.texts else 1.0

    def describe(self) -> str:
        """One line: agreement and unknown tokens on both sides.

        >>> FidelityReport("sentencepiece spm.model", 157, 9, 100, 98, 80, 12).describe()
        'ids agree with sentencepiece spm.model on 9 of 157 texts (5.7%); unknown tokens 80 vs 12'
        """
        return (
            f"ids agree with {self.reference} on {self.agreeing_texts} of {self.texts} texts "
            f"({self.agreement:.1%}); unknown tokens {self.unk_tokens} vs {self.reference_unk_tokens}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "ok": self.ok,
            "texts": self.texts,
            "agreeing_texts": self.agreeing_texts,
            "agreement": round(self.agreement, 6),
            "tokens": self.tokens,
            "reference_tokens": self.reference_tokens,
            "unk_tokens": self.unk_tokens,
            "reference_unk_tokens": self.reference_unk_tokens,
            "first_difference": self.first_difference,
        }


def content_ids(tokenizer: Any, text: str) -> list[int]:
    """The tokenizer's ids for ``text`` without special tokens."""
    return list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def compare_ids(
    tokenizer: Any,
    reference: Callable[[str], Sequence[int]],
    texts: Iterable[str | Document],
    *,
    reference_name: str,
    unk_token_id: int | None,
) -> FidelityReport:
    """Compare ``tokenizer``'s content ids with ``reference(text)`` on every text.

    Args:
        tokenizer: a Hugging Face tokenizer (called without special tokens).
        reference: the encoding the model was pretrained with, ``text -> ids``.
        texts: strings or documents (documents name themselves in ``first_difference``).
        reference_name: how the report names the reference.
        unk_token_id: the unknown-token id both sides use (``None``: unknown tokens are not counted).
    """
    n = agree = tokens = ref_tokens = unk = ref_unk = 0
    first: str | None = None
    for k, item in enumerate(texts):
        text, name = (
            (item.text, f"document {item.id!r}") if isinstance(item, Document) else (item, f"text #{k}")
        )
        ids = content_ids(tokenizer, text)
        expected = list(reference(text))
        n += 1
        tokens += len(ids)
        ref_tokens += len(expected)
        if unk_token_id is not None:
            unk += ids.count(unk_token_id)
            ref_unk += expected.count(unk_token_id)
        if ids == expected:
            agree += 1
        elif first is None:
            first = _difference(tokenizer, name, ids, expected)
    return FidelityReport(reference_name, n, agree, tokens, ref_tokens, unk, ref_unk, first)


def _difference(tokenizer: Any, name: str, ids: list[int], expected: list[int], width: int = 6) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(ids, expected, strict=False)) if a != b),
        min(len(ids), len(expected)),
    )

    def pieces(seq: list[int]) -> list[str]:
        return [_piece(tokenizer, i) for i in seq[at : at + width]]

    return f"{name}: tokenizer {pieces(ids)} vs reference {pieces(expected)} from token {at}"


def _piece(tokenizer: Any, token_id: int) -> str:
    try:
        piece = tokenizer.convert_ids_to_tokens(int(token_id))
    except (IndexError, KeyError, OverflowError, TypeError):
        piece = None
    return str(piece) if piece is not None else f"<id {token_id}>"


class _Chars:
    """A toy tokenizer for the doctest: one token per character, its code point as the id."""

    def __call__(self, text: str, **_: Any) -> dict[str, list[int]]:
        return {"input_ids": [ord(c) for c in text]}

    def convert_ids_to_tokens(self, token_id: int) -> str:
        return chr(token_id)
