"""The data model of eccr: :class:`Span`, :class:`Document`, :class:`Corpus`.

Offsets — defined once, here, for all of eccr
------------------------------------------------
A span's ``start`` and ``end`` are **half-open character offsets into the document's original text**:
the span covers ``text[start:end]`` (Python ``str`` indexing, i.e. Unicode code points), ``0 <= start <
end <= len(text)``. They never index a normalised (NFKC, lower-cased, CRLF-folded) copy of the text, never
count bytes and never count tokens. Every reader and writer in :mod:`eccr.corpus` keeps this invariant,
so ``doc.text[s.start:s.end]`` is always the concept's surface exactly as it appears in the input.

Example:
    >>> doc = Document("d1", "発熱と咳嗽を認めた。", [Span(0, 2), Span(3, 5)])
    >>> [doc.span_text(s) for s in doc.spans]
    ['発熱', '咳嗽']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, overload

import msgspec

from eccr.errors import DocumentError, Location, SpanError

DEFAULT_LABEL = "concept"

#: The paper's span-length strata (characters), as (name, lowest, highest) with ``None`` = no upper bound.
LENGTH_BINS: tuple[tuple[str, int, int | None], ...] = (
    ("1-2", 1, 2),
    ("3-6", 3, 6),
    ("7-10", 7, 10),
    ("11-20", 11, 20),
    (">=21", 21, None),
)


def length_bin(length: int) -> str:
    """Name of the paper's length stratum for a span of ``length`` characters.

    >>> [length_bin(n) for n in (1, 2, 3, 6, 7, 10, 11, 20, 21, 76)]
    ['1-2', '1-2', '3-6', '3-6', '7-10', '7-10', '11-20', '11-20', '>=21', '>=21']
    """
    if length < 1:
        raise ValueError(f"span length must be positive, got {length}")
    for name, low, high in LENGTH_BINS:
        if length >= low and (high is None or length <= high):
            return name
    raise AssertionError("unreachable: the last bin is unbounded")


_EMPTY_ATTRS: Mapping[str, Any] = MappingProxyType({})


class Span(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """A concept mention: half-open character offsets ``[start, end)`` into the original text.

    Args:
        start: offset of the first character of the concept.
        end: offset one past its last character (``end > start``).
        label: the concept type; ``"concept"`` in the paper's binary setting, the tag name (``d``, ``a``…)
            when read from MedTxt.
        attrs: extra annotation attributes (``certainty``, ``correction``, a BRAT fragment id…). Compared
            for equality but not hashed.

    A frozen :class:`msgspec.Struct` (immutable, hashable, picklable, compared field by field like a frozen
    dataclass): construction is cheap, and :mod:`eccr.corpus.jsonl` decodes spans straight into it, unknown
    fields rejected and ``__post_init__``'s checks applied.

    >>> Span(3, 5, "d", {"certainty": "positive"}).length
    2
    """

    start: int
    end: int
    label: str = DEFAULT_LABEL
    attrs: Mapping[str, Any] = _EMPTY_ATTRS

    def __repr__(self) -> str:
        extra = f", {dict(self.attrs)!r}" if self.attrs else ""
        return f"Span({self.start}, {self.end}, {self.label!r}{extra})"

    def __hash__(self) -> int:  # attrs (a mapping) are compared but not hashed
        return hash((self.start, self.end, self.label))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable even when attrs is the shared read-only mapping
        return (trusted_span, (self.start, self.end, self.label, dict(self.attrs)))

    def __post_init__(self) -> None:
        if type(self.start) is not int or type(self.end) is not int:
            raise SpanError(
                "E013", f"span offsets must be integers, got start={self.start!r} end={self.end!r}"
            )
        if self.start < 0 or self.end <= self.start:
            raise SpanError(
                "E011",
                f"span [{self.start}, {self.end}) is empty or reversed; offsets are half-open, start < end",
                Location(offset=self.start),
            )
        if not self.label or type(self.label) is not str:
            raise SpanError("E014", "span label must be a non-empty string", Location(offset=self.start))

    @property
    def length(self) -> int:
        return self.end - self.start

    def text_in(self, text: str) -> str:
        """The span's surface in ``text``."""
        return text[self.start : self.end]

    def overlaps(self, other: Span) -> bool:
        """True if the two spans share at least one character (touching spans do not overlap)."""
        return self.start < other.end and other.start < self.end

    def with_label(self, label: str) -> Span:
        return Span(self.start, self.end, label, self.attrs)

    def sort_key(self) -> tuple[int, int, str]:
        return (self.start, self.end, self.label)


