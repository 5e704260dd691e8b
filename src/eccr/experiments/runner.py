"""Training, cross-validation and prediction for any :class:`~eccr.models.base.ConceptModel`.

The runner knows nothing about particular models: it builds one with
:func:`~eccr.models.base.create_model` from the config's spec and options, fits it on a training corpus
(passing the validation corpus for early stopping or tuning), predicts, and scores with
:func:`eccr.metrics.score`. The CRF, the gazetteer and HF token classification all go through the same
code, so their figures are comparable.

Run directory written by :func:`cross_validate` (documented in ``docs/experiments.md``)::

    DIR/resolved.yaml              the fully resolved ExperimentConfig
    DIR/folds.json                 the fold assignment (reusable with --folds-file)
    DIR/fold-<k>/predictions.jsonl the model's spans for the fold's test documents
    DIR/fold-<k>/gold.jsonl        the gold spans of those documents (so the directory is self-contained)
    DIR/fold-<k>/scores.json       eccr.metrics.score(...).to_dict() on the test documents, by length
    DIR/fold-<k>/fold.json         sizes, chosen options, fit/predict wall time
    DIR/fold-<k>/search.json       grid-search trials on the validation split (only with ``search``)
    DIR/fold-<k>/...               what the model keeps beside its predictions (``write_diagnostics``; e.g.
                                   ``it:`` writes generations.jsonl, generation-summary.json)
    DIR/fold-<k>/model/            the trained model (only with ``save_models``)
    DIR/predictions.jsonl          every fold's test predictions, in fold order: one file for the corpus
    DIR/gold.jsonl                 the gold spans of the same documents, in the same order
    DIR/summary.json               mean (SD) and pooled scores, per-fold figures, run info and versions
    DIR/summary.md, summary.csv    the same for people and spreadsheets
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from eccr.corpus.types import Corpus, Document
from eccr.errors import ConfigError, Location
from eccr.experiments.config import CorpusConfig, ExperimentConfig
from eccr.experiments.folds import FOLDS_FILE, Fold, FoldPlan, make_folds, read_folds, split_validation

if TYPE_CHECKING:
    from rich.console import Console

    from eccr.metrics.report import ScoreReport
    from eccr.models.base import ConceptModel

SUMMARY_JSON = "summary.json"
RUN_PREDICTIONS = "predictions.jsonl"
RUN_GOLD = "gold.jsonl"
SUMMARY_MD = "summary.md"
SUMMARY_CSV = "summary.csv"
TRAINING_JSON = "training.json"
#: A fold's sizes, options and timings; written last, so its presence marks the fold finished.
FOLD_INFO = "fold.json"

#: Distributions whose versions every run records (those not installed are left out).
RECORDED_PACKAGES = (
    "eccr",
    "numpy",
    "pydantic",
    "python-crfsuite",
    "torch",
    "transformers",
    "tokenizers",
    "peft",
    "accelerate",
    "fugashi",
    "unidic-lite",
    "spacy",
    "ja-ginza",
    "sudachipy",
    "sudachidict-core",
)


def environment() -> dict[str, Any]:
    """Python, platform and library versions, for reproducibility records."""
    from importlib import metadata

    from eccr import __version__

    packages = {}
    for name in RECORDED_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    packages["eccr"] = __version__
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages}


def load_corpus(config: ExperimentConfig) -> Corpus:
    """Read ``config.corpus`` (path, format, selector, leniency, reader options)."""
    return read_corpus_config(config.corpus)


def read_corpus_config(corpus: CorpusConfig, key: str = "corpus") -> Corpus:
    """Read the corpus a :class:`~eccr.experiments.config.CorpusConfig` names (``key`` names it in errors)."""
    from eccr.corpus.io import read_corpus

    if corpus.path is None:
        raise ConfigError(
            "E045", f"invalid config key '{key}.path': no corpus given (pass CORPUS or set {key}.path)"
        )
    return read_corpus(corpus.path, corpus.format, select=corpus.select, lenient=corpus.lenient,
                       **corpus.options)


def warn_if_no_spans(corpus: Corpus, what: str) -> None:
    """Warn (``E029``) when ``corpus`` holds no span: training or scoring on it says nothing."""
    from eccr.errors import warn

    if not any(doc.spans for doc in corpus):
        warn("E029", f"{what} on a corpus without any span ({len(corpus)} documents): check the selector "
             "(--select) and the format (--from)", Location(file=corpus.source), stacklevel=3)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: Any) -> None:
    from eccr.corpus.output import write_text_output

    write_text_output(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


class _Progress:
    """A rich progress bar over folds (or a silent stand-in), with a phase description."""

    def __init__(self, enabled: bool, total: int, console: Console | None, title: str) -> None:
        self.enabled = enabled
        self.title = title
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

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
            )
            self._task = self._progress.add_task(title, total=total)

    @contextmanager
    def running(self) -> Iterator[_Progress]:
        if not self.enabled:
            yield self
            return
        with self._progress:
            yield self

    def phase(self, text: str) -> None:
        if self.enabled:
            self._progress.update(self._task, description=f"{self.title}: {text}")

    def advance(self) -> None:
        if self.enabled:
            self._progress.advance(self._task)


@dataclass(frozen=True)
class FoldResult:
    """What one fold produced: sizes, the options used, timings, the test report and the predictions."""

    index: int
    n_train: int
    n_validation: int
    n_test: int
    options: Mapping[str, Any]
    fit_s: float
    predict_s: float
    wall_s: float
    report: ScoreReport
    predictions: Corpus
    extra_train: Mapping[str, Any] | None = None

    def info(self) -> dict[str, Any]:
        """``fold.json``: sizes, options, timings and, with ``extra_train``, what the extra corpus added."""
        info = {
            "fold": self.index,
            "n_train": self.n_train,
            "n_validation": self.n_validation,
            "n_test": self.n_test,
            "fit_s": round(self.fit_s, 3),
            "predict_s": round(self.predict_s, 3),
            "wall_s": round(self.wall_s, 3),
            "options": dict(self.options),
        }
        if self.extra_train is not None:
            info["extra_train"] = dict(self.extra_train)
        return info


@dataclass(frozen=True)
class CVResult:
    """A finished cross-validation: folds, pooled report over all test documents, fold summary, timing."""

    config: ExperimentConfig
    plan: FoldPlan
    folds: tuple[FoldResult, ...]
    pooled: ScoreReport
    summary: Any  # eccr.metrics.FoldSummary
    wall_s: float
    started_at: str
    out_dir: Path | None
    #: what the model was pretrained on and which test documents were in it (:mod:`eccr.experiments.leakage`)
    pretraining: dict[str, Any] | None = None

    def run_info(self) -> dict[str, Any]:
        return {
            "model": self.config.model.spec,
            "corpus": self.config.corpus.path,
            "select": self.config.corpus.select,
            "folds": self.plan.k,
            "seed": self.plan.seed,
            "documents": len(self.plan.ids),
            "started_at": self.started_at,
            "wall_s": round(self.wall_s, 3),
            "fold_wall_s": [round(f.wall_s, 3) for f in self.folds],
            "environment": environment(),
        }

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``: the fold summary's keys (``wsm`` …) plus ``fold_results`` (each fold's sizes,
        timings and the pooled score of every measure) and ``run``."""
        data = dict(self.summary.to_dict())
        data["fold_results"] = [{**f.info(), **f.report.scores_dict(strata=False)} for f in self.folds]
        data["run"] = self.run_info()
        if self.pretraining is not None:
            data["pretraining"] = self.pretraining
        return data

    def rows(self) -> list[dict[str, Any]]:
        """``summary.csv`` rows: one per score and metric with mean, SD, pooled and each fold's value."""
        return list(self.summary.rows())

    def to_markdown(self) -> str:
        from eccr.metrics.report import format_p
        from eccr.reports.tables import markdown_table

        info = self.run_info()
        lines = [
            f"# Cross-validation: {info['model']}",
            "",
            f"- corpus: `{info['corpus']}`" + (f", selection `{info['select']}`" if info["select"] else ""),
            f"- {info['documents']} documents, {info['folds']} folds, seed {info['seed']}; "
            f"started {info['started_at']}, wall time {info['wall_s']:.1f} s",
            *([f"- extra training documents from `{extra.path}`"
               + (f", selection `{extra.select}`" if extra.select else "")
               + ", minus those overlapping each fold's test or validation documents"]
              if (extra := self.config.extra_train) is not None else []),
            *([_pretraining_line(self.pretraining)] if self.pretraining is not None else []),
            f"- eccr {info['environment']['packages'].get('eccr')}, Python {info['environment']['python']}",
            "",
            self.summary.to_markdown(),
            "",
            "## Folds",
            "",
        ]
        first_p = self.pooled.p_values[0]
        fold_rows = [
            {
                "fold": f.index,
                "train": f.n_train,
                "validation": f.n_validation,
                "test": f.n_test,
                **({"extra used": f.extra_train["used"], "extra removed": f.extra_train["removed"]}
                   if f.extra_train is not None else {}),
                **{f"wsm F1 p={format_p(p)}": f.report.wsm[p].f1 for p in f.report.p_values},
                "fit s": f"{f.fit_s:.1f}",
                "predict s": f"{f.predict_s:.1f}",
            }
            for f in self.folds
        ]
        lines.append(markdown_table(fold_rows, float_format="{:.4f}"))
        if self.pooled.by_length is not None:
            lines += ["", f"## Pooled wsm by gold span length (p={format_p(first_p)})", ""]
            length_rows = [
                {
                    "length": name,
                    "gold": s.gold_spans,
                    "pred": s.pred_spans,
                    "precision": s.wsm[first_p].precision,
                    "recall": s.wsm[first_p].recall,
                    "f1": s.wsm[first_p].f1,
                }
                for name, s in self.pooled.by_length.items()
            ]
            lines.append(markdown_table(length_rows))
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> None:
        from eccr.reports.tables import write_csv

        _write_json(directory / SUMMARY_JSON, self.to_dict())
        from eccr.corpus.output import write_text_output

        write_text_output(directory / SUMMARY_MD, self.to_markdown())
        write_csv(directory / SUMMARY_CSV, self.rows())


