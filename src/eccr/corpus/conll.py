r"""CoNLL-style BIO files: one item per line, ``item<TAB>tag``, blank lines between blocks.

Two modes (reader and writer option ``mode``):

* ``"char"`` (default): every item is **one character** of the text, tagged ``B-label`` / ``I-label`` / ``O``
  (``B``/``I`` without a label read as ``concept``). The text is the concatenation of the items.
* ``"token"``: every item is a token; the text is the tokens joined by ``separator`` (option, default ``""``
  for Japanese; ``" "`` for space-separated text). A span runs from the start of its ``B`` token to the end
  of its last ``I`` token, separators in between included. The writer cuts tokens at character-class
  changes (kanji, hiragana, katakana, Latin letters, digits; any other character is a token of its own) and
  at every span boundary when ``separator`` is ``""``; otherwise it splits the text on ``separator`` and
  requires every span to start and end on token boundaries (``E025`` otherwise).

Documents and ids
-----------------
A line ``# id = <id>`` starts a document; every block after it, up to the next ``# id =`` line, belongs to
it (blocks are sentences: in char mode they simply concatenate, in token mode their tokens join with
``separator`` like any other). Blocks not under an ``# id =`` line (files from other tools) are one document
each, with id ``<file stem>-<n:04d>``. Other lines starting with ``# `` are comments, kept in
``meta["conll"]["comments"]`` and written back after the id line. The writer puts each document's
sentences (:func:`eccr.corpus.segment.segment`, merged so that no span is cut) in separate blocks.

Escapes (item column)
---------------------
So that every item is one whitespace-free field: ``\\`` is a backslash, ``\t`` tab, ``\n`` newline, ``\r``
carriage return, ``\s`` space, ``\uXXXX`` any other whitespace character (e.g. ``\u3000``), and a leading
``#`` is written ``\#``. The reader splits a line on tabs when it has one (item = first field, tag = last),
otherwise on whitespace. Overlapping spans cannot be written (``E012``); a bad line, escape or a
multi-character item in char mode is ``E037``, a bad tag ``E015``, each naming the file, line and document.
A document the writer cannot express (an id with a line break, a label with whitespace, a span off the
token boundaries) is ``E025``; an unknown ``mode`` is ``E048``.

>>> doc = Document("d1", "発熱 咳", [Span(0, 2, "d"), Span(3, 4, "d")])
>>> print(document_text(doc), end="")  # doctest: +NORMALIZE_WHITESPACE
# id = d1
発	B-d
熱	I-d
\s	O
咳	B-d
<BLANKLINE>
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from eccr.corpus.mask import bio_to_spans, spans_to_bio
from eccr.corpus.output import write_text_output
from eccr.corpus.segment import cover_spans, segment
from eccr.corpus.types import DEFAULT_LABEL, Document, Span
from eccr.corpus.validation import (
    CheckedDocuments,
    UniqueIds,
    check_no_overlap,
    check_not_empty,
    read_text_file,
    split_records,
)
from eccr.errors import ConfigError, InputError, Location, ProblemReport, RecoverableSpanError, SpanError

EXTENSIONS: tuple[str, ...] = (".conll",)

ID_PREFIX = "# id = "
COMMENT_PREFIX = "# "
META_KEY = "conll"
Mode = Literal["char", "token"]

_NAMED_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", " ": "\\s"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r", "s": " ", "#": "#"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.?)", re.S)


# --- escapes ----------------------------------------------------------------------------------------------


def escape_item(item: str) -> str:
    """The item column for ``item`` (see "Escapes" in the module docstring).

    >>> escape_item("#a b\\u3000\\\\")
    '\\\\#a\\\\sb\\\\u3000\\\\\\\\'
    """
    out = []
    for ch in item:
        if ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif ch.isspace():
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    escaped = "".join(out)
    return "\\" + escaped if escaped.startswith("#") else escaped


def unescape_item(field_text: str, location: Location) -> str:
    """The item an item column stands for; a bad escape is ``E037``.

    >>> unescape_item("\\\\#a\\\\sb\\\\u3000", Location())
    '#a b\\u3000'
    """

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5:
            if 0xD800 <= int(code[1:], 16) <= 0xDFFF:
                raise InputError("E003", f"\\{code} in item {field_text!r} is a lone surrogate (half of a "
                                 "UTF-16 pair), not a character", location)
            return chr(int(code[1:], 16))
        if code in _UNESCAPES:
            return _UNESCAPES[code]
        raise InputError("E037", f"bad escape \\{code} in item {field_text!r}; use \\\\, \\t, \\n, \\r, \\s, "
                         "\\# or \\uXXXX", location)

    return _ESCAPE.sub(replace, field_text)


# --- reading ----------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    """A document being read."""

    doc_id: str | None
    line: int
    comments: list[str] = field(default_factory=list)
    items: list[tuple[str, str, int]] = field(default_factory=list)  # (item, tag, line)


def read(
    path: Path, report: ProblemReport, *, mode: Mode = "char", separator: str = "", **options: Any
) -> list[Document]:
    """Read a CoNLL BIO file (``mode`` ``"char"`` or ``"token"``; ``separator`` joins tokens)."""
    if options:
        raise TypeError(f"unknown conll reader options: {', '.join(sorted(options))}")
    _check_mode(mode)
    file = str(path)
    pending: list[_Pending] = []
    current: _Pending | None = None
    comments: list[str] = []
    for number, line in split_records(read_text_file(path)):
        if line.startswith(ID_PREFIX):
            current = _Pending(line[len(ID_PREFIX):], number, comments)
            comments = []
            pending.append(current)
        elif line.startswith(COMMENT_PREFIX):
            under_id = current is not None and current.doc_id is not None
            (current.comments if current is not None and under_id else comments).append(line)
        elif not line.strip():
            if current is not None and current.doc_id is None:
                current = None
        else:
            if current is None:
                current = _Pending(None, number, comments)
                comments = []
                pending.append(current)
            item, tag = _split_line(line, Location(file=file, doc_id=current.doc_id, line=number))
            current.items.append((item, tag, number))
    if comments:  # trailing comments belong to no document: keep them on the last one
        if not pending:
            pending.append(_Pending(None, 1))
        pending[-1].comments.extend(comments)
    ids = UniqueIds(report)
    documents = CheckedDocuments()
    for ordinal, doc in enumerate(pending, start=1):
        raw_id = doc.doc_id if doc.doc_id is not None else f"{path.stem}-{ordinal:04d}"
        built = _build(doc, raw_id, mode, separator, report, file)
        documents.append(ids.claim_document(built, Location(file=file, line=doc.line)))
    return documents


def _split_line(line: str, location: Location) -> tuple[str, str]:
    fields = line.split("\t") if "\t" in line else line.split()
    if len(fields) < 2 or not fields[0]:
        raise InputError("E037", f"expected 'item<TAB>tag', got {line[:60]!r}", location)
    item = fields[0]
    return (unescape_item(item, location) if "\\" in item else item), fields[-1]


def _build(
    doc: _Pending, doc_id: str, mode: Mode, separator: str, report: ProblemReport, file: str
) -> Document:
    starts: list[int] = []
    parts: list[str] = []
    position = 0
    for index, (item, _, line) in enumerate(doc.items):
        if mode == "char" and len(item) != 1:
            raise InputError("E037", f"char mode expects one character per line, got {item!r}; read with "
                             "mode='token' for tokens", Location(file=file, doc_id=doc_id, line=line))
        if index and separator:
            parts.append(separator)
            position += len(separator)
        starts.append(position)
        parts.append(item)
        position += len(item)
    text = "".join(parts)
    tags = [tag for _, tag, _ in doc.items]
    def repaired(index: int, what: str) -> None:
        report.report(RecoverableSpanError(
            "E015", f"{what}; read as the start of a new span", Location(
                file=file, doc_id=doc_id, line=doc.items[index][2], offset=starts[index])))

    try:  # strict: an I that continues no span is an error; lenient: repaired, and each repair reported
        token_spans = bio_to_spans(tags, default_label=DEFAULT_LABEL, repair=report.lenient,
                                   on_repair=repaired)
    except SpanError as err:
        line = doc.items[err.location.offset or 0][2] if doc.items else doc.line
        offset = starts[err.location.offset] if err.location.offset is not None and doc.items else None
        raise type(err)(err.code, err.message, Location(file=file, doc_id=doc_id, line=line,
                                                        offset=offset)) from None
    spans = [
        Span(starts[s.start], starts[s.end - 1] + len(doc.items[s.end - 1][0]), s.label) for s in token_spans
    ]
    check_not_empty(doc_id, text, report, Location(file=file, doc_id=doc_id, line=doc.line))
    meta: dict[str, Any] = {"line": doc.line}
    if doc.comments:
        meta[META_KEY] = {"comments": list(doc.comments)}
    return Document(doc_id, text, spans, meta)


# --- writing ----------------------------------------------------------------------------------------------


def _char_class(ch: str) -> str:
    code = ord(ch)
    if ch.isdigit():
        return "digit"
    if 0x3040 <= code <= 0x309F:
        return "hiragana"
    if 0x30A0 <= code <= 0x30FF or 0xFF66 <= code <= 0xFF9F:
        return "katakana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or ch == "々":
        return "kanji"
    if ch.isalpha() and (code < 0x250 or 0xFF21 <= code <= 0xFF5A):
        return "latin"
    return "other:" + ch  # never equal to a neighbour's class: a token of its own


def tokenize(text: str, cuts: set[int]) -> list[tuple[int, int]]:
    """``(start, end)`` tokens: runs of one character class, also cut at every offset in ``cuts``.

    >>> text = "ＣＴで肺炎12例"
    >>> [text[s:e] for s, e in tokenize(text, {4})]
    ['ＣＴ', 'で', '肺', '炎', '12', '例']
    """
    tokens = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or i in cuts or _char_class(text[i]) != _char_class(text[i - 1]):
            tokens.append((start, i))
            start = i
    return tokens if text else []


def _split_tokens(document: Document, separator: str, file: str) -> list[tuple[int, int]]:
    if not separator:
        return tokenize(document.text, {b for s in document.spans for b in (s.start, s.end)})
    tokens = []
    position = 0
    for piece in document.text.split(separator):
        if not piece:
            raise SpanError("E025", f"token mode with separator {separator!r} needs non-empty tokens, but "
                            "the text has an empty one (separator at the start/end or doubled)",
                            Location(file=file, doc_id=document.id, offset=position))
        tokens.append((position, position + len(piece)))
        position += len(piece) + len(separator)
    starts = {s for s, _ in tokens}
    ends = {e for _, e in tokens}
    for span in document.spans:
        if span.start not in starts or span.end not in ends:
            raise SpanError("E025", f"span [{span.start}, {span.end}) does not start and end on token "
                            f"boundaries (tokens split on {separator!r})",
                            Location(file=file, doc_id=document.id, offset=span.start))
    return tokens


def document_text(
    document: Document,
    *,
    mode: Mode = "char",
    separator: str = "",
    typed: bool = True,
    sentences: bool = True,
    file: str = "",
) -> str:
    """The CoNLL lines of one document, ending with a blank line."""
    check_no_overlap(document, "conll", file)
    location = Location(file=file, doc_id=document.id)
    if any(ch in document.id for ch in "\r\n"):
        raise InputError("E025", f"document id {document.id!r} contains a line break", location)
    for span in document.spans:
        if typed and re.search(r"\s", span.label):
            raise SpanError("E025", f"label {span.label!r} contains whitespace; CoNLL tags cannot",
                            Location(file=file, doc_id=document.id, offset=span.start))
    if mode == "char":
        tokens = [(i, i + 1) for i in range(len(document.text))]
    else:
        tokens = _split_tokens(document, separator, file)
    tags = _token_tags(document, tokens, typed, char_mode=mode == "char")
    if sentences and mode == "char":
        blocks = [(seg.start, seg.end) for seg in cover_spans(segment(document.text), document.spans)]
    else:
        blocks = [(0, len(document.text))]
    lines = [ID_PREFIX + document.id, *((document.meta.get(META_KEY) or {}).get("comments", []))]
    k = 0
    for block_start, block_end in blocks:
        while k < len(tokens) and tokens[k][0] < block_end and tokens[k][0] >= block_start:
            start, end = tokens[k]
            lines.append(f"{escape_item(document.text[start:end])}\t{tags[k]}")
            k += 1
        lines.append("")
    if not blocks:
        lines.append("")
    return "".join(line + "\n" for line in lines)


def _token_tags(document: Document, tokens: list[tuple[int, int]], typed: bool, *, char_mode: bool
                ) -> list[str]:
    if char_mode:  # one token per character: tags straight from the spans
        return spans_to_bio(document.spans, len(document.text), typed=typed, doc_id=document.id)
    index_of_start = {s: i for i, (s, _) in enumerate(tokens)}
    index_of_end = {e: i for i, (_, e) in enumerate(tokens)}
    token_spans = [Span(index_of_start[s.start], index_of_end[s.end] + 1, s.label) for s in document.spans]
    return spans_to_bio(token_spans, len(tokens), typed=typed, doc_id=document.id)


def _check_mode(mode: str) -> None:
    if mode not in ("char", "token"):
        raise ConfigError("E048", f"unknown conll mode {mode!r}; use 'char' or 'token'")


def write(
    documents: Sequence[Document],
    path: Path,
    *,
    mode: Mode = "char",
    separator: str = "",
    typed: bool = True,
    sentences: bool = True,
    **options: Any,
) -> None:
    """Write documents as CoNLL BIO.

    Args:
        documents: the documents (no overlapping spans).
        path: the ``.conll`` file.
        mode: ``"char"`` or ``"token"``.
        separator: token mode: the string between tokens in the text (``""`` = tokenize by character class).
        typed: ``B-label``/``I-label`` tags (``False``: plain ``B``/``I``, labels read back as ``concept``).
        sentences: char mode: one block per sentence (``False``: one block per document).
    """
    if options:
        raise TypeError(f"unknown conll writer options: {', '.join(sorted(options))}")
    _check_mode(mode)
    content = "".join(
        document_text(doc, mode=mode, separator=separator, typed=typed, sentences=sentences, file=str(path))
        for doc in documents
    )
    write_text_output(path, content)
