"""MedTxt XML (NTCIR-16 Real-MedNLP MedTxt-CR / MedTxt-RR): articles with inline entity tags.

Layout::

    <root><articles>
    <article id="JP0217-100" title="…">
    症例は<timex3 type="age">７０歳</timex3>，男性．<d certainty="positive">発熱</d>を認めた．
    </article>
    </articles></root>

Rules, in plain words:

* Each ``<article>`` is one document; ``id`` is its id (required), ``title`` and any other article attribute
  go to ``meta`` as strings. Other elements (``<metadata>``…) describe the file, not documents, and are
  not kept.
* The document text is the article's character data with the tags removed, exactly as the XML parser
  delivers it (entities such as ``&amp;`` decoded, XML 1.0 line-end handling). The first newline right after
  ``<article …>`` and the last newline right before ``</article>`` are layout, not text.
* Each entity tag becomes a span labelled with the tag name, covering the characters inside it; all its
  XML attributes (``certainty``, ``state``, ``type``, ``correction``…) are kept in ``span.attrs`` as strings.
  ``correction`` is a typo fix that does not change the text. Tags may nest (the reader keeps both spans);
  MedTxt-CR itself does not nest them.
* Entity tags are :data:`ENTITY_TAGS`. An unknown tag is an error ``E039`` naming the file, the article and
  the offset; with ``--lenient`` it is reported and kept as a span labelled with its tag name (nothing lost).
* A tag with no text inside is an error ``E011``; malformed XML is ``E037`` with the line and column; an
  article without ``id`` is ``E038``.
* Selection (``--select 'd[certainty=positive]'``) is applied by :func:`eccr.corpus.io.read_corpus`.

The writer emits the same layout; properly nested spans become nested tags, crossing spans raise ``E012``;
a label, attribute name or character XML cannot hold is ``E025``.
``\\r`` is written as ``&#13;`` so texts with CR survive XML line-end handling. Non-string meta values are
written JSON-encoded (they read back as strings).

>>> import tempfile, pathlib
>>> from eccr.corpus.types import Document, Span
>>> path = pathlib.Path(tempfile.mkdtemp()) / "c.xml"
>>> write([Document("a1", "発熱と咳嗽", [Span(0, 2, "d", {"certainty": "positive"})], {"title": "例"})], path)
>>> print(path.read_text(encoding="utf-8").splitlines()[4])
<d certainty="positive">発熱</d>と咳嗽
>>> read(path, ProblemReport())[0].spans
(Span(0, 2, 'd', {'certainty': 'positive'}),)
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from eccr.corpus.output import open_output
from eccr.corpus.types import _EMPTY_ATTRS, Document, Span, _span_sort_key
from eccr.corpus.validation import (
    CheckedDocuments,
    RecoverableInputError,
    UniqueIds,
    check_not_empty,
    read_text_file,
)
from eccr.errors import InputError, Location, ProblemReport, RecoverableSpanError, SpanError

EXTENSIONS: tuple[str, ...] = (".xml",)

#: The MedTxt entity tags (NTCIR-16 Real-MedNLP annotation guideline).
ENTITY_TAGS: frozenset[str] = frozenset(
    {"d", "a", "f", "c", "t-test", "t-key", "t-val", "m-key", "m-val", "r", "cc", "timex3", "p"}
)

_CHUNK = 1 << 20
_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def read(path: Path, report: ProblemReport, **options: Any) -> list[Document]:
    """Read the articles of a MedTxt XML file; see the module docstring for the rules."""
    if options:
        raise TypeError(f"medtxt reader takes no options, got {', '.join(options)}")
    file = str(path)
    documents = CheckedDocuments()
    ids = UniqueIds(report)
    for article in _articles(read_text_file(path), file, report):
        doc = _document(article, file, report)
        where = Location(file=file, doc_id=doc.id)
        check_not_empty(doc.id, doc.text, report, where)
        documents.append(ids.claim_document(doc, where))
    return documents


def _articles(text: str, file: str, report: ProblemReport) -> Iterator[ET.Element]:
    """Stream complete ``<article>`` elements, clearing each afterwards to keep memory flat.

    An entity tag outside every article would be dropped with its text: once the file is parsed, what is
    left of the tree (every article cleared) is searched for entity tags, each reported (``E028``).
    """
    parser = ET.XMLPullParser(events=("end",))
    article_ids: dict[int, str | None] = {}  # cleared articles (their attributes go with them) -> ids
    last: list[ET.Element] = []

    def complete_articles() -> Iterator[ET.Element]:
        for _, elem in parser.read_events():
            if elem.tag == "article":
                article_ids[id(elem)] = elem.get("id")
                yield elem
                elem.clear()
            last[:] = [elem]

    try:
        for begin in range(0, len(text), _CHUNK):
            parser.feed(text[begin : begin + _CHUNK])
            yield from complete_articles()
        parser.close()
        yield from complete_articles()
    except ET.ParseError as err:
        raise InputError("E037", f"malformed XML: {err}", Location(file=file, line=err.position[0])) from None
    if last:
        _report_strays(last[0], article_ids, file, report)


def _report_strays(root: ET.Element, article_ids: dict[int, str | None], file: str,
                   report: ProblemReport) -> None:
    """Report (``E028``) each outermost entity tag in ``root``'s tree, where articles are already cleared."""
    previous: str | None = None

    def walk(element: ET.Element) -> None:
        nonlocal previous
        for child in element:
            if child.tag == "article":
                previous = article_ids.get(id(child))
            elif child.tag in ENTITY_TAGS:
                where = f"after article {previous!r}" if previous else "before the first article"
                report.report(RecoverableInputError(
                    "E028", f"<{child.tag}> ({_preview(''.join(child.itertext()))}) lies outside every "
                    f"<article> ({where}); its text belongs to no document — move it into its article "
                    "(--lenient skips it and reports it here)", Location(file=file)))
            else:
                walk(child)

    holder = ET.Element("file")  # so that a root element that is itself an entity tag is found too
    holder.append(root)
    walk(holder)


