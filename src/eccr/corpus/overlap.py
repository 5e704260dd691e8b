"""Documents of one collection that duplicate, or share sentences with, another — the leakage check.

Used wherever texts from one source meet the test documents of another: extra training corpora added to a
fold's training split (MRNER-disease's 50 case reports *are* MedTxt-CR documents), pretraining text that must
not contain a fold's test documents, and leakage reports in run summaries.

The rule
--------
Texts are compared after a light normalisation that only removes differences of presentation: Unicode NFKC
(full-width ``７６`` and half-width ``76`` match) and removal of all whitespace. Then

* a candidate is a **duplicate** of a reference document when their whole normalised texts are equal;
* otherwise it **shares sentences** with a reference document when at least one of its sentences (eccr's
  segmenter, :func:`eccr.corpus.segment.segment`) equals a sentence of that document, counting only sentences
  of at least ``min_sentence_chars`` normalised characters (default 16). Short sentences recur across
  unrelated reports and are not evidence of a shared source: headings (``考察``, ``【主訴】発熱``), and the
  formulaic sentences of radiology reports (``原発性肺癌を疑います。``, ``胸水貯留はありません。``; 10–12
  characters). With 16, the unlabeled clinical texts in ``../shared/data`` share no sentence with MedTxt-CR or
  MRNER-disease, as their README states, while MRNER-disease's 50 case reports are found as duplicates of
  MedTxt-CR documents — and still found (as shared sentences) when their first line is cut.

A candidate that duplicates or shares a sentence *overlaps*. Nothing is fuzzy: an edited copy whose every
long sentence was changed is not found, and the docstring of :class:`OverlapReport` says what was checked.

>>> from eccr.corpus.types import Document
>>> test = [Document("t1", "胸部ＣＴで両側肺野にすりガラス影を認めた。抗菌薬を開始した。")]
>>> extra = [Document("e1", "胸部CTで両側肺野にすりガラス影を認めた。翌日解熱した。"),
...          Document("e2", "胸部ＣＴで両側肺野にすりガラス影を認めた。抗菌薬を開始した。"),
...          Document("e3", "頭部MRIでは異常を認めなかった。")]
>>> kept, report = remove_overlapping(extra, test)
>>> [d.id for d in kept], [(o.doc_id, o.kind, o.matched_ids) for o in report.overlaps]
(['e3'], [('e1', 'shared-sentence', ('t1',)), ('e2', 'duplicate', ('t1',))])
>>> report.counts()
{'candidates': 3, 'duplicate': 1, 'shared-sentence': 1, 'kept': 1}
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eccr.corpus.segment import segment, text_of
from eccr.corpus.types import Document

__all__ = [
    "Overlap",
    "OverlapIndex",
    "OverlapReport",
    "find_overlaps",
    "normalize_for_overlap",
    "remove_overlapping",
    "sentence_keys",
]

#: Default minimum length (normalised characters) of a sentence that counts as shared.
MIN_SENTENCE_CHARS = 16

OverlapKind = Literal["duplicate", "shared-sentence"]


def normalize_for_overlap(text: str) -> str:
    """NFKC with all whitespace removed: the form in which texts and sentences are compared.

    >>> normalize_for_overlap("ＣＴ\\u3000で 異常なし。\\r\\n")
    'CTで異常なし。'
    """
    return "".join(unicodedata.normalize("NFKC", text).split())


def sentence_keys(text: str, min_chars: int = MIN_SENTENCE_CHARS) -> set[str]:
    """The normalised sentences of ``text`` (eccr's segmenter) of at least ``min_chars`` characters: what
    two documents must share to *share a sentence*."""
    keys = (normalize_for_overlap(text_of(text, s)) for s in segment(text))
    return {k for k in keys if len(k) >= min_chars}


@dataclass(frozen=True)
class Overlap:
    """One candidate document that overlaps the reference collection.

    Attributes:
        doc_id: the candidate's id.
        kind: ``"duplicate"`` (same normalised text as a reference document) or ``"shared-sentence"``.
        matched_ids: the reference documents it duplicates or shares sentences with, sorted.
        shared_sentences: how many of its distinct long sentences occur in the reference collection.
    """

    doc_id: str
    kind: OverlapKind
    matched_ids: tuple[str, ...]
    shared_sentences: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.doc_id,
            "kind": self.kind,
            "matched_ids": list(self.matched_ids),
            "shared_sentences": self.shared_sentences,
        }


@dataclass(frozen=True)
class OverlapReport:
    """The outcome of checking ``n_candidates`` documents against a reference collection.

    Checked: exact equality of normalised texts and of normalised sentences of at least
    ``min_sentence_chars`` characters (see the module docstring); near-duplicates with every long sentence
    edited are not detected.
    """

    n_candidates: int
    min_sentence_chars: int
    overlaps: tuple[Overlap, ...]

    @property
    def ids(self) -> frozenset[str]:
        """Ids of the overlapping candidates."""
        return frozenset(o.doc_id for o in self.overlaps)

    def counts(self) -> dict[str, int]:
        """Candidates checked, overlapping ones by kind, and those kept."""
        duplicate = sum(o.kind == "duplicate" for o in self.overlaps)
        shared = len(self.overlaps) - duplicate
        return {
            "candidates": self.n_candidates,
            "duplicate": duplicate,
            "shared-sentence": shared,
            "kept": self.n_candidates - len(self.overlaps),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "min_sentence_chars": self.min_sentence_chars,
            "overlaps": [o.to_dict() for o in self.overlaps],
        }


class OverlapIndex:
    """The reference side, indexed once: whole normalised texts and long sentences → document ids.

    Build it once and query it many times (one index per test fold, every extra corpus checked against it).
    """

    def __init__(
        self, reference: Iterable[Document], *, min_sentence_chars: int = MIN_SENTENCE_CHARS
    ) -> None:
        if min_sentence_chars < 1:
            raise ValueError(f"min_sentence_chars must be >= 1, got {min_sentence_chars}")
        self.min_sentence_chars = min_sentence_chars
        self._texts: dict[str, list[str]] = {}
        self._sentences: dict[str, list[str]] = {}
        for doc in reference:
            self._texts.setdefault(normalize_for_overlap(doc.text), []).append(doc.id)
            for key in sentence_keys(doc.text, min_sentence_chars):
                self._sentences.setdefault(key, []).append(doc.id)

    def match(self, document: Document) -> Overlap | None:
        """How ``document`` overlaps the reference, or ``None`` when it does not."""
        duplicates = self._texts.get(normalize_for_overlap(document.text))
        shared = [k for k in sentence_keys(document.text, self.min_sentence_chars) if k in self._sentences]
        if duplicates:
            return Overlap(document.id, "duplicate", tuple(sorted(set(duplicates))), len(shared))
        if shared:
            matched = sorted({i for k in shared for i in self._sentences[k]})
            return Overlap(document.id, "shared-sentence", tuple(matched), len(shared))
        return None

    def check(self, candidates: Iterable[Document]) -> OverlapReport:
        """An :class:`OverlapReport` for ``candidates`` (in their order)."""
        n = 0
        found: list[Overlap] = []
        for doc in candidates:
            n += 1
            hit = self.match(doc)
            if hit is not None:
                found.append(hit)
        return OverlapReport(n, self.min_sentence_chars, tuple(found))


def find_overlaps(
    candidates: Iterable[Document],
    reference: Iterable[Document],
    *,
    min_sentence_chars: int = MIN_SENTENCE_CHARS,
) -> OverlapReport:
    """Which ``candidates`` duplicate or share a sentence with a document of ``reference``."""
    return OverlapIndex(reference, min_sentence_chars=min_sentence_chars).check(candidates)


def remove_overlapping(
    candidates: Sequence[Document],
    reference: Iterable[Document],
    *,
    min_sentence_chars: int = MIN_SENTENCE_CHARS,
) -> tuple[list[Document], OverlapReport]:
    """``candidates`` without those overlapping ``reference`` (order kept), and a report of the removed."""
    report = find_overlaps(candidates, reference, min_sentence_chars=min_sentence_chars)
    removed = report.ids
    return [d for d in candidates if d.id not in removed], report
