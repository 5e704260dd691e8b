"""Experiment files: a matrix of corpora × models × folds, planned from one YAML file.

An experiment file names corpora (path, selector, format, reader options) and model specs (with options),
and the cross-validation protocol they share::

    name: offline                  # optional; the default output folder is runs/<name>
    folds: 5                       # also: seed, validation_fraction, p
    corpora:
      medtxt-d-positive:
        path: ../../shared/data/medtxt-cr/MedTxt-CR-JA-training.xml
        select: d[certainty=positive]
      mrner-disease:
        path: ../../shared/data/jmed-llm/mrner_disease.csv
    models:
      crf: {spec: crf}
      dict: {spec: dict}
      deberta-tiny:
        spec: scratch:deberta-v2
        options: {hidden: 64, epochs: 10}

Names (the keys) become folder names: letters, digits, ``.``, ``_`` and ``-``. A corpus ``path`` and its
``folds_file`` are relative to the experiment file's folder; so is any model spec or string option written
``./…`` or ``../…`` (``hf:./models/x``). Each model is validated by its class's ``Options`` before anything
runs. A model entry also takes ``search``, ``merge_validation`` and ``save_models`` as in ``eccr cv``.
The matrix shows its own progress, so a model's ``progress`` option defaults to off.

The output folder (``--out``, default ``runs/<name or file stem>``) holds::

    OUT/experiment.yaml             the experiment as resolved (absolute paths)
    OUT/status.json                 every cell: done, failed (with its error) or pending; every run's scores
    OUT/<corpus>/folds.json         the folds of that corpus, drawn once and shared by every model
    OUT/<corpus>/<model>/           an ordinary `eccr cv` run directory (resolved.yaml, fold-<k>/, summary.*)
    OUT/<corpus>/<model>+<extra>/   the same model with extra training documents (--extra-train)

A **cell** is one fold of one (corpus, model) run: the unit that is skipped when finished, recorded when it
fails (``fold-<k>/error.json``) and retried on the next run. A run's summary files are written once all its
folds are finished. :mod:`eccr.experiments.matrix_run` runs a plan.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from eccr.errors import ConfigError, EccrError, Location
from eccr.experiments.config import CorpusConfig, ExperimentConfig, resolve_config
from eccr.experiments.folds import FOLDS_FILE

EXPERIMENT_FILE = "experiment.yaml"
STATUS_FILE = "status.json"
ERROR_FILE = "error.json"
#: Separates a model's name from the extra corpus's in a run directory name (``crf+medtxt``).
EXTRA_SEPARATOR = "+"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check_names(names: Iterable[str], what: str) -> None:
    for name in names:
        if not _NAME.match(name):
            raise ValueError(f"{what} name {name!r} must be letters, digits, '.', '_' or '-' (a folder name)")


class CorpusEntry(BaseModel):
    """One corpus of the matrix: a :class:`~eccr.experiments.config.CorpusConfig`, optionally a folds file."""

    model_config = ConfigDict(extra="forbid")

    path: str
    format: str | None = None
    select: str | None = None
    lenient: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    folds_file: str | None = None

    def corpus_config(self) -> CorpusConfig:
        return CorpusConfig(path=self.path, format=self.format, select=self.select, lenient=self.lenient,
                            options=dict(self.options))


class ModelEntry(BaseModel):
    """One model of the matrix: a spec, its options, and ``search``/``merge_validation`` as in ``eccr cv``."""

    model_config = ConfigDict(extra="forbid")

    spec: str
    options: dict[str, Any] = Field(default_factory=dict)
    search: dict[str, list[Any]] = Field(default_factory=dict)
    merge_validation: bool = False
    save_models: bool = False


class Experiment(BaseModel):
    """A validated experiment file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    corpora: dict[str, CorpusEntry] = Field(min_length=1)
    models: dict[str, ModelEntry] = Field(min_length=1)
    folds: int = Field(5, ge=2)
    seed: int = 0
    validation_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    p: list[float] = Field(default_factory=lambda: [1.0, 1.5, 2.0, 100.0], min_length=1)

    @field_validator("corpora")
    @classmethod
    def _corpus_names(cls, value: dict[str, CorpusEntry]) -> dict[str, CorpusEntry]:
        _check_names(value, "corpus")
        return value

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: dict[str, ModelEntry]) -> dict[str, ModelEntry]:
        _check_names(value, "model")  # no EXTRA_SEPARATOR in a name: run directory names stay unambiguous
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None:
            _check_names([value], "experiment")
        return value


