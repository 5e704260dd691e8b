"""Maximal runs and markers."""

import numpy as np

from eccr.metrics.runs import Layout, RunSet, find_markers


def test_runs_merge_overlapping_and_adjacent_spans_but_not_across_documents_or_labels():
    layout = Layout.build([5, 5], ("a", "b"))
    runs = RunSet.from_arrays(layout, docs=[0, 0, 0, 1, 0], labels=[0, 0, 0, 0, 1],
                              starts=[0, 2, 3, 0, 1], ends=[2, 4, 5, 5, 3])
    local = runs.starts - layout.doc_bases[runs.docs] - runs.labels * layout.label_stride
    assert list(zip(runs.docs.tolist(), runs.labels.tolist(), local.tolist(), runs.lengths.tolist(),
                    strict=True)) == [(0, 0, 0, 5), (1, 0, 0, 5), (0, 1, 1, 2)]


def test_markers_are_intersections_with_the_other_side():
    layout = Layout.build([20], ("c",))
    gold = RunSet.from_arrays(layout, [0, 0, 0], [0, 0, 0], [0, 8, 15], [6, 12, 16])
    pred = RunSet.from_arrays(layout, [0, 0, 0], [0, 0, 0], [1, 4, 10], [3, 9, 14])
    m = find_markers(gold, pred)
    assert m.counts.tolist() == [2, 2, 0]
    assert m.lengths.tolist() == [2, 2, 1, 2]
    assert m.targets.tolist() == [0, 0, 1, 1]
    assert m.covers.tolist() == [0, 1, 1, 2]


def test_empty_sides():
    layout = Layout.build([3], ("c",))
    empty = RunSet.from_arrays(layout, [], [], [], [])
    full = RunSet.from_arrays(layout, [0], [0], [0], [3])
    assert len(empty) == 0
    m = find_markers(full, empty)
    assert m.counts.tolist() == [0] and len(m.lengths) == 0
    assert find_markers(empty, full).counts.dtype.kind == "i"
    assert np.array_equal(find_markers(full, full).lengths, [3])
