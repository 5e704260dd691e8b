"""Ensembles of concept models (``--model ensemble``): several models' predictions combined per character.

Members are any :class:`~eccr.models.base.ConceptModel` — given as specs with options (trained by
:meth:`EnsembleModel.fit` on the same training and validation documents, so in ``eccr cv`` every member
learns from the same folds) or as saved model directories (used as they are, never retrained: in
cross-validation that is only sound when they never saw the test documents). The ensemble talks to its
members only through the model interface (:func:`~eccr.models.base.create_model`,
:func:`~eccr.models.base.load_model`, ``fit``, ``predict_documents`` and, where a model offers it,
``predict_char_scores``), so kinds added later take part unchanged.

Combination (:mod:`eccr.models.char_scores`): ``combine: vote`` — each member's spans as 0/1 per character,
a character is in a concept when **more than half** the members say so (``threshold`` 0.5; with two
members both must agree); ``combine: mean`` — the mean of per-character probabilities, taken from members
that expose them (the CRF's marginals) and 0/1 from the others.

Options (``model.options``)::

    members: [crf, "spacy:ja_ginza", {spec: "spacy:ja", options: {max_steps: 500}}, models/hf-fold-1]
    combine: vote        # or mean
    threshold: 0.5

A string member is a saved model directory when it holds ``eccr-model.json``, else a spec. The saved
ensemble directory holds ``eccr-model.json`` (members written as spec + options) and each member's own
model directory under ``member-<i>/``, so :func:`~eccr.models.base.load_model` restores it like any model.

:func:`combine_predictions` applies the same rule to predictions already made (e.g. the per-fold predictions
of several ``eccr cv`` runs on the same folds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, Location, ModelError
from eccr.models.base import MODEL_FILE, ConceptModel, ModelSpec, create_model, load_model, parse_options
from eccr.models.char_scores import CharScores, average

MEMBER_DIR = "member-{index}"


class MemberOptions(BaseModel):
    """One member: a ``spec`` with ``options``, or the ``path`` of a saved model directory."""

    model_config = ConfigDict(extra="forbid")

    spec: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MemberOptions:
        if (self.spec is None) == (self.path is None):
            raise ValueError(
                "a member needs exactly one of 'spec' (a model to train) or 'path' (a saved model)"
            )
        if self.path is not None and self.options:
            raise ValueError("a saved member ('path') takes no options")
        return self


class EnsembleOptions(BaseModel):
    """Options of ``ensemble`` models; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    members: list[MemberOptions] = Field(min_length=2)
    combine: Literal["vote", "mean"] = "vote"
    threshold: float = Field(0.5, ge=0, lt=1)

    @field_validator("members", mode="before")
    @classmethod
    def _member_strings(cls, value: Any) -> Any:
        """``"crf"`` → ``{spec: crf}``; a directory holding ``eccr-model.json`` → ``{path: …}``."""
        if not isinstance(value, list):
            return value
        return [_member_from_string(m) if isinstance(m, str) else m for m in value]


def _member_from_string(text: str) -> dict[str, Any]:
    return {"path": text} if (Path(text) / MODEL_FILE).is_file() else {"spec": text}