def _pretraining_record(config: ExperimentConfig, corpus: Corpus, plan: FoldPlan) -> dict[str, Any] | None:
    """The summary's ``pretraining`` entry (None unless the model directory has a pretraining record)."""
    from eccr.experiments.leakage import pretraining_record

    return pretraining_record(config.model.spec, corpus, plan)


def _pretraining_line(record: dict[str, Any]) -> str:
    from eccr.experiments.leakage import pretraining_line

    return pretraining_line(record)


def uses_validation(spec: str) -> bool:
    """Whether the model kind learns anything from a validation corpus (early stopping, tuning).

    Model classes say so with :attr:`~eccr.models.base.ConceptModel.uses_validation` (default True).
    ``eccr train`` holds out no validation documents for a model that would ignore them (the CRF and the
    gazetteer).
    """
    from eccr.models.base import ModelSpec, model_class

    return model_class(ModelSpec.parse(spec).kind).uses_validation


def _with_corpus_source(config: ExperimentConfig, corpus: Corpus) -> ExperimentConfig:
    """``config`` with ``corpus.path`` set to the corpus's source when the config names none.

    So the ``resolved.yaml`` of a run on a corpus read in code still says where the documents came from.
    """
    if config.corpus.path is not None or corpus.source is None:
        return config
    return config.model_copy(update={"corpus": config.corpus.model_copy(update={"path": corpus.source})})


