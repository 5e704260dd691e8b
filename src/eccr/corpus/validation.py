"""Input checks shared by every format reader: decoding files, span-vs-text checks, overlaps, NFKC.

Reading text files — the one rule for all formats
-------------------------------------------------
Every reader gets the text of an input file from :func:`read_text_file` (or, to hand UTF-8 bytes to a
validating parser, from :func:`read_bytes_file`, reporting invalid UTF-8 with :func:`decode_utf8`, which
gives the same error):

* the file must be **UTF-8**; invalid bytes raise :class:`~eccr.errors.InputError` ``E001`` naming the
  file, the 1-based line, the byte offset in the file and the column (characters) in that line;
* a leading **byte-order mark** (U+FEFF) is **removed** (it is an encoding signature, not text); offsets
  count from the first character after it;
* **line ends are kept exactly** (``\\r\\n`` stays ``\\r\\n``; no universal-newline translation).
  Offsets index the text as decoded, so a ``\\r`` counts as one character wherever a format keeps it in a
  document. Line-oriented formats (``jsonl``, one-document-per-line ``inline``, CSV rows) treat ``\\n``
  or ``\\r\\n`` as the record separator, which is never part of a document; formats whose documents are
  whole files (brat ``.txt``, inline one-document-per-file) keep ``\\r\\n`` inside the document text.
  XML (``medtxt``) follows XML 1.0 end-of-line handling (a literal CR LF reads as LF; ``&#13;`` is a CR).

Other checks
------------
* :func:`check_span_bounds`, :func:`check_surface`: a span lies inside its text and matches a stated surface.
* :func:`find_overlap`: the first pair of overlapping spans, for formats that cannot express overlap.
* :func:`nfkc_changing_characters`: characters that NFKC normalisation would change (``ｱ ① ㎎ ～ ヿ``…).
  eccr never normalises stored text; this is for diagnostics (``eccr stats``) and tests.
* :class:`UniqueIds`: duplicate-id detection shared by the readers and :func:`eccr.corpus.io.check_documents`.

>>> text = "ｱ①㎎ 発熱"
>>> [(i, ch) for i, ch in nfkc_changing_characters(text)]
[(0, 'ｱ'), (1, '①'), (2, '㎎')]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eccr.corpus.types import Document
from eccr.errors import InputError, Location, ProblemReport, RecoverableDocumentError, SpanError

if TYPE_CHECKING:
    from eccr.corpus.types import Span

BOM = "\ufeff"
#: meta key that keeps the id a document was read with when ``--lenient`` renamed a duplicate.
ORIGINAL_ID_KEY = "original_id"


class RecoverableInputError(InputError):
    """A syntax problem that ``--lenient`` may turn into a warning while keeping every character of input."""

    recoverable = True


def decode_utf8(data: bytes, file: str | Path | None = None) -> str:
    """Decode UTF-8 (BOM removed, line ends kept); invalid bytes raise ``E001`` with line and byte offset.

    >>> decode_utf8("\\ufeff発熱\\r\\n".encode())
    '発熱\\r\\n'
    >>> try:
    ...     decode_utf8(b"ok\\n\\xff", "a.txt")
    ... except InputError as err:
    ...     print(err.code, err.location.line, "byte offset 3" in err.message)
    E001 2 True
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        column = len(data[line_start : err.start].decode("utf-8", errors="replace"))
        bad = data[err.start : err.end]
        raise InputError(
            "E001",
            f"invalid UTF-8 at byte offset {err.start} (line {line}, column {column}): "
            f"byte {'0x' + bad.hex() if len(bad) == 1 else bad.hex(' ')} {_reason(err.reason)}; "
            "re-save the file as UTF-8",
            Location(file=str(file) if file is not None else None, line=line),
        ) from None
    return text[1:] if text.startswith(BOM) else text


def _reason(reason: str) -> str:
    return {
        "invalid start byte": "cannot start a character",
        "invalid continuation byte": "is not a valid continuation byte",
        "unexpected end of data": "ends the file in the middle of a character",
    }.get(reason, reason)