_span_sort_key = Span.sort_key  # the order of Document.spans, as a plain key function


_new_object = object.__new__


def _same_spans(a: tuple[Span, ...], b: tuple[Span, ...]) -> bool:
    """Equal as multisets. Spans are sorted by ``(start, end, label)`` only, so spans that tie there and
    differ in attrs (two BRAT fragments, say) may come in either order; compare those groups unordered."""
    if a == b:
        return True
    if len(a) != len(b) or [s.sort_key() for s in a] != [s.sort_key() for s in b]:
        return False
    remaining = list(b)
    for span in a:
        if span not in remaining:
            return False
        remaining.remove(span)
    return True


def trusted_span(start: int, end: int, label: str, attrs: Mapping[str, Any]) -> Span:
    """Build a :class:`Span` in a reader's hot loop (an empty ``attrs`` shares one immutable empty mapping).

    Kept for readers written against the earlier dataclass ``Span``; construction is now cheap enough that
    this simply calls ``Span(...)``, checks included.

    >>> trusted_span(0, 2, "d", {}) == Span(0, 2, "d")
    True
    """
    return Span(start, end, label, attrs if attrs else _EMPTY_ATTRS)


@dataclass(frozen=True, slots=True, init=False)
class Document:
    """One text and its concept spans.

    Spans are kept sorted by ``(start, end, label)``; they may overlap (the type allows it; formats that
    cannot express overlap reject it when reading or writing). Construction checks that every span lies
    inside the text and raises :class:`~eccr.errors.SpanError` (``E010``) naming the document otherwise.

    Args:
        id: unique id of the document within its corpus.
        text: the original text, unmodified (CRLF, full-width characters and all).
        spans: the concept spans.
        meta: free metadata (title, source, the reader's file and line…).
    """

    id: str
    text: str
    spans: tuple[Span, ...]
    meta: Mapping[str, Any]

    def __init__(
        self,
        id: str,
        text: str,
        spans: Iterable[Span] = (),
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(id, str) or not id:
            raise DocumentError("E022", f"document id must be a non-empty string, got {id!r}")
        if not isinstance(text, str):
            raise DocumentError("E023", f"document text must be a string, got {type(text).__name__}",
                                Location(doc_id=id))
        ordered = tuple(sorted(spans, key=_span_sort_key))
        n = len(text)
        for span in ordered:
            if span.end > n:
                raise SpanError(
                    "E010",
                    f"span [{span.start}, {span.end}) ends past the end of the text ({n} characters)",
                    Location(doc_id=id, offset=span.end),
                )
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "spans", ordered)
        object.__setattr__(self, "meta", MappingProxyType(dict(meta)) if meta else _EMPTY_ATTRS)

    @classmethod
    def trusted(cls, id: str, text: str, spans: tuple[Span, ...], meta: Mapping[str, Any] | None) -> Document:
        """Build a document without re-checking — for readers that have already checked everything.

        The caller guarantees: ``id`` is a non-empty ``str``, ``text`` a ``str``, ``spans`` a tuple sorted by
        ``(start, end, label)`` whose spans all end within ``text``.
        """
        doc = _new_object(cls)
        object.__setattr__(doc, "id", id)
        object.__setattr__(doc, "text", text)
        object.__setattr__(doc, "spans", spans)
        object.__setattr__(doc, "meta", MappingProxyType(dict(meta)) if meta else _EMPTY_ATTRS)
        return doc

    def __reduce__(self) -> tuple[Any, ...]:  # meta is a read-only proxy, which pickle cannot store as is
        return (Document.trusted, (self.id, self.text, self.spans, dict(self.meta)))

    def span_text(self, span: Span) -> str:
        return self.text[span.start : span.end]

    def with_spans(self, spans: Iterable[Span]) -> Document:
        """A copy with the same id, text and meta and other spans (e.g. a model's predictions)."""
        return Document(self.id, self.text, spans, self.meta)

    def overlapping_pairs(self) -> Iterator[tuple[Span, Span]]:
        """Pairs of spans that share characters (spans are sorted, so a sweep suffices)."""
        active: list[Span] = []
        for span in self.spans:
            active = [a for a in active if a.end > span.start]
            for a in active:
                yield a, span
            active.append(span)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (
            self.id == other.id
            and self.text == other.text
            and _same_spans(self.spans, other.spans)
            and dict(self.meta) == dict(other.meta)
        )

    def __hash__(self) -> int:
        return hash((self.id, self.text, self.spans))

    def __repr__(self) -> str:
        preview = self.text[:20] + ("…" if len(self.text) > 20 else "")
        return f"Document(id={self.id!r}, text={preview!r}, spans={len(self.spans)})"


