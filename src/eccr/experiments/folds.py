"""Document-level cross-validation folds: seeded, written to ``folds.json``, checked for leakage.

The rule (the paper's protocol): the documents are shuffled once with the seed and cut into ``k`` test
blocks of near-equal size, so every document is tested exactly once. For fold ``i`` the other documents,
taken in block order starting after block ``i`` (``i+1, i+2, …`` wrapping round), give the validation set
(the first ``round(validation_fraction × n)`` of them) and the training set (the rest). With ``k = 5`` and
``validation_fraction = 0.2`` the validation set of fold ``i`` is the test block of fold ``i+1`` and the
split is train/validation/test = 0.6/0.2/0.2 of the documents.

Folds are by document, never by sentence or span, so no text of a test document is seen in training.

>>> plan = make_folds([f"d{i}" for i in range(10)], k=5, seed=0)
>>> [(len(f.train), len(f.validation), len(f.test)) for f in plan.folds][0]
(6, 2, 2)
>>> sorted(i for f in plan.folds for i in f.test) == sorted(f"d{i}" for i in range(10))
True
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eccr.errors import ConfigError, Location

FOLDS_FORMAT = "eccr-folds/1"
FOLDS_FILE = "folds.json"


@dataclass(frozen=True)
class Fold:
    """One fold: disjoint document-id tuples for training, validation (tuning/early stopping) and test."""

    index: int
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fold": self.index,
            "train": list(self.train),
            "validation": list(self.validation),
            "test": list(self.test),
        }


@dataclass(frozen=True)
class FoldPlan:
    """All folds of one cross-validation, with the parameters that produced them."""

    folds: tuple[Fold, ...]
    seed: int | None
    validation_fraction: float

    @property
    def k(self) -> int:
        return len(self.folds)

    @property
    def ids(self) -> tuple[str, ...]:
        """Every document id, in test-block order."""
        return tuple(i for f in self.folds for i in f.test)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FOLDS_FORMAT,
            "k": self.k,
            "seed": self.seed,
            "validation_fraction": self.validation_fraction,
            "n_documents": len(self.ids),
            "folds": [f.to_dict() for f in self.folds],
        }

    def to_json(self) -> str:
        """The text of ``folds.json``."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write the plan as JSON (``folds.json``) and return the path."""
        from eccr.corpus.output import write_text_output

        return write_text_output(path, self.to_json())

    def check(self, corpus_ids: Sequence[str] | None = None, *, source: str | None = None) -> None:
        """Raise ``ConfigError`` (``E047``) unless the folds are a leak-free partition.

        Checked: in every fold train, validation and test are disjoint and together hold every document
        exactly once; the test sets of the folds partition the documents; with ``corpus_ids`` given, the
        folds name exactly the corpus's documents (none missing, none unknown).
        """
        where = Location(file=source)
        all_ids = self.ids
        counts = Counter(all_ids)
        dup = next((i for i, c in counts.items() if c > 1), None)
        if dup is not None:
            raise ConfigError(
                "E047",
                f"document {dup!r} is in the test set of {counts[dup]} folds; "
                "each document must be tested exactly once",
                where,
            )
        universe = set(all_ids)
        for fold in self.folds:
            parts = {"train": fold.train, "validation": fold.validation, "test": fold.test}
            seen: dict[str, str] = {}
            for name, ids in parts.items():
                for doc_id in ids:
                    if doc_id in seen:
                        raise ConfigError(
                            "E047",
                            f"fold {fold.index} leaks document {doc_id!r}: it is in both {seen[doc_id]} and "
                            f"{name}",
                            where,
                        )
                    seen[doc_id] = name
            missing = universe - seen.keys()
            if missing:
                raise ConfigError(
                    "E047",
                    f"fold {fold.index} does not place document {sorted(missing)[0]!r} "
                    f"({len(missing)} missing) in train, validation or test",
                    where,
                )
            unknown = seen.keys() - universe
            if unknown:
                raise ConfigError(
                    "E047",
                    f"fold {fold.index} names document {sorted(unknown)[0]!r} that is in no fold's test set",
                    where,
                )
            if not fold.train:
                raise ConfigError("E047", f"fold {fold.index} has no training documents", where)
        if corpus_ids is not None:
            corpus_set = set(corpus_ids)
            absent = corpus_set - universe
            if absent:
                raise ConfigError(
                    "E047",
                    f"the folds do not cover document {sorted(absent)[0]!r} of the corpus "
                    f"({len(absent)} corpus documents missing); regenerate the folds for this corpus",
                    where,
                )
            extra = universe - corpus_set
            if extra:
                raise ConfigError(
                    "E047",
                    f"the folds name document {sorted(extra)[0]!r}, which the corpus does not contain "
                    f"({len(extra)} unknown ids); were they made for another corpus or selection?",
                    where,
                )


