"""Hyperparameter grid search on a fold's validation split only (never its test split).

For each point of the grid (the Cartesian product of the option lists, e.g. CRF ``c1``/``c2``/``window``)
a fresh model is fitted on the fold's training documents and scored on its validation documents with the
weighted soft matching F1 at the first requested ``p``; the best point (ties: the earlier point in grid
order) is returned. :func:`eccr.experiments.runner.cross_validate` calls this per fold when the config has a
``search`` section, then refits the winner on the training split and only then touches the test split, so
the reported test scores stay unbiased (nested cross-validation).

>>> [dict(p) for p in grid_points({"c2": [0.01, 0.1], "window": [2]})]
[{'c2': 0.01, 'window': 2}, {'c2': 0.1, 'window': 2}]
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eccr.corpus.types import Corpus
from eccr.errors import ConfigError


@dataclass(frozen=True)
class Trial:
    """One grid point: the options it changed, its validation F1 and how long fitting took."""

    changes: Mapping[str, Any]
    validation_f1: float
    fit_s: float

    def to_dict(self) -> dict[str, Any]:
        return {**dict(self.changes), "validation_f1": self.validation_f1, "fit_s": round(self.fit_s, 3)}


@dataclass(frozen=True)
class SearchResult:
    """All trials of one search and the winning options (base options with the best changes applied)."""

    trials: tuple[Trial, ...]
    best: Trial
    best_options: Mapping[str, Any]
    p: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": f"wsm f1 at p={self.p:g} on the validation split",
            "best": self.best.to_dict(),
            "best_options": dict(self.best_options),
            "trials": [t.to_dict() for t in self.trials],
        }


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of the grid's value lists, first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def grid_search(
    spec: str,
    base_options: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    train: Corpus,
    validation: Corpus,
    *,
    p: float = 1.0,
    on_trial: Callable[[int, int, Trial], None] | None = None,
) -> SearchResult:
    """Fit ``spec`` for every grid point on ``train`` and pick the best by validation wsm F1 at ``p``.

    Raises:
        ConfigError: ``E045`` when the grid is empty or there are no validation documents to tune on.
    """
    from eccr.metrics import score
    from eccr.models.base import create_model

    points = grid_points(grid)
    if not points:
        raise ConfigError("E045", "search grid is empty")
    if len(validation) == 0:
        raise ConfigError("E045", "search needs validation documents; set validation_fraction above 0")
    trials = []
    for number, changes in enumerate(points, start=1):
        model = create_model(spec, {**base_options, **changes})
        started = time.perf_counter()
        model.fit(train, validation)
        fit_s = time.perf_counter() - started
        report = score(validation, model.predict(validation), p=(float(p),))
        trial = Trial(changes, report.wsm[float(p)].f1, fit_s)
        trials.append(trial)
        if on_trial is not None:
            on_trial(number, len(points), trial)
    best = max(trials, key=lambda t: t.validation_f1)  # max keeps the first of equal values
    return SearchResult(tuple(trials), best, {**base_options, **best.changes}, p)
