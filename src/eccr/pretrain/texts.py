"""Unlabelled text for pretraining: read from plain text, JSONL or any eccr corpus, with its sources recorded.

Every pretraining step (``eccr pretrain-tokenizer``, ``eccr pretrain``) reads its text through
:func:`read_pretraining_texts`, so all of them accept the same inputs and record the same provenance.

The rules, per path given:

* **Plain text** — a ``.txt`` file, or a file whose extension names no eccr corpus format: with
  ``unit="line"`` (the default under ``"auto"``) one document per non-empty line (ids ``notes.txt:12``,
  the 1-based line number); with ``unit="file"`` the whole file is one document (id ``notes.txt``).
* **A directory** of ``*.txt`` files (sorted by name): under ``"auto"`` or ``"file"`` each file is one
  document (id ``notes/a.txt``); with ``"line"`` one document per non-empty line (``notes/a.txt:3``).
  A directory holding ``.ann`` files is a brat corpus (below).
* **JSONL** (``.jsonl``): one JSON object per non-empty line with a string field ``field`` (default
  ``text``; eccr's own JSONL corpus has it too). A line without it is ``E084`` naming file and line.
* **Any other eccr corpus** whose format :func:`eccr.corpus.io.detect_format` recognises (MedTxt ``.xml``,
  a brat directory, ``.conll``, ``.spacy`` DocBin, JMED-LLM ``.csv``): its documents' texts (ids
  ``corpus.xml:<document id>``). ``unit`` does not apply: a corpus document stays one document.

Files are decoded as every eccr reader decodes them (:func:`eccr.corpus.validation.decode_utf8`): UTF-8, a
leading byte-order mark removed, invalid bytes ``E001`` naming the file, line and byte offset. A line's
``\\r`` (CRLF files) is not part of its text; a whole-file document keeps its line ends as stored.
Whitespace-only documents are skipped; a source that yields no document at all (an empty file, a
directory without ``*.txt`` files) is ``E120`` naming it. A missing path is ``E043``.

Ids are unique across sources: each source's label is its file name, made unique by ``#2``, ``#3``… when
two sources share a name.

:func:`exclude_overlapping` removes documents that duplicate or share a long sentence with a reference
collection (a labelled corpus's documents — the leakage guard), by :class:`eccr.corpus.overlap.OverlapIndex`.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "notes.txt").write_bytes("\\ufeff発熱あり。\\r\\n\\r\\n咳嗽なし。\\r\\n".encode())
>>> texts = read_pretraining_texts([folder / "notes.txt"])
>>> [(d.id, d.text) for d in texts.documents], texts.sources[0].kind, texts.characters()
([('notes.txt:1', '発熱あり。'), ('notes.txt:3', '咳嗽なし。')], 'lines', 10)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from eccr.corpus.overlap import OverlapIndex, OverlapReport
from eccr.corpus.types import Document
from eccr.errors import ConfigError, InputError, Location

__all__ = ["PretrainingTexts", "TextSource", "Unit", "exclude_corpora", "exclude_overlapping",
           "read_pretraining_texts"]

Unit = Literal["auto", "line", "file"]
UNITS: tuple[str, ...] = ("auto", "line", "file")

# Extensions read as plain text although eccr's inline corpus format claims ".txt": pretraining text has no
# markup, and a file of notes must not be parsed for "@@…##" spans.
_PLAIN_SUFFIXES = frozenset({".txt", ".text", ""})


@dataclass(frozen=True)
class TextSource:
    """One input path as read.

    Attributes:
        path: the path as given.
        kind: ``lines``, ``file`` (one document per file; also a directory of ``*.txt`` files), ``jsonl`` or
            ``corpus:<format>``.
        sha256: of the file's bytes; for a directory, of its members' names and hashes (sorted).
        documents: documents read from it (before any exclusion).
        characters: their characters.
        removed: documents :func:`exclude_overlapping` removed from it.
    """

    path: str
    kind: str
    sha256: str
    documents: int
    characters: int
    removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "sha256": self.sha256, "documents": self.documents,
                "characters": self.characters, "removed": self.removed}


@dataclass(frozen=True)
class PretrainingTexts:
    """Documents to pretrain on, the sources they came from, and the exclusion applied (if any)."""

    documents: tuple[Document, ...]
    sources: tuple[TextSource, ...]
    exclusion: OverlapReport | None = None

    @property
    def texts(self) -> list[str]:
        """The documents' texts, in order."""
        return [d.text for d in self.documents]

    def characters(self) -> int:
        """Characters of the (kept) documents."""
        return sum(len(d.text) for d in self.documents)


