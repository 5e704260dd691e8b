"""Finding and reading the finished ``eccr cv`` run directories a report is built from.

A report takes any list of paths. Each path is either a **run directory** (what
:func:`eccr.experiments.runner.cross_validate` writes — also each cell of an experiment matrix) or a
directory that **holds run directories** at any depth (an experiment's output folder); those are found in
sorted path order, without looking inside a run directory. A run is *finished* when its ``summary.json``
exists (the runner writes it last): an unfinished run found under a parent directory is skipped with a
warning, one named directly is an error.

From each run the report reads what the runner stored: the model spec, corpus and p values of
``resolved.yaml``, the folds of ``folds.json``, each fold's ``fold-<k>/gold.jsonl`` and
``fold-<k>/predictions.jsonl`` (scored again, so every number is the evaluation module's on the stored
predictions), the pooled ``gold.jsonl`` / ``predictions.jsonl`` and, to check the recomputation,
``fold-<k>/scores.json``.

Runs are **grouped by gold**: runs whose pooled gold documents (ids, texts, spans) are identical are compared
with each other; runs on another corpus, selection or version of the gold form their own group and get their
own tables, never a shared one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eccr.corpus.types import Corpus
from eccr.errors import ConfigError, Location
from eccr.experiments.config import RESOLVED_CONFIG_FILE, load_yaml
from eccr.experiments.folds import FOLDS_FILE, FoldPlan, read_folds
from eccr.experiments.runner import RUN_GOLD, RUN_PREDICTIONS, SUMMARY_JSON
from eccr.experiments.runs import is_run_directory
from eccr.metrics.report import DEFAULT_P
from eccr.reports.families import Family, model_family, model_label

SCORES_JSON = "scores.json"


@dataclass(frozen=True)
class RunFold:
    """One fold of a run: its test documents' gold and predictions, and the scores the runner stored."""

    index: int
    gold: Corpus
    predictions: Corpus
    stored_scores: dict[str, Any] | None


@dataclass(frozen=True)
class RunData:
    """A finished cv run as stored: model, corpus, folds, per-fold and pooled documents."""

    path: Path
    spec: str
    family: Family
    label: str
    corpus: str | None
    select: str | None
    p_values: tuple[float, ...]
    plan: FoldPlan
    folds: tuple[RunFold, ...]
    gold: Corpus
    predictions: Corpus


def _error(code: str, message: str, path: Path) -> ConfigError:
    return ConfigError(code, message, Location(file=str(path)))