def _relative_to(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _is_relative_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("./", "../"))


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Corpus paths, folds files and ``./``/``../`` specs and options made absolute against ``base``."""
    for entry in (data.get("corpora") or {}).values():
        if not isinstance(entry, dict):
            continue
        for key in ("path", "folds_file"):
            if isinstance(entry.get(key), str):
                entry[key] = _relative_to(base, entry[key])
    for entry in (data.get("models") or {}).values():
        if not isinstance(entry, dict):
            continue
        spec = entry.get("spec")
        if isinstance(spec, str) and ":" in spec:
            kind, rest = spec.split(":", 1)
            if _is_relative_path(rest):
                entry["spec"] = f"{kind}:{_relative_to(base, rest)}"
        options = entry.get("options")
        if isinstance(options, dict):
            entry["options"] = {k: _relative_to(base, v) if _is_relative_path(v) else v
                                for k, v in options.items()}
    return data


def _experiment_error(err: ValidationError, source: str | None) -> ConfigError:
    errors = err.errors()
    # a misspelt key also makes the intended one "missing": name the misspelling, it is the cause
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ".".join(str(part) for part in first["loc"])
    more = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
    return ConfigError("E150", f"invalid experiment key {key!r}: {first['msg']}{more}", Location(file=source))


def parse_experiment(data: Mapping[str, Any], *, base: Path, source: str | None = None) -> Experiment:
    """Validate an experiment mapping; relative paths are resolved against ``base``.

    Raises:
        ConfigError: ``E150`` naming the offending key (e.g. ``models.crf.spek``).
    """
    import copy

    try:
        return Experiment.model_validate(_resolve_paths(copy.deepcopy(dict(data)), base))
    except ValidationError as err:
        raise _experiment_error(err, source) from None


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment YAML file (errors name the file)."""
    from eccr.experiments.config import load_yaml

    p = Path(path)
    return parse_experiment(load_yaml(p), base=p.resolve().parent, source=str(p))


@dataclass(frozen=True)
class Run:
    """One (corpus, model) pair: an ``eccr cv`` run directory and the config of its folds."""

    corpus: str
    model: str
    name: str
    directory: Path
    config: ExperimentConfig

    @property
    def key(self) -> str:
        return f"{self.corpus}/{self.name}"

    def fold_dir(self, fold: int) -> Path:
        return self.directory / f"fold-{fold}"


@dataclass(frozen=True)
class Cell:
    """One fold of one run: the unit that is skipped when finished and retried when it failed."""

    run: Run
    fold: int

    @property
    def key(self) -> str:
        return f"{self.run.key}/{self.fold}"

    @property
    def directory(self) -> Path:
        return self.run.fold_dir(self.fold)


@dataclass(frozen=True)
class ExtraCorpus:
    """The corpus of ``--extra-train``: its name in run directory names and where to read it."""

    name: str
    corpus: CorpusConfig


def _model_options(entry: ModelEntry) -> dict[str, Any]:
    """The entry's options, with ``progress`` off unless given: the matrix shows its own progress."""
    from eccr.models.base import ModelSpec, model_class

    options = dict(entry.options)
    fields = getattr(model_class(ModelSpec.parse(entry.spec).kind).Options, "model_fields", {})
    if "progress" in fields and "progress" not in options:
        options["progress"] = False
    return options


def run_config(experiment: Experiment, corpus: str, model: str, folds_file: Path,
               extra: ExtraCorpus | None, source: str | None) -> ExperimentConfig:
    """The :class:`ExperimentConfig` of one (corpus, model) run, validated by the model class.

    Raises:
        ConfigError: ``E150`` naming the model entry and the problem (unknown kind, bad option …).
    """
    entry = experiment.models[model]
    data = {
        "model": {"spec": entry.spec},
        "corpus": experiment.corpora[corpus].corpus_config().model_dump(),
        "folds": experiment.folds,
        "seed": experiment.seed,
        "validation_fraction": experiment.validation_fraction,
        "p": list(experiment.p),
        "folds_file": str(folds_file.resolve()),
        "search": dict(entry.search),
        "merge_validation": entry.merge_validation,
        "save_models": entry.save_models,
        "extra_train": extra.corpus.model_dump() if extra is not None else None,
    }
    try:
        data["model"]["options"] = _model_options(entry)
        return resolve_config(data, source=source)
    except EccrError as err:
        raise ConfigError("E150", f"models.{model} (spec {entry.spec!r}): {err.message}",
                          Location(file=source)) from None