def read_bytes_file(path: str | Path) -> bytes:
    """The bytes of a file with a leading UTF-8 BOM removed; ``E002`` when it cannot be opened.

    For readers that hand UTF-8 bytes to a validating parser; any invalid UTF-8 must then be reported with
    :func:`decode_utf8` on the same bytes, so the error is the one :func:`read_text_file` gives.
    """
    data = _file_bytes(Path(path))
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def _file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError("E002", f"cannot read {path}: {err.strerror or err}",
                         Location(file=str(path))) from None


def read_text_file(path: str | Path) -> str:
    """The text of a UTF-8 file: BOM stripped, line ends (``\\r\\n``) kept as they are.

    Raises ``E001`` (:class:`~eccr.errors.InputError`) for invalid UTF-8, naming the file, line, byte offset
    and column; ``E002`` when the file cannot be opened.
    """
    p = Path(path)
    return decode_utf8(_file_bytes(p), p)


def split_records(text: str) -> Iterator[tuple[int, str]]:
    """The lines of a line-oriented file as ``(1-based number, line)``; ``\\n`` or ``\\r\\n`` ends a line.

    A final line terminator does not start an extra empty line. Lone ``\\r`` characters are kept in the line.

    >>> list(split_records("a\\r\\nb\\n\\nc"))
    [(1, 'a'), (2, 'b'), (3, ''), (4, 'c')]
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line[:-1] if line.endswith("\r") else line


def check_span_bounds(start: int, end: int, text_length: int, location: Location) -> None:
    """Raise ``E010`` if ``[start, end)`` is outside a text of ``text_length``, ``E011`` if empty."""
    if start < 0 or end > text_length:
        bad = start if start < 0 else end
        raise SpanError(
            "E010",
            f"span [{start}, {end}) lies outside the text ({text_length} characters); offsets are character "
            "offsets into the original text",
            Location(location.file, location.doc_id, location.line, bad),
        )
    if end <= start:
        raise SpanError(
            "E011", f"span [{start}, {end}) is empty or reversed; offsets are half-open, start < end",
            Location(location.file, location.doc_id, location.line, start),
        )


def check_surface(text: str, start: int, end: int, surface: str, location: Location) -> None:
    """Raise ``E016`` when a span's stated surface differs from ``text[start:end]``; the message shows both.
    """
    actual = text[start:end]
    if actual != surface:
        raise SpanError(
            "E016",
            f"span [{start}, {end}) states surface {surface!r} but the text there is {actual!r}",
            Location(location.file, location.doc_id, location.line, start),
        )


def find_overlap(spans: Sequence[Span]) -> tuple[Span, Span] | None:
    """The first overlapping pair in start-sorted ``spans``, or ``None``. Touching spans do not overlap.

    >>> from eccr.corpus.types import Span
    >>> find_overlap([Span(0, 2), Span(2, 4)]) is None, find_overlap([Span(0, 3), Span(2, 4)])
    (True, (Span(0, 3, 'concept'), Span(2, 4, 'concept')))
    """
    furthest: Span | None = None
    for span in spans:
        if furthest is not None and span.start < furthest.end:
            return furthest, span
        if furthest is None or span.end > furthest.end:
            furthest = span
    return None


def check_no_overlap(document: Document, format_name: str, file: str | None = None) -> None:
    """Raise ``E012`` naming the document and offset if ``document`` has overlapping spans."""
    pair = find_overlap(document.spans)
    if pair is not None:
        first, second = pair
        raise SpanError(
            "E012",
            f"spans [{first.start}, {first.end}) and [{second.start}, {second.end}) overlap; the "
            f"{format_name} format cannot express overlapping spans (select fewer labels, e.g. "
            "--select 'd[certainty=positive]')",
            Location(file=file, doc_id=document.id, offset=second.start),
        )


def nfkc_changing_characters(text: str) -> list[tuple[int, str]]:
    """``(offset, character)`` for each character that NFKC normalisation would change.

    eccr keeps such characters verbatim (offsets index the original text); this lists them for diagnostics.
    Characters are checked one at a time, which is what matters for offsets.

    The wave dash ``〜`` (U+301C) is NFKC-stable, but the full-width tilde ``～`` (U+FF5E) becomes ``~``:

    >>> nfkc_changing_characters("〜～ヿ、ア")
    [(1, '～'), (2, 'ヿ')]
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return []
    return [(i, ch) for i, ch in enumerate(text) if unicodedata.normalize("NFKC", ch) != ch]