def read_pretraining_texts(
    paths: Sequence[str | Path], *, unit: Unit = "auto", field: str = "text"
) -> PretrainingTexts:
    """Read pretraining documents from ``paths`` (rules in the module docstring), ids unique across them.

    Raises:
        ConfigError: ``E043`` for a missing path, ``E121`` for an unknown ``unit`` or no path at all.
        InputError: ``E120`` for a source without text, ``E084`` for a JSONL line without the string field,
            ``E001`` for invalid UTF-8; a corpus reader's own errors for a malformed corpus.
    """
    if unit not in UNITS:
        raise ConfigError("E121", f"unknown text unit {unit!r}; choose one of {', '.join(UNITS)}")
    if not paths:
        raise ConfigError("E121", "no pretraining text given; name at least one file or directory")
    documents: list[Document] = []
    sources: list[TextSource] = []
    labels: set[str] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise ConfigError("E043", f"input {path} does not exist")
        label = _unique_label(path.name or str(path), labels)
        kind, digest, docs = _read_source(path, label, unit, field)
        if not docs:
            raise InputError("E120", f"{path} holds no text to pretrain on (empty, or only blank lines)",
                             Location(file=str(path)))
        documents.extend(docs)
        sources.append(TextSource(str(given), kind, digest, len(docs), sum(len(d.text) for d in docs)))
    return PretrainingTexts(tuple(documents), tuple(sources))


def exclude_overlapping(texts: PretrainingTexts, reference: Sequence[Document]) -> PretrainingTexts:
    """``texts`` without the documents that duplicate, or share a sentence with, a ``reference`` document.

    The rule is :mod:`eccr.corpus.overlap`'s (exact normalised text, or a shared normalised sentence of at
    least ``MIN_SENTENCE_CHARS`` characters). Sources keep their original counts and record how many of their
    documents were removed; ``exclusion`` is the report (which documents, matched to which reference ids).
    """
    report = OverlapIndex(reference).check(texts.documents)
    removed = report.ids
    owner = _source_of_documents(texts)
    per_source = [0] * len(texts.sources)
    for doc_id in removed:
        per_source[owner[doc_id]] += 1
    sources = tuple(replace(s, removed=s.removed + n) for s, n in zip(texts.sources, per_source, strict=True))
    kept = tuple(d for d in texts.documents if d.id not in removed)
    return PretrainingTexts(kept, sources, report)


def exclude_corpora(texts: PretrainingTexts, corpora: Sequence[str | Path]) -> PretrainingTexts:
    """:func:`exclude_overlapping` against every document of the labelled ``corpora`` (``--exclude``; whole
    texts are compared, so no span selection applies).

    Raises:
        InputError: ``E125`` when nothing is left.
    """
    if not corpora:
        return texts
    from eccr.corpus.io import read_documents

    kept = exclude_overlapping(texts, [doc for corpus in corpora for doc in read_documents(corpus)])
    if not kept.documents:
        raise InputError("E125", f"every pretraining document overlaps the excluded corpora "
                         f"({', '.join(map(str, corpora))}); nothing is left to pretrain on")
    return kept


def _source_of_documents(texts: PretrainingTexts) -> dict[str, int]:
    # documents are stored source by source, in order, so the counts recover which source each came from
    owner: dict[str, int] = {}
    position = 0
    for index, source in enumerate(texts.sources):
        count = source.documents - source.removed
        for doc in texts.documents[position : position + count]:
            owner[doc.id] = index
        position += count
    return owner


def _unique_label(name: str, taken: set[str]) -> str:
    label, n = name, 1
    while label in taken:
        n += 1
        label = f"{name}#{n}"
    taken.add(label)
    return label


