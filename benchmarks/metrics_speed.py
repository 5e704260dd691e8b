"""Speed of ``eccr.metrics.score`` against the plain per-span Python reference.

Synthetic but realistic corpus: N documents of ~600 characters (the MedTxt-CR mean is 585) with ~12 gold spans
each whose lengths follow the MedTxt-CR positive-``d`` length bins (1–2: 21%, 3–6: 49%, 7–10: 19%,
11–20: 10%, ≥21: 2%); predictions are the gold spans with boundary shifts, splits into two pieces, misses and
false positives. Timed: weighted soft matching + marker matching + character scores for 5 p values
(1, 1.5, 2, 100, inf) — ``score(..., conventional=False)`` — and, for information, the full ``score()``
(adding exact match, JMED-LLM scores and the length strata). Building the ``Corpus`` objects is not timed.

The reference (tests/metrics/metrics_reference.py) is timed on a subset of documents and extrapolated
linearly (its cost is per document); the script says so in its output.

Usage::

    .venv/bin/python benchmarks/metrics_speed.py [--docs 20000] [--reference-docs 1000] [--seed 0]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import math
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "metrics"))

from metrics_reference import reference_scores

from eccr.corpus.types import Corpus, Document, Span
from eccr.metrics import score

P_VALUES = (1.0, 1.5, 2.0, 100.0, math.inf)
BIN_WEIGHTS = ((1, 2, 0.21), (3, 6, 0.49), (7, 10, 0.19), (11, 20, 0.10), (21, 60, 0.02))


def span_length(rng: random.Random) -> int:
    x = rng.random()
    for low, high, weight in BIN_WEIGHTS:
        if x < weight:
            return rng.randint(low, high)
        x -= weight
    return rng.randint(21, 60)


def make_document(rng: random.Random, length: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    gold: list[tuple[int, int]] = []
    position = rng.randint(0, 30)
    while True:
        n = span_length(rng)
        if position + n > length:
            break
        gold.append((position, position + n))
        position += n + rng.randint(5, 80)
    pred: list[tuple[int, int]] = []
    for s, e in gold:
        r = rng.random()
        if r < 0.10:
            continue  # missed
        s2 = min(max(0, s + rng.choice((-2, -1, 0, 0, 0, 0, 1))), e - 1)
        e2 = max(min(length, e + rng.choice((-1, 0, 0, 0, 0, 1, 2))), s2 + 1)
        if r > 0.85 and e2 - s2 >= 4:  # split in two with a gap
            cut = rng.randint(s2 + 1, e2 - 2)
            pred += [(s2, cut), (cut + 1, e2)]
        else:
            pred.append((s2, e2))
    for _ in range(rng.randint(0, 2)):  # false positives
        s = rng.randint(0, length - 3)
        pred.append((s, min(length, s + span_length(rng))))
    return gold, pred


def build(n_docs: int, seed: int) -> tuple[list[tuple[int, list, list]], Corpus, Corpus]:
    rng = random.Random(seed)
    raw = []
    for _ in range(n_docs):
        length = rng.randint(450, 750)
        gold, pred = make_document(rng, length)
        raw.append((length, gold, pred))
    text_cache: dict[int, str] = {}
    gold_docs, pred_docs = [], []
    for i, (length, gold, pred) in enumerate(raw):
        text = text_cache.setdefault(length, "あ" * length)
        gold_docs.append(Document(f"d{i:05d}", text, [Span(s, e) for s, e in gold]))
        pred_docs.append(Document(f"d{i:05d}", text, [Span(s, e) for s, e in pred]))
    ref = [(n, [(s, e, "c") for s, e in g], [(s, e, "c") for s, e in q]) for n, g, q in raw]
    return ref, Corpus(gold_docs), Corpus(pred_docs)


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--reference-docs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    ref_docs, gold, pred = build(args.docs, args.seed)
    build_s = time.perf_counter() - started
    n_gold = sum(len(g) for _, g, _ in ref_docs)
    n_pred = sum(len(q) for _, _, q in ref_docs)
    chars = sum(n for n, _, _ in ref_docs)
    machine = platform.processor() or platform.machine()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {machine}, one core (taskset if set)")
    print(f"corpus: {args.docs} documents, {chars / args.docs:.0f} chars/doc, {n_gold} gold spans, "
          f"{n_pred} predicted spans (built in {build_s:.1f} s, not timed)")

    core_s, report = best_of(lambda: score(gold, pred, p=P_VALUES, conventional=False), args.repeat)
    full_s, _ = best_of(lambda: score(gold, pred, p=P_VALUES, by_length=True), 1)
    print(f"eccr wsm+marker+char, 5 p values: {core_s:.3f} s (best of {args.repeat})")
    print(f"eccr full score() incl. exact, JMED-LLM, by-length: {full_s:.3f} s")

    subset = ref_docs[: args.reference_docs]
    ref_start = time.perf_counter()
    reference = {p: reference_scores(subset, p) for p in P_VALUES}
    ref_subset_s = time.perf_counter() - ref_start
    ref_full_s = ref_subset_s * len(ref_docs) / len(subset)
    print(f"reference (pure Python, per span): {ref_subset_s:.2f} s on {len(subset)} documents -> "
          f"extrapolated {ref_full_s:.1f} s for {len(ref_docs)} documents (linear in documents)")
    print(f"speed-up: {ref_full_s / core_s:.0f}x")

    check = score(gold[: len(subset)], pred[: len(subset)], p=P_VALUES, conventional=False)
    worst = max(max(abs(getattr(check, m)[p].precision - reference[p][m][0]),
                    abs(getattr(check, m)[p].recall - reference[p][m][1]))
                for p in P_VALUES for m in ("wsm", "marker"))
    print(f"max |eccr - reference| on the subset: {worst:.2e}")
    print("wsm F1 by p: " + ", ".join(f"p={p:g} {report.wsm[p].f1:.4f}" for p in P_VALUES))


if __name__ == "__main__":
    main()
