r"""The paper's inline format: concepts marked in the text as ``@@concept##``.

Markers and escapes — defined once, here
----------------------------------------
* ``@@`` opens a concept and ``##`` closes it; everything else is text. The input is read left to right, so
  in ``@@@x##`` the first two ``@`` open the concept ``@x``.
* A backslash escapes the next character: ``\\`` is a backslash, ``\@`` a literal ``@``, ``\#`` a literal
  ``#``, ``\n`` a newline and ``\r`` a carriage return. Any other character after a backslash is an error
  (``E033``). So a literal backslash in the text must always be written ``\\``.
* The writer escapes only what is needed: every backslash, a ``@`` whose next output character is ``@``
  (a literal one or an opening marker), a ``#`` whose next output character is ``#``, and — in the
  one-document-per-line layout — newlines and carriage returns. Text without ``@``, ``#`` or ``\`` is written
  unchanged, which is the paper's format.

Layouts
-------
* **one document per line** (a ``.txt`` file; the default for a file): ids are ``<file stem>-<line:04d>``
  (``sample.txt`` line 1 is ``sample-0001``; line numbers count every line, so ids stay stable). With
  ``with_ids=True`` (``eccr convert --inline-ids``) each line is ``ID<TAB>TEXT`` and any id round-trips.
  ``\n`` or ``\r\n`` ends a line (not part of the document); a blank line is an empty document (``E020``).
* **one document per file** (a directory of ``.txt`` files, read in name order): the id is the file stem
  and the text is the whole file after unescaping, line ends (``\r\n`` too) and a final newline included.

What inline cannot store
------------------------
Inline marks are binary: labels and attrs are lost. The reader gives every span the label ``label``
(default ``"concept"``). The writer refuses a corpus whose spans carry more than one label (``E025``) unless
``drop_labels=True``; attrs are always dropped. Overlapping spans cannot be written (``E012``, naming the
document and offset). Document meta is not written.

Errors
------
All name the file, line, document id and the offset in the document text (the message adds the column in
the line): ``E030`` unbalanced marker (a ``##`` with no open concept, a ``@@`` never closed), ``E031``
nested ``@@``, ``E032`` empty concept ``@@##``, ``E033`` bad escape, ``E034`` a line without
``ID<TAB>``. ``E030``–``E032`` are recoverable: ``--lenient`` reports them and keeps the offending marker as
literal text, so no character is lost.

>>> text, spans = parse_marked("@@発熱##と@@咳嗽##")
>>> text, [text[s.start:s.end] for s in spans]
('発熱と咳嗽', ['発熱', '咳嗽'])
>>> from eccr.corpus.types import Document
>>> mark_document(Document("d", "a@b#\n", spans), line_layout=True)
'@@a@##b@@#\\n##'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from eccr.corpus.output import write_file_set, write_text_output
from eccr.corpus.types import DEFAULT_LABEL, Document, Span, trusted_span
from eccr.corpus.validation import (
    CheckedDocuments,
    RecoverableInputError,
    UniqueIds,
    check_no_overlap,
    check_not_empty,
    read_text_file,
    split_records,
)
from eccr.errors import ConfigError, InputError, Location, ProblemReport

EXTENSIONS: tuple[str, ...] = (".txt",)

OPEN = "@@"
CLOSE = "##"
#: Escape sequences: the character after the backslash -> the character it stands for.
ESCAPES: dict[str, str] = {"\\": "\\", "@": "@", "#": "#", "n": "\n", "r": "\r"}

_TOKEN = re.compile(r"\\(.?)|@@|##", re.S)
_SPECIAL = re.compile(r"[@#\\]")
_AT_BEFORE_AT = re.compile(r"@(?=@)")
_HASH_BEFORE_HASH = re.compile(r"#(?=#)")


def parse_marked(
    marked: str,
    label: str = DEFAULT_LABEL,
    *,
    where: Location | None = None,
    report: ProblemReport | None = None,
) -> tuple[str, list[Span]]:
    """Split ``@@…##``-marked text into plain text and spans (offsets into the plain text).

    ``where`` names the file/line/document for errors; ``report`` decides whether ``E030``–``E032`` raise
    (the default) or are recorded while the marker is kept as literal text.
    """
    if _SPECIAL.search(marked) is None:
        return marked, []
    where = where or Location()
    report = report if report is not None else ProblemReport()
    pieces: list[str] = []
    spans: list[Span] = []
    length = 0
    cursor = 0
    open_at: int | None = None  # offset in the plain text where the open concept starts
    open_piece = 0  # index in pieces where the open marker would go back if it stays unmatched
    open_column = 0

    def problem(code: str, message: str, offset: int, column: int) -> None:
        report.report(RecoverableInputError(
            code, f"{message} (column {column + 1} of the line)",
            Location(where.file, where.doc_id, where.line, offset)))

    for match in _TOKEN.finditer(marked):
        literal = marked[cursor : match.start()]
        if literal:
            pieces.append(literal)
            length += len(literal)
        cursor = match.end()
        token = match.group()
        if token[0] == "\\":
            escaped = match.group(1)
            if escaped not in ESCAPES:
                shown = repr(escaped) if escaped else "the end of the text"
                raise InputError(
                    "E033", f"backslash before {shown} is not an escape; write \\\\ for a literal backslash "
                    f"(escapes: \\\\ \\@ \\# \\n \\r; raw text without markup is read with --from text) "
                    f"(column {match.start() + 1} of the line)",
                    Location(where.file, where.doc_id, where.line, length))
            pieces.append(ESCAPES[escaped])
            length += 1
        elif token == OPEN:
            if open_at is not None:
                problem("E031", f"'@@' inside the concept opened at offset {open_at}; concepts cannot nest",
                        length, match.start())
                pieces.append(OPEN)
                length += 2
            else:
                open_at, open_piece, open_column = length, len(pieces), match.start()
        elif open_at is None:
            problem("E030", "'##' closes no concept (no '@@' before it)", length, match.start())
            pieces.append(CLOSE)
            length += 2
        elif open_at == length:
            problem("E032", "empty concept '@@##'", length, match.start())
            pieces.insert(open_piece, OPEN)
            pieces.append(CLOSE)
            length += 4
            open_at = None
        else:
            spans.append(trusted_span(open_at, length, label, {}))
            open_at = None
    rest = marked[cursor:]
    if rest:
        pieces.append(rest)
    if open_at is not None:
        problem("E030", "'@@' is never closed by '##'", open_at, open_column)
        pieces.insert(open_piece, OPEN)
    return "".join(pieces), spans


def _escape_piece(piece: str, next_char: str | None, line_layout: bool) -> str:
    if _SPECIAL.search(piece) is not None:
        piece = piece.replace("\\", "\\\\")
        piece = _AT_BEFORE_AT.sub(r"\\@", piece)
        piece = _HASH_BEFORE_HASH.sub(r"\\#", piece)
        if next_char is not None and piece.endswith(next_char):
            piece = piece[:-1] + "\\" + next_char
    if line_layout and ("\n" in piece or "\r" in piece):
        piece = piece.replace("\n", "\\n").replace("\r", "\\r")
    return piece


def mark_document(doc: Document, *, line_layout: bool, file: str | None = None) -> str:
    """``doc``'s text with its spans marked ``@@…##`` and escaped (see the module docstring).

    Raises ``E012`` when spans overlap. Labels and attrs are not written.
    """
    check_no_overlap(doc, "inline", file)
    text = doc.text
    out: list[str] = []
    cursor = 0
    for span in doc.spans:
        out.append(_escape_piece(text[cursor : span.start], "@", line_layout))
        out.append(OPEN)
        out.append(_escape_piece(text[span.start : span.end], "#", line_layout))
        out.append(CLOSE)
        cursor = span.end
    out.append(_escape_piece(text[cursor:], None, line_layout))
    return "".join(out)


def read(
    path: Path,
    report: ProblemReport,
    *,
    with_ids: bool = False,
    label: str = DEFAULT_LABEL,
    **options: Any,
) -> list[Document]:
    """Read a one-document-per-line ``.txt`` file, or a directory of one-document-per-file ``.txt`` files.

    Args:
        path: the file or directory.
        report: receives recoverable problems (lenient mode).
        with_ids: lines are ``ID<TAB>TEXT`` (line layout only).
        label: the label every span gets (inline marks carry none).
    """
    if options:
        raise TypeError(f"inline reader got unknown option(s) {', '.join(options)}")
    if not label:
        raise ConfigError("E048", "the inline span label must be a non-empty string")
    path = Path(path)
    documents = CheckedDocuments()
    ids = UniqueIds(report)
    if path.is_dir():
        for file_path in sorted(path.glob("*.txt")):
            where = Location(file=str(file_path), doc_id=file_path.stem)
            text, spans = parse_marked(read_text_file(file_path), label, where=where, report=report)
            check_not_empty(file_path.stem, text, report, where)
            document = Document.trusted(file_path.stem, text, tuple(spans), None)
            documents.append(ids.claim_document(document, where))
        return documents
    file = str(path)
    for line_no, line in split_records(read_text_file(path)):
        if with_ids:
            doc_id, tab, marked = line.partition("\t")
            if not tab or not doc_id:
                raise InputError(
                    "E034", "expected ID<TAB>TEXT (the file was read with --inline-ids)"
                    if not tab else "empty document id before the TAB", Location(file=file, line=line_no))
        else:
            doc_id, marked = f"{path.stem}-{line_no:04d}", line
        where = Location(file=file, doc_id=doc_id, line=line_no)
        text, spans = parse_marked(marked, label, where=where, report=report)
        check_not_empty(doc_id, text, report, where)
        documents.append(ids.claim_document(Document.trusted(doc_id, text, tuple(spans), None), where))
    return documents


def _check_labels(documents: Iterable[Document], drop_labels: bool) -> None:
    labels = {span.label for doc in documents for span in doc.spans}
    if len(labels) > 1 and not drop_labels:
        raise ConfigError(
            "E025", f"the corpus has {len(labels)} span labels ({', '.join(sorted(labels))}) but inline "
            "marks are binary; select one label (--select) or pass --drop-labels to write all as concepts")


def write(
    documents: Sequence[Document],
    path: Path,
    *,
    with_ids: bool = False,
    layout: str | None = None,
    drop_labels: bool = False,
    **options: Any,
) -> None:
    """Write ``@@…##``-marked text.

    Args:
        documents: what to write; spans must not overlap, and carry one label unless ``drop_labels``.
        path: a ``.txt`` file (one document per line) or a directory (one ``<id>.txt`` per document).
        with_ids: write ``ID<TAB>TEXT`` lines so ids round-trip (line layout only).
        layout: ``"line"`` or ``"file"``; by default ``"file"`` when ``path`` is a directory or has no
            suffix, else ``"line"``.
        drop_labels: write spans of several labels anyway (all become plain concepts).
    """
    if options:
        raise TypeError(f"inline writer got unknown option(s) {', '.join(options)}")
    path = Path(path)
    if layout is None:
        layout = "file" if path.is_dir() or not path.suffix else "line"
    if layout not in ("line", "file"):
        raise ConfigError("E048", f"unknown inline layout {layout!r}; use 'line' or 'file'")
    _check_labels(documents, drop_labels)
    if layout == "file":
        write_file_set(path, (_document_file(doc, path) for doc in documents),
                       owned=lambda name: name.endswith(".txt"), what="inline")
        return
    lines = []
    for doc in documents:
        marked = mark_document(doc, line_layout=True, file=str(path))
        if with_ids:
            if any(ch in doc.id for ch in "\t\n\r"):
                raise ConfigError("E025", f"document id {doc.id!r} contains a TAB or line break",
                                  Location(doc_id=doc.id))
            marked = f"{doc.id}\t{marked}"
        lines.append(marked + "\n")
    write_text_output(path, "".join(lines))


def _document_file(doc: Document, folder: Path) -> tuple[str, str]:
    """``(file name, marked text)`` of one document in the one-document-per-file layout."""
    if any(ch in doc.id for ch in "/\\\0\n\r") or doc.id.startswith("."):
        raise ConfigError("E025", f"document id {doc.id!r} cannot be a file name; use the line "
                          "layout with --inline-ids", Location(doc_id=doc.id))
    name = f"{doc.id}.txt"
    return name, mark_document(doc, line_layout=False, file=str(folder / name))
