"""Per-character concept scores: what an ensemble averages, and how scores become spans again.

Any model's spans can be seen per character: for each label, whether the character is inside a concept of
that label (``inside``) and whether a concept of that label begins there (``begin``, so that two adjacent
concepts stay apart). Spans give 0/1 scores (:meth:`CharScores.from_spans`); a model that can say how sure
it is (the CRF's marginal probabilities) may offer probabilities instead through the optional method
``predict_char_scores(documents) -> list[CharScores]``.

:func:`average` takes the mean over models; :meth:`CharScores.to_spans` turns scores back into spans by one
rule: a character belongs to the label with the highest ``inside`` score when that score is **above**
``threshold`` (0.5: more than half of the models, for 0/1 scores — a strict majority, so a tie is no
concept); a concept begins where such a character follows one that is not inside the same label, or where
the label's ``begin`` score is above ``threshold``.

>>> a = CharScores.from_spans([Span(0, 2, "d"), Span(3, 5, "d")], 6, ("d",))
>>> b = CharScores.from_spans([Span(0, 5, "d")], 6, ("d",))
>>> c = CharScores.from_spans([Span(0, 2, "d")], 6, ("d",))
>>> average([a, b, c]).to_spans()
[Span(0, 2, 'd'), Span(3, 5, 'd')]
>>> average([a, b]).to_spans()  # two models: both must agree
[Span(0, 2, 'd'), Span(3, 5, 'd')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eccr.corpus.types import Span
from eccr.errors import ConfigError


@dataclass(frozen=True)
class CharScores:
    """Scores in [0, 1] per character and label: ``inside`` and ``begin``, each ``(characters, labels)``."""

    labels: tuple[str, ...]
    inside: np.ndarray
    begin: np.ndarray

    def __post_init__(self) -> None:
        expected = (self.inside.shape[0], len(self.labels))
        if self.inside.shape != expected or self.begin.shape != expected:
            raise ConfigError(
                "E185",
                f"character scores of shape {self.inside.shape}/{self.begin.shape} do "
                f"not fit {len(self.labels)} labels",
            )

    @property
    def length(self) -> int:
        return int(self.inside.shape[0])

    @classmethod
    def from_spans(cls, spans: Sequence[Span], length: int, labels: Sequence[str]) -> CharScores:
        """0/1 scores of ``spans`` over a text of ``length`` characters (other labels ignored)."""
        index = {label: j for j, label in enumerate(labels)}
        inside = np.zeros((length, len(labels)), dtype=np.float32)
        begin = np.zeros_like(inside)
        for span in spans:
            j = index.get(span.label)
            if j is None:
                continue
            inside[span.start : span.end, j] = 1.0
            begin[span.start, j] = 1.0
        return cls(tuple(labels), inside, begin)

    def with_labels(self, labels: Sequence[str]) -> CharScores:
        """The same scores over ``labels`` (a superset): labels this model never predicts score 0."""
        if tuple(labels) == self.labels:
            return self
        inside = np.zeros((self.length, len(labels)), dtype=np.float32)
        begin = np.zeros_like(inside)
        for j, label in enumerate(labels):
            if label in self.labels:
                k = self.labels.index(label)
                inside[:, j], begin[:, j] = self.inside[:, k], self.begin[:, k]
        return CharScores(tuple(labels), inside, begin)

    def to_spans(self, threshold: float = 0.5) -> list[Span]:
        """Spans by the rule in the module docstring."""
        if not self.labels or not self.length:
            return []
        best = self.inside.argmax(axis=1)
        best_score = self.inside[np.arange(self.length), best]
        chosen = np.where(best_score > threshold, best, -1)
        spans: list[Span] = []
        start = 0
        for i in range(self.length + 1):
            current = chosen[i] if i < self.length else -1
            previous = chosen[i - 1] if i > 0 else -1
            breaks = current >= 0 and current == previous and self.begin[i, current] > threshold
            if previous >= 0 and (current != previous or breaks):
                spans.append(Span(start, i, self.labels[previous]))
            if current >= 0 and (current != previous or breaks):
                start = i
        return spans


def average(scores: Sequence[CharScores]) -> CharScores:
    """The mean of several models' scores for one text, over the union of their labels (first seen first)."""
    if not scores:
        raise ConfigError("E185", "nothing to average: no character scores")
    lengths = {s.length for s in scores}
    if len(lengths) != 1:
        raise ConfigError("E185", f"character scores cover different text lengths {sorted(lengths)}")
    labels = tuple(dict.fromkeys(label for s in scores for label in s.labels))
    aligned = [s.with_labels(labels) for s in scores]
    return CharScores(
        labels, np.mean([s.inside for s in aligned], axis=0), np.mean([s.begin for s in aligned], axis=0)
    )
