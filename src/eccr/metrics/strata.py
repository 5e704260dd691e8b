"""Scores stratified by span length (the paper's bins 1–2, 3–6, 7–10, 11–20, ≥21 characters).

Rule (which spans count in which bin):

* **Recall** in a bin uses the gold spans (runs) whose length is in the bin, with their markers as usual.
* **Precision** in a bin uses the predicted spans whose *largest-overlap gold span* is in the bin — the
  gold run sharing the most characters with it; on a tie, the leftmost such gold run. A predicted span
  that overlaps no gold span goes to the bin of its own length.

So every gold and every predicted span counts in exactly one bin, and summing the bins' numerators and
denominators gives back the overall scores. Bins use :data:`eccr.corpus.types.LENGTH_BINS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eccr.corpus.types import LENGTH_BINS
from eccr.metrics.report import PRF, LengthStratum
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


def stratify(p_values: Sequence[float], gold: RunSet, pred: RunSet, gold_markers: Markers,
             pred_markers: Markers, gold_norms: Sequence[np.ndarray], pred_norms: Sequence[np.ndarray],
             zero_division: float) -> dict[str, LengthStratum]:
    """Per-bin WSM and marker scores, given the marker norms per p of every gold and predicted run."""
    n_bins = len(LENGTH_BINS)
    g_bins = bin_index(gold.lengths)
    q_bins = precision_bins(pred, gold, pred_markers)
    g_len = gold.lengths.astype(np.float64)
    q_len = pred.lengths.astype(np.float64)
    g_count = np.bincount(g_bins, minlength=n_bins)
    q_count = np.bincount(q_bins, minlength=n_bins)
    g_den = np.bincount(g_bins, weights=g_len, minlength=n_bins)
    q_den = np.bincount(q_bins, weights=q_len, minlength=n_bins)
    wsm: list[dict[float, PRF]] = [{} for _ in range(n_bins)]
    marker: list[dict[float, PRF]] = [{} for _ in range(n_bins)]
    for p, g_norm, q_norm in zip(p_values, gold_norms, pred_norms, strict=True):
        g_num = np.bincount(g_bins, weights=g_norm, minlength=n_bins)
        q_num = np.bincount(q_bins, weights=q_norm, minlength=n_bins)
        g_mark = np.bincount(g_bins, weights=g_norm / g_len if len(g_len) else g_norm, minlength=n_bins)
        q_mark = np.bincount(q_bins, weights=q_norm / q_len if len(q_len) else q_norm, minlength=n_bins)
        for b in range(n_bins):
            wsm[b][p] = PRF(float(q_num[b]), float(q_den[b]), float(g_num[b]), float(g_den[b]), zero_division)
            marker[b][p] = PRF(float(q_mark[b]), float(q_count[b]), float(g_mark[b]), float(g_count[b]),
                               zero_division)
    return {
        name: LengthStratum(wsm[b], marker[b], int(g_count[b]), int(q_count[b]))
        for b, (name, _, _) in enumerate(LENGTH_BINS)
    }