def plan_folds(corpus: Corpus, config: ExperimentConfig) -> FoldPlan:
    """The folds for ``corpus``: read from ``config.folds_file`` (checked against the corpus) or drawn.

    A number of folds given explicitly (``--folds``, ``folds:``) must agree with the folds file (``E049``).
    """
    if config.folds_file is not None:
        plan = read_folds(config.folds_file, corpus.ids)
        if "folds" in config.model_fields_set and config.folds != plan.k:
            raise ConfigError(
                "E049", f"--folds {config.folds} contradicts --folds-file {config.folds_file}, which holds "
                f"{plan.k} folds; give one of them", Location(file=config.folds_file))
        return plan
    return make_folds(
        corpus.ids, k=config.folds, seed=config.seed, validation_fraction=config.validation_fraction
    )


#: What marks a directory as holding a cross-validation run.
_RUN_MARKERS = (SUMMARY_JSON, FOLDS_FILE, "resolved.yaml")


def check_run_directory(out: Path, config: ExperimentConfig, plan: FoldPlan) -> None:
    """Refuse (``E057``) to write a run into a directory holding another one.

    Files of an earlier run left beside the new one (a ``fold-7/`` of a 10-fold run under a 5-fold one, a
    ``summary.json`` of other settings) would be read as part of it. The same run, interrupted before its
    summary, may continue in its directory: a fold model resumes from its checkpoints.
    """
    from eccr.experiments.config import RESOLVED_CONFIG_FILE

    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError("E005", f"the run directory {out} is a file", Location(file=str(out)))
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir()
                   if p.name in _RUN_MARKERS or (p.is_dir() and p.name.startswith("fold-")))
    if not found:
        return
    resolved, folds = out / RESOLVED_CONFIG_FILE, out / FOLDS_FILE
    same = (
        not (out / SUMMARY_JSON).exists()
        and resolved.is_file() and resolved.read_text(encoding="utf-8") == config.to_yaml()
        and folds.is_file() and folds.read_text(encoding="utf-8") == plan.to_json()
        and all(not name.startswith("fold-") or name[5:-1] in {str(f.index) for f in plan.folds}
                for name in found)
    )
    if not same:
        shown = ", ".join(found[:4]) + ("…" if len(found) > 4 else "")
        raise ConfigError(
            "E057", f"{out} already holds an earlier run ({shown}); its files would mix with this one — "
            "choose a new --out or remove the directory (an interrupted run continues only with the same "
            "settings and folds)", Location(file=str(out)))