def find_run_dirs(paths: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """The run directories named by or found under ``paths`` (each once), and warnings for skipped ones.

    Raises:
        ConfigError: ``E143`` for a path that does not exist or holds no run directory; ``E144`` for an
            unfinished run directory named directly.
    """
    if not paths:
        raise ConfigError(
            "E143",
            "no run directories given: eccr report RUN_DIR... (eccr cv run directories "
            "or folders holding them)",
        )
    found: dict[Path, None] = {}
    warnings: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise _error(
                "E143",
                f"{path} is not a directory (give eccr cv run directories or a folder holding them)",
                path,
            )
        if is_run_directory(path):
            if not (path / SUMMARY_JSON).is_file():
                raise _error(
                    "E144",
                    f"run {path} is unfinished (no {SUMMARY_JSON}); let eccr cv finish or rerun it",
                    path,
                )
            found.setdefault(path.resolve(), None)
            continue
        inside = list(_walk_runs(path, warnings))
        if not inside:
            raise _error("E143", f"{path} is not an eccr cv run directory and holds none", path)
        for run in inside:
            found.setdefault(run.resolve(), None)
    return list(found), warnings


def _walk_runs(root: Path, warnings: list[str]) -> Iterable[Path]:
    for directory, subdirs, _files in os.walk(root):
        here = Path(directory)
        subdirs.sort()
        if is_run_directory(here):
            subdirs.clear()  # fold folders are not runs
            if (here / SUMMARY_JSON).is_file():
                yield here
            else:
                warnings.append(f"skipped unfinished run {here} (no {SUMMARY_JSON})")


def _read_jsonl(path: Path) -> Corpus:
    from eccr.corpus.io import read_corpus

    if not path.is_file():
        raise _error("E144", f"run file {path} is missing; the run directory is incomplete", path)
    return read_corpus(path, "jsonl")


def _p_values(config: dict[str, Any]) -> tuple[float, ...]:
    values = config.get("p") or list(DEFAULT_P)
    return tuple(float(v) for v in values)


def read_run_dir(path: str | Path) -> RunData:
    """Read one finished run directory.

    Raises:
        ConfigError: ``E144`` when a file the runner writes is missing or the fold files disagree with
            ``folds.json``; reader errors (``E0xx``) for damaged files.
    """
    run = Path(path)
    config_file = run / RESOLVED_CONFIG_FILE
    if not config_file.is_file():
        raise _error("E144", f"run {run} has no {RESOLVED_CONFIG_FILE}; it was not written by eccr cv", run)
    config = load_yaml(config_file)
    model = config.get("model") or {}
    corpus = config.get("corpus") or {}
    spec = str(model.get("spec") or "unknown")
    if not (run / FOLDS_FILE).is_file():
        raise _error("E144", f"run {run} has no {FOLDS_FILE}", run)
    plan = read_folds(run / FOLDS_FILE)
    folds = []
    for fold in plan.folds:
        fold_dir = run / f"fold-{fold.index}"
        gold = _read_jsonl(fold_dir / RUN_GOLD)
        if sorted(gold.ids) != sorted(fold.test):
            raise _error(
                "E144",
                f"{fold_dir / RUN_GOLD} does not hold the test documents of fold {fold.index} "
                f"in {FOLDS_FILE}; the run directory was changed after the run",
                fold_dir,
            )
        stored = fold_dir / SCORES_JSON
        folds.append(
            RunFold(
                fold.index,
                gold,
                _read_jsonl(fold_dir / RUN_PREDICTIONS),
                json.loads(stored.read_text(encoding="utf-8")) if stored.is_file() else None,
            )
        )
    return RunData(
        run,
        spec,
        model_family(spec, run),
        model_label(spec),
        corpus.get("path"),
        corpus.get("select"),
        _p_values(config),
        plan,
        tuple(folds),
        _read_jsonl(run / RUN_GOLD),
        _read_jsonl(run / RUN_PREDICTIONS),
    )


def gold_digest(corpus: Corpus) -> str:
    """A digest of the gold documents (ids, texts, spans and labels), independent of document order."""
    digest = hashlib.sha256()
    for doc in sorted(corpus, key=lambda d: d.id):
        spans = [(s.start, s.end, s.label) for s in sorted(doc.spans, key=lambda s: s.sort_key())]
        digest.update(json.dumps([doc.id, doc.text, spans], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def check_labels(runs: Sequence[RunData], labels: Sequence[str] | None) -> None:
    """Raise ``E147`` unless ``labels`` (when given) holds one distinct label per run."""
    if labels is not None and (len(labels) != len(runs) or len(set(labels)) != len(labels)):
        raise ConfigError(
            "E147",
            f"give one distinct --label per run: {len(runs)} runs, {len(labels)} labels "
            f"({', '.join(labels)})",
        )


def unique_labels(runs: Sequence[RunData]) -> list[str]:
    """Row labels of runs shown together: each run's model label, followed where two runs share one by
    their directories relative to the folder that holds both (``crf [medtxt/crf-extra]``)."""
    out = []
    for run in runs:
        same = [r.path for r in runs if r.label == run.label]
        if len(same) == 1:
            out.append(run.label)
            continue
        common = Path(os.path.commonpath(same))
        out.append(f"{run.label} [{run.path.relative_to(common).as_posix() or run.path.name}]")
    return out
