"""A plain, per-span, pure-Python reference of the weighted soft matching score, for tests and the benchmark.

Written directly from the definition in the issue, independently of :mod:`eccr.metrics`: runs and markers
are found by walking a set of covered character positions one character at a time, and the Hölder mean
uses the textbook formula ``(Σ aᵢᵖ)^(1/p)``. Slow on purpose; clear on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

# One document for the reference: (text length, gold spans, predicted spans), spans as (start, end, label).
RefDoc = tuple[int, Sequence[tuple[int, int, str]], Sequence[tuple[int, int, str]]]


def covered(spans: Iterable[tuple[int, int, str]], label: str | None) -> set[int]:
    """Character positions covered by the spans (of ``label``, or of any label when ``None``)."""
    return {i for s, e, lab in spans if label is None or lab == label for i in range(s, e)}


def runs(positions: set[int], lo: int, hi: int) -> list[tuple[int, int]]:
    """Maximal runs of consecutive positions within ``[lo, hi)``, walking one character at a time."""
    out: list[tuple[int, int]] = []
    start = None
    for i in range(lo, hi + 1):
        inside = i < hi and i in positions
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            out.append((start, i))
            start = None
    return out


def span_score(length: int, markers: Sequence[int], p: float) -> float:
    """s = (Σ aᵢᵖ)^(1/p) / l, max aᵢ / l at p = ∞, 0 without markers."""
    if not markers:
        return 0.0
    if math.isinf(p):
        return max(markers) / length
    return sum(a**p for a in markers) ** (1 / p) / length


def side_totals(targets: list[tuple[int, int]], other: set[int], p: float) -> tuple[float, float, float, int]:
    """(Σ l·s, Σ l, Σ s, count) over target runs, markers = runs of ``other`` inside each target."""
    weighted = lengths = plain = 0.0
    for s, e in targets:
        markers = [b - a for a, b in runs(other, s, e)]
        value = span_score(e - s, markers, p)
        weighted += (e - s) * value
        lengths += e - s
        plain += value
    return weighted, lengths, plain, len(targets)


def reference_scores(docs: Sequence[RefDoc], p: float, typed: bool = False) -> dict[str, tuple[float, float]]:
    """Pooled (precision, recall) of ``wsm``, ``marker`` and ``char`` (zero_division = 0)."""
    acc = {key: [0.0, 0.0, 0.0, 0.0] for key in ("wsm", "marker", "char")}
    for length, gold, pred in docs:
        labels: list[str | None] = [None]
        if typed:
            labels = sorted({lab for *_, lab in gold} | {lab for *_, lab in pred})
        for label in labels:
            g_pos, q_pos = covered(gold, label), covered(pred, label)
            g_runs, q_runs = runs(g_pos, 0, length), runs(q_pos, 0, length)
            gw, gl, gp, gn = side_totals(g_runs, q_pos, p)
            qw, ql, qp, qn = side_totals(q_runs, g_pos, p)
            for key, values in (("wsm", (qw, ql, gw, gl)), ("marker", (qp, qn, gp, gn)),
                                ("char", (len(g_pos & q_pos), len(q_pos), len(g_pos & q_pos), len(g_pos)))):
                for i, v in enumerate(values):
                    acc[key][i] += v
    return {key: (v[0] / v[1] if v[1] else 0.0, v[2] / v[3] if v[3] else 0.0) for key, v in acc.items()}


BINS = (("1-2", 1, 2), ("3-6", 3, 6), ("7-10", 7, 10), ("11-20", 11, 20), (">=21", 21, 10**9))


def bin_of(length: int) -> str:
    return next(name for name, low, high in BINS if low <= length <= high)


def reference_strata(docs: Sequence[RefDoc], p: float) -> dict[str, tuple[float, float]]:
    """Binary WSM (precision, recall) per length bin: gold spans by their length; a predicted span by the
    length of the gold span it overlaps most (leftmost on ties), else by its own length."""
    acc = {name: [0.0, 0.0, 0.0, 0.0] for name, _, _ in BINS}
    for length, gold, pred in docs:
        g_pos, q_pos = covered(gold, None), covered(pred, None)
        g_runs, q_runs = runs(g_pos, 0, length), runs(q_pos, 0, length)
        for s, e in g_runs:
            w, n, _, _ = side_totals([(s, e)], q_pos, p)
            acc[bin_of(e - s)][2] += w
            acc[bin_of(e - s)][3] += n
        for s, e in q_runs:
            best, best_len = 0, e - s
            for gs, ge in g_runs:
                overlap = len(set(range(s, e)) & set(range(gs, ge)))
                if overlap > best:
                    best, best_len = overlap, ge - gs
            w, n, _, _ = side_totals([(s, e)], g_pos, p)
            acc[bin_of(best_len)][0] += w
            acc[bin_of(best_len)][1] += n
    return {k: (v[0] / v[1] if v[1] else 0.0, v[2] / v[3] if v[3] else 0.0) for k, v in acc.items()}