def run_fold(
    corpus: Corpus,
    fold: Fold,
    config: ExperimentConfig,
    fold_dir: Path | None,
    progress: _Progress | None = None,
    *,
    extra: Corpus | None = None,
) -> FoldResult:
    """Fit on the fold's training split (validation passed along), predict and score its test split.

    ``extra`` (the corpus of ``config.extra_train``, read once by the caller) joins the training split after
    the documents that overlap the fold's test or validation documents are removed
    (:func:`eccr.experiments.extra.add_extra_training`). ``fold.json`` is written last: its presence marks
    the fold finished (``eccr experiment run`` skips such folds when it resumes).
    """
    from eccr.experiments.search import grid_search
    from eccr.metrics import score
    from eccr.models.base import create_model

    started = time.perf_counter()
    if fold_dir is not None:
        fold_dir.mkdir(parents=True, exist_ok=True)  # exists before fit, for checkpoints and logs
    train, validation, test = (corpus.subset(ids) for ids in (fold.train, fold.validation, fold.test))
    extra_info = None
    if extra is not None:
        from eccr.experiments.extra import add_extra_training

        train, added = add_extra_training(train, extra, held_out=(test, validation))
        extra_info = added.to_dict()
    options: dict[str, Any] = dict(config.model.options)
    if config.search:

        def on_trial(number: int, total: int, trial: Any) -> None:
            if progress is not None:
                progress.phase(
                    f"fold {fold.index}: search {number}/{total} (validation F1 {trial.validation_f1:.3f})"
                )

        result = grid_search(
            config.model.spec, options, config.search, train, validation, p=config.p[0], on_trial=on_trial
        )
        options = dict(result.best_options)
        if fold_dir is not None:
            _write_json(fold_dir / "search.json", result.to_dict())
    if progress is not None:
        progress.phase(f"fold {fold.index}: fit on {len(train)} documents")
    model = create_model(config.model.spec, options)
    fit_started = time.perf_counter()
    if config.merge_validation:
        train, validation = Corpus([*train, *validation], source=corpus.source), corpus.subset(())
    model.fit(train, validation if len(validation) else None, run_dir=fold_dir)
    fit_s = time.perf_counter() - fit_started
    if progress is not None:
        progress.phase(f"fold {fold.index}: predict {len(test)} documents")
    predict_started = time.perf_counter()
    predictions = model.predict(test)
    predict_s = time.perf_counter() - predict_started
    report = score(test, predictions, p=tuple(config.p), by_length=True)
    result_fold = FoldResult(
        fold.index,
        len(train),
        len(validation),
        len(test),
        model.options,
        fit_s,
        predict_s,
        time.perf_counter() - started,
        report,
        predictions,
        extra_info,
    )
    if fold_dir is not None:
        from eccr.corpus.io import write_corpus

        write_corpus(predictions, fold_dir / RUN_PREDICTIONS, "jsonl")
        write_corpus(test, fold_dir / RUN_GOLD, "jsonl")
        _write_json(fold_dir / "scores.json", report.to_dict())
        model.write_diagnostics(fold_dir)
        if config.save_models:
            model.save(fold_dir / "model")
        _write_json(fold_dir / FOLD_INFO, result_fold.info())
    return result_fold


