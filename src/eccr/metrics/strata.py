"""Scores stratified by span length (the paper's bins 1–2, 3–6, 7–10, 11–20, ≥21 characters).

Rule (which spans count in which bin):

* **Recall** in a bin uses the gold spans (runs) whose length is in the bin, with their markers as usual.
* **Precision** in a bin uses the predicted spans whose *largest-overlap gold span* is in the bin — the
  gold run sharing the most characters with it; on a tie, the leftmost such gold run. A predicted span
  that overlaps no gold span goes to the bin of its own length.

So every gold and every predicted span counts in exactly one bin, and summing the bins' numerators and
denominators gives back the overall scores. Bins use :data:`eccr.corpus.types.LENGTH_BINS`. Which measures
are stratified, and with which per-span values, is said by their registry entry
(:mod:`eccr.metrics.measures`, ``strata``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eccr.corpus.types import LENGTH_BINS
from eccr.metrics.runs import Markers, RunSet

#: Lower bounds of the bins, for ``np.searchsorted``.
_LOWS = np.asarray([low for _, low, _ in LENGTH_BINS], dtype=np.int64)


def bin_index(lengths: np.ndarray) -> np.ndarray:
    """Index into :data:`LENGTH_BINS` of each length (lengths are ≥ 1).

    >>> bin_index(np.array([1, 2, 3, 6, 7, 10, 11, 20, 21, 76])).tolist()
    [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    """
    return np.searchsorted(_LOWS, lengths, side="right") - 1


def precision_bins(pred: RunSet, gold: RunSet, pred_markers: Markers) -> np.ndarray:
    """Bin of each predicted run: its largest-overlap gold run's bin, else its own length's bin."""
    bins = bin_index(pred.lengths)
    if len(pred_markers.lengths) == 0:
        return bins
    hit = pred_markers.hit
    starts = pred_markers.group_starts
    a = pred_markers.lengths
    best = np.repeat(np.maximum.reduceat(a, starts), pred_markers.counts[hit])
    position = np.arange(len(a))
    first_best = np.minimum.reduceat(np.where(a == best, position, len(a)), starts)
    bins[hit] = bin_index(gold.lengths[pred_markers.covers[first_best]])
    return bins


@dataclass(frozen=True)
class SpanBins:
    """The length bin of every gold run (recall side) and every predicted run (precision side)."""

    gold: np.ndarray
    pred: np.ndarray

    @property
    def n_bins(self) -> int:
        return len(LENGTH_BINS)

    @classmethod
    def build(cls, gold: RunSet, pred: RunSet, pred_markers: Markers) -> SpanBins:
        return cls(bin_index(gold.lengths), precision_bins(pred, gold, pred_markers))

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Gold and predicted runs per bin."""
        return (np.bincount(self.gold, minlength=self.n_bins), np.bincount(self.pred, minlength=self.n_bins))


def bin_sums(bins: SpanBins, pred_num: np.ndarray, pred_den: np.ndarray | None, gold_num: np.ndarray,
             gold_den: np.ndarray | None) -> np.ndarray:
    """``(bins, 4)`` sums ``[precision_num, precision_den, recall_num, recall_den]`` of per-run values.

    Predicted runs' values go to their precision bin, gold runs' to their own; a ``None`` denominator
    counts runs.
    """
    n = bins.n_bins
    return np.stack([np.bincount(bins.pred, weights=pred_num, minlength=n),
                     np.bincount(bins.pred, weights=pred_den, minlength=n),
                     np.bincount(bins.gold, weights=gold_num, minlength=n),
                     np.bincount(bins.gold, weights=gold_den, minlength=n)], axis=1).astype(np.float64)