@dataclass(frozen=True)
class CorpusStats:
    """Counts describing a corpus; ``length_bins`` uses the paper's strata (:data:`LENGTH_BINS`)."""

    documents: int
    characters: int
    spans: int
    labels: Mapping[str, int]
    length_bins: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "characters": self.characters,
            "spans": self.spans,
            "labels": dict(self.labels),
            "length_bins": dict(self.length_bins),
        }


class Corpus(Sequence[Document]):
    """An ordered collection of documents with unique ids.

    Raises :class:`~eccr.errors.DocumentError` (``E021``) on a duplicate id. Indexing by position returns a
    document; :meth:`get` looks one up by id.

    >>> c = Corpus([Document("a", "肺炎", [Span(0, 2)]), Document("b", "咳")])
    >>> c.stats().spans, c.get("b").text
    (1, '咳')
    """

    __slots__ = ("_by_id", "_docs", "source")

    def __init__(self, documents: Iterable[Document] = (), *, source: str | None = None) -> None:
        self._docs: tuple[Document, ...] = tuple(documents)
        self._by_id: dict[str, Document] = {}
        self.source = source
        for index, doc in enumerate(self._docs):
            if doc.id in self._by_id:
                raise DocumentError(
                    "E021",
                    f"duplicate document id {doc.id!r} (documents #{self._index_of(doc.id)} and #{index}); "
                    "ids must be unique — rename one, or read with --lenient to suffix duplicates",
                    Location(file=source, doc_id=doc.id),
                )
            self._by_id[doc.id] = doc

    def _index_of(self, doc_id: str) -> int:
        return next(i for i, d in enumerate(self._docs) if d.id == doc_id)

    @overload
    def __getitem__(self, index: int) -> Document: ...
    @overload
    def __getitem__(self, index: slice) -> Corpus: ...
    def __getitem__(self, index: int | slice) -> Document | Corpus:
        if isinstance(index, slice):
            return Corpus(self._docs[index], source=self.source)
        return self._docs[index]

    def __len__(self) -> int:
        return len(self._docs)

    def __iter__(self) -> Iterator[Document]:
        return iter(self._docs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Corpus):
            return NotImplemented
        return self._docs == other._docs

    def __hash__(self) -> int:
        return hash(self._docs)

    def __repr__(self) -> str:
        return f"Corpus({len(self)} documents, {sum(len(d.spans) for d in self._docs)} spans)"

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self._docs]

    def get(self, doc_id: str) -> Document:
        try:
            return self._by_id[doc_id]
        except KeyError:
            raise DocumentError(
                "E024", f"no document with id {doc_id!r}", Location(file=self.source)
            ) from None

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._by_id
        return item in self._docs

    def subset(self, ids: Iterable[str]) -> Corpus:
        """The documents with the given ids, in the order given."""
        return Corpus((self.get(i) for i in ids), source=self.source)

    def map_spans(self, fn: Callable[[Document], Iterable[Span]]) -> Corpus:
        """A corpus with the same documents and the spans ``fn(doc)`` returns for each."""
        return Corpus((d.with_spans(fn(d)) for d in self._docs), source=self.source)

    def select(self, selector: str | Callable[[Span], bool] | None) -> Corpus:
        """Keep only the spans the selector accepts (see :mod:`eccr.corpus.selector`); documents stay."""
        if selector is None:
            return self
        from eccr.corpus.selector import Selector  # local: selector imports this module

        accept = Selector.parse(selector) if isinstance(selector, str) else selector
        selected = self.map_spans(lambda d: [s for s in d.spans if accept(s)])
        if isinstance(accept, Selector):
            self._warn_unmatched(accept)
        return selected

    def _warn_unmatched(self, selector: Any) -> None:
        """Warn (``E027``) for each alternative of ``selector`` that matches no span, naming what there is."""
        from eccr.errors import Location, warn

        for line in selector.unmatched(s for d in self._docs for s in d.spans):
            warn("E027", line, Location(file=self.source), stacklevel=3)

    def stats(self) -> CorpusStats:
        labels: Counter[str] = Counter()
        bins: dict[str, int] = {name: 0 for name, _, _ in LENGTH_BINS}
        n_spans = 0
        for doc in self._docs:
            for span in doc.spans:
                n_spans += 1
                labels[span.label] += 1
                bins[length_bin(span.length)] += 1
        return CorpusStats(
            documents=len(self._docs),
            characters=sum(len(d.text) for d in self._docs),
            spans=n_spans,
            labels=dict(sorted(labels.items())),
            length_bins=bins,
        )
