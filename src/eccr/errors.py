"""Coded, actionable errors and the warning report used by ``--lenient``.

Every error eccr raises for bad input is an :class:`EccrError` with a stable code (``E0xx``), a message
that says what is wrong and what to do, and a :class:`Location` naming the file, the document id, the line
and the character offset where it was found. Readers never drop data silently: in lenient mode a
recoverable problem becomes a :class:`Problem` in a :class:`ProblemReport` (serialisable to JSON) and the
data involved is still kept.

Codes are grouped: ``E00x`` input/encoding, ``E01x`` spans and offsets, ``E02x`` documents and corpora
(``E025``: a document the target format cannot hold), ``E03x`` format syntax, ``E04x`` configuration and
selection (``E048``: corpus reader/writer options), ``E05x`` scoring, ``E06x`` models and training, ``E07x``
token alignment, ``E08x`` tokenizers. Each code means one thing; ``docs/errors.md`` lists every code with
its meaning, where it is raised and what to do, and ``tests/test_errors.py`` keeps that list complete.

Some conditions are not errors but must not pass in silence either — a selector that matches nothing, a
conversion the target format cannot hold exactly, scoring or training on zero spans. They are
:class:`EccrWarning` s (coded like errors, issued with :func:`warn` through Python's :mod:`warnings`), so a
library caller can filter or escalate them and the command line prints each as one ``warning [E0xx] …``
line.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where a problem was found. Every field is optional; the message names whichever are known.

    ``offset`` is a character offset into the document's original text (not a byte offset); ``line`` is a
    1-based line number in the input file.
    """

    file: str | None = None
    doc_id: str | None = None
    line: int | None = None
    offset: int | None = None

    def describe(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.doc_id is not None:
            parts.append(f"document {self.doc_id!r}")
        if self.offset is not None:
            parts.append(f"offset {self.offset}")
        return ", ".join(parts)


class EccrError(Exception):
    """Base class of eccr's errors: a code, a message, and where it happened.

    Example:
        >>> err = EccrError("E010", "span end 12 is past the end of the text (10 characters)",
        ...                 Location(file="a.jsonl", doc_id="d1", line=3, offset=12))
        >>> err.code, err.location.describe()
        ('E010', "file a.jsonl, line 3, document 'd1', offset 12")
        >>> str(err).endswith("(file a.jsonl, line 3, document 'd1', offset 12)")
        True
    """

    recoverable = False

    def __init__(self, code: str, message: str, location: Location | None = None) -> None:
        self.code = code
        self.message = message
        self.location = location or Location()
        where = self.location.describe()
        super().__init__(f"[{code}] {message}" + (f" ({where})" if where else ""))

    def with_location(self, **changes: Any) -> EccrError:
        """Return a copy of this error whose location has the given fields filled in (kept if already set)."""
        current = asdict(self.location)
        for key, value in changes.items():
            if current.get(key) is None:
                current[key] = value
        clone = type(self)(self.code, self.message, Location(**current))
        return clone


class InputError(EccrError):
    """The file cannot be read as the format it claims (encoding, syntax, structure)."""


class SpanError(EccrError):
    """A span is invalid for its document (outside the text, empty, overlapping, wrong surface)."""


class RecoverableSpanError(SpanError):
    """A span problem that ``--lenient`` may turn into a warning while keeping the data."""

    recoverable = True


class DocumentError(EccrError):
    """A document or corpus is invalid (empty text, duplicate ids, mismatched texts)."""


class RecoverableDocumentError(DocumentError):
    """A document problem that ``--lenient`` may turn into a warning while keeping the data."""

    recoverable = True


class ConfigError(EccrError):
    """A selector, option, config file or model spec is invalid."""


class ScoringError(EccrError):
    """Gold and predicted corpora cannot be scored together."""


class ModelError(EccrError):
    """A model directory, spec or training run is invalid."""


class EccrWarning(UserWarning):
    """A coded warning: the result is produced, but something about it needs the user's attention.

    Example:
        >>> w = EccrWarning("E027", "selector 'D' matches no span", Location(file="c.jsonl"))
        >>> str(w)
        "[E027] selector 'D' matches no span (file c.jsonl)"
    """

    def __init__(self, code: str, message: str, location: Location | None = None) -> None:
        self.code = code
        self.message = message
        self.location = location or Location()
        where = self.location.describe()
        super().__init__(f"[{code}] {message}" + (f" ({where})" if where else ""))


def warn(code: str, message: str, location: Location | None = None, *, stacklevel: int = 2) -> None:
    """Issue an :class:`EccrWarning` (``stacklevel`` as in :func:`warnings.warn`, counted from the caller)."""
    warnings.warn(EccrWarning(code, message, location), stacklevel=stacklevel + 1)


@dataclass(frozen=True)
class Problem:
    """A recoverable problem that lenient reading reported instead of raising."""

    code: str
    message: str
    location: Location

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **asdict(self.location)}


@dataclass
class ProblemReport:
    """Collects problems while reading. In strict mode the first recoverable problem is raised.

    Readers call :meth:`report` with a recoverable error; it raises unless ``lenient`` is set, in which
    case the problem is recorded and the caller keeps the data it was about to keep.
    """

    lenient: bool = False
    problems: list[Problem] = field(default_factory=list)

    def report(self, error: EccrError) -> None:
        if not (self.lenient and error.recoverable):
            raise error
        self.problems.append(Problem(error.code, error.message, error.location))

    def __len__(self) -> int:
        return len(self.problems)

    def to_json(self) -> str:
        return json.dumps(
            {"problems": [p.to_dict() for p in self.problems], "count": len(self.problems)},
            ensure_ascii=False,
            indent=2,
        )

    def write(self, path: str | Path) -> None:
        """Write the report as JSON, atomically; the folder must exist (``E005`` otherwise)."""
        from eccr.corpus.output import write_text_output  # the corpus layer imports this module

        write_text_output(path, self.to_json() + "\n", create_folders=False)
