"""Character segment score: precision and recall of covered characters.

A character is *predicted* when any predicted span covers it and *gold* when any gold span covers it (per
label in the typed setting, where a character counts once for each label covering it). Precision = characters
both predicted and gold / predicted characters; recall = the same / gold characters. This is the paper's
"character segment" score, and equals the weighted soft matching score at p = 1.

>>> from eccr.metrics.runs import Layout, RunSet, find_markers
>>> layout = Layout.build([10], ("concept",))
>>> gold = RunSet.from_arrays(layout, [0], [0], [0], [10])
>>> pred = RunSet.from_arrays(layout, [0, 0], [0, 0], [1, 6], [4, 9])
>>> char_totals(gold, pred, find_markers(gold, pred), 1).tolist()
[[6.0, 6.0, 6.0, 10.0]]
"""

from __future__ import annotations

import numpy as np

from eccr.metrics.runs import Markers, RunSet


def char_totals(gold: RunSet, pred: RunSet, gold_markers: Markers, n_docs: int) -> np.ndarray:
    """Per-document ``[precision_num, precision_den, recall_num, recall_den]`` in characters.

    ``gold_markers`` are the markers of the gold runs (their intersections with predicted runs); their total
    length is the number of characters both sides cover.
    """
    both = np.bincount(gold.docs[gold_markers.targets], weights=gold_markers.lengths, minlength=n_docs)
    predicted = np.bincount(pred.docs, weights=pred.lengths, minlength=n_docs)
    gold_chars = np.bincount(gold.docs, weights=gold.lengths, minlength=n_docs)
    return np.stack([both, predicted, both, gold_chars], axis=1).astype(np.float64)