class EnsembleModel(ConceptModel):
    """``ensemble``: members trained (or loaded) together, their predictions combined per character."""

    kind: ClassVar[str] = "ensemble"
    Options: ClassVar[type[BaseModel]] = EnsembleOptions

    def __init__(self, spec: ModelSpec, options: dict[str, Any] | None = None) -> None:
        if spec.name_or_path:
            raise ConfigError(
                "E044",
                "ensemble takes its members from model.options.members, not from the "
                f"spec ({spec}); e.g. --model ensemble --set 'model.options.members=[crf, dict]'",
            )
        self.opts = parse_options(EnsembleOptions, options)
        super().__init__(spec, self.opts.model_dump(mode="json", exclude_none=True))
        self.members: list[ConceptModel] = []

    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Train every spec member on ``train`` (``validation`` passed along); load every saved member."""
        members = []
        for index, member in enumerate(self.opts.members, 1):
            if member.path is not None:
                members.append(load_model(member.path))
                continue
            assert member.spec is not None
            model = create_model(member.spec, member.options)
            member_dir = run_dir / MEMBER_DIR.format(index=index) if run_dir is not None else None
            if member_dir is not None:
                member_dir.mkdir(parents=True, exist_ok=True)
            model.fit(train, validation, run_dir=member_dir)
            members.append(model)
        self._set_members(members)
        trained_labels = sorted({s.label for d in train for s in d.spans})
        self.labels = trained_labels or list(dict.fromkeys(label for m in members for label in m.labels))

    def _set_members(self, members: list[ConceptModel]) -> None:
        """Adopt trained members; the saved options then describe them as spec + resolved options."""
        self.members = members
        resolved = [MemberOptions(spec=str(m.spec), options=dict(m.options)) for m in members]
        self.opts = self.opts.model_copy(update={"members": resolved})
        self.options = self.opts.model_dump(mode="json", exclude_none=True)

    def _require_members(self) -> None:
        if not self.members:
            raise ModelError("E067", "the ensemble is not trained or loaded: call fit() or load_model(dir)")

    def member_scores(self, documents: list[Document]) -> list[list[CharScores]]:
        """Per member, the :class:`CharScores` of every document (probabilities where offered and wanted)."""
        self._require_members()
        out = []
        for member in self.members:
            scorer = getattr(member, "predict_char_scores", None)
            if self.opts.combine == "mean" and callable(scorer):
                out.append(list(scorer(documents)))
                continue
            predictions = member.predict_documents(documents)
            out.append(
                [
                    CharScores.from_spans(spans, len(doc.text), _labels(spans))
                    for doc, spans in zip(documents, predictions, strict=True)
                ]
            )
        return out

    def predict_documents(self, documents: list[Document]) -> list[list[Span]]:
        """The combined spans of every document (module docstring)."""
        per_member = self.member_scores(documents)
        return [
            average([scores[i] for scores in per_member]).to_spans(self.opts.threshold)
            for i in range(len(documents))
        ]

    def save_weights(self, directory: Path) -> None:
        self._require_members()
        for index, member in enumerate(self.members, 1):
            member.save(directory / MEMBER_DIR.format(index=index))

    def load_weights(self, directory: Path) -> None:
        members = []
        for index in range(1, len(self.opts.members) + 1):
            member_dir = directory / MEMBER_DIR.format(index=index)
            if not (member_dir / MODEL_FILE).is_file():
                raise ModelError(
                    "E060",
                    f"ensemble directory lacks {member_dir.name}/{MODEL_FILE}",
                    Location(file=str(directory)),
                )
            members.append(load_model(member_dir))
        self._set_members(members)


def _labels(spans: Sequence[Span]) -> tuple[str, ...]:
    """The labels of ``spans``, first seen first (a member votes only for labels it predicted)."""
    return tuple(dict.fromkeys(s.label for s in spans))


def combine_predictions(
    predictions: Sequence[Sequence[Document]], *, threshold: float = 0.5
) -> list[Document]:
    """Majority vote (``combine: vote``) over several systems' predictions of the same documents.

    ``predictions[k]`` is system k's predicted documents, all in the same order with the same ids and texts
    (e.g. several ``eccr cv`` runs on one folds file); the result is what an ensemble of those systems
    predicts, document by document.

    Raises:
        ConfigError: ``E185`` when the systems' documents differ in ids or texts.
    """
    if len(predictions) < 2:
        raise ConfigError("E185", "an ensemble needs at least two systems' predictions")
    first = predictions[0]
    if any(len(system) != len(first) for system in predictions):
        raise ConfigError(
            "E185",
            "the systems predicted different numbers of documents "
            f"({sorted({len(system) for system in predictions})})",
        )
    combined = []
    for i, doc in enumerate(first):
        others = [system[i] for system in predictions]
        if any(o.id != doc.id or o.text != doc.text for o in others):
            raise ConfigError(
                "E185",
                "the systems' predictions are not of the same documents in the same order",
                Location(doc_id=doc.id),
            )
        scores = [CharScores.from_spans(o.spans, len(doc.text), _labels(o.spans)) for o in others]
        combined.append(doc.with_spans(average(scores).to_spans(threshold)))
    return combined