def _read_source(path: Path, label: str, unit: Unit, field: str) -> tuple[str, str, list[Document]]:
    """``(kind, sha256, documents)`` of one existing path."""
    if path.is_dir():
        if any(f.suffix.lower() == ".ann" for f in path.iterdir() if f.is_file()):
            return _read_corpus(path, label, "brat")
        return _read_directory(path, label, unit)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        data = _file_bytes(path)
        return "jsonl", _sha256(data), list(_jsonl_documents(_decode(data, path), path, label, field))
    if suffix not in _PLAIN_SUFFIXES:
        corpus_format = _corpus_format(path)
        if corpus_format is not None:
            return _read_corpus(path, label, corpus_format)
    data = _file_bytes(path)
    text = _decode(data, path)
    if unit == "file":
        return "file", _sha256(data), _file_document(text, label, path)
    return "lines", _sha256(data), list(_line_documents(text, label, path))


def _corpus_format(path: Path) -> str | None:
    from eccr.corpus.io import detect_format

    try:
        return detect_format(path)
    except ConfigError:  # not a corpus extension: plain text
        return None


def _read_corpus(path: Path, label: str, corpus_format: str) -> tuple[str, str, list[Document]]:
    from eccr.corpus.io import read_documents

    digest = _directory_sha256(sorted(f for f in path.iterdir() if f.is_file())) if path.is_dir() \
        else _sha256(_file_bytes(path))
    documents = [
        Document(f"{label}:{doc.id}", doc.text, meta={"source": str(path), "id": doc.id})
        for doc in read_documents(path, corpus_format)
        if doc.text.strip()
    ]
    return f"corpus:{corpus_format}", digest, documents


def _read_directory(path: Path, label: str, unit: Unit) -> tuple[str, str, list[Document]]:
    members = sorted(f for f in path.glob("*.txt") if f.is_file() and not f.name.startswith("."))
    if not members:
        raise InputError("E120", f"directory {path} holds no *.txt files to pretrain on",
                         Location(file=str(path)))
    documents: list[Document] = []
    for member in members:
        text = _decode(_file_bytes(member), member)
        name = f"{label}/{member.name}"
        if unit == "line":
            documents.extend(_line_documents(text, name, member))
            continue
        docs = _file_document(text, name, member)
        if not docs:
            raise InputError("E120", f"{member} holds no text to pretrain on (the file is empty)",
                             Location(file=str(member)))
        documents.extend(docs)
    return ("lines" if unit == "line" else "file"), _directory_sha256(members), documents


def _file_document(text: str, doc_id: str, path: Path) -> list[Document]:
    return [Document(doc_id, text, meta={"source": str(path)})] if text.strip() else []


def _line_documents(text: str, label: str, path: Path) -> Iterator[Document]:
    from eccr.corpus.validation import split_records

    for number, line in split_records(text):
        if line.strip():
            yield Document(f"{label}:{number}", line, meta={"source": str(path), "line": number})


def _jsonl_documents(text: str, path: Path, label: str, field: str) -> Iterator[Document]:
    from eccr.corpus.validation import split_records

    for number, line in split_records(text):
        if not line.strip():
            continue
        try:
            value = json.loads(line).get(field)
        except (json.JSONDecodeError, AttributeError):
            value = None
        if not isinstance(value, str):
            raise InputError("E084", f"line is not a JSON object with a string {field!r}",
                             Location(file=str(path), line=number))
        if value.strip():
            yield Document(f"{label}:{number}", value, meta={"source": str(path), "line": number})


def _file_bytes(path: Path) -> bytes:
    # the bytes as stored (BOM included): the hash must identify the file, decode_utf8 drops the BOM
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError("E002", f"cannot read {path}: {err.strerror or err}", Location(file=str(path))) \
            from None


def _decode(data: bytes, path: Path) -> str:
    from eccr.corpus.validation import decode_utf8

    return decode_utf8(data, path)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _directory_sha256(members: Sequence[Path]) -> str:
    """Hash of ``name<TAB>sha256`` lines of the members, sorted by name: any change to any member shows."""
    lines = "".join(f"{m.name}\t{_sha256(_file_bytes(m))}\n" for m in sorted(members, key=lambda m: m.name))
    return _sha256(lines.encode("utf-8"))
