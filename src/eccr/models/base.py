"""The interface every concept model implements, and the registry that maps specs to models.

A model is anything that learns from a :class:`~eccr.corpus.Corpus` and predicts spans for new texts:
the character CRF, the gazetteer, HF token classification, later instruction-tuned decoders. Training,
cross-validation, ``eccr predict`` and serving only talk to this interface.

Model specs (``--model`` on the command line):

* ``crf`` / ``dict`` — classical baselines;
* ``hf:<hub-id-or-local-path>`` — token classification with any HF encoder or decoder;
* ``it:<hub-id-or-local-path>`` — instruction tuning of a causal LM (:mod:`eccr.models.instruction`);
* ``scratch:<architecture>`` — ``hf:`` token classification on a randomly initialised model whose tokenizer
  is trained on the training documents (:mod:`eccr.models.scratch`; nothing downloaded);
* ``spacy:<package|path|language>`` — spaCy ``ner``/``spancat`` (:mod:`eccr.models.spacy_pipeline`);
* ``ensemble`` — several models combined per character (:mod:`eccr.models.ensemble`).

A saved model is a directory holding ``eccr-model.json`` (``{"kind": ..., "options": {...}, "labels": [...],
"eccr_version": ..., "manifest": {...}}``) and whatever weights the kind needs (safetensors for neural
models), so :func:`load_model` needs nothing but the directory. The manifest records every file's size and
SHA-256; :func:`load_model` checks them, and refuses pickles and code, before anything reads a weight
(:mod:`eccr.models.manifest`). Options that can run code (``trust_remote_code``) are taken only from the
caller of :func:`load_model`, never from the directory.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, Location, ModelError
from eccr.models.manifest import MANIFEST_KEY, MODEL_FILE, build_manifest, verify_model_directory

_Options = TypeVar("_Options", bound=BaseModel)


def parse_options(options_model: type[_Options], options: Mapping[str, Any] | None) -> _Options:
    """``options`` validated by a model class's pydantic ``Options``; errors name the offending key.

    Raises:
        ConfigError: ``E045`` naming ``model.options.<key>`` (the first problem pydantic reports).
    """
    try:
        return options_model.model_validate(dict(options or {}))
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError("E045", f"invalid config key 'model.options.{key}': {first['msg']}") from None


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``--model`` value: the registered kind and, for ``hf:``, the hub id or path."""

    kind: str
    name_or_path: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse ``crf``, ``dict`` or ``hf:<id-or-path>``.

        >>> ModelSpec.parse("hf:./tiny-deberta")
        ModelSpec(kind='hf', name_or_path='./tiny-deberta')
        >>> ModelSpec.parse("crf")
        ModelSpec(kind='crf', name_or_path=None)
        """
        kind, sep, rest = text.partition(":")
        kind = kind.strip()
        if not kind or (sep and not rest.strip()):
            raise ConfigError(
                "E044", f"invalid model spec {text!r}; expected e.g. 'crf', 'dict' or 'hf:<id-or-path>'"
            )
        return cls(kind, rest.strip() or None)

    def __str__(self) -> str:
        return self.kind if self.name_or_path is None else f"{self.kind}:{self.name_or_path}"


class ConceptModel(ABC):
    """Base class of all models. Subclasses register themselves with :func:`register`.

    Subclasses set ``kind`` (and usually ``Options`` and ``uses_validation``) and implement
    :meth:`fit`, :meth:`predict_documents`, :meth:`save_weights` and :meth:`load_weights`. ``options`` is
    the JSON-serialisable (pydantic-dumped) configuration that, with the weights, fully determines the
    model.
    """

    kind: ClassVar[str]
    #: The pydantic model that validates and completes ``options`` (``extra="forbid"``, so a misspelt option
    #: is an error naming the key before any training); ``None`` accepts options unchecked.
    Options: ClassVar[type[BaseModel] | None] = None
    #: Whether :meth:`fit` uses a validation corpus (early stopping, tuning). ``eccr train`` holds out a
    #: validation share only for models that do; the CRF and the gazetteer train on the whole corpus.
    uses_validation: ClassVar[bool] = True
    #: Options that make loading run code shipped with a model (``trust_remote_code``). :func:`load_model`
    #: sets them from its caller's ``trust_remote_code`` whatever the saved record says.
    code_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, spec: ModelSpec, options: Mapping[str, Any] | None = None) -> None:
        self.spec = spec
        self.options: dict[str, Any] = dict(options or {})
        self.labels: list[str] = []

    @abstractmethod
    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Learn from ``train``; ``validation`` may drive early stopping or tuning, never the test fold."""

    @abstractmethod
    def predict_documents(self, documents: list[Document]) -> list[list[Span]]:
        """Predicted spans for each document (offsets into each document's original text)."""

    def predict(self, corpus: Corpus) -> Corpus:
        """A corpus with the same ids, texts and meta whose spans are this model's predictions."""
        docs = list(corpus)
        predictions = self.predict_documents(docs)
        return Corpus((d.with_spans(p) for d, p in zip(docs, predictions, strict=True)), source=corpus.source)

    def predict_text(self, text: str) -> list[Span]:
        return self.predict_documents([Document("text", text)])[0]

    @abstractmethod
    def save_weights(self, directory: Path) -> None:
        """Write the learned parameters into ``directory`` (which exists)."""

    @abstractmethod
    def load_weights(self, directory: Path) -> None:
        """Read what :meth:`save_weights` wrote."""

    def write_diagnostics(self, directory: Path) -> None:
        """Write what the last :meth:`predict` call wants kept next to its predictions (raw generations,
        counts); cross-validation calls it for each fold's test predictions. Default: nothing."""
        return None  # most models keep nothing beyond their predictions

    def save(self, directory: str | Path) -> Path:
        """Write the model directory atomically: weights, then ``eccr-model.json`` with the file manifest.

        The new directory is assembled beside ``directory`` and swapped into place only when complete
        (:func:`eccr.atomic.atomic_directory`), so a failed save leaves what was there untouched. Files
        already in ``directory`` that the model does not write (a training run's ``resolved.yaml``,
        ``metrics.jsonl``…) are kept, and recorded in the manifest like the weights.
        """
        from eccr import __version__
        from eccr.atomic import atomic_directory, atomic_write_text
        from eccr.corpus.output import TEMPORARY_PREFIX, carry_over

        out = Path(directory)
        with atomic_directory(out) as staging:
            if out.is_dir():  # keep what else is there (an old record is replaced below)
                carry_over((p for p in out.iterdir() if p.name != MODEL_FILE
                            and not p.name.startswith(TEMPORARY_PREFIX)), staging)
            self.save_weights(staging)
            record = {
                "kind": self.kind,
                "spec": str(self.spec),
                "options": self.options,
                "labels": self.labels,
                "eccr_version": __version__,
                MANIFEST_KEY: build_manifest(staging, self.kind),
            }
            atomic_write_text(staging / MODEL_FILE, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        return out


_REGISTRY: dict[str, Callable[[], type[ConceptModel]]] = {}


def register(kind: str, loader: Callable[[], type[ConceptModel]]) -> None:
    """Register a model kind; ``loader`` imports the class lazily so heavy dependencies load on use."""
    _REGISTRY[kind] = loader


def _builtin_registrations() -> None:
    # Imported lazily: torch/transformers must not load when only the CRF is used.
    def crf() -> type[ConceptModel]:
        from eccr.models.crf import CRFModel

        return CRFModel

    def gazetteer() -> type[ConceptModel]:
        from eccr.models.dictionary import DictionaryModel

        return DictionaryModel

    def hf() -> type[ConceptModel]:
        from eccr.models.token_classification import TokenClassificationModel

        return TokenClassificationModel

    def it() -> type[ConceptModel]:
        from eccr.models.instruction.model import InstructionModel

        return InstructionModel

    def onnx() -> type[ConceptModel]:
        from eccr.models.onnx import OnnxTokenClassificationModel

        return OnnxTokenClassificationModel

    def scratch() -> type[ConceptModel]:
        from eccr.models.scratch import ScratchModel

        return ScratchModel

    def spacy() -> type[ConceptModel]:
        from eccr.models.spacy_pipeline import SpacyModel

        return SpacyModel

    def ensemble() -> type[ConceptModel]:
        from eccr.models.ensemble import EnsembleModel

        return EnsembleModel

    builtin = (
        ("crf", crf),
        ("dict", gazetteer),
        ("hf", hf),
        ("it", it),
        ("scratch", scratch),
        ("spacy", spacy),
        ("ensemble", ensemble),
        ("onnx", onnx),
    )
    for kind, loader in builtin:
        _REGISTRY.setdefault(kind, loader)


def model_class(kind: str) -> type[ConceptModel]:
    _builtin_registrations()
    if kind not in _REGISTRY:
        raise ConfigError(
            "E044", f"unknown model kind {kind!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[kind]()


def create_model(spec: str | ModelSpec, options: Mapping[str, Any] | None = None) -> ConceptModel:
    """A new, untrained model for ``spec`` with ``options`` (validated by the model class)."""
    parsed = ModelSpec.parse(spec) if isinstance(spec, str) else spec
    return model_class(parsed.kind)(parsed, options)


def load_model(directory: str | Path, *, trust_remote_code: bool = False) -> ConceptModel:
    """Load a model directory written by :meth:`ConceptModel.save`, after checking every file of it.

    Args:
        directory: the model directory.
        trust_remote_code: run code shipped with the model (transformers' ``auto_map`` custom classes); only
            for directories whose origin you trust. Only the caller decides this: a ``trust_remote_code``
            in the directory's own ``eccr-model.json`` is ignored.

    Raises:
        ModelError: ``E060`` not a model directory; ``E062`` a malformed record; ``E068`` a file missing,
            truncated, changed or added since the save (or no manifest); ``E069`` a pickle, code or an
            ``auto_map`` the caller did not allow — all before any weight is read.
    """
    d = Path(directory)
    record_path = d / MODEL_FILE
    if not record_path.is_file():
        raise ModelError(
            "E060", f"{d} is not an eccr model directory (no {MODEL_FILE})", Location(file=str(d))
        )
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        spec = ModelSpec.parse(record["spec"])
        options = dict(record.get("options") or {})
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError,
            ConfigError) as err:
        raise ModelError(
            "E062", f"{MODEL_FILE} is not a valid eccr model record: {err!r}", Location(file=str(record_path))
        ) from None
    verify_model_directory(d, record, trust_remote_code=trust_remote_code)
    cls = model_class(spec.kind)
    for key in cls.code_options:  # from the caller only, never from the directory
        options[key] = trust_remote_code
    model = cls(spec, options)
    labels = record.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ModelError("E062", f"{MODEL_FILE}: labels must be a list of strings",
                         Location(file=str(record_path)))
    model.labels = list(labels)
    model.load_weights(d)
    return model
