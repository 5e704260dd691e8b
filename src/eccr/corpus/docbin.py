"""spaCy ``DocBin`` files (``.spacy``): the corpus format ``spacy train`` reads, with exact character offsets.

A DocBin holds tokenized spaCy ``Doc`` objects; a concept can only be stored on whole tokens. The writer
tokenizes each text with a spaCy pipeline's tokenizer (option ``pipeline``: a language code such as ``ja``
for a blank pipeline, an installed package such as ``ja_ginza``, or a pipeline directory; ``split_mode``
picks Sudachi's A/B/C segmentation for Japanese) and checks that the ``Doc`` reproduces the text exactly
(``E182`` otherwise: offsets would shift).

Concepts go to ``doc.ents`` (spaCy ``ner``; overlapping spans are ``E012``) or, with ``spans_key``, to
``doc.spans[spans_key]`` (``spancat``; overlap allowed). A span whose ends do not fall on token boundaries
cannot be an entity (spaCy's W030 problem). It is **never dropped silently**:

* ``alignment_mode="strict"`` (default): it stays out of the spaCy annotation — its tokens are marked
  *missing* (spaCy's ``-``), so ``spacy train`` does not learn the concept as "no entity" — is recorded as
  a warning ``E181`` naming the document and offsets, and is kept in eccr's record (below), so eccr reads
  it back;
* ``"expand"`` / ``"contract"``: it is snapped outwards/inwards to token boundaries (spaCy's
  ``Doc.char_span`` modes) and written so; the change is recorded as ``E181`` too (a span that contracts to
  nothing stays unaligned).

The writer returns a one-line summary with the fraction of spans that align (``eccr convert`` prints it).

eccr's record (``doc.user_data["eccr"]``, msgpack like the rest of the file) keeps what spaCy cannot hold: the
document id and meta, the attributes of spans (``certainty``…) and the unaligned spans. Reading follows one
rule: **the spans are the spaCy annotation** (``doc.ents``, or ``doc.spans[key]``) — so edits made in spaCy
tools count — **plus the unaligned spans of the record, with attributes restored from the record** where a
span's offsets and label match. A DocBin from another tool (no record) gives documents ``<file
stem>-<n:04d>`` with the spans of its annotation. Reading needs no model: the strings are in the file.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "c.spacy"
>>> spans = [Span(0, 2, "d", {"certainty": "positive"}), Span(3, 5, "d")]
>>> doc = Document("d1", "発熱と咳嗽を認めた。", spans)
>>> write([doc], path)
'2 of 2 spans (100.00%) align to spaCy tokens (ja, Sudachi split mode A)'
>>> read(path, ProblemReport()) == [doc]
True
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from eccr.corpus.types import DEFAULT_LABEL, Document, Span
from eccr.corpus.validation import check_no_overlap, read_bytes_file
from eccr.errors import ConfigError, InputError, Location, Problem, ProblemReport

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

EXTENSIONS: tuple[str, ...] = (".spacy",)

#: ``doc.user_data`` key of eccr's record.
RECORD_KEY = "eccr"
#: Default spaCy pipeline whose tokenizer segments the texts: blank Japanese (SudachiPy).
DEFAULT_PIPELINE = "ja"
AlignmentMode = Literal["strict", "expand", "contract"]
SplitMode = Literal["A", "B", "C"]


def require_spacy() -> Any:
    """Import spaCy, or raise ``E180`` saying how to install it."""
    try:
        import spacy
    except ImportError:
        raise ConfigError(
            "E180", "spaCy is not installed; pip install 'eccr[spacy]' (spaCy, GiNZA, SudachiPy)"
        ) from None
    return spacy


@lru_cache(maxsize=8)
def tokenizer_pipeline(pipeline: str = DEFAULT_PIPELINE, split_mode: SplitMode | None = None) -> Language:
    """A spaCy ``Language`` whose ``make_doc`` segments text as ``pipeline`` does (loaded once per process).

    ``pipeline`` is a language code (a blank pipeline: ``ja`` uses SudachiPy), an installed package
    (``ja_ginza``) or a pipeline directory; only its tokenizer and vocabulary are used. ``split_mode``
    replaces the Japanese tokenizer's Sudachi split mode (``A`` short units … ``C`` named-entity units).

    Raises:
        ConfigError: ``E180`` when spaCy, the package or the directory is missing, or ``split_mode`` is given
            for a pipeline that is not Japanese.
    """
    spacy = require_spacy()
    if is_language_code(pipeline):
        config = {"nlp": {"tokenizer": {"split_mode": split_mode}}} if split_mode else {}
        if split_mode and pipeline != "ja":
            raise ConfigError("E180", f"split_mode applies to Japanese (ja) pipelines, not {pipeline!r}")
        return spacy.blank(pipeline, config=config)
    nlp = load_pipeline(pipeline, exclude_components=True)
    if split_mode:
        if nlp.lang != "ja":
            raise ConfigError("E180", f"split_mode applies to Japanese pipelines; {pipeline} is {nlp.lang!r}")
        from spacy.lang.ja import JapaneseTokenizer

        nlp.tokenizer = JapaneseTokenizer(nlp.vocab, split_mode=split_mode)
    return nlp


def is_language_code(name: str) -> bool:
    """True for a spaCy language code (``ja``, ``en``…) that is not also a path on disk."""
    if Path(name).exists() or not name.isascii() or not 2 <= len(name) <= 3 or not name.isalpha():
        return False
    from spacy.util import get_lang_class

    try:
        get_lang_class(name)
    except ImportError:
        return False
    return True


def load_pipeline(name_or_path: str, *, exclude_components: bool = False) -> Language:
    """``spacy.load`` of an installed package or a pipeline directory, with coded errors (``E180``).

    Nothing is ever downloaded: a name that is neither installed nor a directory is an error saying how to
    install it.
    """
    spacy = require_spacy()
    path = Path(name_or_path)
    config = pipeline_config(name_or_path)  # also checks that the pipeline exists
    exclude = list(config["nlp"]["pipeline"]) if exclude_components and config is not None else []
    try:
        return spacy.load(path if path.exists() else name_or_path, exclude=exclude)
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(
            "E180", f"cannot load spaCy pipeline {name_or_path}: {err}", Location(file=str(name_or_path))
        ) from None


def pipeline_config(name_or_path: str) -> Any:
    """The ``config.cfg`` of a pipeline directory or installed package (``None`` when there is none).

    Raises ``E180`` when ``name_or_path`` is neither: nothing is ever downloaded.
    """
    require_spacy()
    from spacy.util import get_package_path, is_package, load_config

    path = Path(name_or_path)
    if not path.exists() and not is_package(name_or_path):
        raise ConfigError(
            "E180",
            f"spaCy pipeline {name_or_path!r} is neither an installed package nor a directory "
            "(eccr never downloads models: pip install it, e.g. pip install ja-ginza)",
        )
    if not path.exists() and is_package(name_or_path):
        path = get_package_path(name_or_path)
        inner = sorted(p for p in path.iterdir() if (p / "config.cfg").is_file())
        path = inner[0] if inner else path
    file = path / "config.cfg"
    return load_config(file) if file.is_file() else None


def describe_tokenizer(nlp: Language) -> str:
    """``ja, Sudachi split mode A`` — the pipeline's language and, for Japanese, its split mode."""
    mode = getattr(nlp.tokenizer, "split_mode", "unset")
    if nlp.lang != "ja":
        return nlp.lang
    return f"ja, Sudachi split mode {mode or 'A'}"  # spaCy's Japanese tokenizer defaults to A