def fold_finished(fold_dir: Path) -> bool:
    """Whether :func:`run_fold` finished writing ``fold_dir`` (its ``fold.json``, written last, exists)."""
    return (fold_dir / FOLD_INFO).is_file()


def load_fold_result(fold_dir: Path, config: ExperimentConfig) -> FoldResult:
    """The :class:`FoldResult` of a finished fold directory, rescored from its stored predictions and gold.

    Scoring the stored files (not reading ``scores.json`` back) keeps the numbers those of
    :func:`eccr.metrics.score` on exactly the predictions a report would read.
    """
    from eccr.corpus.io import read_corpus
    from eccr.metrics import score

    info = json.loads((fold_dir / FOLD_INFO).read_text(encoding="utf-8"))
    predictions = read_corpus(fold_dir / RUN_PREDICTIONS, "jsonl")
    gold = read_corpus(fold_dir / RUN_GOLD, "jsonl")
    report = score(gold, predictions, p=tuple(config.p), by_length=True)
    return FoldResult(
        int(info["fold"]), int(info["n_train"]), int(info["n_validation"]), int(info["n_test"]),
        info.get("options", {}), float(info["fit_s"]), float(info["predict_s"]), float(info["wall_s"]),
        report, predictions, info.get("extra_train"),
    )


def cross_validate(
    corpus: Corpus,
    config: ExperimentConfig | None = None,
    out_dir: str | Path | None = None,
    *,
    plan: FoldPlan | None = None,
    progress: bool = True,
    console: Console | None = None,
) -> CVResult:
    """K-fold cross-validation of ``config.model`` on ``corpus``; writes the run directory when ``out_dir``.

    Args:
        corpus: the documents with gold spans (already selected).
        config: the experiment; the default is a 5-fold CRF run with seed 0.
        out_dir: the run directory (created); ``None`` keeps everything in memory.
        plan: folds to use (e.g. shared by several models of an experiment grid); else from the config.
        progress: show a rich progress bar on stderr (or on ``console``).

    Returns:
        The :class:`CVResult`; its ``summary`` is :func:`eccr.metrics.summarize_folds` of the fold reports
        and the pooled report over all test documents.

    Example (the quick demo path)::

        from eccr.data import sample_corpus
        result = cross_validate(sample_corpus(), resolve_config({"model": {"spec": "crf"}}), "runs/demo")
        print(result.summary.to_markdown())
    """
    from eccr.experiments.config import resolve_config

    config = _with_corpus_source(config if config is not None else resolve_config({}), corpus)
    warn_if_no_spans(corpus, "cross-validating")
    started_at, started = _now(), time.perf_counter()
    if plan is None:
        plan = plan_folds(corpus, config)  # drawn or read, and checked against the corpus either way
    else:
        plan.check(corpus.ids)
    if config.folds != plan.k:  # the run records the folds it used (folds from a file or a shared plan)
        config = config.model_copy(update={"folds": plan.k})
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_run_directory(out, config, plan)
        out.mkdir(parents=True, exist_ok=True)
        config.write(out)
        plan.write(out / FOLDS_FILE)
    extra = read_corpus_config(config.extra_train, "extra_train") if config.extra_train else None
    # before any training: the E126 warning (test documents in the pretraining text) comes at the start
    pretraining = _pretraining_record(config, corpus, plan)
    bar = _Progress(progress, plan.k, console, f"cv {config.model.spec}")
    results = []
    with bar.running():
        for fold in plan.folds:
            fold_dir = out / f"fold-{fold.index}" if out else None
            results.append(run_fold(corpus, fold, config, fold_dir, bar, extra=extra))
            bar.advance()
    return finish_cv(corpus, config, plan, results, started_at=started_at,
                     wall_s=time.perf_counter() - started, out_dir=out, pretraining=pretraining)


