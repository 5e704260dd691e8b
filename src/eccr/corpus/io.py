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

import contextlib
import gc
import importlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from eccr.corpus.types import Corpus, Document
from eccr.corpus.validation import UniqueIds, already_checked, check_not_empty
from eccr.errors import ConfigError, DocumentError, Location, ProblemReport

#: Format names, each a module of :mod:`eccr.corpus`.
FORMATS: tuple[str, ...] = ("jsonl", "inline", "medtxt", "jmedllm", "brat", "conll")


def format_module(name: str) -> ModuleType:
    if name not in FORMATS:
        raise ConfigError("E041", f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return importlib.import_module(f"eccr.corpus.{name}")


def _available_formats() -> list[str]:
    available = []
    for name in FORMATS:
        try:
            format_module(name)
        except ModuleNotFoundError as err:
            if err.name != f"eccr.corpus.{name}":
                raise
            continue
        available.append(name)
    return available


def detect_format(path: str | Path) -> str:
    """The format named by ``path``'s extension, or a ``ConfigError`` asking for ``--from``/``--to``.

    A directory is brat when it holds ``.ann`` files, else inline (one document per file) when it holds
    ``.txt`` files; nothing is inferred from file contents.
    """
    p = Path(path)
    if p.is_dir():
        if any(p.glob("*.ann")):
            return "brat"
        if any(p.glob("*.txt")):
            return "inline"
        raise ConfigError("E042", f"cannot tell the format of directory {p}; pass --from/--to explicitly")
    suffix = p.suffix.lower()
    matches = [name for name in _available_formats() if suffix and suffix in format_module(name).EXTENSIONS]
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
    reader = format_module(name).read
    with _gc_paused():
        return reader(p, report if report is not None else ProblemReport(), **options)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a reader builds many small objects.

    Readers create no reference cycles, and a corpus is hundreds of thousands of spans: collections triggered
    by the allocations alone would otherwise cost a large share of read time (measured in
    ``benchmarks/corpus_io.py``). The previous state is restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_documents(
    documents: Iterable[Document], report: ProblemReport, source: str | None
) -> list[Document]:
    """Corpus-level validation: empty documents and duplicate ids.

    Both are recoverable: with a lenient report the empty document is kept and a duplicate id is renamed
    ``<id>~2``, ``<id>~3``… (the original id kept in ``meta["original_id"]``) so nothing is lost, and each
    case is recorded. Documents from a reader that already ran these checks with line numbers
    (:class:`~eccr.corpus.validation.CheckedDocuments`) are returned as they are.
    """
    if already_checked(documents):
        return list(documents)
    ids = UniqueIds(report)
    checked = []
    for doc in documents:
        where = Location(file=source, doc_id=doc.id, line=doc.meta.get("line"))
        check_not_empty(doc.id, doc.text, report, where)
        new_id = ids.claim(doc.id, where)
        if new_id != doc.id:
            doc = Document(new_id, doc.text, doc.spans, {**doc.meta, "original_id": doc.id})
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


def write_corpus(
    corpus: Sequence[Document], path: str | Path, format: str | None = None, **options: Any
) -> None:
    """Write ``corpus`` to ``path`` in ``format`` (taken from the extension when omitted)."""
    p = Path(path)
    name = format or detect_format(p)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    format_module(name).write(list(corpus), p, **options)


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert_corpus` did: formats, counts and the problems lenient reading recorded."""

    source_format: str
    target_format: str
    documents: int
    spans: int
    report: ProblemReport


def convert_corpus(
    source: str | Path,
    target: str | Path,
    *,
    source_format: str | None = None,
    target_format: str | None = None,
    select: str | None = None,
    lenient: bool = False,
    read_options: dict[str, Any] | None = None,
    write_options: dict[str, Any] | None = None,
) -> ConvertResult:
    """Read ``source``, apply ``select``, write ``target``; formats from the arguments or the extensions.

    With ``lenient`` recoverable problems are recorded in the result's report instead of raised (the data
    is kept). Both formats are resolved before anything is read, so a bad output path fails fast.
    """
    src_name = source_format or detect_format(source)
    dst_name = target_format or _target_format(target)
    report = ProblemReport(lenient=lenient)
    corpus = read_corpus(source, src_name, select=select, report=report, **(read_options or {}))
    write_corpus(corpus, target, dst_name, **(write_options or {}))
    return ConvertResult(src_name, dst_name, len(corpus), sum(len(d.spans) for d in corpus), report)


def _target_format(target: str | Path) -> str:
    p = Path(target)
    if p.exists() or p.suffix:
        return detect_format(p)
    raise ConfigError("E042", f"cannot tell the output format of {p} (no extension); pass --to")
