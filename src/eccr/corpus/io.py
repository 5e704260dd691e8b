"""Reading and writing corpora in any supported format: the one entry point the rest of eccr uses.

Each format lives in its own module ``eccr.corpus.<name>`` exposing::

    EXTENSIONS: tuple[str, ...]        # unambiguous file extensions for this format ("" entries ignored)
    def read(path: Path, report: ProblemReport, **options) -> list[Document]
    def write(documents: Sequence[Document], path: Path, **options) -> None

The format is taken from the explicit ``format`` argument, else from an unambiguous file extension
(``.xml`` medtxt, ``.csv`` jmedllm, ``.jsonl`` jsonl, ``.ann`` brat, ``.conll`` conll); it is never guessed
from the content. ``read_corpus`` then validates the documents (unique ids, non-empty texts) and applies
the selector.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from eccr.corpus.types import Corpus, Document
from eccr.errors import ConfigError, DocumentError, Location, ProblemReport, RecoverableDocumentError

#: Format names, each a module of :mod:`eccr.corpus`.
FORMATS: tuple[str, ...] = ("jsonl", "inline", "medtxt", "jmedllm", "brat", "conll")


def format_module(name: str) -> ModuleType:
    if name not in FORMATS:
        raise ConfigError("E041", f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return importlib.import_module(f"eccr.corpus.{name}")


def detect_format(path: str | Path) -> str:
    """The format named by ``path``'s extension, or a ``ConfigError`` asking for ``--from``/``--to``.

    A directory is brat when it holds ``.ann`` files; nothing is inferred from file contents.
    """
    p = Path(path)
    if p.is_dir():
        if any(p.glob("*.ann")):
            return "brat"
        raise ConfigError("E042", f"cannot tell the format of directory {p}; pass --from/--to explicitly")
    suffix = p.suffix.lower()
    matches = [name for name in FORMATS if suffix and suffix in format_module(name).EXTENSIONS]
    if len(matches) != 1:
        raise ConfigError(
            "E042",
            f"cannot tell the format of {p} from its extension {suffix or '(none)'!r}; pass --from/--to "
            f"(one of {', '.join(FORMATS)})",
        )
    return matches[0]


def read_documents(
    path: str | Path, format: str | None = None, *, report: ProblemReport | None = None, **options: Any
) -> list[Document]:
    """Read documents as the format stores them, without corpus-level checks or selection."""
    p = Path(path)
    name = format or detect_format(p)
    if not p.exists():
        raise ConfigError("E043", f"input {p} does not exist")
    return format_module(name).read(p, report if report is not None else ProblemReport(), **options)


def check_documents(documents: Iterable[Document], report: ProblemReport, source: str | None) -> list[Document]:
    """Corpus-level validation: empty documents and duplicate ids.

    Both are recoverable: with a lenient report the empty document is kept and a duplicate id is renamed
    ``<id>~2``, ``<id>~3``… so nothing is lost, and each case is recorded.
    """
    seen: dict[str, int] = {}
    checked = []
    for doc in documents:
        if not doc.text:
            report.report(RecoverableDocumentError(
                "E020", "document is empty (no text)", Location(file=source, doc_id=doc.id,
                                                                  line=doc.meta.get("line"))))
        if doc.id in seen:
            seen[doc.id] += 1
            new_id = f"{doc.id}~{seen[doc.id]}"
            while new_id in seen:
                seen[doc.id] += 1
                new_id = f"{doc.id}~{seen[doc.id]}"
            report.report(RecoverableDocumentError(
                "E021", f"duplicate document id {doc.id!r}; kept as {new_id!r}",
                Location(file=source, doc_id=doc.id, line=doc.meta.get("line"))))
            seen[new_id] = 1
            doc = Document(new_id, doc.text, doc.spans, {**doc.meta, "original_id": doc.id})
        else:
            seen[doc.id] = 1
        checked.append(doc)
    return checked


def read_corpus(
    path: str | Path,
    format: str | None = None,
    *,
    select: str | None = None,
    lenient: bool = False,
    report: ProblemReport | None = None,
    **options: Any,
) -> Corpus:
    """Read, validate and select a corpus.

    Args:
        path: a file (or a directory for formats stored as several files).
        format: one of :data:`FORMATS`; taken from the extension when omitted.
        select: a span selector (:mod:`eccr.corpus.selector`), e.g. ``"d[certainty=positive]"``.
        lenient: turn recoverable problems into entries of ``report`` instead of errors.
        report: where problems go; a fresh one is made when omitted.
        **options: format-specific reader options.
    """
    report = report if report is not None else ProblemReport(lenient=lenient)
    report.lenient = report.lenient or lenient
    docs = read_documents(path, format, report=report, **options)
    try:
        corpus = Corpus(check_documents(docs, report, str(path)), source=str(path))
    except DocumentError as err:
        raise err.with_location(file=str(path)) from None
    return corpus.select(select)


def write_corpus(corpus: Sequence[Document], path: str | Path, format: str | None = None, **options: Any) -> None:
    """Write ``corpus`` to ``path`` in ``format`` (taken from the extension when omitted)."""
    p = Path(path)
    name = format or detect_format(p)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    format_module(name).write(list(corpus), p, **options)