def finish_cv(
    corpus: Corpus,
    config: ExperimentConfig,
    plan: FoldPlan,
    results: Sequence[FoldResult],
    *,
    started_at: str,
    wall_s: float,
    out_dir: Path | None,
    pretraining: dict[str, Any] | Literal["check"] | None = "check",
) -> CVResult:
    """Pool the folds' test predictions, summarise the folds and write the run-level files of ``out_dir``.

    The run-level files are ``predictions.jsonl`` and ``gold.jsonl`` (every document, predicted by the fold
    that held it out, in fold order) and ``summary.json``/``.md``/``.csv``. ``pretraining`` is the summary's
    pretraining record when the caller checked it before training; ``"check"`` checks it here.
    """
    from eccr.metrics import score, summarize_folds

    gold = Corpus((d for f in plan.folds for d in corpus.subset(f.test)), source=corpus.source)
    predicted = Corpus((d for r in results for d in r.predictions), source=corpus.source)
    pooled = score(gold, predicted, p=tuple(config.p), by_length=True)
    summary = summarize_folds([r.report for r in results], pooled)
    if pretraining == "check":
        pretraining = _pretraining_record(config, corpus, plan)
    result = CVResult(config, plan, tuple(results), pooled, summary, wall_s, started_at, out_dir, pretraining)
    if out_dir is not None:
        from eccr.corpus.io import write_corpus

        # the whole corpus, each document predicted by the fold that held it out (eccr compare reads these)
        write_corpus(predicted, out_dir / RUN_PREDICTIONS, "jsonl")
        write_corpus(gold, out_dir / RUN_GOLD, "jsonl")
        result.write(out_dir)
    return result


@dataclass(frozen=True)
class TrainResult:
    """A trained model, where it was saved, and the sizes and time of training."""

    model: ConceptModel
    out_dir: Path
    n_train: int
    n_validation: int
    fit_s: float


