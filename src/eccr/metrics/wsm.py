"""The weighted soft matching score (WSM) and the marker matching score of the paper.

Definition (eccr implements exactly this)
-----------------------------------------
Per document, take the gold spans G and the predicted spans Q (half-open character offsets). In the binary
setting both sides are first reduced to maximal runs of covered characters; in the typed setting this is
done per label and a span is only compared with spans of its own label (:mod:`eccr.metrics.runs`).

* **Recall side.** For each gold span g of length l, its *markers* are the maximal runs of predicted
  characters inside g, with lengths a₁…a_m. Its score is the Hölder (p-)norm of the markers over l::

      s(g) = (Σᵢ aᵢᵖ)^(1/p) / l          (s(g) = 0 when m = 0)
      s(g) = maxᵢ aᵢ / l                  (p = ∞)

  Recall = Σ_g l·s(g) / Σ_g l, length-weighted and pooled over all gold spans of all documents.
* **Precision side**, symmetric: for each predicted span q of length l′, markers are the maximal runs of
  gold characters inside q; Precision = Σ_q l′·s(q) / Σ_q l′.
* **F1** = 2PR/(P+R); an undefined ratio takes the explicit ``zero_division`` value.
* The **marker matching score** uses the same s values averaged without length weights (simple mean over
  spans): Recall = Σ_g s(g) / |G|, Precision = Σ_q s(q) / |Q|.

p must be ≥ 1 (then s ≤ 1, since the p-norm never exceeds the 1-norm Σaᵢ ≤ l). At p = 1 the length-weighted
sum Σ_g l·s(g) = Σ_g Σᵢ aᵢ is the number of characters in both sides, so P and R equal character precision
and recall exactly; eccr computes the p = 1 norm as that integer sum so the equality holds bit for bit.
s is non-increasing in p, and as p → ∞ it tends to the longest marker over l.

Worked example: a gold span of 10 characters covered by two predicted markers of 3 and 3 characters scores
0.6 at p = 1, √18/10 ≈ 0.4243 at p = 2 and 0.3 at p = ∞:

    >>> import math
    >>> markers = [3, 3]
    >>> [round(holder_norm(markers, p) / 10, 4) for p in (1, 2, math.inf)]
    [0.6, 0.4243, 0.3]

For numerical safety at large p (100 and beyond) the norm is computed as ``amax · (Σ (aᵢ/amax)ᵖ)^(1/p)``,
which neither overflows nor underflows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from eccr.errors import ConfigError
from eccr.metrics.runs import Markers


def check_p(p: float) -> float:
    """``p`` as a float, or a :class:`~eccr.errors.ConfigError` (``E053``) unless ``1 <= p <= inf``."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise ConfigError("E053", f"p must be a number >= 1 or inf, got {p!r}") from None
    if math.isnan(value) or value < 1:
        raise ConfigError("E053", f"p must be >= 1 (or inf), got {p!r}; below 1 a score can exceed 1")
    return value


def holder_norm(lengths: Sequence[int], p: float) -> float:
    """The p-norm of one span's marker lengths (0 for no markers); the scalar form of :func:`marker_norms`."""
    if not lengths:
        return 0.0
    if p == 1:
        return float(sum(lengths))
    top = max(lengths)
    if math.isinf(p):
        return float(top)
    return top * sum((a / top) ** p for a in lengths) ** (1.0 / p)


def marker_norms(markers: Markers, p: float) -> np.ndarray:
    """``(Σᵢ aᵢᵖ)^(1/p)`` for every target run (0 where it has no marker), i.e. ``l · s`` per target."""
    out = np.zeros(len(markers.counts), dtype=np.float64)
    if len(markers.lengths) == 0:
        return out
    hit = markers.hit
    starts = markers.group_starts
    a = markers.lengths.astype(np.float64)
    if p == 1:
        out[hit] = np.add.reduceat(a, starts)
        return out
    top = np.maximum.reduceat(a, starts)
    if math.isinf(p):
        out[hit] = top
        return out
    ratio = a / np.repeat(top, markers.counts[hit])
    out[hit] = top * np.add.reduceat(ratio**p, starts) ** (1.0 / p)
    return out


def span_scores(markers: Markers, target_lengths: np.ndarray, p: float) -> np.ndarray:
    """s(t) for every target run: its marker norm over its length."""
    return marker_norms(markers, p) / target_lengths
