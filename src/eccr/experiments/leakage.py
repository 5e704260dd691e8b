"""Was a fold's test text in the model's pretraining text? The ``pretraining`` entry of a cv summary.

A model directory written by ``eccr pretrain`` or ``eccr pretrain-tokenizer`` holds its pretraining record
(:mod:`eccr.pretrain.provenance`). When ``eccr cv`` trains a model whose spec names such a local directory
(``hf:DIR``, ``it:DIR``), :func:`pretraining_record` checks each fold's **test** documents against the
record's fingerprints — by :mod:`eccr.corpus.overlap`'s rule: the same normalised text (duplicate) or a shared
normalised sentence of at least 16 characters — and the run's ``summary.json`` gets::

    "pretraining": {"directory", "sources", "documents", "characters", "exclusion", "parent", "details",
                    "test_documents_found": N,
                    "folds": [{"fold": 0, "checked", "duplicate", "shared-sentence",
                               "duplicate_ids", "shared_sentence_ids"}, ...]}

``summary.md`` shows it in one line. When any test document was found, a coded warning ``E126`` says so:
scores on documents the model saw while pretraining overstate what it does on new text. A spec that names
no local directory, or a directory without a record (hub models, ``crf``, scratch architectures), gets no
entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eccr.corpus.types import Corpus
from eccr.errors import warn

__all__ = ["pretraining_line", "pretraining_record"]

_SHOWN_IDS = 5


def _model_directory(spec: str) -> Path | None:
    from eccr.models.base import ModelSpec

    try:
        name = ModelSpec.parse(spec).name_or_path
    except Exception:  # an invalid spec fails where the model is built, with its own error
        return None
    if name is None:
        return None
    path = Path(name).expanduser()
    return path if path.is_dir() else None


def pretraining_record(spec: str, corpus: Corpus, plan: Any) -> dict[str, Any] | None:
    """The ``pretraining`` summary entry for a run of model ``spec`` over ``plan``'s folds of ``corpus``
    (``None`` when the model has no pretraining record); warns ``E126`` when test documents were found."""
    from eccr.pretrain.provenance import read_provenance

    directory = _model_directory(spec)
    provenance = read_provenance(directory) if directory is not None else None
    if provenance is None:
        return None
    folds = []
    found_ids: list[str] = []
    for fold in plan.folds:
        check = provenance.check(corpus.subset(fold.test))
        folds.append({"fold": fold.index, **check.to_dict()})
        found_ids += [*check.duplicate, *check.shared_sentence]
    record = {**provenance.summary(), "test_documents_found": len(found_ids), "folds": folds}
    if found_ids:
        shown = ", ".join(found_ids[:_SHOWN_IDS]) + (", …" if len(found_ids) > _SHOWN_IDS else "")
        duplicate = sum(f["duplicate"] for f in folds)
        warn("E126", f"{len(found_ids)} test documents were in the pretraining text of {directory} "
             f"({duplicate} duplicate, {len(found_ids) - duplicate} sharing a sentence: {shown}); their "
             "scores overstate the model on unseen text — pretrain with --exclude on this corpus",
             stacklevel=2)
    return record


def pretraining_line(record: dict[str, Any]) -> str:
    """The one ``summary.md`` line for a :func:`pretraining_record`."""
    sources = ", ".join(f"`{s['path']}`" for s in record["sources"]) or "no sources recorded"
    parent = record.get("parent")
    found = record["test_documents_found"]
    return (f"- pretrained on {record['documents']} documents ({record['characters']} characters) from "
            f"{sources}" + (f", continued from `{parent['path']}`" if parent else "")
            + f"; test documents found in the pretraining text: {found}"
            + (" (see `pretraining` in summary.json)" if found else ""))
