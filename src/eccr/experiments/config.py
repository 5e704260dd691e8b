"""Experiment configuration: a YAML file validated with pydantic, plus command-line overrides.

A configuration names the model (spec and options), the corpus (path, format, selector) and the
cross-validation protocol (folds, seed, validation share). Values come, later ones winning, from the
defaults, the YAML file (``--config``), the named command-line flags (``--model``, ``--select``…) and
dotted overrides (``--set model.options.c2=0.05``; the value is read as YAML, so ``0.05`` is a number,
``[1, 2]`` a list and ``true`` a boolean). Model options are validated by the model class's own pydantic
``Options`` model, so a misspelt option fails before any training starts. Every run writes the fully
resolved configuration (defaults filled in) as ``resolved.yaml`` next to its results.

Example:
    >>> cfg = resolve_config({"model": {"spec": "dict"}}, overrides=["model.options.min_frequency=2"])
    >>> cfg.model.options["min_frequency"], cfg.folds, cfg.validation_fraction
    (2, 5, 0.2)
    >>> resolve_config({"fold": 5})
    Traceback (most recent call last):
    eccr.errors.ConfigError: [E045] invalid config key 'fold': Extra inputs are not permitted
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from eccr.corpus.validation import read_text_file
from eccr.errors import ConfigError, EccrError, Location

RESOLVED_CONFIG_FILE = "resolved.yaml"


class ModelConfig(BaseModel):
    """Which model to build: a spec (``crf``, ``dict``, ``hf:<id-or-path>``) and its options."""

    model_config = ConfigDict(extra="forbid")

    spec: str = "crf"
    options: dict[str, Any] = Field(default_factory=dict)


class CorpusConfig(BaseModel):
    """Where the corpus comes from: a path, its format (from the extension when omitted), a span selector,
    and the format's reader options (``options: {merge: true}`` for a JMED-LLM file, see
    :func:`eccr.corpus.io.format_options`)."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    format: str | None = None
    select: str | None = None
    lenient: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class ExperimentConfig(BaseModel):
    """One training or cross-validation run.

    Attributes:
        model: the model spec and options.
        corpus: the corpus to read and the spans to select.
        folds: number of cross-validation folds.
        seed: seed for the fold assignment and for models that draw random numbers.
        validation_fraction: share of all documents used for validation (tuning, early stopping) in each
            fold; 0.2 with 5 folds gives the paper's train/validation/test = 0.6/0.2/0.2. ``eccr train``
            holds out this share of its corpus as validation.
        folds_file: a ``folds.json`` to reuse instead of drawing folds.
        save_models: keep each fold's trained model under ``fold-<k>/model``.
        p: the weighted-soft-matching fragmentation penalties to report.
        search: a grid over model options (``{"c2": [0.01, 0.1]}``) tuned per fold on the validation split
            only; the best point (wsm F1 at the first ``p``) is refitted on the training split and tested.
        merge_validation: fit each fold's final model on training + validation documents (after any
            search). Off by default, so every model trains on the same 0.6 share as the paper; useful for
            models that neither early-stop nor tune (the CRF and the gazetteer).
        extra_train: another corpus whose documents join every fold's training split, after removing
            those that duplicate or share a sentence with the fold's test or validation documents
            (:mod:`eccr.experiments.extra`); the counts go to each fold's ``fold.json``.
    """

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(default_factory=ModelConfig)
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    folds: int = Field(5, ge=2)
    seed: int = 0
    validation_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    folds_file: str | None = None
    save_models: bool = False
    p: list[float] = Field(default_factory=lambda: [1.0, 1.5, 2.0, 100.0], min_length=1)
    search: dict[str, list[Any]] = Field(default_factory=dict)
    merge_validation: bool = False
    extra_train: CorpusConfig | None = None

    @field_validator("p")
    @classmethod
    def _p_at_least_one(cls, value: list[float]) -> list[float]:
        bad = [p for p in value if p < 1]
        if bad:
            raise ValueError(f"fragmentation penalties must be >= 1, got {bad[0]}")
        return value

    @field_validator("search")
    @classmethod
    def _search_non_empty(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = [k for k, v in value.items() if not v]
        if empty:
            raise ValueError(f"search.{empty[0]} has no values to try")
        return value

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), allow_unicode=True, sort_keys=False)

    def write(self, directory: str | Path) -> Path:
        """Write ``resolved.yaml`` into ``directory`` and return its path."""
        from eccr.corpus.output import write_text_output

        return write_text_output(Path(directory) / RESOLVED_CONFIG_FILE, self.to_yaml())


