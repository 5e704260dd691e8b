"""Finished runs as inputs to a paired comparison: a cross-validation run directory or a predictions file.

A **run directory** is what :func:`eccr.experiments.runner.cross_validate` writes. Its predictions are
``DIR/predictions.jsonl`` (every document of the corpus, predicted by the fold that held it out); a run
written before that file existed is read from ``DIR/fold-<k>/predictions.jsonl`` in fold order. Its gold is
``DIR/gold.jsonl`` (or the fold files), and ``DIR/folds.json`` records the folds.

A **predictions file** is any corpus file eccr reads; it brings no gold and no folds.

:func:`compare_runs` compares two runs on the same documents with :func:`eccr.metrics.compare_systems`.
The rules:

* Gold is ``gold`` when given; otherwise RUN_A's ``gold.jsonl`` (RUN_B's when only RUN_B is a directory).
  Two predictions files without ``gold`` are an error (``E053``).
* The two runs must hold the same document ids (unless ``allow_missing``) with the same texts; otherwise
  ``E055`` names the first differing id (in RUN_A's order, then RUN_B's).
* Two run directories whose ``folds.json`` differ, or whose ``gold.jsonl`` differ, are compared all the
  same, with a warning: the paired test is per document and each document's prediction came from a model
  that never saw it, but the two systems were trained on different splits (or scored on other gold).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eccr.corpus.types import Corpus, Document
from eccr.errors import ConfigError, Location, ScoringError
from eccr.experiments.folds import FOLDS_FILE, FoldPlan, read_folds
from eccr.experiments.runner import RUN_GOLD, RUN_PREDICTIONS
from eccr.metrics.stats import PairedComparison


@dataclass(frozen=True)
class RunInput:
    """One side of a comparison: its predictions, and for a run directory its gold and folds."""

    path: Path
    predictions: Corpus
    gold: Corpus | None
    folds: FoldPlan | None

    @property
    def is_directory(self) -> bool:
        return self.path.is_dir()


@dataclass(frozen=True)
class RunComparison:
    """A :class:`PairedComparison` of two runs, with the inputs it used and any warnings."""

    comparison: PairedComparison
    run_a: Path
    run_b: Path
    gold: str
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The comparison's :meth:`~PairedComparison.to_dict` plus ``runs`` (paths, gold) and ``warnings``."""
        return {
            **self.comparison.to_dict(),
            "runs": {"a": str(self.run_a), "b": str(self.run_b), "gold": self.gold},
            "warnings": list(self.warnings),
        }


def _fold_files(directory: Path, name: str) -> list[Path]:
    """``fold-<k>/<name>`` files of a run directory, in numeric fold order."""
    found = []
    for fold_dir in directory.glob("fold-*"):
        suffix = fold_dir.name.removeprefix("fold-")
        if suffix.isdigit() and (fold_dir / name).is_file():
            found.append((int(suffix), fold_dir / name))
    return [path for _, path in sorted(found)]