def train_model(
    corpus: Corpus,
    config: ExperimentConfig,
    out_dir: str | Path,
    *,
    progress: bool = True,
    console: Console | None = None,
) -> TrainResult:
    """Fit ``config.model`` on ``corpus`` (``validation_fraction`` held out) and save it in ``out_dir``.

    ``out_dir`` becomes a model directory (loadable with :func:`eccr.models.base.load_model`) that also holds
    ``resolved.yaml`` and ``training.json`` (sizes, wall time, versions).

    Raises:
        ConfigError: ``E045`` when the config has a ``search`` grid — a search needs held-out folds, so it
            belongs to :func:`cross_validate`; train with the values it picked instead of ignoring the grid.
    """
    from eccr.models.base import create_model

    if config.search:
        raise ConfigError(
            "E045",
            "'search' is not used by train: tune with `eccr cv --set search.<option>=[...]`, then train with "
            "the chosen values (--set model.options.<option>=VALUE)",
            Location(file=config.corpus.path),
        )
    config = _with_corpus_source(config, corpus)
    warn_if_no_spans(corpus, "training")
    out = Path(out_dir)
    fraction = config.validation_fraction if uses_validation(config.model.spec) else 0.0
    train_ids, validation_ids = split_validation(corpus.ids, fraction, config.seed)
    train, validation = corpus.subset(train_ids), corpus.subset(validation_ids)
    model = create_model(config.model.spec, config.model.options)
    bar = _Progress(progress, 1, console, f"train {config.model.spec}")
    started_at, started = _now(), time.perf_counter()
    with bar.running():
        bar.phase(f"fit on {len(train)} documents ({len(validation)} for validation)")
        out.mkdir(parents=True, exist_ok=True)
        model.fit(train, validation if len(validation) else None, run_dir=out)
        bar.advance()
    fit_s = time.perf_counter() - started
    config.write(out)  # before the save, so the model's manifest records them with the weights
    _write_json(
        out / TRAINING_JSON,
        {
            "model": config.model.spec,
            "corpus": config.corpus.path,
            "select": config.corpus.select,
            "n_train": len(train),
            "n_validation": len(validation),
            "validation_ids": list(validation_ids),
            "started_at": started_at,
            "fit_s": round(fit_s, 3),
            "environment": environment(),
        },
    )
    model.save(out)
    return TrainResult(model, out, len(train), len(validation), fit_s)


def read_inputs(inputs: Sequence[str | Path], format: str | None = None) -> Corpus:
    """Documents to predict on, read by the corpus layer exactly as every other command reads them.

    The format is ``format`` or the one each path names (:func:`eccr.corpus.io.detect_format`): a ``.txt``
    file is the inline ``@@…##`` format (one document per line) as everywhere in eccr; ``format="text"``
    (``--from text``) reads each file as one raw document (:mod:`eccr.corpus.text`: bytes decoded as all
    readers decode them, line ends kept, a leading BOM removed). Gold spans the inputs hold are ignored by
    prediction. Document ids must be unique across all inputs.
    """
    from eccr.corpus.io import read_corpus

    docs: list[Document] = []
    for raw in inputs:
        docs.extend(read_corpus(raw, format))
    return Corpus(docs, source=str(inputs[0]) if len(inputs) == 1 else None)


def predict_files(
    model_dir: str | Path,
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    from_format: str | None = None,
    to_format: str | None = None,
    allow_misaligned_tokenizer: bool = False,
    trust_remote_code: bool = False,
) -> Corpus:
    """Load a model directory, predict spans for ``inputs`` and write them to ``out`` in ``to_format``.

    ``allow_misaligned_tokenizer`` lets a token-classification model predict although its tokenizer fails
    the aligner's invariants on these texts (error ``E079`` otherwise); other models have no tokenizer.
    ``trust_remote_code`` is passed to :func:`~eccr.models.base.load_model` (the user's decision only).
    """
    from eccr.corpus.io import write_corpus
    from eccr.models.base import load_model

    model = load_model(model_dir, trust_remote_code=trust_remote_code)
    if allow_misaligned_tokenizer:
        if not hasattr(model, "allow_misaligned_tokenizer"):
            raise ConfigError("E045", f"--allow-misaligned-tokenizer is for models with a tokenizer (hf:); "
                              f"{model.kind} has none", Location(file=str(model_dir)))
        model.allow_misaligned_tokenizer = True
    documents = read_inputs(inputs, from_format)
    predictions = model.predict(documents.map_spans(lambda d: ()))
    write_corpus(predictions, out, to_format)
    return predictions


def iter_summaries(run_dirs: Iterable[str | Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """``(run_dir, summary.json)`` for each run directory that has a summary (for grids and viewers)."""
    for raw in run_dirs:
        path = Path(raw) / SUMMARY_JSON
        if path.is_file():
            yield path.parent, json.loads(path.read_text(encoding="utf-8"))
