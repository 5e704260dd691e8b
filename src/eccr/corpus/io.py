"""Reading and writing corpora in any supported format: the one entry point the rest of eccr uses.

Each format lives in its own module ``eccr.corpus.<name>`` exposing::

    EXTENSIONS: tuple[str, ...]        # unambiguous file extensions for this format ("" entries ignored)
    def read(path: Path, report: ProblemReport, **options) -> list[Document]
    def write(documents: Sequence[Document], path: Path, **options) -> None

The format is taken from the explicit ``format`` argument, else from an unambiguous file extension
(``.xml`` medtxt, ``.csv`` jmedllm, ``.jsonl`` jsonl, ``.ann`` brat, ``.conll`` conll); it is never guessed
from the content. ``read_corpus`` then validates the documents (unique ids, non-empty texts) and applies
the selector.

Format options are the keyword parameters of the format's ``read``/``write`` after the first two
(:func:`format_options`). An option the format does not accept is a :class:`~eccr.errors.ConfigError`
``E048`` naming the format and listing the options it accepts, both from Python (:func:`read_documents`,
:func:`write_corpus`) and from ``eccr convert --read-option/--write-option KEY=VALUE``
(:func:`parse_format_options`, which also checks each value against the parameter's type).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import inspect
import json
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from eccr.corpus.types import Corpus, Document
from eccr.corpus.validation import UniqueIds, already_checked, check_not_empty
from eccr.errors import ConfigError, DocumentError, Location, ProblemReport

#: Format names, each a module of :mod:`eccr.corpus`.
FORMATS: tuple[str, ...] = ("jsonl", "inline", "medtxt", "jmedllm", "brat", "conll", "text")

#: Which side of a format an option is for: its reader or its writer.
Role = Literal["read", "write"]


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
    ``.txt`` files; nothing is inferred from file contents. A directory that also holds corpus files of
    another format (``.jsonl``, ``.xml``…) is ``E042``: reading it as one format would skip them silently.
    """
    p = Path(path)
    if p.is_dir():
        return _directory_format(p)
    suffix = p.suffix.lower()
    matches = [name for name in _available_formats() if suffix and suffix in format_module(name).EXTENSIONS]
    if len(matches) != 1:
        raise ConfigError(
            "E042",
            f"cannot tell the format of {p} from its extension {suffix or '(none)'!r}; pass --from/--to "
            f"(one of {', '.join(FORMATS)})",
        )
    return matches[0]


def _directory_format(p: Path) -> str:
    suffixes = {f.suffix.lower() for f in p.iterdir() if f.is_file() and not f.name.startswith(".")}
    known = {ext for name in _available_formats() for ext in format_module(name).EXTENSIONS}
    found = suffixes & known
    if ".ann" in found:
        name, own = "brat", {".ann", ".txt"}
    elif ".txt" in found:
        name, own = "inline", {".txt"}
    else:
        raise ConfigError("E042", f"cannot tell the format of directory {p}; pass --from/--to explicitly")
    others = sorted(found - own)
    if others:
        raise ConfigError(
            "E042", f"directory {p} mixes formats: {name} files ({', '.join(sorted(own & found))}) and "
            f"{', '.join(others)} files; give one file, or --from {name} to read only the {name} files",
            Location(file=str(p)))
    return name


