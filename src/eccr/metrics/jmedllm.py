"""JMED-LLM's document-level string-set exact and partial F1, for comparison with JMED-LLM results.

JMED-LLM (github.com/sociocom/JMED-LLM, ``src/utils.py``) scores its NER tasks (``mrner_disease`` …) on the
*set of strings* a system lists per document, not on offsets. eccr takes each side's strings from the span
surfaces ``text[start:end]`` (spans as given, not merged), as a set per document — except that a
gold document read from a JMED-LLM CSV uses the strings its ``answer`` column lists
(``meta["answers"]``) — and then:

* **exact**: a string is correct when the other side's set holds the identical string. Per document,
  precision = |G ∩ Q| / |Q|, recall = |G ∩ Q| / |G|, F1 = 2PR/(P+R).
* **partial**: a gold string is *found* when some predicted string contains it or is contained in it
  (substring containment in either direction); a predicted string is *correct* when some gold string
  contains it or is contained in it. Precision = correct predicted / |Q|, recall = found gold / |G|.
* Both are **document-level**: P, R and F1 are computed per document and then averaged over documents
  (macro), as JMED-LLM does; the reported F1 is the mean of per-document F1s, not the F1 of the mean P/R.
  A ratio with an empty denominator takes ``zero_division``. With ``typed``, strings are compared
  together with their labels.

Where the JMED-LLM script differs (as of the version read for eccr):

* Its ``partial_f1_score`` tests ``answer_v in predict or predict_v in answer`` where ``predict`` and
  ``answer`` are *sets*, so it checks set membership, not substring containment: a gold string counts as
  found when it is listed exactly, or when *any* predicted string exactly equals *any* gold string. eccr
  implements the substring containment that the metric's name and description intend.
* It uses the same count (found gold strings) as the numerator of both precision and recall; eccr counts
  correct predicted strings for precision, so precision stays ≤ 1 when several predictions match one gold.
* It divides by the number of gold strings without a guard (a document with no gold strings raises
  ``ZeroDivisionError``), and scores precision 0 when nothing is predicted; eccr uses ``zero_division``
  for both.
* It parses model output with ``eval``; eccr never evaluates text and reads predictions as corpora.

>>> from eccr.corpus.types import Document, Span
>>> doc = Document("d", "肺炎と間質性肺炎", [Span(0, 2), Span(3, 8)])
>>> gold, pred = surfaces(doc.text, doc.spans, False), surfaces(doc.text, [Span(3, 6)], False)
>>> document_prf(gold, pred, partial=False, zero_division=0.0)
(0.0, 0.0, 0.0)
>>> document_prf(gold, pred, partial=True, zero_division=0.0)
(1.0, 0.5, 0.6666666666666666)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eccr.corpus.jmedllm import ANSWERS_KEY
from eccr.corpus.types import Document, Span
from eccr.metrics.report import MacroPRF


def surfaces(text: str, spans: Iterable[Span], typed: bool) -> set[tuple[str, str]]:
    """The set of ``(label, surface)`` of ``spans`` in ``text`` (label ``""`` when untyped)."""
    return {(s.label if typed else "", text[s.start : s.end]) for s in spans}


def gold_surfaces(document: Document, typed: bool) -> set[tuple[str, str]]:
    """The gold string set of ``document``.

    A document read from a JMED-LLM CSV lists its answer strings in ``meta["answers"]``; those are the gold
    set JMED-LLM scores (several listed strings can merge into one span when they overlap or touch, so the
    span surfaces would differ). Untyped scoring uses them; otherwise the span surfaces are the set. The
    predicted side always uses its own span surfaces: predictions inherit the gold document's meta.
    """
    answers = document.meta.get(ANSWERS_KEY)
    if answers is not None and not typed:
        return {("", a) for a in answers}
    return surfaces(document.text, document.spans, typed)


def _matches(item: tuple[str, str], others: set[tuple[str, str]]) -> bool:
    label, string = item
    return any(label == other_label and (string in other or other in string) for other_label, other in others)


def document_counts(gold: set[tuple[str, str]], pred: set[tuple[str, str]], *, partial: bool
                    ) -> tuple[int, int, int, int]:
    """``(correct predicted, predicted, found gold, gold)`` strings of one document."""
    if partial:
        correct = sum(_matches(q, gold) for q in pred)
        found = sum(_matches(g, pred) for g in gold)
    else:
        correct = found = len(gold & pred)
    return correct, len(pred), found, len(gold)


def document_prf(gold: set[tuple[str, str]], pred: set[tuple[str, str]], *, partial: bool,
                 zero_division: float) -> tuple[float, float, float]:
    """Precision, recall and F1 of one document's string sets."""
    correct, n_pred, found, n_gold = document_counts(gold, pred, partial=partial)
    precision = correct / n_pred if n_pred else zero_division
    recall = found / n_gold if n_gold else zero_division
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else zero_division
    return precision, recall, f1


def jmedllm_scores(documents: Sequence[tuple[set[tuple[str, str]], set[tuple[str, str]]]], *,
                   zero_division: float = 0.0) -> tuple[MacroPRF, MacroPRF]:
    """Document-level (exact, partial) scores over ``(gold strings, predicted strings)`` per document."""
    n = len(documents)
    results = []
    for partial in (False, True):
        sums = [0.0, 0.0, 0.0]
        for gold, pred in documents:
            for i, value in enumerate(document_prf(gold, pred, partial=partial, zero_division=zero_division)):
                sums[i] += value
        mean = [s / n if n else zero_division for s in sums]
        results.append(MacroPRF(mean[0], mean[1], mean[2], n))
    return results[0], results[1]