def _document(article: ET.Element, file: str, report: ProblemReport) -> Document:
    doc_id = article.get("id")
    if not doc_id:
        raise InputError("E038", "<article> has no id attribute; MedTxt articles need id=\"…\"",
                         Location(file=file))
    meta = {key: value for key, value in article.attrib.items() if key != "id"}
    head = article.text or ""
    if head.startswith("\n"):  # layout newline after <article …>: offsets count from the next character
        head = head[1:]
    pieces = [head]
    spans: list[Span] = []
    walker = _Walker(pieces, spans, file, doc_id, report)
    length = walker.children(article, len(head))
    text = "".join(pieces)
    last_end = (max(s.end for s in spans) if walker.nested else spans[-1].end) if spans else -1
    if text.endswith("\n") and last_end != length:
        text = text[:-1]  # layout newline before </article> (outside every tag)
    if walker.nested:
        spans.sort(key=_span_sort_key)
    return Document.trusted(doc_id, text, tuple(spans), meta)


class _Walker:
    """Collects an article's text pieces and spans; offsets are into the final document text."""

    __slots__ = ("doc_id", "file", "nested", "pieces", "report", "spans")

    def __init__(self, pieces: list[str], spans: list[Span], file: str, doc_id: str,
                 report: ProblemReport) -> None:
        self.pieces, self.spans, self.file, self.doc_id, self.report = pieces, spans, file, doc_id, report
        self.nested = False

    def children(self, element: ET.Element, offset: int) -> int:
        """Append the text of ``element``'s children (and tails) from ``offset``; return the offset after."""
        pieces, spans = self.pieces, self.spans
        for child in element:
            tag = child.tag
            if tag not in ENTITY_TAGS:
                self.unknown(tag, offset)
            start = offset
            inner = child.text
            if inner:
                pieces.append(inner)
                offset += len(inner)
            if len(child):
                self.nested = True
                offset = self.children(child, offset)
            if offset == start:
                raise SpanError(
                    "E011", f"<{tag}> encloses no text; an entity tag must cover a character or more",
                    Location(file=self.file, doc_id=self.doc_id, offset=start))
            spans.append(Span(start, offset, tag, child.attrib or _EMPTY_ATTRS))
            tail = child.tail
            if tail:
                pieces.append(tail)
                offset += len(tail)
        return offset

    def unknown(self, tag: str, offset: int) -> None:
        self.report.report(RecoverableSpanError(
            "E039", f"unknown tag <{tag}> in the article; MedTxt entity tags are "
            f"{', '.join(sorted(ENTITY_TAGS))} (--lenient keeps it as a span labelled {tag!r})",
            Location(file=self.file, doc_id=self.doc_id, offset=offset)))


