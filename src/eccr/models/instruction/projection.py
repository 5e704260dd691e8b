"""Spans found in a generated text, placed in the sentence the model was given.

When the output without markers equals the sentence, a span maps directly (``direct``). Otherwise the output
is aligned to the sentence with a Levenshtein alignment (:func:`rapidfuzz.distance.Levenshtein.opcodes`) and
every character of a span is carried over where the alignment keeps it: characters in an ``equal`` block,
and characters of a ``replace`` block of equal length (a substituted character stays in place). The span
becomes the stretch of the sentence from its first to its last carried character. Each span is counted as:

* ``projected`` — placed, and the sentence's text there equals the span's text in the output;
* ``shifted`` — placed, but its text differs (boundaries moved, characters changed inside);
* ``lost`` — no character of it survives in the sentence; it is dropped (and counted, never silently).

>>> project_spans([(0, 2), (3, 5)], "発熱と咳嗽", "発熱と咳嗽")
Projection(spans=((0, 2), (3, 5)), counts={'direct': 2})
>>> project_spans([(0, 2), (3, 5), (6, 8)], "発熱とXYの咳嗽", "発熱と咳嗽あり")
Projection(spans=((0, 2), (3, 5)), counts={'projected': 2, 'lost': 1})
>>> project_spans([(0, 2), (5, 7)], "発熱と、の咳嗽", "発熱との咳嗽")
Projection(spans=((0, 2), (4, 6)), counts={'projected': 2})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

#: What happens to a span, in the order reports list them.
OUTCOMES = ("direct", "projected", "shifted", "lost")


@dataclass(frozen=True)
class Projection:
    """Spans in sentence offsets and how each got there (counts per :data:`OUTCOMES`)."""

    spans: tuple[tuple[int, int], ...]
    counts: dict[str, int]


def character_map(output: str, sentence: str) -> list[int | None]:
    """For each character of ``output``, its position in ``sentence`` (``None`` where it has none).

    Matched characters map to their match; between two matched stretches, an unmatched stretch of the same
    length on both sides is a substitution and maps position by position.
    """
    from rapidfuzz.distance import Indel

    mapping: list[int | None] = [None] * len(output)
    gap: list[int] | None = None  # [out_start, out_end, sentence_start, sentence_end] of unmatched text
    opcodes = [*Indel.opcodes(output, sentence), ("end", 0, 0, 0, 0)]
    for tag, out_start, out_end, src_start, src_end in opcodes:
        if tag in ("insert", "delete", "replace"):
            if gap is None:
                gap = [out_start, out_end, src_start, src_end]
            else:
                gap[1], gap[3] = out_end, src_end
            continue
        if gap is not None and gap[1] - gap[0] == gap[3] - gap[2]:
            for k in range(gap[1] - gap[0]):
                mapping[gap[0] + k] = gap[2] + k
        gap = None
        for k in range(out_end - out_start):
            mapping[out_start + k] = src_start + k
    return mapping


def project_spans(spans: Sequence[tuple[int, int]], output: str, sentence: str) -> Projection:
    """``spans`` (offsets into ``output``, the generated text without markers) in ``sentence`` offsets."""
    if output == sentence:
        return Projection(tuple(spans), {"direct": len(spans)} if spans else {})
    mapping = character_map(output, sentence)
    placed: list[tuple[int, int]] = []
    counts: Counter[str] = Counter()
    for start, end in spans:
        kept = [m for m in mapping[start:end] if m is not None]
        if not kept:
            counts["lost"] += 1
            continue
        lo, hi = min(kept), max(kept) + 1
        if placed and lo < placed[-1][1]:  # the alignment is monotone; guard against touching spans anyway
            lo = placed[-1][1]
            if lo >= hi:
                counts["lost"] += 1
                continue
        placed.append((lo, hi))
        counts["projected" if sentence[lo:hi] == output[start:end] else "shifted"] += 1
    return Projection(tuple(placed), dict(counts))
