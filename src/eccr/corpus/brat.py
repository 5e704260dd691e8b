"""BRAT standoff: one document per ``<stem>.txt`` + ``<stem>.ann`` pair.

Reading
-------
``path`` is a directory (every pair in it, sorted by stem; a ``.txt`` without ``.ann`` is a document without
annotations, an ``.ann`` without ``.txt`` is an error ``E038``) or a single ``.ann``/``.txt`` file (its pair).
The document id is the stem, the text is the ``.txt`` file exactly (BOM removed, CRLF kept; offsets are
character offsets into it, as brat counts them).

``.ann`` lines (tab-separated; blank lines are ignored; anything malformed is ``E037`` naming file, line
and annotation id):

* ``T1<TAB>Label 0 5;8 10<TAB>surface`` — a text-bound annotation becomes one :class:`Span` per fragment
  with ``label`` = ``Label``. The surface must equal the fragments' texts joined by one space, where a tab,
  CR or LF inside the text reads as a space (brat cannot store them in the ``.ann``); otherwise ``E016``
  names the file, the T id and the offset. Overlapping annotations are allowed and kept.
* A discontinuous annotation's fragments share ``attrs["brat_id"]`` and carry ``attrs["fragment"]`` (0, 1, …
  in the order of the T line), so the writer rebuilds the single T line. A continuous annotation carries
  ``attrs["brat_id"]`` only when its id is not the one the writer would give it anyway (``T<k>`` for the
  k-th annotation in span order), so files eccr writes read back with plain spans.
* ``A1<TAB>Name T1 [Value]`` — an attribute of a T annotation: ``attrs[Name] = Value`` (``True`` for a
  binary attribute without value), on every fragment.
* ``#1<TAB>Type T1<TAB>note`` — a note on a T annotation: appended to ``attrs["brat_notes"]`` as
  ``[Type, note]``. A note of type ``eccr:<Name>`` holds a JSON value and becomes ``attrs[Name]``: the
  writer uses it for attribute values a brat attribute cannot hold (a string with whitespace such as
  MedTxt's ``correction="白血球増加，\u3000ＣＲＰ強陽性"``, numbers, ``False``, lists).
* Relations ``R``, events ``E``, equivalences ``*``, normalisations ``N``, and attributes or notes that
  refer to anything but a T annotation are kept **verbatim** in ``meta["brat"]["lines"]`` and written back
  unchanged (so their references to T ids stay valid as long as the spans are unchanged).

Writing
-------
``path`` is a directory (created) receiving ``<id>.txt`` and ``<id>.ann`` for every document (``E025`` if it
already holds other documents' pairs, which would be read back with them), or an ``.ann`` path for a
single document. T lines come in span order, then attributes (renumbered ``A1``…),
notes (renumbered ``#1``…) and the verbatim lines. Reading what the writer wrote gives the same documents;
writing what was read keeps every annotation with its T id (only A/# ids and line order may change).
Labels and attribute names must be non-empty without whitespace, and a document id must be usable as a
file name (``E025`` otherwise).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "c1.txt").write_text("発熱と咳嗽を認めた", encoding="utf-8")
>>> _ = (folder / "c1.ann").write_text("T1\\td 0 2;3 5\\t発熱 咳嗽\\nA1\\tNegated T1\\n", encoding="utf-8")
>>> from eccr.errors import ProblemReport
>>> doc = read(folder, ProblemReport())[0]
>>> doc.spans
(Span(0, 2, 'd', {'brat_id': 'T1', 'fragment': 0, 'Negated': True}), Span(3, 5, 'd', {'brat_id': 'T1', \
'fragment': 1, 'Negated': True}))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eccr.corpus.output import write_file_set, write_text_output
from eccr.corpus.types import Document, Span
from eccr.corpus.validation import (
    CheckedDocuments,
    check_not_empty,
    check_span_bounds,
    read_text_file,
    split_records,
)
from eccr.errors import InputError, Location, ProblemReport, SpanError

EXTENSIONS: tuple[str, ...] = (".ann",)

ID_KEY = "brat_id"
FRAGMENT_KEY = "fragment"
NOTES_KEY = "brat_notes"
META_KEY = "brat"
RESERVED_ATTRS = frozenset({ID_KEY, FRAGMENT_KEY, NOTES_KEY})
#: Note type prefix for attribute values a brat attribute cannot hold (whitespace, numbers, lists…).
VALUE_NOTE_PREFIX = "eccr:"

_T_OFFSETS = re.compile(r"^(\S+) (\d+ \d+(?:;\d+ \d+)*)$")
_WHITESPACE = re.compile(r"\s")


@dataclass
class _TextBound:
    """One T line while reading."""

    brat_id: str
    label: str
    fragments: list[tuple[int, int]]
    line: int
    attrs: dict[str, Any] = field(default_factory=dict)


def surface_of(text: str, fragments: Sequence[tuple[int, int]]) -> str:
    """The ``.ann`` surface of fragments: their texts joined by a space; tab, CR and LF read as spaces.

    >>> surface_of("発熱\\nと咳", [(0, 3), (4, 5)])
    '発熱  咳'
    """
    joined = " ".join(text[s:e] for s, e in fragments)
    return joined.replace("\t", " ").replace("\r", " ").replace("\n", " ")


# --- reading ----------------------------------------------------------------------------------------------


def pairs(path: Path) -> list[tuple[str, Path, Path | None]]:
    """``(stem, txt, ann or None)`` for a directory or a single ``.ann``/``.txt`` path."""
    if path.is_dir():
        stems = sorted({p.stem for p in path.iterdir() if p.is_file() and p.suffix in (".ann", ".txt")})
        found = []
        for stem in stems:
            txt, ann = path / f"{stem}.txt", path / f"{stem}.ann"
            if not txt.is_file():
                raise InputError("E038", f"{ann.name} has no text file {txt.name} next to it",
                                 Location(file=str(ann), doc_id=stem))
            found.append((stem, txt, ann if ann.is_file() else None))
        return found
    txt, ann = path.with_suffix(".txt"), path.with_suffix(".ann")
    if not txt.is_file():
        raise InputError("E038", f"{path.name} has no text file {txt.name} next to it",
                         Location(file=str(path), doc_id=path.stem))
    return [(path.stem, txt, ann if ann.is_file() else None)]


def read(path: Path, report: ProblemReport, **options: Any) -> list[Document]:
    """Read brat documents from a directory of pairs or from one ``.ann``/``.txt`` file."""
    if options:
        raise TypeError(f"unknown brat reader options: {', '.join(sorted(options))}")
    documents = CheckedDocuments()
    for stem, txt, ann in pairs(path):
        text = read_text_file(txt)
        check_not_empty(stem, text, report, Location(file=str(txt), doc_id=stem))
        documents.append(read_pair(stem, text, ann))
    return documents


def read_pair(doc_id: str, text: str, ann: Path | None) -> Document:
    """One document from its text and ``.ann`` file (``None``: no annotations)."""
    if ann is None:
        return Document(doc_id, text)
    file = str(ann)
    bounds: dict[str, _TextBound] = {}
    pending: list[tuple[int, str]] = []
    verbatim: list[str] = []
    for number, line in split_records(read_text_file(ann)):
        if not line.strip():
            continue
        if line.startswith("T"):
            bound = _parse_text_bound(line, text, Location(file=file, doc_id=doc_id, line=number))
            if bound.brat_id in bounds:
                raise InputError("E037", f"annotation id {bound.brat_id} is used twice",
                                 Location(file=file, doc_id=doc_id, line=number))
            bounds[bound.brat_id] = bound
        else:
            pending.append((number, line))
    for number, line in pending:
        location = Location(file=file, doc_id=doc_id, line=number)
        if not _attach(line, bounds, location):
            verbatim.append(line)
    spans = _spans_of(list(bounds.values()))
    meta = {META_KEY: {"lines": verbatim}} if verbatim else None
    return Document(doc_id, text, spans, meta)


def _parse_text_bound(line: str, text: str, location: Location) -> _TextBound:
    fields = line.split("\t")
    if len(fields) != 3:
        raise InputError("E037", f"text-bound line needs 3 tab-separated fields (id, 'Label start end', "
                         f"surface), got {len(fields)}: {line[:60]!r}", location)
    brat_id, middle, surface = fields
    match = _T_OFFSETS.match(middle)
    if not match:
        raise InputError("E037", f"annotation {brat_id}: expected 'Label start end[;start end]…', got "
                         f"{middle!r}", location)
    fragments = []
    for piece in match.group(2).split(";"):
        start, end = (int(x) for x in piece.split(" "))
        try:
            check_span_bounds(start, end, len(text), location)
        except SpanError as err:
            raise SpanError(err.code, f"annotation {brat_id}: {err.message}", err.location) from None
        fragments.append((start, end))
    expected = surface_of(text, fragments)
    if surface != expected:
        raise SpanError(
            "E016",
            f"annotation {brat_id} states surface {surface!r} but the text at "
            f"{';'.join(f'{s} {e}' for s, e in fragments)} is {expected!r}",
            Location(location.file, location.doc_id, location.line, fragments[0][0]),
        )
    return _TextBound(brat_id, match.group(1), fragments, location.line or 0)


def _attach(line: str, bounds: dict[str, _TextBound], location: Location) -> bool:
    """Attach an attribute or note line to its T annotation; False when it must be kept verbatim."""
    fields = line.split("\t")
    if line.startswith("A") or line.startswith("M"):  # M: brat's legacy modifier, same syntax
        if len(fields) != 2:
            raise InputError("E037", f"attribute line needs 2 tab-separated fields: {line[:60]!r}", location)
        parts = fields[1].split(" ")
        if len(parts) not in (2, 3):
            raise InputError("E037", f"attribute {fields[0]}: expected 'Name Target [Value]', got "
                             f"{fields[1]!r}", location)
        name, target = parts[0], parts[1]
        if target not in bounds or line.startswith("M"):
            return False
        if name in RESERVED_ATTRS or name in bounds[target].attrs:
            return False  # cannot be expressed as a span attribute without loss: keep the line
        bounds[target].attrs[name] = parts[2] if len(parts) == 3 else True
        return True
    if line.startswith("#"):
        fields = line.split("\t", 2)
        if len(fields) not in (2, 3):
            raise InputError("E037", f"note line needs 3 tab-separated fields: {line[:60]!r}", location)
        parts = fields[1].split(" ")
        if len(parts) != 2 or parts[1] not in bounds:
            return False
        note = fields[2] if len(fields) == 3 else ""
        target = bounds[parts[1]].attrs
        if parts[0].startswith(VALUE_NOTE_PREFIX):
            name = parts[0][len(VALUE_NOTE_PREFIX):]
            if not name or name in RESERVED_ATTRS or name in target:
                return False
            try:
                target[name] = json.loads(note)
            except ValueError:
                raise InputError("E037", f"note {fields[0]} ({parts[0]}) must hold a JSON value, got "
                                 f"{note[:60]!r}", location) from None
            return True
        target.setdefault(NOTES_KEY, []).append([parts[0], note])
        return True
    if line[:1] in ("R", "E", "*", "N"):
        return False
    raise InputError("E037", f"unknown annotation line {line[:60]!r}; expected T, A, M, R, E, N, * or #",
                     location)


def _spans_of(bounds: list[_TextBound]) -> list[Span]:
    """Spans in document order; ``brat_id`` kept only where the writer could not re-derive it."""
    ordered = sorted(bounds, key=lambda b: _first_key(b))
    spans = []
    for rank, bound in enumerate(ordered, start=1):
        keep_id = len(bound.fragments) > 1 or bound.brat_id != f"T{rank}"
        for index, (start, end) in enumerate(bound.fragments):
            attrs: dict[str, Any] = {}
            if keep_id:
                attrs[ID_KEY] = bound.brat_id
            if len(bound.fragments) > 1:
                attrs[FRAGMENT_KEY] = index
            attrs.update(bound.attrs)
            spans.append(Span(start, end, bound.label, attrs))
    return spans


def _first_key(bound: _TextBound) -> tuple[int, int, str]:
    start, end = min(bound.fragments)
    return (start, end, bound.label)


# --- writing ----------------------------------------------------------------------------------------------


def _group(document: Document, file: str) -> list[tuple[str | None, list[Span]]]:
    """Annotations of a document in span order: (explicit id or None, fragments in fragment order)."""
    groups: list[tuple[str | None, list[Span]]] = []
    by_id: dict[str, list[Span]] = {}
    for span in document.spans:
        brat_id = span.attrs.get(ID_KEY)
        if brat_id is None:
            groups.append((None, [span]))
        elif brat_id in by_id:
            by_id[brat_id].append(span)
        else:
            by_id[brat_id] = [span]
            groups.append((brat_id, by_id[brat_id]))
    for brat_id, fragments in by_id.items():
        fragments.sort(key=lambda s: s.attrs.get(FRAGMENT_KEY, 0))
        if len({(s.label, _plain_attrs(s)) for s in fragments}) != 1 or not str(brat_id).startswith("T"):
            raise SpanError("E025", f"spans sharing brat id {brat_id!r} need the same label and attributes, "
                            "and the id must start with T", Location(file=file, doc_id=document.id,
                                                                     offset=fragments[0].start))
    return groups


def _plain_attrs(span: Span) -> str:
    return repr(sorted((k, repr(v)) for k, v in span.attrs.items() if k not in (ID_KEY, FRAGMENT_KEY)))


def ann_text(document: Document, file: str = "") -> str:
    """The ``.ann`` content for ``document``."""
    groups = _group(document, file)
    explicit = {brat_id for brat_id, _ in groups if brat_id is not None}
    numbers = [int(i[1:]) for i in explicit if i[1:].isdigit()]
    fresh = max(numbers, default=0) + len(groups) + 1
    t_lines, a_lines, n_lines = [], [], []
    for rank, (brat_id, fragments) in enumerate(groups, start=1):
        if brat_id is None:
            brat_id = f"T{rank}"
            if brat_id in explicit:
                brat_id, fresh = f"T{fresh}", fresh + 1
            explicit.add(brat_id)
        first = fragments[0]
        location = Location(file=file, doc_id=document.id, offset=first.start)
        if _WHITESPACE.search(first.label):
            raise SpanError("E025", f"label {first.label!r} contains whitespace, which brat cannot store",
                            location)
        offsets = ";".join(f"{s.start} {s.end}" for s in fragments)
        surface = surface_of(document.text, [(s.start, s.end) for s in fragments])
        t_lines.append(f"{brat_id}\t{first.label} {offsets}\t{surface}")
        for name, value in first.attrs.items():
            if name in (ID_KEY, FRAGMENT_KEY):
                continue
            if name == NOTES_KEY:
                for note_type, note in value:
                    n_lines.append(f"#{len(n_lines) + 1}\t{note_type} {brat_id}\t{note}")
                continue
            if not name or _WHITESPACE.search(name):
                raise SpanError("E025", f"attribute name {name!r} is empty or contains whitespace, which "
                                "brat cannot store", location)
            if value is True:
                a_lines.append(f"A{len(a_lines) + 1}\t{name} {brat_id}")
            elif isinstance(value, str) and value and not _WHITESPACE.search(value):
                a_lines.append(f"A{len(a_lines) + 1}\t{name} {brat_id} {value}")
            else:
                note = json.dumps(value, ensure_ascii=False)
                n_lines.append(f"#{len(n_lines) + 1}\t{VALUE_NOTE_PREFIX}{name} {brat_id}\t{note}")
    verbatim = list((document.meta.get(META_KEY) or {}).get("lines", []))
    lines = t_lines + a_lines + n_lines + verbatim
    return "".join(line + "\n" for line in lines)


def _safe_stem(doc_id: str, file: str) -> str:
    if doc_id in (".", "..") or any(ch in doc_id for ch in "/\\\0\n\r"):
        raise InputError("E025", f"document id {doc_id!r} cannot be used as a brat file name",
                         Location(file=file, doc_id=doc_id))
    return doc_id


def write(documents: Sequence[Document], path: Path, **options: Any) -> None:
    """Write ``<id>.txt`` + ``<id>.ann`` per document into directory ``path`` (or one pair at an ``.ann``)."""
    if options:
        raise TypeError(f"unknown brat writer options: {', '.join(sorted(options))}")
    if path.suffix == ".ann":
        if len(documents) != 1:
            raise InputError("E025", f"an .ann path holds one document, got {len(documents)}; write to a "
                             "directory instead", Location(file=str(path)))
        content = ann_text(documents[0], str(path))  # fails, if at all, before either file is replaced
        write_text_output(path.with_suffix(".txt"), documents[0].text)
        write_text_output(path, content)
        return
    write_file_set(path, _pair_files(documents, path), owned=lambda name: name.endswith((".txt", ".ann")),
                   what=".txt/.ann")


def _pair_files(documents: Sequence[Document], folder: Path) -> Iterator[tuple[str, str]]:
    for doc in documents:
        stem = _safe_stem(doc.id, str(folder))
        yield f"{stem}.txt", doc.text
        yield f"{stem}.ann", ann_text(doc, str(folder / f"{stem}.ann"))