def make_folds(ids: Sequence[str], k: int = 5, seed: int = 0, validation_fraction: float = 0.2) -> FoldPlan:
    """Seeded document-level folds (the rule is in the module docstring).

    Args:
        ids: document ids (unique).
        k: number of folds (at least 2, at most the number of documents).
        seed: shuffling seed; the same ids, ``k``, seed and fraction always give the same folds.
        validation_fraction: share of *all* documents used for validation in each fold (0 for none).
    """
    ids = list(ids)
    if len(set(ids)) != len(ids):
        dup = next(i for i, c in Counter(ids).items() if c > 1)
        raise ConfigError("E047", f"document id {dup!r} occurs twice; folds need unique ids")
    n = len(ids)
    if k < 2:
        raise ConfigError("E045", f"folds must be at least 2, got {k}")
    if n < k:
        raise ConfigError("E045", f"cannot make {k} folds from {n} documents; use fewer folds")
    if not 0 <= validation_fraction < 1 - 1 / k:
        raise ConfigError(
            "E045",
            f"validation_fraction must be in [0, {1 - 1 / k:.3g}) for {k} folds, got {validation_fraction}",
        )
    order = sorted(ids)  # independent of input order
    random.Random(seed).shuffle(order)
    bounds = [round(i * n / k) for i in range(k + 1)]
    blocks = [order[bounds[i] : bounds[i + 1]] for i in range(k)]
    n_validation = round(validation_fraction * n)
    folds = []
    for i in range(k):
        rest = [doc for j in range(1, k) for doc in blocks[(i + j) % k]]
        n_val = min(n_validation, len(rest) - 1)
        folds.append(Fold(i, tuple(rest[n_val:]), tuple(rest[:n_val]), tuple(blocks[i])))
    plan = FoldPlan(tuple(folds), seed, validation_fraction)
    plan.check(ids)
    return plan


def read_folds(path: str | Path, corpus_ids: Sequence[str] | None = None) -> FoldPlan:
    """Read a ``folds.json`` and check it (against ``corpus_ids`` when given); errors name the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("E043", f"folds file {p} does not exist", Location(file=str(p)))
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError("E047", f"folds file is not valid JSON: {err}", Location(file=str(p))) from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FOLDS_FORMAT
        or not isinstance(data.get("folds"), list)
    ):
        raise ConfigError(
            "E047",
            f'not an eccr folds file (expected "format": {FOLDS_FORMAT!r} and a "folds" list)',
            Location(file=str(p)),
        )
    folds = []
    for index, entry in enumerate(data["folds"]):
        try:
            parts = {name: tuple(str(x) for x in entry[name]) for name in ("train", "validation", "test")}
        except (KeyError, TypeError):
            raise ConfigError(
                "E047", f'fold #{index} needs lists "train", "validation" and "test"', Location(file=str(p))
            ) from None
        folds.append(Fold(index, parts["train"], parts["validation"], parts["test"]))
    if len(folds) < 2:
        raise ConfigError(
            "E047", f"a folds file needs at least 2 folds, found {len(folds)}", Location(file=str(p))
        )
    plan = FoldPlan(tuple(folds), data.get("seed"), float(data.get("validation_fraction", 0.0)))
    plan.check(corpus_ids, source=str(p))
    return plan


def split_validation(
    ids: Sequence[str], validation_fraction: float, seed: int = 0
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(train, validation)`` ids for a single training run: a seeded ``validation_fraction`` held out.

    >>> train, validation = split_validation([f"d{i}" for i in range(10)], 0.2, seed=0)
    >>> len(train), len(validation), set(train) & set(validation)
    (8, 2, set())
    """
    if not 0 <= validation_fraction < 1:
        raise ConfigError("E045", f"validation_fraction must be in [0, 1), got {validation_fraction}")
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n_val = min(round(validation_fraction * len(order)), max(len(order) - 1, 0))
    return tuple(order[n_val:]), tuple(order[:n_val])