def match_only(patterns: Sequence[str], corpus: str, model: str, fold: int) -> bool:
    """Whether a cell is selected by ``--only`` patterns (none: every cell).

    A pattern is ``CORPUS/MODEL/FOLD`` with shell wildcards, shorter forms leaving the rest open
    (``mrner/crf``, ``*/crf/0``); a single word matches a corpus or a model name.

    >>> match_only(["mrner/crf"], "mrner", "crf", 3), match_only(["crf"], "medtxt", "crf", 0)
    (True, True)
    >>> match_only(["*/dict/0"], "mrner", "dict", 1)
    False
    """
    if not patterns:
        return True
    for pattern in patterns:
        parts = pattern.split("/")
        if len(parts) == 1:
            if fnmatch.fnmatchcase(corpus, parts[0]) or fnmatch.fnmatchcase(model, parts[0]):
                return True
            continue
        parts = [*parts, "*", "*"][:3]
        if all(fnmatch.fnmatchcase(value, part) for value, part in zip((corpus, model, str(fold)), parts,
                                                                        strict=True)):
            return True
    return False


@dataclass(frozen=True)
class ExperimentPlan:
    """Every run and the selected cells of an experiment, and where their results go."""

    experiment: Experiment
    out_dir: Path
    runs: tuple[Run, ...]
    cells: tuple[Cell, ...]
    folds_files: Mapping[str, Path]
    extra: ExtraCorpus | None
    source: str | None

    def cells_of(self, run: Run) -> list[Cell]:
        return [cell for cell in self.cells if cell.run is run]

    def runs_of(self, corpus: str) -> list[Run]:
        return [run for run in self.runs if run.corpus == corpus and self.cells_of(run)]

    def to_yaml(self) -> str:
        """``experiment.yaml``: the experiment as resolved (absolute paths), and the extra corpus if any."""
        import yaml

        data = self.experiment.model_dump(mode="json")
        if self.extra is not None:
            data["extra_train"] = {"name": self.extra.name, **self.extra.corpus.model_dump(mode="json")}
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _fold_count(experiment: Experiment, corpus: str) -> int:
    folds_file = experiment.corpora[corpus].folds_file
    if folds_file is None:
        return experiment.folds
    from eccr.experiments.folds import read_folds

    return read_folds(folds_file).k


def resolve_extra(experiment: Experiment, extra: str | None, extra_select: str | None) -> ExtraCorpus | None:
    """The ``--extra-train`` corpus: a corpus name of the experiment, or a path (with ``extra_select``).

    Raises:
        ConfigError: ``E153`` when it is neither a corpus of the experiment nor an existing path.
    """
    if extra is None:
        return None
    if extra in experiment.corpora:
        corpus = experiment.corpora[extra].corpus_config()
        if extra_select is not None:
            corpus = corpus.model_copy(update={"select": extra_select})
        return ExtraCorpus(extra, corpus)
    path = Path(extra)
    if not path.exists():
        raise ConfigError(
            "E153",
            f"--extra-train {extra!r} is neither a corpus of the experiment "
            f"({', '.join(experiment.corpora)}) nor an existing corpus file",
        )
    name = re.sub(r"[^A-Za-z0-9._-]", "-", path.stem) or "extra"
    return ExtraCorpus(name, CorpusConfig(path=str(path.resolve()), select=extra_select))


def plan_experiment(
    experiment: Experiment,
    out_dir: str | Path,
    *,
    only: Sequence[str] = (),
    extra: ExtraCorpus | None = None,
    source: str | None = None,
) -> ExperimentPlan:
    """Every run of the matrix with its validated config, and the cells ``only`` selects.

    With ``extra``, every corpus other than the extra corpus itself trains each model with the extra
    documents, in run directories named ``<model>+<extra>``; the extra corpus's own runs are plain.

    Raises:
        ConfigError: ``E150`` for an invalid model entry, ``E151`` when ``only`` selects no cell.
    """
    out = Path(out_dir)
    runs: list[Run] = []
    cells: list[Cell] = []
    folds_files: dict[str, Path] = {}
    for corpus in experiment.corpora:
        folds_files[corpus] = out / corpus / FOLDS_FILE
        k = _fold_count(experiment, corpus)
        with_extra = extra if extra is not None and extra.name != corpus else None
        for model in experiment.models:
            name = model if with_extra is None else f"{model}{EXTRA_SEPARATOR}{with_extra.name}"
            config = run_config(experiment, corpus, model, folds_files[corpus], with_extra, source)
            run = Run(corpus, model, name, out / corpus / name, config)
            runs.append(run)
            cells.extend(Cell(run, fold) for fold in range(k) if match_only(only, corpus, model, fold))
    if not cells:
        raise ConfigError(
            "E151",
            f"--only {' '.join(only)} selects no cell; corpora: {', '.join(experiment.corpora)}; "
            f"models: {', '.join(experiment.models)} (patterns are CORPUS[/MODEL[/FOLD]] with * wildcards)",
            Location(file=source),
        )
    return ExperimentPlan(experiment, out, tuple(runs), tuple(cells), folds_files, extra, source)