class UniqueIds:
    """Hands out unique document ids: a duplicate is reported (``E021``); when lenient it becomes ``<id>~2``.

    >>> ids = UniqueIds(ProblemReport(lenient=True))
    >>> ids.claim("a", Location()), ids.claim("a", Location()), ids.claim("a", Location())
    ('a', 'a~2', 'a~3')
    """

    def __init__(self, report: ProblemReport) -> None:
        self.report = report
        self._count: dict[str, int] = {}

    def claim(self, doc_id: str, location: Location | None = None, *, file: str | None = None,
              line: int | None = None) -> str:
        """The id to use for a document read as ``doc_id``; raises ``E021`` on a duplicate unless lenient.

        Where the document was read is ``location``, or ``file``/``line`` (a :class:`Location` is only built
        when there is something to report, which keeps the hot path of readers cheap).
        """
        if doc_id not in self._count:
            self._count[doc_id] = 1
            return doc_id
        if location is None:
            location = Location(file=file, line=line)
        count = self._count[doc_id]
        new_id = doc_id
        while new_id in self._count:
            count += 1
            new_id = f"{doc_id}~{count}"
        self._count[doc_id] = count
        self.report.report(RecoverableDocumentError(
            "E021",
            f"duplicate document id {doc_id!r}; ids must be unique "
            + (f"(kept as {new_id!r}, original id in meta['original_id'])" if self.report.lenient
               else f"(rename it, or read with --lenient to keep it as {new_id!r})"),
            Location(location.file, doc_id, location.line, location.offset),
        ))
        self._count[new_id] = 1
        return new_id

    def claim_document(self, document: Document, location: Location | None = None, *, file: str | None = None,
                       line: int | None = None) -> Document:
        """``document`` under the id :meth:`claim` gives it: itself when the id is new, else (lenient) a copy
        renamed ``<id>~2``… that keeps the id it was read with in ``meta["original_id"]``.

        >>> ids = UniqueIds(ProblemReport(lenient=True))
        >>> doc = Document("a", "x")
        >>> ids.claim_document(doc) is doc, ids.claim_document(doc).meta["original_id"]
        (True, 'a')
        """
        new_id = self.claim(document.id, location, file=file, line=line)
        if new_id == document.id:
            return document
        meta = {**document.meta, ORIGINAL_ID_KEY: document.id}
        return Document.trusted(new_id, document.text, document.spans, meta)


class CheckedDocuments(list):  # type: ignore[type-arg]
    """A list of documents on which a reader already ran the corpus checks (empty texts, duplicate ids).

    Readers that know line numbers run the checks themselves (their errors then name the line) and return
    this type, so :func:`eccr.corpus.io.check_documents` does not report the same problem twice.
    """

    checked = True


def check_not_empty(doc_id: str, text: str, report: ProblemReport, location: Location) -> None:
    """Report ``E020`` (recoverable: the empty document is kept when lenient) when ``text`` is empty."""
    if not text:
        report.report(RecoverableDocumentError(
            "E020", "document is empty (no text)",
            Location(location.file, doc_id, location.line, location.offset)))


def already_checked(documents: Iterable[Document]) -> bool:
    """True when ``documents`` came from a reader that already ran the corpus checks."""
    return bool(getattr(documents, "checked", False))