# --- Document -> Doc -----------------------------------------------------------------------------------


@dataclass
class AlignmentSummary:
    """How the spans of a corpus mapped onto spaCy tokens: the writer's (and the model's) account.

    ``unaligned`` spans are not in the spaCy annotation; ``snapped`` ones were moved to token boundaries
    (``(original, written)`` pairs). Both lists hold ``(document id, span)``.
    """

    tokenizer: str
    spans: int = 0
    unaligned: list[tuple[str, Span]] = field(default_factory=list)
    snapped: list[tuple[str, Span, Span]] = field(default_factory=list)

    @property
    def aligned(self) -> int:
        return self.spans - len(self.unaligned) - len(self.snapped)

    @property
    def aligned_fraction(self) -> float:
        return self.aligned / self.spans if self.spans else 1.0

    def describe(self) -> str:
        text = (
            f"{self.aligned} of {self.spans} spans ({self.aligned_fraction:.2%}) align to spaCy tokens "
            f"({self.tokenizer})"
        )
        if self.snapped:
            text += f"; {len(self.snapped)} snapped to token boundaries"
        if self.unaligned:
            text += (
                f"; {len(self.unaligned)} unaligned, kept in eccr's record only (not in the spaCy annotation)"
            )
        return text

    def problems(self, file: str | None = None) -> list[Problem]:
        """One ``E181`` warning per unaligned or snapped span, naming document and offsets."""
        out = []
        for doc_id, span in self.unaligned:
            out.append(
                Problem(
                    "E181",
                    f"span [{span.start}, {span.end}) {span.label!r} does not align to "
                    f"spaCy tokens ({self.tokenizer}); kept in eccr's record, not in the annotation",
                    Location(file=file, doc_id=doc_id, offset=span.start),
                )
            )
        for doc_id, span, written in self.snapped:
            out.append(
                Problem(
                    "E181",
                    f"span [{span.start}, {span.end}) {span.label!r} does not align to "
                    f"spaCy tokens ({self.tokenizer}); written as [{written.start}, {written.end})",
                    Location(file=file, doc_id=doc_id, offset=span.start),
                )
            )
        return out


