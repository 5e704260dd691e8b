"""What a tokenizer or model directory was pretrained on, kept beside it so leakage can be checked later.

``eccr pretrain-tokenizer`` and ``eccr pretrain`` call :func:`write_provenance` on their output directory; it
writes two files:

* ``eccr-pretraining.json`` (:data:`PROVENANCE_FILE`) — the sources (path, kind, sha256, documents,
  characters, documents removed by the leakage guard), total documents and characters, the exclusion report
  (counts and removed ids; which corpus was excluded comes in ``details``), free ``details`` (command
  options), and the **parent** model for continual pretraining. When the parent directory has its own
  provenance, it is embedded (recursively: a chain of continual pretraining stays readable).
* ``eccr-pretraining-fingerprints.txt`` (:data:`FINGERPRINTS_FILE`) — one fingerprint per line, sorted:
  ``d <hash>`` for each document's whole text and ``s <hash>`` for each of its sentences of at least
  ``MIN_SENTENCE_CHARS`` characters, where ``<hash>`` is the first 16 hex digits of the SHA-256 of the
  text after :func:`eccr.corpus.overlap.normalize_for_overlap`. The parent's fingerprints are included:
  the model saw that text too. The texts themselves are never stored.

:meth:`Provenance.check` then applies :mod:`eccr.corpus.overlap`'s rule to documents (a labelled corpus's
test documents): a **duplicate** has the fingerprint of a pretraining document, otherwise it **shares a
sentence** when one of its long sentences has a sentence fingerprint. 16 hex digits (64 bits) make a chance
collision negligible for any corpus size eccr meets.

Both files are written atomically, the fingerprints first: a directory whose JSON file exists has both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eccr.atomic import atomic_write_text
from eccr.corpus.overlap import MIN_SENTENCE_CHARS, normalize_for_overlap, sentence_keys
from eccr.corpus.types import Document
from eccr.errors import Location, ModelError

if TYPE_CHECKING:
    from eccr.pretrain.texts import PretrainingTexts

__all__ = [
    "FINGERPRINTS_FILE",
    "PROVENANCE_FILE",
    "LeakageCheck",
    "Provenance",
    "fingerprint",
    "read_provenance",
    "write_provenance",
]

PROVENANCE_FILE = "eccr-pretraining.json"
FINGERPRINTS_FILE = "eccr-pretraining-fingerprints.txt"
FORMAT_VERSION = 1
_HEX_DIGITS = 16


def fingerprint(text: str) -> str:
    """The first 16 hex digits of the SHA-256 of ``text`` as :func:`normalize_for_overlap` leaves it.

    >>> fingerprint("ＣＴで 異常なし。") == fingerprint("CTで異常なし。")
    True
    """
    return hashlib.sha256(normalize_for_overlap(text).encode("utf-8")).hexdigest()[:_HEX_DIGITS]


def _sentence_fingerprints(text: str, min_chars: int) -> set[str]:
    keys = sentence_keys(text, min_chars)
    return {hashlib.sha256(k.encode("utf-8")).hexdigest()[:_HEX_DIGITS] for k in keys}


@dataclass(frozen=True)
class LeakageCheck:
    """Which of ``checked`` documents were in the pretraining text (:meth:`Provenance.check`).

    Attributes:
        checked: documents checked.
        duplicate: ids of documents whose whole normalised text was a pretraining document.
        shared_sentence: ids of the other documents with a long sentence found in the pretraining text.
    """

    checked: int
    duplicate: tuple[str, ...]
    shared_sentence: tuple[str, ...]

    @property
    def found(self) -> int:
        """Documents found in the pretraining text, either way."""
        return len(self.duplicate) + len(self.shared_sentence)

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "duplicate": len(self.duplicate),
                "shared-sentence": len(self.shared_sentence), "duplicate_ids": list(self.duplicate),
                "shared_sentence_ids": list(self.shared_sentence)}


@dataclass(frozen=True)
class Provenance:
    """A directory's pretraining record (:func:`read_provenance`), fingerprints included."""

    directory: str
    record: Mapping[str, Any]
    document_fingerprints: frozenset[str]
    sentence_fingerprints: frozenset[str]

    @property
    def min_sentence_chars(self) -> int:
        return int(self.record.get("fingerprints", {}).get("min_sentence_chars", MIN_SENTENCE_CHARS))

    @property
    def documents(self) -> int:
        return int(self.record.get("documents", 0))

    @property
    def characters(self) -> int:
        return int(self.record.get("characters", 0))

    def summary(self) -> dict[str, Any]:
        """Sources, totals, exclusion counts and parent (the record without removed ids or fingerprints)."""
        exclusion = self.record.get("exclusion")
        return {
            "directory": self.directory,
            "sources": list(self.record.get("sources", [])),
            "documents": self.documents,
            "characters": self.characters,
            "exclusion": ({k: exclusion[k] for k in ("candidates", "duplicate", "shared-sentence", "kept")
                           if k in exclusion} if exclusion else None),
            "parent": _parent_summary(self.record.get("parent")),
            "details": dict(self.record.get("details", {})),
        }

    def check(self, documents: Iterable[Document]) -> LeakageCheck:
        """Which ``documents`` duplicate a pretraining document or share a long sentence with one."""
        n = 0
        duplicate: list[str] = []
        shared: list[str] = []
        for doc in documents:
            n += 1
            if fingerprint(doc.text) in self.document_fingerprints:
                duplicate.append(doc.id)
            elif _sentence_fingerprints(doc.text, self.min_sentence_chars) & self.sentence_fingerprints:
                shared.append(doc.id)
        return LeakageCheck(n, tuple(duplicate), tuple(shared))