def format_options(name: str, role: Role) -> dict[str, inspect.Parameter]:
    """The options a format's reader (``role="read"``) or writer (``"write"``) accepts, by name.

    They are the named parameters of its ``read``/``write`` after the first two (``path, report`` or
    ``documents, path``); a catch-all ``**options`` is not an option.

    Example:
        >>> sorted(format_options("conll", "read")), format_options("brat", "write")
        (['mode', 'separator'], {})
    """
    function = getattr(format_module(name), role)
    params = list(inspect.signature(function).parameters.values())[2:]
    return {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _describe_options(name: str, role: Role) -> str:
    accepted = format_options(name, role)
    side = "reader" if role == "read" else "writer"
    if not accepted:
        return f"the {name} {side} takes no options"
    listed = ", ".join(f"{key} (default {p.default!r})" for key, p in accepted.items())
    return f"the {name} {side} accepts {listed}"


def check_format_options(name: str, role: Role, options: dict[str, Any]) -> None:
    """Raise ``E048`` naming the format and listing its accepted options if ``options`` has an unknown key.

    Example:
        >>> check_format_options("conll", "read", {"mode": "token"})
        >>> try:
        ...     check_format_options("conll", "read", {"typed": False})
        ... except ConfigError as err:
        ...     print(err.code)
        ...     for part in err.message.split("; "):
        ...         print(part)
        E048
        unknown conll reader option 'typed'
        the conll reader accepts mode (default 'char'), separator (default '')
    """
    unknown = sorted(set(options) - set(format_options(name, role)))
    if unknown:
        side = "reader" if role == "read" else "writer"
        raise ConfigError(
            "E048",
            f"unknown {name} {side} option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"{_describe_options(name, role)}",
        )


def parse_format_options(name: str, role: Role, pairs: Sequence[str]) -> dict[str, Any]:
    """Options for format ``name`` from ``KEY=VALUE`` strings (``--read-option``/``--write-option``).

    A value is read as JSON when it is valid JSON (``true``, ``3``, ``" "``, ``null``), else taken as the
    string written. Keys must be options of the format (:func:`check_format_options`), and each value must
    fit the parameter's type: when the JSON reading does not fit but the plain string does (``label=1`` for
    a string option), the string is used; otherwise the value is an ``E048`` error. A later pair for the
    same key wins.

    Example:
        >>> parse_format_options("conll", "write", ["mode=token", 'separator=" "', "typed=false"])
        {'mode': 'token', 'separator': ' ', 'typed': False}
        >>> parse_format_options("conll", "write", ["sentences=maybe"])
        Traceback (most recent call last):
        ...
        eccr.errors.ConfigError: [E048] conll writer option sentences='maybe' is not a valid bool
    """
    options: dict[str, Any] = {}
    raw_values: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("E048", f"cannot read format option {pair!r}; expected KEY=VALUE, "
                              "e.g. mode=token")
        try:
            options[key] = json.loads(raw)
        except ValueError:
            options[key] = raw
        raw_values[key] = raw
    check_format_options(name, role, options)
    hints = _parameter_types(name, role)
    for key, value in options.items():
        if key in hints:
            options[key] = _fit_type(name, role, key, value, raw_values[key], hints[key])
    return options


def _parameter_types(name: str, role: Role) -> dict[str, Any]:
    """Resolved type annotations of the format's reader/writer, or none when they cannot be resolved."""
    try:
        return typing.get_type_hints(getattr(format_module(name), role))
    except (NameError, TypeError):
        return {}


def _fit_type(name: str, role: Role, key: str, value: Any, raw: str, annotation: Any) -> Any:
    from pydantic import TypeAdapter, ValidationError  # only the CLI path needs pydantic

    adapter = TypeAdapter(annotation)
    for candidate in (value, raw):
        try:
            return adapter.validate_python(candidate, strict=True)
        except ValidationError:
            continue
    side = "reader" if role == "read" else "writer"
    if typing.get_origin(annotation) is Literal:
        expected = f"value: choose one of {', '.join(map(repr, typing.get_args(annotation)))}"
    else:
        expected = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    raise ConfigError("E048", f"{name} {side} option {key}={raw!r} is not a valid {expected}")


def read_documents(
    path: str | Path, format: str | None = None, *, report: ProblemReport | None = None, **options: Any
) -> list[Document]:
    """Read documents as the format stores them, without corpus-level checks or selection."""
    p = Path(path)
    name = format or detect_format(p)
    if not p.exists():
        raise ConfigError("E043", f"input {p} does not exist")
    check_format_options(name, "read", options)
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
        checked.append(ids.claim_document(doc, where))
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
        select: a span selector (:mod:`eccr.corpus.selector`), e.g. ``"d[certainty=positive]"``. JMED-LLM
            rows asked about no selected label are dropped (:func:`eccr.corpus.jmedllm.select_rows`).
        lenient: turn recoverable problems into entries of ``report`` instead of errors.
        report: where problems go; a fresh one is made when omitted.
        **options: format-specific reader options.
    """
    report = report if report is not None else ProblemReport(lenient=lenient)
    report.lenient = report.lenient or lenient
    docs = read_documents(path, format, report=report, **options)
    if select is not None:
        from eccr.corpus.jmedllm import select_rows
        from eccr.corpus.selector import Selector

        docs = select_rows(docs, Selector.parse(select).labels, source=str(path))
    try:
        corpus = Corpus(check_documents(docs, report, str(path)), source=str(path))
    except DocumentError as err:
        raise err.with_location(file=str(path)) from None
    return corpus.select(select)


def write_corpus(
    corpus: Sequence[Document], path: str | Path, format: str | None = None, **options: Any
) -> None:
    """Write ``corpus`` to ``path`` in ``format`` (taken from the extension when omitted).

    Every writer writes atomically (:mod:`eccr.corpus.output`): a failure part-way leaves what was at
    ``path`` untouched, so ``path`` may be the file the corpus was read from. Missing folders are created.
    """
    p = Path(path)
    name = format or detect_format(p)
    check_format_options(name, "write", options)
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
    dst_name = target_format or detect_target_format(target)
    report = ProblemReport(lenient=lenient)
    corpus = read_corpus(source, src_name, select=select, report=report, **(read_options or {}))
    write_corpus(corpus, target, dst_name, **(write_options or {}))
    return ConvertResult(src_name, dst_name, len(corpus), sum(len(d.spans) for d in corpus), report)


def detect_target_format(target: str | Path) -> str:
    """The format to write ``target`` in: from its extension, or from the directory when it exists."""
    p = Path(target)
    if p.exists() or p.suffix:
        return detect_format(p)
    raise ConfigError("E042", f"cannot tell the output format of {p} (no extension); pass --to")
