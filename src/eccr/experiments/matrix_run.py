"""Running an experiment plan: every selected cell, resumably, via :func:`~eccr.experiments.runner.run_fold`.

The rules (the layout is in :mod:`eccr.experiments.matrix`):

* **Folds are shared.** Each corpus's folds are drawn once (or read from its ``folds_file``) and written to
  ``OUT/<corpus>/folds.json``; every model of that corpus trains and tests on exactly those folds, and every
  run directory holds a copy, so ``eccr compare`` sees identical folds.
* **Finished cells are skipped.** A cell is finished when its ``fold-<k>/fold.json`` exists (written last by
  ``run_fold``). Stopping a run (Ctrl-C, a killed job) loses at most the cells in progress; a Hugging Face
  model even resumes inside its fold from the Trainer checkpoints.
* **A failing cell does not stop the others.** Its error (code, message, traceback) goes to
  ``fold-<k>/error.json`` and ``status.json``; the other cells go on, and the next run retries it.
* **A run directory holds one configuration.** Resuming with a changed model, corpus or protocol is refused
  (``E152``) before anything runs, naming the changed keys: write to another ``--out`` instead.
* **Summaries when complete.** Once every fold of a run is finished its run-level files
  (``predictions.jsonl``, ``gold.jsonl``, ``summary.*``) are written from the stored fold files.

Progress covers the whole matrix (cells done / selected, elapsed) with an estimate of the time left: the mean
wall time of the finished folds of the same run, else of the same model on other corpora, else of every
finished fold.
"""

from __future__ import annotations

import gc
import json
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from eccr.corpus.types import Corpus
from eccr.errors import ConfigError, EccrError, Location
from eccr.experiments.config import RESOLVED_CONFIG_FILE
from eccr.experiments.folds import FOLDS_FILE, FoldPlan, make_folds, read_folds
from eccr.experiments.matrix import (
    ERROR_FILE,
    EXPERIMENT_FILE,
    STATUS_FILE,
    Cell,
    ExperimentPlan,
    Run,
)
from eccr.experiments.runner import (
    FOLD_INFO,
    SUMMARY_JSON,
    CVResult,
    finish_cv,
    fold_finished,
    load_fold_result,
    read_corpus_config,
    run_fold,
    warn_if_no_spans,
)

if TYPE_CHECKING:
    from rich.console import Console

CellStateName = Literal["done", "failed", "pending"]


@dataclass(frozen=True)
class CellState:
    """A cell as found on disk: finished (with its wall time), failed (with its error) or pending."""

    state: CellStateName
    wall_s: float | None = None
    error: Mapping[str, Any] | None = None


def cell_state(directory: Path) -> CellState:
    """The state of the cell whose fold directory is ``directory``."""
    if fold_finished(directory):
        info = json.loads((directory / FOLD_INFO).read_text(encoding="utf-8"))
        return CellState("done", float(info.get("wall_s", 0.0)))
    error = directory / ERROR_FILE
    if error.is_file():
        return CellState("failed", error=json.loads(error.read_text(encoding="utf-8")))
    return CellState("pending")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: Any) -> None:
    from eccr.atomic import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# --- checks before anything runs ---------------------------------------------------------------------------


