"""Maximal runs of covered characters and the *markers* of one side inside the other, vectorised.

Every span-level score in :mod:`eccr.metrics` works on two sets of **maximal runs** per document: the
union of the spans of a side, cut into runs of consecutive covered characters (overlapping and adjacent
spans merge, as in :func:`eccr.corpus.mask.merge_spans`). In the typed setting runs are built per label.

A **marker** of a target run ``t`` (a gold run on the recall side, a predicted run on the precision side)
is a maximal run of the *other* side's characters inside ``t``. Because the other side's runs are themselves
maximal (disjoint and never touching), the markers of ``t`` are exactly the non-empty intersections of ``t``
with the other side's runs.

All documents (and, in the typed setting, all labels) are laid out in one global coordinate space, each
(document, label) block separated from the next by at least one character, so runs of different documents
or labels never touch and one ``np.searchsorted`` pass finds every marker of every run at once.

Example:
    >>> layout = Layout.build([10], labels=("concept",))
    >>> gold = RunSet.from_arrays(layout, [0], [0], [0], [10])
    >>> pred = RunSet.from_arrays(layout, [0, 0], [0, 0], [1, 6], [4, 9])
    >>> m = find_markers(gold, pred)
    >>> m.lengths.tolist(), m.counts.tolist()
    ([3, 3], [2])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Layout:
    """Where each (label, document) block starts in the global coordinate space.

    Attributes:
        doc_bases: global offset of each document's character 0 within one label block.
        label_stride: size of one label block (all documents end to end, each followed by one gap character).
        labels: label names; label index ``k`` occupies ``[k * label_stride, (k + 1) * label_stride)``.
    """

    doc_bases: np.ndarray
    label_stride: int
    labels: tuple[str, ...]

    @classmethod
    def build(cls, text_lengths: Sequence[int], labels: Sequence[str]) -> Layout:
        lengths = np.asarray(text_lengths, dtype=np.int64) + 1  # one gap character after every document
        bases = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        return cls(bases, int(lengths.sum()) + 1, tuple(labels))

    @property
    def n_docs(self) -> int:
        return len(self.doc_bases)


@dataclass(frozen=True)
class RunSet:
    """Sorted, disjoint, non-touching runs in the global space of a :class:`Layout`.

    Attributes:
        starts, ends: global half-open bounds (``int64``), strictly increasing.
        docs: document index of each run; ``labels``: label index of each run.
    """

    starts: np.ndarray
    ends: np.ndarray
    docs: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_arrays(cls, layout: Layout, docs: Sequence[int] | np.ndarray, labels: Sequence[int] | np.ndarray,
                    starts: Sequence[int] | np.ndarray, ends: Sequence[int] | np.ndarray) -> RunSet:
        """Merge spans given as parallel arrays of local offsets into maximal runs per (document, label)."""
        docs = np.asarray(docs, dtype=np.int64)
        labels = np.asarray(labels, dtype=np.int64)
        offset = layout.doc_bases[docs] + labels * layout.label_stride if len(docs) else docs
        ks = np.asarray(starts, dtype=np.int64) + offset
        ke = np.asarray(ends, dtype=np.int64) + offset
        n = len(ks)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, empty)
        order = np.lexsort((ke, ks))
        ks, ke, docs, labels = ks[order], ke[order], docs[order], labels[order]
        reach = np.maximum.accumulate(ke)
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.greater(ks[1:], reach[:-1], out=new[1:])  # start == previous reach: adjacent, merged
        first = np.flatnonzero(new)
        last = np.concatenate((first[1:], [n])) - 1
        return cls(ks[first], reach[last], docs[first], labels[first])

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def lengths(self) -> np.ndarray:
        return self.ends - self.starts


@dataclass(frozen=True)
class Markers:
    """The markers of every target run, grouped by target (targets ascending, markers left to right).

    Attributes:
        counts: number of markers of each target run (``m`` in the paper), shape ``(n_targets,)``.
        targets: target index of each marker; ``covers``: index of the other side's run it comes from.
        lengths: marker lengths (``a_i`` in the paper).
    """

    counts: np.ndarray
    targets: np.ndarray
    covers: np.ndarray
    lengths: np.ndarray

    @cached_property
    def group_starts(self) -> np.ndarray:
        """Index of the first marker of each target that has at least one marker."""
        return (np.cumsum(self.counts) - self.counts)[self.counts > 0]

    @cached_property
    def hit(self) -> np.ndarray:
        """Indices of the targets with at least one marker."""
        return np.flatnonzero(self.counts > 0)


def find_markers(targets: RunSet, covers: RunSet) -> Markers:
    """Markers of each run of ``targets``: its intersections with the runs of ``covers``.

    Both run sets must come from the same :class:`Layout`. Runs are disjoint and sorted, so the covers that
    meet a target ``[s, e)`` are the contiguous block ``lo <= j < hi`` with ``cover.end[j] > s`` and
    ``cover.start[j] < e``.
    """
    lo = np.searchsorted(covers.ends, targets.starts, side="right")
    hi = np.searchsorted(covers.starts, targets.ends, side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    target_idx = np.repeat(np.arange(len(targets), dtype=np.int64), counts)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    cover_idx = np.repeat(lo, counts) + within
    lengths = (np.minimum(targets.ends[target_idx], covers.ends[cover_idx])
               - np.maximum(targets.starts[target_idx], covers.starts[cover_idx]))
    return Markers(counts, target_idx, cover_idx, lengths)