def _span_record(span: Span) -> list[Any]:
    return [span.start, span.end, span.label, dict(span.attrs)]


def to_doc(
    nlp: Language,
    document: Document,
    *,
    spans_key: str | None = None,
    alignment_mode: AlignmentMode = "strict",
    summary: AlignmentSummary | None = None,
    file: str | None = None,
) -> Doc:
    """``document`` as a tokenized spaCy ``Doc`` with its spans as entities (or in ``doc.spans[key]``).

    See the module docstring for what happens to spans off token boundaries; ``summary`` (when given)
    receives the counts. Raises ``E182`` when the tokenizer does not reproduce the text, ``E012`` when
    overlapping spans are to become entities.
    """
    if spans_key is None:
        check_no_overlap(document, "spaCy doc.ents (use spans_key for overlapping spans)", file)
    doc = nlp.make_doc(document.text)
    if doc.text != document.text:
        at = next(
            (i for i, (a, b) in enumerate(zip(doc.text, document.text, strict=False)) if a != b),
            min(len(doc.text), len(document.text)),
        )
        raise InputError(
            "E182",
            f"the spaCy tokenizer changed the text at character {at}; offsets would shift",
            Location(file=file, doc_id=document.id, offset=at),
        )
    written, unaligned, with_attrs = [], [], []
    off_tokens: list[Span] = []  # the unaligned concepts themselves
    for span in document.spans:
        if summary is not None:
            summary.spans += 1
        exact = doc.char_span(span.start, span.end, label=span.label)
        token_span = exact
        if exact is None and alignment_mode != "strict":
            token_span = doc.char_span(span.start, span.end, label=span.label, alignment_mode=alignment_mode)
            if token_span is not None and len(token_span) == 0:
                token_span = None
        if token_span is None:
            off_tokens.append(span)
            unaligned.append(_span_record(span))
            if summary is not None:
                summary.unaligned.append((document.id, span))
            continue
        if exact is None and summary is not None:
            summary.snapped.append(
                (document.id, span, Span(token_span.start_char, token_span.end_char, span.label, span.attrs))
            )
        written.append(token_span)
        if span.attrs:
            with_attrs.append([token_span.start_char, token_span.end_char, span.label, dict(span.attrs)])
    if spans_key is None:
        _set_entities(doc, written, off_tokens, document, file)
    else:
        doc.spans[spans_key] = written
    doc.user_data[RECORD_KEY] = {
        "id": document.id,
        "meta": dict(document.meta),
        "spans_key": spans_key,
        "attrs": with_attrs,
        "unaligned": unaligned,
    }
    return doc


def _set_entities(doc: Doc, spans: list[Any], unaligned: list[Span], document: Document, file: str | None
                  ) -> None:
    """Entities ``spans``; the tokens under an unaligned concept are *missing*, every other token outside.

    Missing (spaCy's ``-``), not outside: ``spacy train`` must not learn an annotated concept as "no entity".
    Spans that became overlapping by snapping are an ``E012`` naming them.
    """
    covered = {i for s in spans for i in range(s.start, s.end)}
    missing = []
    for span in unaligned:
        region = doc.char_span(span.start, span.end, alignment_mode="expand")
        if region is not None and len(region) and not covered & set(range(region.start, region.end)):
            missing.append(region)
            covered.update(range(region.start, region.end))
    try:
        doc.set_ents(spans, missing=missing, default="outside")
    except ValueError:
        from eccr.errors import SpanError

        ordered = sorted(spans, key=lambda s: (s.start, s.end))
        first = next(((a, b) for a, b in itertools.pairwise(ordered) if b.start < a.end), None)
        where = first[1].start_char if first else None
        raise SpanError(
            "E012",
            "spans overlap once snapped to spaCy tokens; doc.ents cannot hold that "
            "(write with spans_key, or alignment_mode='strict')",
            Location(file=file, doc_id=document.id, offset=where),
        ) from None


# --- Doc -> Document -----------------------------------------------------------------------------------


