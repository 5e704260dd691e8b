"""eccr's canonical corpus format: JSON Lines, one document per line.

Each non-blank line is one JSON object::

    {"id": "d1", "text": "発熱と咳嗽", "spans": [{"start": 0, "end": 2, "label": "d",
     "attrs": {"certainty": "positive"}}], "meta": {"title": "…"}}

Rules, in plain words:

* ``id`` (non-empty string) and ``text`` (string) are required; ``spans`` (default ``[]``) and ``meta``
  (default ``{}``) are optional.
* A span needs integer ``start`` and ``end``: half-open character offsets into ``text`` (see
  :mod:`eccr.corpus.types`); ``label`` defaults to ``"concept"`` and ``attrs`` to ``{}``.
* A span may state its surface as ``"surface"`` or ``"text"``; it must equal ``text[start:end]`` (``E016``,
  the message shows both strings). The stated surface is a check only and is not stored.
* Overlapping spans are allowed and kept. Spans are stored sorted by ``(start, end, label)``.
* Blank lines are skipped. Line ends may be ``\\n`` or ``\\r\\n``; the file must be UTF-8 (a BOM is removed).
* Errors name the file, the line, the document id and the offset: ``E037`` invalid JSON, ``E038`` a missing
  or ill-typed field, ``E039`` an unknown field (recoverable: ``--lenient`` keeps an unknown span field in
  ``attrs`` and an unknown document field in ``meta``), ``E010``/``E011`` offsets outside the text or empty,
  ``E016`` surface mismatch, ``E020`` empty text and ``E021`` duplicate id (both recoverable).

The writer emits the same shape (``ensure_ascii=False``, so Japanese stays readable), one line per document,
and reads back identically.

>>> import tempfile, pathlib
>>> from eccr.corpus.types import Document, Span
>>> from eccr.errors import ProblemReport
>>> path = pathlib.Path(tempfile.mkdtemp()) / "c.jsonl"
>>> write([Document("d1", "発熱と咳嗽", [Span(0, 2, "d")])], path)
>>> path.read_text(encoding="utf-8").strip()
'{"id": "d1", "text": "発熱と咳嗽", "spans": [{"start": 0, "end": 2, "label": "d", "attrs": {}}], "meta": {}}'
>>> read(path, ProblemReport())[0].spans
(Span(0, 2, 'd'),)
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

from eccr.corpus.output import open_output
from eccr.corpus.types import _EMPTY_ATTRS, DEFAULT_LABEL, Document, Span, _span_sort_key, trusted_span
from eccr.corpus.validation import (
    CheckedDocuments,
    UniqueIds,
    check_not_empty,
    check_span_bounds,
    check_surface,
    decode_utf8,
    read_bytes_file,
    read_text_file,
)
from eccr.errors import InputError, Location, ProblemReport, RecoverableSpanError, SpanError

EXTENSIONS: tuple[str, ...] = (".jsonl",)

_DOC_KEYS = frozenset({"id", "text", "spans", "meta"})
_SPAN_KEYS = frozenset({"start", "end", "label", "attrs", "surface", "text"})


def read(path: Path, report: ProblemReport, **options: Any) -> list[Document]:
    """Read a JSONL corpus; see the module docstring for the rules and error codes.

    Each line first goes through a fast decoder (:mod:`msgspec` decodes straight into
    :class:`~eccr.corpus.types.Span`: types, unknown fields and the span checks in one pass). A line it
    rejects is parsed again by the exact checker, which raises the coded error (or, when lenient, records and
    keeps unknown fields).
    """
    if options:
        raise TypeError(f"jsonl reader takes no options, got {', '.join(options)}")
    file = str(path)
    fast = _fast_decoder()
    documents = CheckedDocuments()
    ids = UniqueIds(report)
    if fast is None:
        records: list[bytes] | list[str] = read_text_file(path).split("\n")
    else:
        # The fast decoder reads UTF-8 bytes as they are (msgspec rejects invalid UTF-8 itself), which saves
        # decoding the whole file to str and re-encoding every line; the rules are read_text_file's.
        data = read_bytes_file(path)
        records = data.split(b"\n")
    for line_no, line in enumerate(records, start=1):
        if not line or line.isspace():
            continue
        doc = fast(line, file, line_no) if fast is not None else None
        if doc is None:
            if isinstance(line, bytes):
                line = _decode_line(line, path)
            doc = _document(_loads(line, file, line_no), file, line_no, report)
        if not doc.text:
            check_not_empty(doc.id, doc.text, report, Location(file=file, doc_id=doc.id, line=line_no))
        documents.append(ids.claim_document(doc, file=file, line=line_no))
    return documents


def _decode_line(line: bytes, path: Path) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        decode_utf8(Path(path).read_bytes(), path)  # raises E001 naming the line, byte offset and column
        raise AssertionError("unreachable: the file holds invalid UTF-8") from None


#: A ``\\uD800``–``\\uDFFF`` escape: a line that may hold a lone surrogate (checked exactly when present).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: A key followed by whitespace before its colon: the fast key count would miss it.
_SPACED_COLON = re.compile(rb'"[ \t\r]+:')


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _loads(line: str, file: str, line_no: int) -> Any:
    """Parse one line exactly: invalid JSON is ``E037``, a key twice in one object ``E004``, a lone
    surrogate (``"\\ud83d"``: half a UTF-16 pair, which no UTF-8 file can hold) ``E003``."""
    try:
        obj = json.loads(line, object_pairs_hook=_unique_keys)
    except _DuplicateKey as dup:
        raise InputError(
            "E004", f"key {dup.key!r} appears twice in one JSON object; JSON leaves its meaning open and "
            "eccr does not guess which value was meant — keep one",
            Location(file=file, line=line_no, doc_id=_id_of(line)),
        ) from None
    except json.JSONDecodeError as err:
        raise InputError(
            "E037", f"line is not valid JSON: {err.msg} at column {err.colno}",
            Location(file=file, line=line_no),
        ) from None
    if _SURROGATE_ESCAPE.search(line) is not None:
        _check_no_surrogate(obj, file, line_no)
    return obj


def _id_of(line: str) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    doc_id = value.get("id") if isinstance(value, dict) else None
    return doc_id if isinstance(doc_id, str) else None


def _check_no_surrogate(obj: Any, file: str, line_no: int) -> None:
    doc_id = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
    found = _first_surrogate(obj, "")
    if found is None:
        return
    where, string, index = found
    offset = index if where == '"text"' else None
    raise InputError(
        "E003", f"{where} holds a lone surrogate \\u{ord(string[index]):04x} at character {index} (half of a "
        "UTF-16 pair, e.g. an emoji cut in two); it is not a character and cannot be written as UTF-8 — fix "
        "the escape or remove it",
        Location(file=file, line=line_no, doc_id=doc_id if where != '"id"' else None, offset=offset),
    )


def _first_surrogate(value: Any, where: str) -> tuple[str, str, int] | None:
    """``(where, string, index)`` of the first string (key or value) holding a surrogate code point."""
    if isinstance(value, str):
        match = _SURROGATE.search(value)
        return (where or "a value", value, match.start()) if match else None
    items: Iterable[tuple[str, Any]]
    if isinstance(value, dict):
        for key in value:
            match = _SURROGATE.search(key)
            if match:
                return (f"key {key!r}" + (f" in {where}" if where else ""), key, match.start())
        items = ((f"{where}.{key}" if where else f'"{key}"', item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{where}[{i}]", item) for i, item in enumerate(value))
    else:
        return None
    for name, item in items:
        found = _first_surrogate(item, name)
        if found is not None:
            return found
    return None


@functools.cache
def _fast_decoder() -> Callable[[str | bytes, str, int], Document | None] | None:
    """A fast line decoder, or ``None`` when msgspec is not installed (the exact checker then does it all).

    The decoder returns ``None`` for any line it does not accept as-is, so that the exact checker reports the
    problem with its code, or handles it leniently. msgspec keeps the last value of a duplicated key, so the
    decoder also counts the keys of the line (every ``":``) and hands the line to the exact checker unless
    that count equals the keys it decoded — a duplicate key anywhere (``E004``) never slips through.
    """
    try:
        import msgspec
    except ImportError:  # pragma: no cover - msgspec is a dependency; stdlib json still works without it
        return None

    unset = msgspec.UNSET
    # Spans decode straight into Span (a msgspec Struct: unknown fields rejected, Span.__post_init__'s checks
    # applied). Spans stating a surface ("surface"/"text") are therefore rejected here on purpose: the exact
    # checker compares them with the text. An absent label or attrs decodes to Span's default object itself,
    # which tells the key count below which keys were there (a present value is a new object; should one
    # ever be the default object, the count comes out short and the exact checker takes the line).
    raw_document = msgspec.defstruct(
        "RawDocument",
        [("id", Annotated[str, msgspec.Meta(min_length=1)]), ("text", str),
         ("spans", list[Span] | msgspec.UnsetType, unset),
         ("meta", dict[str, Any] | msgspec.UnsetType, unset)],
        forbid_unknown_fields=True,
    )
    decode = msgspec.json.Decoder(raw_document).decode
    decode_errors = (msgspec.ValidationError, msgspec.DecodeError, SpanError, UnicodeDecodeError)

    def fast(line: str | bytes, file: str, line_no: int) -> Document | None:
        try:
            raw = decode(line)
        except decode_errors:
            return None  # the exact checker reports it
        keys = 2  # keys decoded: id, text, and below
        meta = raw.meta
        if meta is unset:
            meta = {}
        else:
            keys += 1 + _nested_keys(meta)
        spans = raw.spans
        if spans is unset:
            spans = []
        else:
            keys += 1 + 4 * len(spans)
            n = len(raw.text)
            increasing = True  # strictly increasing starts: already in (start, end, label) order
            previous = -1
            for span in spans:
                start = span.start
                if start <= previous:
                    increasing = False
                previous = start
                if span.end > n:
                    return None  # the exact checker reports it
                if span.label is DEFAULT_LABEL:
                    keys -= 1
                attrs = span.attrs
                if attrs is _EMPTY_ATTRS:
                    keys -= 1
                else:
                    keys += len(attrs)  # a nested object in attrs makes the count short: exact checker
            if not increasing:
                spans.sort(key=_span_sort_key)
        data = line if isinstance(line, bytes) else line.encode("utf-8")
        counted = data.count(b'":')
        if counted != keys or (data.count(b":") != counted and _SPACED_COLON.search(data) is not None):
            return None  # a duplicate key (or an unusual layout): the exact checker decides
        return Document.trusted(raw.id, raw.text, tuple(spans), meta)

    return fast


def _nested_keys(value: Any) -> int:
    """The number of object keys inside ``value`` (dicts within dicts and lists, at any depth)."""
    if type(value) is dict:
        return len(value) + sum(_nested_keys(v) for v in value.values() if type(v) in (dict, list))
    if type(value) is list:
        return sum(_nested_keys(v) for v in value if type(v) in (dict, list))
    return 0


def _structure_error(message: str, file: str, line: int, doc_id: str | None = None,
                     offset: int | None = None) -> InputError:
    return InputError("E038", message, Location(file=file, doc_id=doc_id, line=line, offset=offset))


def _document(obj: Any, file: str, line: int, report: ProblemReport) -> Document:
    if type(obj) is not dict:
        raise _structure_error(f"expected a JSON object per line, got {type(obj).__name__}", file, line)
    doc_id = obj.get("id")
    if type(doc_id) is not str or not doc_id:
        raise _structure_error(f'"id" must be a non-empty string, got {doc_id!r}', file, line)
    text = obj.get("text")
    if type(text) is not str:
        raise _structure_error(f'"text" must be a string, got {type(text).__name__}', file, line, doc_id)
    meta = obj.get("meta")
    if meta is None:
        meta = {}
    elif type(meta) is not dict:
        raise _structure_error(f'"meta" must be an object, got {type(meta).__name__}', file, line, doc_id)
    if len(obj) > len(_DOC_KEYS) or not _DOC_KEYS.issuperset(obj):
        extra = sorted(set(obj) - _DOC_KEYS)
        if extra:
            report.report(RecoverableSpanError(
                "E039", f"unknown document field(s) {', '.join(map(repr, extra))}; expected id, text, spans, "
                "meta (--lenient keeps them in meta)", Location(file=file, doc_id=doc_id, line=line)))
            meta = {**meta, **{key: obj[key] for key in extra}}
    raw_spans = obj.get("spans")
    if raw_spans is None:
        raw_spans = []
    elif type(raw_spans) is not list:
        raise _structure_error(f'"spans" must be a list, got {type(raw_spans).__name__}', file, line, doc_id)
    spans = _spans(raw_spans, text, file, line, doc_id, report)
    return Document.trusted(doc_id, text, spans, meta)


def _spans(raw_spans: list[Any], text: str, file: str, line: int, doc_id: str,
           report: ProblemReport) -> tuple[Span, ...]:
    """The hot loop: check each span dict cheaply, build it with :func:`trusted_span`."""
    n = len(text)
    spans: list[Span] = []
    append = spans.append
    ordered = True
    prev: tuple[int, int, str] = (-1, -1, "")
    for raw in raw_spans:
        if type(raw) is not dict:
            raise _structure_error(f"each span must be an object, got {raw!r}", file, line, doc_id)
        start = raw.get("start")
        end = raw.get("end")
        label = raw.get("label", DEFAULT_LABEL)
        attrs = raw.get("attrs")
        if type(start) is not int or type(end) is not int or not 0 <= start < end <= n:
            _bad_offsets(start, end, n, file, line, doc_id)
        if type(label) is not str or not label:
            raise _structure_error(f'span "label" must be a non-empty string, got {label!r}', file, line,
                                   doc_id, start)
        if attrs is None:
            attrs = {}
        elif type(attrs) is not dict:
            raise _structure_error(f'span "attrs" must be an object, got {attrs!r}', file, line, doc_id,
                                   start)
        if len(raw) > 4 or "surface" in raw or "text" in raw or not _SPAN_KEYS.issuperset(raw):
            where = Location(file, doc_id, line, start)
            attrs = _extra_span_fields(raw, text, start, end, attrs, where, report)
        key = (start, end, label)
        if key < prev:
            ordered = False
        prev = key
        append(trusted_span(start, end, label, attrs))
    if not ordered:
        spans.sort(key=_span_sort_key)
    return tuple(spans)


def _bad_offsets(start: Any, end: Any, n: int, file: str, line: int, doc_id: str) -> None:
    where = Location(file=file, doc_id=doc_id, line=line)
    if type(start) is not int or type(end) is not int:
        raise SpanError(
            "E013", f"span offsets must be integers, got start={start!r} end={end!r}",
            Location(file, doc_id, line, start if type(start) is int else None),
        )
    check_span_bounds(start, end, n, where)


def _extra_span_fields(raw: dict[str, Any], text: str, start: int, end: int, attrs: dict[str, Any],
                       where: Location, report: ProblemReport) -> dict[str, Any]:
    for key in ("surface", "text"):
        surface = raw.get(key)
        if surface is not None:
            if type(surface) is not str:
                raise _structure_error(f'span "{key}" must be a string, got {surface!r}', where.file or "",
                                       where.line or 0, where.doc_id, start)
            check_surface(text, start, end, surface, where)
    extra = sorted(set(raw) - _SPAN_KEYS)
    if extra:
        report.report(RecoverableSpanError(
            "E039", f"unknown span field(s) {', '.join(map(repr, extra))}; expected start, end, label, "
            "attrs, surface (--lenient keeps them in attrs)", where))
        attrs = {**attrs, **{key: raw[key] for key in extra}}
    return attrs


def document_to_json(doc: Document, *, surface: bool = False) -> str:
    """One JSONL line (without the newline) for ``doc``; ``surface=True`` adds each span's ``"text"``."""
    spans = []
    for s in doc.spans:
        item: dict[str, Any] = {"start": s.start, "end": s.end, "label": s.label, "attrs": dict(s.attrs)}
        if surface:
            item["text"] = doc.text[s.start : s.end]
        spans.append(item)
    obj = {"id": doc.id, "text": doc.text, "spans": spans, "meta": dict(doc.meta)}
    try:
        return json.dumps(obj, ensure_ascii=False)
    except TypeError as err:
        raise InputError("E025", f"cannot write document as JSON: {err}", Location(doc_id=doc.id)) from None


def write(documents: Sequence[Document], path: Path, *, surface: bool = False, **options: Any) -> None:
    """Write one JSON object per line (UTF-8, ``\\n`` line ends). ``surface=True`` adds each span's text."""
    if options:
        raise TypeError(f"jsonl writer takes no options besides surface, got {', '.join(options)}")
    with open_output(path) as out:
        for doc in documents:
            out.write(document_to_json(doc, surface=surface))
            out.write("\n")