def is_run_directory(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding ``predictions.jsonl`` or ``fold-<k>/predictions.jsonl``."""
    p = Path(path)
    return p.is_dir() and ((p / RUN_PREDICTIONS).is_file() or bool(_fold_files(p, RUN_PREDICTIONS)))


def _read_run_corpus(directory: Path, name: str, select: str | None) -> Corpus | None:
    """``DIR/<name>``, or the concatenation of ``DIR/fold-<k>/<name>`` in fold order; ``None`` if neither."""
    from eccr.corpus.io import read_corpus

    whole = directory / name
    if whole.is_file():
        return read_corpus(whole, "jsonl", select=select)
    files = _fold_files(directory, name)
    if not files:
        return None
    documents: list[Document] = []
    seen: dict[str, Path] = {}
    for file in files:
        for doc in read_corpus(file, "jsonl", select=select):
            if doc.id in seen:
                raise ScoringError(
                    "E055",
                    f"document {doc.id!r} is in two folds' {name} ({seen[doc.id]} and {file}); the fold "
                    "files of a run directory must partition the corpus",
                    Location(file=str(file), doc_id=doc.id),
                )
            seen[doc.id] = file
            documents.append(doc)
    return Corpus(documents, source=str(directory))


def read_run(path: str | Path, *, pred_format: str | None = None, select: str | None = None,
             gold_select: str | None = None) -> RunInput:
    """Read a run directory or a predictions file (``pred_format`` and ``select`` apply to predictions).

    ``gold_select`` is the span selector applied to a run directory's gold.
    """
    from eccr.corpus.io import read_corpus

    p = Path(path)
    if not p.exists():
        raise ConfigError("E043", f"run {p} does not exist (give a cv run directory or a predictions file)",
                          Location(file=str(p)))
    if not p.is_dir():
        return RunInput(p, read_corpus(p, pred_format, select=select), None, None)
    predictions = _read_run_corpus(p, RUN_PREDICTIONS, select)
    if predictions is None:
        raise ConfigError("E043", f"directory {p} is not an eccr cv run directory: it has no "
                                  f"{RUN_PREDICTIONS} and no fold-<k>/{RUN_PREDICTIONS}",
                          Location(file=str(p)))
    gold = _read_run_corpus(p, RUN_GOLD, gold_select)
    folds = read_folds(p / FOLDS_FILE) if (p / FOLDS_FILE).is_file() else None
    return RunInput(p, predictions, gold, folds)


def _first_text_difference(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def check_same_documents(run_a: RunInput, run_b: RunInput, *, allow_missing: bool = False) -> None:
    """Raise ``E055`` unless both runs hold the same ids (unless ``allow_missing``) with the same texts.

    The error names the first differing id, looking through RUN_A's documents in order, then RUN_B's.
    """
    ids_b = set(run_b.predictions.ids)
    for doc in run_a.predictions:
        if doc.id not in ids_b:
            if allow_missing:
                continue
            raise ScoringError(
                "E055", f"document {doc.id!r} is in run A ({run_a.path}) but not in run B ({run_b.path}); "
                        "paired runs must predict the same documents",
                Location(file=str(run_b.path), doc_id=doc.id))
        other = run_b.predictions.get(doc.id)
        if other.text != doc.text:
            offset = _first_text_difference(doc.text, other.text)
            raise ScoringError(
                "E055", f"document {doc.id!r} has a different text in run A ({run_a.path}) and run B "
                        f"({run_b.path}), first at offset {offset}; the runs are on different corpora",
                Location(file=str(run_b.path), doc_id=doc.id, offset=offset))
    if not allow_missing:
        ids_a = set(run_a.predictions.ids)
        for doc in run_b.predictions:
            if doc.id not in ids_a:
                raise ScoringError(
                    "E055", f"document {doc.id!r} is in run B ({run_b.path}) but not in run A "
                            f"({run_a.path}); paired runs must predict the same documents",
                    Location(file=str(run_a.path), doc_id=doc.id))


def _fold_signature(plan: FoldPlan) -> list[tuple[frozenset[str], frozenset[str], frozenset[str]]]:
    return [(frozenset(f.train), frozenset(f.validation), frozenset(f.test)) for f in plan.folds]


def _first_gold_difference(gold_a: Corpus, gold_b: Corpus) -> str | None:
    """The first id (A's order, then B's) whose text or spans differ between two gold corpora, else None."""
    for doc in gold_a:
        if doc.id not in gold_b:
            return doc.id
        other = gold_b.get(doc.id)
        if (other.text, other.spans) != (doc.text, doc.spans):
            return doc.id
    return next((doc.id for doc in gold_b if doc.id not in gold_a), None)


def run_warnings(run_a: RunInput, run_b: RunInput, *, gold_given: bool) -> tuple[str, ...]:
    """Why a comparison of these two runs needs care (different folds or gold); empty when none."""
    warnings = []
    if run_a.folds is not None and run_b.folds is not None and \
            _fold_signature(run_a.folds) != _fold_signature(run_b.folds):
        warnings.append(
            f"the runs used different folds ({run_a.path / FOLDS_FILE} != {run_b.path / FOLDS_FILE}): the "
            "paired test is still valid per document (every prediction comes from a model that did not see "
            "that document), but the two systems were trained on different splits; rerun one with "
            "--folds-file for a like-for-like comparison"
        )
    if not gold_given and run_a.gold is not None and run_b.gold is not None:
        differing = _first_gold_difference(run_a.gold, run_b.gold)
        if differing is not None:
            warnings.append(
                f"the runs' {RUN_GOLD} differ (first at document {differing!r}; another corpus selection?): "
                f"both are scored against {run_a.path / RUN_GOLD}"
            )
    return tuple(warnings)


def compare_runs(run_a: str | Path, run_b: str | Path, gold: str | Path | None = None, *,
                 measure: str = "wsm", p: float | None = 1.0, metric: str = "f1", typed: bool = False,
                 tokenizer: str | None = None, gold_format: str | None = None, pred_format: str | None = None,
                 select: str | None = None, pred_select: str | None = None, allow_missing: bool = False,
                 n_resamples: int = 1000, n_permutations: int = 1000, seed: int = 0,
                 zero_division: float = 0.0) -> RunComparison:
    """Compare two runs (directories or predictions files) on the same documents: A − B, CI and p-value.

    Args:
        run_a, run_b: cv run directories or predictions files (any corpus format; ``pred_format``).
        gold: the gold corpus; default: RUN_A's (else RUN_B's) ``gold.jsonl``. Required for two files.
        select: span selector applied to the gold; ``pred_select`` to the predictions.
        measure, p, metric, typed, tokenizer, n_resamples, n_permutations, seed, zero_division: as in
            :func:`eccr.metrics.compare_systems`.

    Raises:
        ConfigError: ``E043`` for a missing run or a directory that is no run, ``E053`` without any gold.
        ScoringError: ``E055`` when the runs differ in documents or texts; ``E050``–``E052`` from pairing
            with the gold.
    """
    from eccr.corpus.io import read_corpus
    from eccr.metrics import compare_systems

    runs = [read_run(path, pred_format=pred_format, select=pred_select, gold_select=select)
            for path in (run_a, run_b)]
    if gold is not None:
        gold_corpus, gold_name = read_corpus(gold, gold_format, select=select), str(gold)
    else:
        owner = next((run for run in runs if run.gold is not None), None)
        if owner is None:
            raise ConfigError(
                "E053", "--gold GOLD is required: neither run is a cv run directory with a gold.jsonl "
                        f"({runs[0].path}, {runs[1].path})")
        gold_corpus, gold_name = owner.gold, str(owner.path / RUN_GOLD)
    check_same_documents(runs[0], runs[1], allow_missing=allow_missing)
    comparison = compare_systems(
        gold_corpus, runs[0].predictions, runs[1].predictions, measure=measure, p=p, metric=metric,
        typed=typed, tokenizer=tokenizer, allow_missing=allow_missing, n_resamples=n_resamples,
        n_permutations=n_permutations, seed=seed, zero_division=zero_division)
    return RunComparison(comparison, runs[0].path, runs[1].path, gold_name,
                         run_warnings(runs[0], runs[1], gold_given=gold is not None))