def validate_model_options(
    spec: str, options: Mapping[str, Any], *, prefix: str = "model.options", source: str | None = None
) -> dict[str, Any]:
    """Options for ``spec`` checked and completed by the model class's pydantic ``Options`` model.

    A model class that declares no ``Options`` gets its options back unchanged. Errors are
    ``ConfigError`` (``E045``) naming the offending key, e.g. ``model.options.c2``.
    """
    from eccr.models.base import ModelSpec, model_class

    cls = model_class(ModelSpec.parse(spec).kind)
    options_model = cls.Options
    if options_model is None or not (
        isinstance(options_model, type) and issubclass(options_model, BaseModel)
    ):
        return dict(options)
    try:
        return options_model.model_validate(dict(options)).model_dump(mode="json")
    except ValidationError as err:
        raise _config_error(err, prefix, source) from None


def _option_fields(spec: str) -> set[str]:
    from eccr.models.base import ModelSpec, model_class

    options_model = model_class(ModelSpec.parse(spec).kind).Options
    return set(getattr(options_model, "model_fields", {}))


def _config_error(err: ValidationError, prefix: str, source: str | None) -> ConfigError:
    first = err.errors()[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    more = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
    return ConfigError("E045", f"invalid config key {key!r}: {first['msg']}{more}", Location(file=source))


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into the key path and the value read as YAML.

    >>> parse_override("model.options.c2=0.05")
    (['model', 'options', 'c2'], 0.05)
    >>> parse_override("search.window=[2, 3]")
    (['search', 'window'], [2, 3])
    """
    key, sep, raw = text.partition("=")
    path = [part.strip() for part in key.split(".")]
    if not sep or not all(path):
        raise ConfigError(
            "E045", f"cannot read override {text!r}; expected KEY=VALUE, e.g. model.options.c2=0.05"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A deep copy of ``data`` with each ``KEY=VALUE`` override set (intermediate mappings are created)."""
    result = copy.deepcopy(dict(data))
    for text in overrides:
        path, value = parse_override(text)
        _set_path(result, path, value, text)
    return result


def _set_path(
    data: dict[str, Any], path: list[str], value: Any, what: str, source: str | None = None
) -> None:
    """Set ``data[path[0]][path[1]]… = value``, creating missing mappings; ``what`` names it in errors."""
    node = data
    for depth, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(
                "E045",
                f"cannot set {what!r}: {'.'.join(path[: depth + 1])!r} is {child!r}, not a mapping",
                Location(file=source),
            )
        node = child
    node[path[-1]] = value


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a mapping; errors name the file (and line when YAML says)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("E043", f"config file {p} does not exist", Location(file=str(p)))
    try:
        data = yaml.safe_load(read_text_file(p))  # E001 for bytes that are not UTF-8, like every reader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConfigError(
            "E046",
            f"config file is not valid YAML: {getattr(err, 'problem', err)}",
            Location(file=str(p), line=mark.line + 1 if mark else None),
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("E046", "config file must hold a mapping at the top level", Location(file=str(p)))
    return data


def resolve_config(
    data: Mapping[str, Any] | None = None,
    *,
    overrides: Sequence[str] = (),
    source: str | None = None,
    validate_options: bool = True,
    **flags: Any,
) -> ExperimentConfig:
    """Build a validated :class:`ExperimentConfig`.

    Args:
        data: the mapping read from YAML (or ``None``).
        overrides: ``KEY=VALUE`` strings applied last.
        source: the config file's path, for error messages.
        validate_options: check and complete ``model.options`` with the model class's ``Options``.
        **flags: named command-line values given as dotted keys with ``__`` (``model__spec="crf"``,
            ``corpus__select="d"``, ``folds=5``); ``None`` means "not given".
    """
    merged = copy.deepcopy(dict(data or {}))
    for key, value in flags.items():
        if value is not None:
            _set_path(merged, key.split("__"), value, key.replace("__", "."), source)
    merged = apply_overrides(merged, overrides)
    try:
        config = ExperimentConfig.model_validate(merged)
    except ValidationError as err:
        raise _config_error(err, "", source) from None
    if validate_options:
        try:
            options = dict(config.model.options)
            if "seed" not in options and "seed" in _option_fields(config.model.spec):
                options["seed"] = config.seed  # a model with its own seed follows the experiment's seed
            options = validate_model_options(config.model.spec, options, source=source)
            for key, values in config.search.items():
                for value in values:
                    validate_model_options(
                        config.model.spec,
                        {**config.model.options, key: value},
                        prefix="search",
                        source=source,
                    )
        except EccrError as err:
            raise err.with_location(file=source) from None
        config = config.model_copy(update={"model": ModelConfig(spec=config.model.spec, options=options)})
    return config


def load_config(
    path: str | Path | None = None, *, overrides: Sequence[str] = (), **flags: Any
) -> ExperimentConfig:
    """Read ``path`` (optional), apply flags and overrides, validate. See :func:`resolve_config`."""
    data = load_yaml(path) if path is not None else {}
    return resolve_config(data, overrides=overrides, source=str(path) if path is not None else None, **flags)