def _leaves(node: Any, path: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{path}.{key}" if path else str(key)))
        return out
    return {path: node}


def config_changes(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for every setting of ``stored`` that ``current`` changes.

    Settings only ``current`` has (an option added by a newer eccr, at its default) are not changes.

    >>> config_changes({"model": {"options": {"c2": 0.1}}}, {"model": {"options": {"c2": 0.2, "c1": 0}}})
    ['model.options.c2: 0.1 -> 0.2']
    """
    new = _leaves(dict(current))
    return [f"{key}: {old!r} -> {new[key]!r}" for key, old in _leaves(dict(stored)).items()
            if key in new and new[key] != old]


def check_run_directory(run: Run) -> None:
    """Raise ``E152`` when ``run.directory`` holds results of another configuration."""
    stored_path = run.directory / RESOLVED_CONFIG_FILE
    if not stored_path.is_file():
        return
    stored = yaml.safe_load(stored_path.read_text(encoding="utf-8")) or {}
    stored.pop("folds_file", None)  # where the output is, not what ran; corpus_folds checks the folds
    changes = config_changes(stored, run.config.model_dump(mode="json"))
    if changes:
        raise ConfigError(
            "E152",
            f"run directory {run.directory} holds results of another configuration ({'; '.join(changes)}); "
            "resuming would mix them: write to another --out, or remove that directory to start it again",
            Location(file=str(stored_path)),
        )


def check_corpus_folds(plan: ExperimentPlan, corpus_name: str) -> None:
    """Raise ``E152`` when ``OUT/<corpus>/folds.json`` was drawn with another k, seed or validation share."""
    path = plan.folds_files[corpus_name]
    experiment = plan.experiment
    if not path.is_file() or experiment.corpora[corpus_name].folds_file is not None:
        return
    folds = read_folds(path)
    wanted = (experiment.folds, experiment.seed, experiment.validation_fraction)
    if (folds.k, folds.seed, folds.validation_fraction) != wanted:
        raise ConfigError(
            "E152",
            f"{path} holds {folds.k} folds (seed {folds.seed}, validation {folds.validation_fraction}) "
            f"but the experiment asks for {wanted[0]} (seed {wanted[1]}, validation {wanted[2]}); "
            "write to another --out",
            Location(file=str(path)),
        )


def corpus_folds(plan: ExperimentPlan, corpus_name: str, corpus: Corpus) -> FoldPlan:
    """The corpus's shared folds: ``OUT/<corpus>/folds.json`` if it exists, else drawn (or read) and written.

    Raises:
        ConfigError: ``E047`` (from :func:`~eccr.experiments.folds.read_folds`) when stored folds do not fit
            the corpus.
    """
    path = plan.folds_files[corpus_name]
    if path.is_file():
        return read_folds(path, corpus.ids)
    experiment = plan.experiment
    entry = experiment.corpora[corpus_name]
    if entry.folds_file is not None:
        folds = read_folds(entry.folds_file, corpus.ids)
    else:
        folds = make_folds(corpus.ids, k=experiment.folds, seed=experiment.seed,
                           validation_fraction=experiment.validation_fraction)
    folds.write(path)
    return folds


def prepare_run(run: Run, folds: FoldPlan) -> None:
    """Write the run directory's ``resolved.yaml`` and its copy of the corpus's folds."""
    run.directory.mkdir(parents=True, exist_ok=True)
    if not (run.directory / RESOLVED_CONFIG_FILE).is_file():
        run.config.write(run.directory)
    folds.write(run.directory / FOLDS_FILE)


# --- progress ----------------------------------------------------------------------------------------------


def _format_seconds(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class TimeEstimate:
    """Seconds per cell learnt from finished folds: by run, else by model, else overall."""

    by_run: dict[str, list[float]] = field(default_factory=dict)
    by_model: dict[str, list[float]] = field(default_factory=dict)

    def add(self, cell: Cell, seconds: float) -> None:
        self.by_run.setdefault(cell.run.key, []).append(seconds)
        self.by_model.setdefault(cell.run.name, []).append(seconds)

    def cell(self, cell: Cell) -> float | None:
        for values in (self.by_run.get(cell.run.key), self.by_model.get(cell.run.name),
                       [v for vs in self.by_run.values() for v in vs]):
            if values:
                return sum(values) / len(values)
        return None

    def left(self, pending: list[Cell], current: Cell | None, current_elapsed: float) -> float | None:
        """Estimated seconds until every pending cell (and the current one) is finished."""
        total = 0.0
        for cell in pending:
            estimate = self.cell(cell)
            if estimate is None:
                return None
            total += estimate
        if current is not None:
            estimate = self.cell(current)
            if estimate is None:
                return None
            total += max(estimate - current_elapsed, 0.0)
        return total


class MatrixProgress:
    """A rich progress bar over all selected cells, with the current cell's phase and the time left."""

    def __init__(self, enabled: bool, pending: list[Cell], total: int, console: Console | None,
                 estimate: TimeEstimate) -> None:
        self.enabled = enabled
        self.estimate = estimate
        self.pending = list(pending)
        self.current: Cell | None = None
        self._started = time.perf_counter()
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.console = console or Console(stderr=True)
            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("cells"), TimeElapsedColumn(), TextColumn("{task.fields[left]}"),
                console=self.console,
            )
            self._task = self._progress.add_task("experiment", total=total, completed=total - len(pending),
                                                 left="")

    @contextmanager
    def running(self) -> Any:
        if not self.enabled:
            yield self
            return
        with self._progress:
            yield self

    def _left(self) -> str:
        elapsed = time.perf_counter() - self._started
        left = self.estimate.left(self.pending, self.current, elapsed)
        return "estimating time left" if left is None else f"~{_format_seconds(left)} left"

    def start(self, cell: Cell) -> None:
        self.current = cell
        self._started = time.perf_counter()
        if cell in self.pending:
            self.pending.remove(cell)
        self.phase("starting")

    def phase(self, text: str) -> None:
        if self.enabled and self.current is not None:
            self._progress.update(self._task, description=f"{self.current.run.key} {text}", left=self._left())

    def log(self, text: str) -> None:
        if self.enabled:
            self._progress.console.print(text, highlight=False, markup=False)

    def done(self, text: str) -> None:
        """The last description (the bar stays on screen as a record of the run)."""
        if self.enabled:
            self._progress.update(self._task, description=text, left="")

    def finish(self, cell: Cell, seconds: float, ok: bool) -> None:
        if ok:
            self.estimate.add(cell, seconds)
        self.current = None
        if self.enabled:
            self._progress.update(self._task, advance=1, left=self._left())


# --- running -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellFailure:
    """A cell that raised: where, and the error."""

    cell: Cell
    code: str | None
    message: str

    def describe(self) -> str:
        return f"{self.cell.key}: " + (f"[{self.code}] " if self.code else "") + self.message


@dataclass(frozen=True)
class ExperimentOutcome:
    """What :func:`run_plan` did: cells run, skipped and failed, and each complete run's result."""

    plan: ExperimentPlan
    ran: int
    skipped: int
    failures: tuple[CellFailure, ...]
    results: Mapping[str, CVResult]


def record_failure(cell: Cell, err: BaseException, seconds: float) -> CellFailure:
    """Write ``fold-<k>/error.json`` for a cell that raised ``err``; return the failure."""
    code = err.code if isinstance(err, EccrError) else None
    message = err.message if isinstance(err, EccrError) else f"{type(err).__name__}: {err}"
    _write_json(cell.directory / ERROR_FILE, {
        "cell": cell.key,
        "code": code,
        "type": type(err).__name__,
        "message": message,
        "traceback": "".join(traceback.format_exception(err)),
        "failed_at": _now(),
        "wall_s": round(seconds, 3),
    })
    return CellFailure(cell, code, message)


def run_cell(cell: Cell, corpus: Corpus, folds: FoldPlan, extra: Corpus | None,
             progress: MatrixProgress) -> CellFailure | None:
    """Run one cell (one fold of one run); record and return its failure instead of raising."""
    started = time.perf_counter()
    progress.start(cell)
    (cell.directory / ERROR_FILE).unlink(missing_ok=True)
    try:
        result = run_fold(corpus, folds.folds[cell.fold], cell.run.config, cell.directory, progress,  # type: ignore[arg-type]
                          extra=extra if cell.run.config.extra_train is not None else None)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        failure = record_failure(cell, err, time.perf_counter() - started)
        progress.finish(cell, time.perf_counter() - started, ok=False)
        progress.log(f"✗ {failure.describe()}")
        return failure
    finally:
        gc.collect()  # a model per cell: free it before the next one
    seconds = time.perf_counter() - started
    progress.finish(cell, seconds, ok=True)
    f1 = result.report.wsm[result.report.p_values[0]].f1
    progress.log(f"✓ {cell.key}  wsm F1 {f1:.3f}  ({seconds:.1f} s)")
    return None


def finish_run(run: Run, corpus: Corpus, folds: FoldPlan) -> CVResult | None:
    """Write a run's summary from its stored folds when every fold is finished; else ``None``."""
    fold_dirs = [run.fold_dir(fold.index) for fold in folds.folds]
    if not all(fold_finished(d) for d in fold_dirs):
        return None
    results = [load_fold_result(d, run.config) for d in fold_dirs]
    wall = sum(r.wall_s for r in results)
    return finish_cv(corpus, run.config, folds, results, started_at=_now(), wall_s=wall,
                     out_dir=run.directory)


def status(plan: ExperimentPlan) -> dict[str, Any]:
    """``status.json``: every cell of the matrix (selected or not) and every run, as found on disk."""
    cells = []
    runs = []
    for run in plan.runs:
        k = len(read_folds(run.directory / FOLDS_FILE).folds) if (run.directory / FOLDS_FILE).is_file() \
            else plan.experiment.folds
        states = [cell_state(run.fold_dir(fold)) for fold in range(k)]
        for fold, state in enumerate(states):
            cell = {"corpus": run.corpus, "model": run.name, "fold": fold, "state": state.state}
            if state.wall_s is not None:
                cell["wall_s"] = state.wall_s
            if state.error is not None:
                cell["error"] = {key: state.error.get(key) for key in ("code", "message", "failed_at")}
            cells.append(cell)
        entry: dict[str, Any] = {"corpus": run.corpus, "model": run.name, "spec": run.config.model.spec,
                                 "directory": str(run.directory),
                                 "folds_done": sum(s.state == "done" for s in states), "folds": k}
        summary_path = run.directory / SUMMARY_JSON
        if entry["folds_done"] == k and summary_path.is_file():
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            first = next(iter(summary.get("wsm", {})), None)
            if first is not None:
                entry["wsm_f1"] = {"p": first, **summary["wsm"][first]["f1"]}
        runs.append(entry)
    counts = {name: sum(c["state"] == name for c in cells) for name in ("done", "failed", "pending")}
    return {"experiment": plan.experiment.name, "source": plan.source, "updated_at": _now(),
            "cells": counts, "runs": runs, "cell_states": cells}


def write_status(plan: ExperimentPlan) -> Path:
    path = plan.out_dir / STATUS_FILE
    _write_json(path, status(plan))
    return path


def _initial_estimate(plan: ExperimentPlan) -> tuple[TimeEstimate, list[Cell]]:
    """Timings of finished cells (from earlier runs too), and the selected cells still to run."""
    estimate = TimeEstimate()
    for run in plan.runs:
        for fold_dir in run.directory.glob("fold-*"):
            state = cell_state(fold_dir)
            if state.state == "done" and state.wall_s is not None:
                suffix = fold_dir.name.removeprefix("fold-")
                if suffix.isdigit():
                    estimate.add(Cell(run, int(suffix)), state.wall_s)
    return estimate, [cell for cell in plan.cells if not fold_finished(cell.directory)]


def load_plan_corpus(plan: ExperimentPlan, name: str) -> Corpus:
    return read_corpus_config(plan.experiment.corpora[name].corpus_config(), f"corpora.{name}")


def run_plan(plan: ExperimentPlan, *, progress: bool = True, console: Console | None = None,
             load_corpus: Callable[[ExperimentPlan, str], Corpus] = load_plan_corpus) -> ExperimentOutcome:
    """Run every selected, unfinished cell of ``plan``; summarise every run whose folds are all finished.

    Raises:
        ConfigError: ``E152`` before anything runs when a run directory or a corpus's ``folds.json`` holds
            another configuration; reading errors of the corpora (a missing file is ``E043``) and ``E047``
            when stored folds do not fit a corpus.
    """
    from eccr.atomic import atomic_write_text

    for corpus_name in plan.experiment.corpora:
        if plan.runs_of(corpus_name):
            check_corpus_folds(plan, corpus_name)
    for run in plan.runs:
        if plan.cells_of(run):
            check_run_directory(run)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(plan.out_dir / EXPERIMENT_FILE, plan.to_yaml())
    estimate, pending = _initial_estimate(plan)
    bar = MatrixProgress(progress, pending, len(plan.cells), console, estimate)
    failures: list[CellFailure] = []
    results: dict[str, CVResult] = {}
    extra: Corpus | None = None
    try:
        with bar.running():
            for corpus_name in plan.experiment.corpora:
                runs = plan.runs_of(corpus_name)
                if not runs:
                    continue
                corpus = load_corpus(plan, corpus_name)
                warn_if_no_spans(corpus, f"corpus {corpus_name!r}: cross-validating")
                folds = corpus_folds(plan, corpus_name, corpus)
                for run in runs:
                    prepare_run(run, folds)
                    if run.config.extra_train is not None and extra is None:
                        extra = read_corpus_config(run.config.extra_train, "extra_train")
                    ran_here = False
                    for cell in plan.cells_of(run):
                        if not fold_finished(cell.directory):
                            ran_here = True
                            failure = run_cell(cell, corpus, folds, extra, bar)
                            if failure is not None:
                                failures.append(failure)
                    if ran_here or not (run.directory / SUMMARY_JSON).is_file():
                        result = finish_run(run, corpus, folds)
                        if result is not None:
                            results[run.key] = result
            bar.done(f"experiment: {len(pending) - len(failures)} cells finished, {len(failures)} failed")
    finally:
        write_status(plan)
    ran = len(pending)
    return ExperimentOutcome(plan, ran, len(plan.cells) - ran, tuple(failures), results)
