"""Pairing gold and predicted documents by id before scoring.

Rules:

* Documents are matched by id; the gold corpus's order is kept.
* A document whose text differs between gold and predictions is an error (``E051``) naming the id and the
  first differing offset: spans are offsets into the text, so they cannot be compared across texts
  (generative outputs must be aligned back to the source text first).
* A gold document with no predicted document is an error (``E050``) unless ``allow_missing``, in which
  case it is scored as having no predicted spans (it still counts towards recall).
* A predicted document with no gold document is always an error (``E052``): there is nothing to score it
  against, and dropping it silently would hide a mismatch. Subset the predictions to the gold ids first.
* A document id used twice on one side (possible when plain lists are passed rather than a
  :class:`~eccr.corpus.types.Corpus`) is an error (``E021``): one of them would be dropped or counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eccr.corpus.types import Document, Span
from eccr.errors import DocumentError, Location, ScoringError


@dataclass(frozen=True)
class DocumentPair:
    """One gold document and the predicted spans for the same text."""

    gold: Document
    pred_spans: tuple[Span, ...]

    @property
    def doc_id(self) -> str:
        return self.gold.id


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _check_unique_ids(documents: Sequence[Document], side: str, source: str | None) -> None:
    seen: set[str] = set()
    for doc in documents:
        if doc.id in seen:
            raise DocumentError("E021", f"duplicate document id {doc.id!r} in the {side} documents; ids "
                                "must be unique to pair gold and predictions",
                                Location(file=source, doc_id=doc.id))
        seen.add(doc.id)


def pair_documents(gold: Sequence[Document], pred: Sequence[Document], *, allow_missing: bool = False,
                   gold_source: str | None = None, pred_source: str | None = None) -> list[DocumentPair]:
    """Match ``pred`` to ``gold`` by document id (see the module docstring for the rules)."""
    _check_unique_ids(gold, "gold", gold_source)
    _check_unique_ids(pred, "predicted", pred_source)
    pred_by_id = {d.id: d for d in pred}
    gold_ids = {d.id for d in gold}
    extra = [d.id for d in pred if d.id not in gold_ids]
    if extra:
        shown = ", ".join(repr(i) for i in extra[:5]) + (" …" if len(extra) > 5 else "")
        raise ScoringError(
            "E052", f"{len(extra)} predicted document(s) have no gold document: {shown}; "
            "score against a gold corpus holding them, or drop them from the predictions",
            Location(file=pred_source, doc_id=extra[0]))
    missing = [d.id for d in gold if d.id not in pred_by_id]
    if missing and not allow_missing:
        shown = ", ".join(repr(i) for i in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ScoringError(
            "E050", f"{len(missing)} gold document(s) have no predictions: {shown}; pass --allow-missing "
            "(allow_missing=True) to score them as predicting nothing",
            Location(file=pred_source, doc_id=missing[0]))
    pairs = []
    for doc in gold:
        other = pred_by_id.get(doc.id)
        if other is None:
            pairs.append(DocumentPair(doc, ()))
            continue
        if other.text != doc.text:
            at = _first_difference(doc.text, other.text)
            raise ScoringError(
                "E051", f"document text differs between gold ({len(doc.text)} chars) and predictions "
                f"({len(other.text)} chars), first at offset {at}; spans can only be compared on the same "
                "text — align generated text back to the source first",
                Location(file=pred_source or gold_source, doc_id=doc.id, offset=at))
        pairs.append(DocumentPair(doc, other.spans))
    return pairs