def from_doc(doc: Doc, default_id: str, *, spans_key: str | None = None) -> Document:
    """The eccr document of ``doc`` (see the reading rule in the module docstring)."""
    record = doc.user_data.get(RECORD_KEY) if doc.user_data else None
    record = record if isinstance(record, dict) else {}
    key = spans_key if spans_key is not None else record.get("spans_key")
    annotated = doc.spans[key] if key is not None and key in doc.spans else (doc.ents if key is None else ())
    attrs = {(s, e, label): a for s, e, label, a in record.get("attrs", [])}
    spans = [
        Span(
            t.start_char,
            t.end_char,
            t.label_ or DEFAULT_LABEL,
            attrs.get((t.start_char, t.end_char, t.label_), {}),
        )
        for t in annotated
    ]
    spans += [Span(s, e, label, a) for s, e, label, a in record.get("unaligned", [])]
    return Document(str(record.get("id") or default_id), doc.text, spans, record.get("meta") or None)


# --- the format ----------------------------------------------------------------------------------------


def read(path: Path, report: ProblemReport, *, spans_key: str | None = None) -> list[Document]:
    """Documents of a DocBin file. ``spans_key`` reads ``doc.spans[key]`` instead of what the file says.

    Raises ``E183`` when the file is not a DocBin, naming the file.
    """
    require_spacy()
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    data = read_bytes_file(path)
    try:
        docs = list(DocBin(store_user_data=True).from_bytes(data).get_docs(Vocab()))
    except (ValueError, KeyError, TypeError, IndexError, zlib.error) as err:
        raise InputError(
            "E183", f"not a spaCy DocBin file: {type(err).__name__}: {err}", Location(file=str(path))
        ) from None
    except Exception as err:  # msgpack's own exceptions (ExtraData, FormatError…) have no common base
        if type(err).__module__.split(".")[0] not in {"srsly", "msgpack"}:
            raise
        raise InputError(
            "E183", f"not a spaCy DocBin file: {type(err).__name__}", Location(file=str(path))
        ) from None
    return [from_doc(doc, f"{path.stem}-{n:04d}", spans_key=spans_key) for n, doc in enumerate(docs, 1)]


def write(
    documents: Sequence[Document],
    path: Path,
    *,
    pipeline: str = DEFAULT_PIPELINE,
    split_mode: SplitMode | None = None,
    spans_key: str | None = None,
    alignment_mode: AlignmentMode = "strict",
    report: ProblemReport | None = None,
) -> str:
    """Write a DocBin (atomically); returns the alignment summary line.

    Args:
        pipeline: the spaCy pipeline whose tokenizer segments the text (``ja``: blank Japanese).
        split_mode: Sudachi split mode A/B/C for Japanese (default: the pipeline's own).
        spans_key: write concepts to ``doc.spans[spans_key]`` (spancat) instead of ``doc.ents`` (ner).
        alignment_mode: ``strict``, ``expand`` or ``contract`` (module docstring).
        report: receives one ``E181`` warning per span off token boundaries (``eccr convert`` passes its
            problem report; these are warnings, never errors: no span is lost).
    """
    summary = write_docbin(
        documents,
        path,
        tokenizer_pipeline(pipeline, split_mode),
        spans_key=spans_key,
        alignment_mode=alignment_mode,
    )
    if report is not None:
        report.problems.extend(summary.problems(str(path)))
    return summary.describe()


def write_docbin(
    documents: Sequence[Document],
    path: Path,
    nlp: Language,
    *,
    spans_key: str | None = None,
    alignment_mode: AlignmentMode = "strict",
) -> AlignmentSummary:
    """Write ``documents`` tokenized by ``nlp`` as a DocBin at ``path`` (``spacy:`` models use it too)."""
    from spacy.tokens import DocBin

    from eccr.atomic import atomic_write_bytes
    from eccr.corpus.output import check_output_file

    check_output_file(path)  # E005 for a directory or a file on the way; missing folders created

    summary = AlignmentSummary(describe_tokenizer(nlp))
    docbin = DocBin(store_user_data=True)
    for document in documents:
        doc = to_doc(
            nlp, document, spans_key=spans_key, alignment_mode=alignment_mode, summary=summary, file=str(path)
        )
        try:
            docbin.add(doc)  # serialises user_data (eccr's record) with msgpack
        except (TypeError, ValueError) as err:
            raise InputError(
                "E025",
                f"the document's meta cannot be stored in a DocBin (msgpack): {err}",
                Location(file=str(path), doc_id=document.id),
            ) from None
    atomic_write_bytes(path, docbin.to_bytes())
    return summary