def _preview(text: str, limit: int = 20) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;"))


def _attr(value: Any) -> str:
    value = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return (_escape(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))


def _attributes(attrs: Mapping[str, Any], doc_id: str, what: str) -> str:
    parts = []
    for key, value in attrs.items():
        if not isinstance(key, str) or not _NAME.match(key):
            raise InputError("E025", f"{what} key {key!r} cannot be written as an XML attribute name",
                             Location(doc_id=doc_id))
        parts.append(f' {key}="{_attr(value)}"')
    return "".join(parts)


def _check_tag(label: str, doc_id: str | None = None, offset: int | None = None) -> None:
    """``E025`` unless ``label`` is a MedTxt entity tag (the reader refuses any other tag, ``E039``)."""
    if label not in ENTITY_TAGS:
        raise InputError(
            "E025", f"span label {label!r} is not a MedTxt entity tag ({', '.join(sorted(ENTITY_TAGS))}), so "
            "the MedTxt reader would refuse the file; write every span under one tag (--write-option "
            "label=d), read inline text with --read-option label=d, or choose another format",
            Location(doc_id=doc_id, offset=offset))


def article_xml(doc: Document, label: str | None = None) -> str:
    """The ``<article>`` element for ``doc`` (nested spans as nested tags; crossing spans raise ``E012``).

    ``label`` writes every span under that entity tag; otherwise each span's label must be one (``E025``).
    """
    bad = _NOT_XML.search(doc.text)
    if bad:
        raise InputError("E025", f"character U+{ord(bad.group()):04X} cannot be written in XML 1.0",
                         Location(doc_id=doc.id, offset=bad.start()))
    if label is not None:
        doc = doc.with_spans([Span(s.start, s.end, label, s.attrs) for s in doc.spans])
    for span in doc.spans:
        _check_tag(span.label, doc.id, span.start)
    if "id" in doc.meta:
        raise InputError("E025", "meta key 'id' would clash with the article's id attribute; rename it",
                         Location(doc_id=doc.id))
    out = [f"<article{_attributes({'id': doc.id, **doc.meta}, doc.id, 'meta')}>\n"]
    text = doc.text
    cursor = 0
    open_spans: list[Span] = []
    for span in sorted(doc.spans, key=lambda s: (s.start, -s.end, s.label)):
        while open_spans and open_spans[-1].end <= span.start:
            closing = open_spans.pop()
            out.append(_escape(text[cursor : closing.end]) + f"</{closing.label}>")
            cursor = closing.end
        if open_spans and span.end > open_spans[-1].end:
            outer = open_spans[-1]
            raise SpanError(
                "E012", f"spans [{outer.start}, {outer.end}) and [{span.start}, {span.end}) cross; XML tags "
                "can nest but not cross (select fewer labels)", Location(doc_id=doc.id, offset=span.start))
        out.append(_escape(text[cursor : span.start]))
        out.append(f"<{span.label}{_attributes(span.attrs, doc.id, 'span attribute')}>")
        cursor = span.start
        open_spans.append(span)
    while open_spans:
        closing = open_spans.pop()
        out.append(_escape(text[cursor : closing.end]) + f"</{closing.label}>")
        cursor = closing.end
    out.append(_escape(text[cursor:]))
    out.append("\n</article>\n")
    return "".join(out)


def write(documents: Sequence[Document], path: Path, *, label: str | None = None, **options: Any) -> None:
    """Write a MedTxt XML file that :func:`read` reads back identically.

    Args:
        documents: the documents; span labels must be MedTxt entity tags (``E025`` otherwise).
        path: the ``.xml`` file.
        label: write every span under this entity tag (e.g. ``d`` for a corpus of plain concepts).
    """
    if options:
        raise TypeError(f"medtxt writer takes no options besides label, got {', '.join(options)}")
    if label is not None:
        _check_tag(label)
    with open_output(path) as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<root>\n<articles>\n')
        for doc in documents:
            out.write(article_xml(doc, label))
        out.write("</articles>\n</root>\n")