def _parent_summary(parent: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not parent:
        return None
    record = parent.get("provenance")
    if not record:
        return {"path": parent.get("path"), "provenance": None}
    return {"path": parent.get("path"), "sources": record.get("sources", []),
            "documents": record.get("documents"), "characters": record.get("characters"),
            "parent": _parent_summary(record.get("parent"))}


def write_provenance(
    directory: str | Path,
    texts: PretrainingTexts,
    *,
    parent: str | Path | None = None,
    details: Mapping[str, Any] | None = None,
) -> Path:
    """Record in ``directory`` (which must exist) what it was pretrained on; returns the JSON file's path.

    Args:
        directory: the tokenizer or model directory.
        texts: the pretraining documents as used (after any exclusion).
        parent: the model continual pretraining started from (a directory or hub id); a parent directory's
            own provenance is embedded and its fingerprints carried over.
        details: anything else to record (JSON-serialisable): options, the excluded corpus's path…
    """
    directory = Path(directory)
    parent_record, parent_prints = _parent(parent)
    documents = set(parent_prints[0])
    sentences = set(parent_prints[1])
    for doc in texts.documents:
        documents.add(fingerprint(doc.text))
        sentences |= _sentence_fingerprints(doc.text, MIN_SENTENCE_CHARS)
    lines = sorted([f"d {h}" for h in documents] + [f"s {h}" for h in sentences])
    body = "".join(line + "\n" for line in lines)
    atomic_write_text(directory / FINGERPRINTS_FILE, body)
    from eccr import __version__

    record = {
        "format": FORMAT_VERSION,
        "eccr_version": __version__,
        "sources": [s.to_dict() for s in texts.sources],
        "documents": len(texts.documents),
        "characters": texts.characters(),
        "exclusion": texts.exclusion.to_dict() if texts.exclusion is not None else None,
        "parent": parent_record,
        "details": dict(details or {}),
        "fingerprints": {
            "file": FINGERPRINTS_FILE,
            "documents": len(documents),
            "sentences": len(sentences),
            "min_sentence_chars": MIN_SENTENCE_CHARS,
            "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest(),
        },
    }
    return atomic_write_text(directory / PROVENANCE_FILE,
                             json.dumps(record, ensure_ascii=False, indent=2) + "\n")


def _parent(parent: str | Path | None) -> tuple[dict[str, Any] | None, tuple[frozenset[str], frozenset[str]]]:
    if parent is None:
        return None, (frozenset(), frozenset())
    previous = read_provenance(parent) if Path(parent).is_dir() else None
    if previous is None:
        return {"path": str(parent), "provenance": None}, (frozenset(), frozenset())
    prints = (previous.document_fingerprints, previous.sentence_fingerprints)
    return {"path": str(parent), "provenance": dict(previous.record)}, prints


def read_provenance(directory: str | Path) -> Provenance | None:
    """The pretraining record of ``directory``, or ``None`` when it has none (not a local directory, or
    no :data:`PROVENANCE_FILE`).

    Raises:
        ModelError: ``E122`` when the record or its fingerprints file is unreadable, not eccr's format, or
            the fingerprints do not match the record's hash.
    """
    path = Path(directory)
    record_path = path / PROVENANCE_FILE
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        body = (path / FINGERPRINTS_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _bad(record_path, f"cannot be read ({err})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
        raise _bad(record_path, f"is not an eccr pretraining record (format {FORMAT_VERSION})")
    expected = record.get("fingerprints", {}).get("sha256")
    if expected != hashlib.sha256(body.encode("utf-8")).hexdigest():
        raise _bad(path / FINGERPRINTS_FILE, f"does not match {PROVENANCE_FILE} (edited or truncated)")
    documents, sentences = _parse_fingerprints(body.splitlines())
    return Provenance(str(directory), record, documents, sentences)


def _parse_fingerprints(lines: Sequence[str]) -> tuple[frozenset[str], frozenset[str]]:
    documents = frozenset(line[2:] for line in lines if line.startswith("d "))
    sentences = frozenset(line[2:] for line in lines if line.startswith("s "))
    return documents, sentences


def _bad(file: Path, problem: str) -> ModelError:
    return ModelError("E122", f"the pretraining record {file.name} {problem}; rewrite it by pretraining "
                      "again or remove both eccr-pretraining files", Location(file=str(file)))
