"""Pre-segmentation: models pretrained on text split into words by a morphological analyser.

ku-nlp's DeBERTa-v2 was pretrained on text segmented by Juman++ (``京都 大学 で …``): SentencePiece
never saw a piece spanning two words. Such a model must get its input segmented the same way, yet eccr's
offsets must still index the original text. :class:`PresegmentedTokenizer` wraps a fast tokenizer: each text
is split into words (:class:`Segmenter`), the words are joined with single spaces, the joined text is
tokenized, and every offset is mapped back to the original characters (a token that only stands for an
inserted space gets no characters). Everything else is delegated to the wrapped tokenizer, so the aligner,
the collator and ``save_pretrained`` work unchanged.

Segmenters: ``mecab`` (fugashi, with whatever dictionary fugashi finds) and ``jumanpp`` (rhoknp and the
``jumanpp`` program). Their requirements are checked by the recipe before loading (error ``E190``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eccr.errors import Location, ModelError

#: A segmenter: text -> the surface strings of its words, in order (whitespace not included).
Segmenter = Callable[[str], list[str]]


def mecab_segmenter() -> Segmenter:
    """Words by MeCab (fugashi; the dictionary is the one fugashi finds, e.g. unidic-lite)."""
    import fugashi

    tagger = fugashi.Tagger()
    return lambda text: [word.surface for word in tagger(text)]


def jumanpp_segmenter() -> Segmenter:
    """Words by Juman++ (through rhoknp), one line at a time."""
    from rhoknp import Jumanpp

    jumanpp = Jumanpp()

    def segment(text: str) -> list[str]:
        words: list[str] = []
        for line in text.splitlines():
            if line.strip():
                words.extend(m.text for m in jumanpp.apply_to_sentence(line.strip()).morphemes)
        return words

    return segment


SEGMENTERS: dict[str, Callable[[], Segmenter]] = {"mecab": mecab_segmenter, "jumanpp": jumanpp_segmenter}


def word_spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Character spans of ``words`` in ``text``, matched left to right across whitespace.

    Raises:
        ModelError: ``E197`` when a word is not the next non-space text (the segmenter changed the text).

    >>> word_spans("胸水 貯留を", ["胸水", "貯留", "を"])
    [(0, 2), (3, 5), (5, 6)]
    >>> word_spans("胸水\\n\\u3000貯留", ["胸水", "\\u3000", "貯留"])
    [(0, 2), (3, 4), (4, 6)]
    """
    spans = []
    cursor = 0
    for word in words:
        # skip the whitespace the segmenter dropped; MeCab keeps some (an ideographic space after a newline
        # comes back as a word of its own), so stop where the word itself starts
        while cursor < len(text) and text[cursor].isspace() and not text.startswith(word, cursor):
            cursor += 1
        if not text.startswith(word, cursor):
            raise ModelError(
                "E197",
                f"the segmenter returned {word!r}, which is not the text at this point "
                f"({text[cursor : cursor + 10]!r}); it must not change the text",
                Location(offset=cursor),
            )
        spans.append((cursor, cursor + len(word)))
        cursor += len(word)
    rest = text[cursor:]
    if rest.strip():
        raise ModelError("E197", f"the segmenter left {rest[:20]!r} unsegmented", Location(offset=cursor))
    return spans


def join_words(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[int | None]]:
    """The words joined by single spaces, and for each character of the result its original index
    (``None`` for an inserted space).

    >>> join_words("胸水貯留", [(0, 2), (2, 4)])
    ('胸水 貯留', [0, 1, None, 2, 3])
    """
    parts: list[str] = []
    origin: list[int | None] = []
    for k, (start, end) in enumerate(spans):
        if k:
            parts.append(" ")
            origin.append(None)
        parts.append(text[start:end])
        origin.extend(range(start, end))
    return "".join(parts), origin


def map_offsets(
    offsets: list[tuple[int, int]], origin: list[int | None], text_length: int
) -> list[tuple[int, int]]:
    """Offsets into the joined text mapped to the original text; a token of inserted spaces only gets empty
    offsets at the next original character.

    >>> map_offsets([(0, 2), (2, 3), (2, 5)], [0, 1, None, 2, 3], 4)
    [(0, 2), (2, 2), (2, 4)]
    """
    mapped = []
    for start, end in offsets:
        inside = [o for o in origin[start:end] if o is not None]
        if inside:
            mapped.append((inside[0], inside[-1] + 1))
        else:
            after = next((o for o in origin[end:] if o is not None), text_length)
            mapped.append((after, after))
    return mapped


class PresegmentedTokenizer:
    """A fast tokenizer that sees the text segmented into words; offsets index the original text.

    Calls with a single string are segmented; everything else (``pad``, ``convert_ids_to_tokens``,
    ``save_pretrained``, special tokens…) goes to the wrapped tokenizer.
    """

    def __init__(self, tokenizer: Any, segmenter: Segmenter, name: str) -> None:
        self._inner = tokenizer
        self._segment = segmenter
        self.presegmenter = name

    @property
    def inner(self) -> Any:
        return self._inner

    def presegment(self, text: str) -> str:
        """The text as the wrapped tokenizer sees it: words joined by single spaces."""
        return join_words(text, word_spans(text, self._segment(text)))[0]

    def __call__(self, text: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(text, str):
            return self._inner(text, *args, **kwargs)
        joined, origin = join_words(text, word_spans(text, self._segment(text)))
        encoding = self._inner(joined, *args, **kwargs)
        if "offset_mapping" in encoding:
            encoding["offset_mapping"] = map_offsets(
                [tuple(o) for o in encoding["offset_mapping"]], origin, len(text)
            )
        return encoding

    def __len__(self) -> int:
        return len(self._inner)

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":  # not set yet (copy/pickle protocols probe attributes before __init__)
            raise AttributeError(name)
        return getattr(self._inner, name)


def presegmented(tokenizer: Any, name: str) -> PresegmentedTokenizer:
    """``tokenizer`` wrapped with the segmenter ``name`` (``mecab`` or ``jumanpp``)."""
    return PresegmentedTokenizer(tokenizer, SEGMENTERS[name](), name)
