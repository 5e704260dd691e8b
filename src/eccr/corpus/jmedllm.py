"""JMED-LLM CSV (``tag,question,answer``): documents with lists of concept strings but no offsets.

The format
----------
One row per document, with the header ``tag,question,answer`` (an optional fourth column ``id`` is eccr's
extension, see below):

* ``tag``: the concept type asked for (``d`` in MRNER-disease); it becomes the label of every span.
* ``question``: an instruction line, then the document inside ``「…」``. The document is the text between
  the **first** ``「`` after the instruction line (the first line of ``question``) and the **last** ``」``.
  Everything around it (the instruction with its newline, anything after the last ``」``) is kept in
  ``meta["jmedllm"]`` so the writer reproduces the row exactly.
* ``answer``: a Python list literal of strings, parsed with :func:`ast.literal_eval` (never ``eval``).
  A malformed literal, a value that is not a list, or an item that is not a non-empty string is an
  :class:`~eccr.errors.InputError` (``E036``) naming the file, CSV line and document id.

From strings to spans
---------------------
The listed strings carry no offsets, so **every occurrence** of every listed string is marked (occurrences
may overlap). Spans are the maximal runs of the resulting binary character mask: overlapping *and
adjacent* occurrences merge into one span (the paper's binary labels). The listed strings themselves are
never lost: ``meta["answers"]`` holds them, in file order with duplicates, and :func:`answer_strings` is
the accessor for document-level string-set metrics (JMED-LLM's string-set F1).

A listed string that does not occur in its document is a recoverable problem ``E017``: it is raised, or
with ``--lenient`` recorded in the problem report; either way it stays in ``meta["answers"]``.

Document ids and ``meta``
-------------------------
The CSV has no id column, so a document's id is ``<file stem>-<row:04d>`` with ``row`` the 1-based data
row (``mrner_disease-0001`` for the first row of ``mrner_disease.csv``). If the file has an ``id`` column
its values are used instead. ``meta`` holds:

* ``answers`` — ``list[str]``, the listed strings exactly as in the file;
* ``jmedllm`` — ``{"tag", "instruction", "suffix", "answer_literal"}``: the ``tag`` column, the part of
  ``question`` before the document's ``「`` (instruction line and newline), the part after its ``」``,
  and the ``answer`` cell verbatim;
* ``line`` — the 1-based CSV line on which the row starts.

Several questions per document
------------------------------
A JMED-LLM file may ask several questions of one text, one row per tag (MRNER-medicine asks ``m-key`` and
``m-val`` of the same case report), and a row's answers list only its own tag's strings. Two rules keep
such files honest:

* **selecting by tag** — with a span selector (``--select m-key``), :func:`eccr.corpus.io.read_corpus`
  keeps only the rows asked about a selected label (:func:`select_rows`): a row of another tag is not a
  text without concepts, and keeping it (spans removed) would count every prediction on it as a false
  positive. A selector that keeps no row is an error (``E156``) naming the tags the file asks about.
* **merging** — the reader option ``merge`` (``--read-option merge=true``; ``corpus.options.merge: true``
  in an experiment) joins the rows with the same text into one document whose spans carry each row's tag
  (:func:`merge_rows`): one document per text, typed spans.

Writing
-------
The writer produces ``tag,question,answer`` rows (``\\n`` line ends, minimal quoting, which reproduces
the JMED-LLM files byte for byte). A row's answer list is ``meta["answers"]`` **when those strings still
describe the document's spans** (marking them gives exactly the document's spans), written as the
original ``answer`` cell when that cell parses to the same list; otherwise — e.g. for a model's
predictions, which keep the gold ``meta`` — the list is the distinct span surfaces in text order. Ids are
written only with ``with_ids=True`` (an extra ``id`` column).

>>> import tempfile, pathlib
>>> from eccr.errors import ProblemReport
>>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.csv"
>>> row = 'd,"所見は？\\n「発熱と咳嗽，発熱」","[\\'発熱\\', \\'咳嗽\\']"'
>>> _ = path.write_text("tag,question,answer\\n" + row + "\\n", encoding="utf-8")
>>> doc = read(path, ProblemReport())[0]
>>> doc.id, doc.text, [doc.span_text(s) for s in doc.spans], doc.meta["answers"]
('demo-0001', '発熱と咳嗽，発熱', ['発熱', '咳嗽', '発熱'], ['発熱', '咳嗽'])
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eccr.corpus.mask import mask_to_spans, spans_to_mask
from eccr.corpus.output import write_text_output
from eccr.corpus.types import Document, Span
from eccr.corpus.validation import (
    CheckedDocuments,
    UniqueIds,
    already_checked,
    check_not_empty,
    read_text_file,
)
from eccr.errors import ConfigError, InputError, Location, ProblemReport, RecoverableSpanError, warn

EXTENSIONS: tuple[str, ...] = (".csv",)

#: Columns of a JMED-LLM file; ``id`` is eccr's optional extension.
COLUMNS: tuple[str, ...] = ("tag", "question", "answer")
ID_COLUMN = "id"

#: meta key holding the listed answer strings (``list[str]``).
ANSWERS_KEY = "answers"
#: meta key holding what the writer needs to reproduce the row (tag, instruction, suffix, answer cell).
FORMAT_KEY = "jmedllm"
#: meta key of a merged document (``merge=True``): one record per row that asked about its text.
ROWS_KEY = "jmedllm_rows"

#: Instruction written for documents that were not read from JMED-LLM (MRNER-disease's case-report line).
DEFAULT_INSTRUCTION = (
    "以下の症例報告において、患者に実際に認められた病変や症状の存在を示す異常などの所見を表す表現は？\n"
)
DEFAULT_TAG = "d"

OPEN, CLOSE = "「", "」"


# --- string sets ------------------------------------------------------------------------------------------


def find_occurrences(text: str, needle: str) -> list[tuple[int, int]]:
    """Every occurrence of ``needle`` in ``text`` as ``(start, end)``, overlapping occurrences included.

    >>> find_occurrences("ああああ", "ああ")
    [(0, 2), (1, 3), (2, 4)]
    """
    if not needle:
        raise ValueError("cannot search for an empty string")
    found = []
    start = text.find(needle)
    while start != -1:
        found.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return found


def strings_to_spans(text: str, strings: Sequence[str], label: str) -> tuple[list[Span], list[str]]:
    """Spans marking every occurrence of every string (merged runs of the binary mask), and missing strings.

    >>> strings_to_spans("発熱咳嗽と発熱", ["発熱", "咳嗽", "頭痛"], "d")
    ([Span(0, 4, 'd'), Span(5, 7, 'd')], ['頭痛'])
    """
    occurrences: list[Span] = []
    missing: list[str] = []
    for string in strings:
        found = find_occurrences(text, string)
        if not found:
            missing.append(string)
        occurrences.extend(Span(s, e, label) for s, e in found)
    return mask_to_spans(spans_to_mask(occurrences, len(text)), label), missing


def answer_strings(document: Document) -> list[str]:
    """The document-level answer strings of ``document``, for JMED-LLM string-set metrics.

    ``meta["answers"]`` when the document was read from JMED-LLM (the listed strings, in file order, with
    duplicates); otherwise the distinct surfaces of its spans in text order (e.g. for predictions). Callers
    that score sets take ``set(...)`` of the result.

    >>> answer_strings(Document("p", "発熱と咳嗽と発熱", [Span(0, 2), Span(3, 5), Span(6, 8)]))
    ['発熱', '咳嗽']
    """
    answers = document.meta.get(ANSWERS_KEY)
    if answers is not None:
        return list(answers)
    return span_surfaces(document)


def span_surfaces(document: Document) -> list[str]:
    """Distinct span surfaces of ``document`` in text order."""
    return list(dict.fromkeys(document.span_text(s) for s in document.spans))


# --- reading ----------------------------------------------------------------------------------------------


def split_question(question: str, location: Location) -> tuple[str, str, str]:
    """``(instruction, document, suffix)`` of a ``question`` cell (see the module docstring for the rule).

    >>> split_question("指示「文」\\n「症例「引用」の所見」。", Location())
    ('指示「文」\\n', '症例「引用」の所見', '。')
    """
    newline = question.find("\n")
    open_at = question.find(OPEN, newline + 1 if newline != -1 else 0)
    close_at = question.rfind(CLOSE)
    if open_at == -1 or close_at < open_at:
        missing = OPEN if open_at == -1 else CLOSE
        raise InputError(
            "E035",
            f"the question has no document in 「…」 (no {missing} after the instruction line); JMED-LLM puts "
            "the document between the first 「 after the instruction and the last 」",
            location,
        )
    return question[:open_at], question[open_at + 1 : close_at], question[close_at + 1 :]


def parse_answer(cell: str, location: Location) -> list[str]:
    """The list of strings in an ``answer`` cell, parsed with :func:`ast.literal_eval` only.

    >>> parse_answer("['発熱', '咳嗽']", Location())
    ['発熱', '咳嗽']
    >>> parse_answer("['発熱', 3]", Location(line=4))
    Traceback (most recent call last):
    ...
    eccr.errors.InputError: [E036] answer item 1 is int 3, expected a non-empty string (line 4)
    """
    try:
        value = ast.literal_eval(cell.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
        detail = getattr(err, "msg", None) or str(err) or type(err).__name__
        raise InputError(
            "E036",
            f"answer {_preview(cell)} is not a Python list literal ({detail}); "
            "expected e.g. ['発熱', '咳嗽']",
            location,
        ) from None
    if not isinstance(value, list):
        raise InputError(
            "E036", f"answer is a {type(value).__name__}, expected a list of strings: {_preview(cell)}",
            location,
        )
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise InputError(
                "E036", f"answer item {index} is {type(item).__name__} {item!r}, expected a non-empty string",
                location,
            )
        surrogate = next((ch for ch in item if "\ud800" <= ch <= "\udfff"), None)
        if surrogate is not None:
            raise InputError(
                "E003", f"answer item {index} {item!r} holds a lone surrogate \\u{ord(surrogate):04x} "
                "(half of a UTF-16 pair); it is not a character and cannot be written as UTF-8", location)
    return value


def _preview(cell: str, limit: int = 60) -> str:
    return repr(cell if len(cell) <= limit else cell[:limit] + "…")


def _rows(text: str, file: str) -> list[tuple[int, list[str]]]:
    """CSV records with the 1-based line on which each starts.

    A field may be as long as the file (the csv module's default limit of 131,072 characters would refuse
    a long document that the writer writes); the module-wide limit is restored afterwards.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    start_line = 1
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        for row in reader:
            rows.append((start_line, row))
            start_line = reader.line_num + 1
    except csv.Error as err:
        raise InputError("E035", f"malformed CSV: {err}", Location(file=file, line=reader.line_num)) from None
    finally:
        csv.field_size_limit(limit)
    return rows


def read(path: Path, report: ProblemReport, *, label: str | None = None, merge: bool = False,
         **options: Any) -> list[Document]:
    """Read a JMED-LLM CSV file.

    Args:
        path: the ``.csv`` file.
        report: receives recoverable problems (``E017`` string not found,
            ``E020`` empty document, ``E021`` duplicate id).
        label: span label; by default each row's ``tag`` (``d``).
        merge: join the rows that ask about the same text into one document with typed spans (see
            "Several questions per document" in the module docstring); off by default, one row one document.
    """
    if options:
        raise TypeError(f"unknown jmedllm reader options: {', '.join(sorted(options))}")
    file = str(path)
    rows = _rows(read_text_file(path), file)
    if not rows:
        raise InputError("E035", "the file is empty; expected the header tag,question,answer",
                         Location(file=file))
    header_line, header = rows[0]
    columns = {name: header.index(name) for name in (*COLUMNS, ID_COLUMN) if name in header}
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        raise InputError(
            "E035", f"header {header!r} lacks column(s) {', '.join(missing)}; expected tag,question,answer",
            Location(file=file, line=header_line),
        )
    documents = [
        _row_document(path, row_number, line, row, header, columns, label, report)
        for row_number, (line, row) in enumerate(rows[1:], start=1)
    ]
    if merge:
        documents = merge_rows(documents)
    ids = UniqueIds(report)
    checked = CheckedDocuments()
    for document in documents:
        checked.append(ids.claim_document(document, Location(file=file, line=document.meta.get("line"))))
    return checked


def _row_document(path: Path, row_number: int, line: int, row: list[str], header: list[str],
                  columns: dict[str, int], label: str | None, report: ProblemReport) -> Document:
    """The document of one data row (spans from its answer strings, every listed string kept in meta)."""
    file = str(path)
    if len(row) != len(header):
        raise InputError(
            "E035", f"row has {len(row)} fields, the header has {len(header)}", Location(file=file, line=line)
        )
    doc_id = row[columns[ID_COLUMN]] if ID_COLUMN in columns else f"{path.stem}-{row_number:04d}"
    location = Location(file=file, doc_id=doc_id, line=line)
    tag = row[columns["tag"]]
    instruction, text, suffix = split_question(row[columns["question"]], location)
    answer_cell = row[columns["answer"]]
    answers = parse_answer(answer_cell, location)
    check_not_empty(doc_id, text, report, location)
    span_label = label or tag or DEFAULT_TAG
    spans, not_found = strings_to_spans(text, answers, span_label)
    for string in not_found:
        report.report(RecoverableSpanError(
            "E017",
            f"listed answer string {string!r} does not occur in the document; it is kept in "
            f"meta[{ANSWERS_KEY!r}] but marks no span",
            location,
        ))
    meta = {
        ANSWERS_KEY: answers,
        FORMAT_KEY: {"tag": tag, "instruction": instruction, "suffix": suffix, "answer_literal": answer_cell},
        "line": line,
    }
    return Document(doc_id, text, spans, meta)


# --- several questions per document -----------------------------------------------------------------------


def _row_record(document: Document) -> dict[str, Any]:
    """What a merged document keeps of one row: its id, line, label, answers and writer fields."""
    label = document.spans[0].label if document.spans else None
    fields = dict(document.meta[FORMAT_KEY])
    return {"id": document.id, "line": document.meta.get("line"), "label": label or fields["tag"],
            ANSWERS_KEY: list(document.meta[ANSWERS_KEY]), **fields}


def _document_from_rows(first: Document, rows: list[dict[str, Any]], spans: list[Span]) -> Document:
    """One document for ``rows`` (all on ``first``'s text): a single row keeps the one-row ``meta`` shape."""
    line = rows[0]["line"]
    if len(rows) == 1:
        row = rows[0]
        fields = {key: row[key] for key in ("tag", "instruction", "suffix", "answer_literal")}
        meta: dict[str, Any] = {ANSWERS_KEY: list(row[ANSWERS_KEY]), FORMAT_KEY: fields, "line": line}
        return Document(row["id"], first.text, spans, meta)
    answers = [answer for row in rows for answer in row[ANSWERS_KEY]]
    meta = {ANSWERS_KEY: answers, ROWS_KEY: rows, "line": line}
    return Document(rows[0]["id"], first.text, spans, meta)


def _merged_spans(text: str, spans_by_label: dict[str, list[Span]]) -> list[Span]:
    """Per label, the maximal runs of the union of that label's spans (labels may overlap each other)."""
    merged: list[Span] = []
    for name, spans in spans_by_label.items():
        merged.extend(mask_to_spans(spans_to_mask(spans, len(text)), name))
    return merged


def merge_rows(documents: Sequence[Document]) -> list[Document]:
    """Join the one-row documents that share a text into one document each, in order of first appearance.

    The merged document takes the id and line of its first row; its spans are, per label, the merged runs
    of the rows' spans (so ``m-key`` and ``m-val`` spans stay apart and may overlap each other);
    ``meta["answers"]`` lists every row's strings in row order and ``meta["jmedllm_rows"]`` keeps each row
    (id, line, label, answers, tag, instruction, suffix, answer cell). A text asked only once keeps the
    one-row shape, so writing it back reproduces its row.

    >>> q = lambda tag, answers: Document(f"r{tag}", "薬Aを1錠", [], {
    ...     ANSWERS_KEY: answers, FORMAT_KEY: {"tag": tag, "instruction": "", "suffix": "",
    ...     "answer_literal": repr(answers)}, "line": 2})
    >>> rows = [q("m-key", ["薬A"]), q("m-val", ["1錠"])]
    >>> rows = [d.with_spans(strings_to_spans(d.text, d.meta[ANSWERS_KEY], d.meta[FORMAT_KEY]["tag"])[0])
    ...         for d in rows]
    >>> (doc,) = merge_rows(rows)
    >>> doc.id, [(doc.span_text(s), s.label) for s in doc.spans], doc.meta[ANSWERS_KEY]
    ('rm-key', [('薬A', 'm-key'), ('1錠', 'm-val')], ['薬A', '1錠'])
    """
    groups: dict[str, list[Document]] = {}
    for document in documents:
        groups.setdefault(document.text, []).append(document)
    merged = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        spans_by_label: dict[str, list[Span]] = {}
        for document in group:
            for span in document.spans:
                spans_by_label.setdefault(span.label, []).append(span)
        rows = [_row_record(document) for document in group]
        merged.append(_document_from_rows(group[0], rows, _merged_spans(group[0].text, spans_by_label)))
    return merged


def asked_labels(document: Document) -> frozenset[str] | None:
    """The labels a JMED-LLM document was asked about (one per row), or ``None`` for other documents.

    >>> asked_labels(Document("x", "発熱", [], {FORMAT_KEY: {"tag": "d"}}))
    frozenset({'d'})
    """
    rows = document.meta.get(ROWS_KEY)
    if rows is not None:
        return frozenset(row["label"] for row in rows)
    fields = document.meta.get(FORMAT_KEY)
    if not isinstance(fields, Mapping) or "tag" not in fields:
        return None
    labels = {span.label for span in document.spans}
    return frozenset(labels) if labels else frozenset({fields["tag"] or DEFAULT_TAG})


def select_rows(documents: Sequence[Document], labels: frozenset[str], *,
                source: str | None = None) -> list[Document]:
    """Keep the JMED-LLM rows asked about one of ``labels`` (``*`` keeps all); other documents stay.

    A file that asks several questions per text (``d``, ``m-key``, ``m-val``) holds one row per question,
    and a row's answers list only its own tag's strings: a row of another tag is not a document without
    concepts, so selecting spans alone would score it as false positives. A document of rows is dropped
    when none of its rows was asked about a selected label; a merged document keeps the selected rows (and
    their answers) only, and with one row left it is that row's document again (its id, line and answer
    cell), exactly as reading without ``merge`` gives it.

    Raises:
        ConfigError: ``E156`` when the selection keeps no row of a file that has rows, naming the labels
            the file asks about.
    """
    if "*" in labels:
        return CheckedDocuments(documents) if already_checked(documents) else list(documents)
    kept: list[Document] = []
    asked_any: set[str] = set()
    rows_kept = 0
    for document in documents:
        asked = asked_labels(document)
        if asked is None:
            kept.append(document)
            continue
        asked_any |= asked
        if not asked & labels:
            continue
        rows_kept += 1
        rows = document.meta.get(ROWS_KEY)
        if rows is not None and not asked <= labels:
            chosen = [row for row in rows if row["label"] in labels]
            spans = [span for span in document.spans if span.label in labels]
            document = _document_from_rows(document, chosen, spans)
        kept.append(document)
    if asked_any and not rows_kept:
        raise ConfigError(
            "E156",
            f"the selection keeps no JMED-LLM row: the file asks about {', '.join(sorted(asked_any))}, "
            f"the selector names {', '.join(sorted(labels))}",
            Location(file=source),
        )
    return CheckedDocuments(kept) if already_checked(documents) else kept


# --- writing ----------------------------------------------------------------------------------------------


def answers_for(document: Document) -> tuple[list[str], str]:
    """The answer list to write for ``document`` and its cell text (see "Writing" in the module docstring)."""
    stored = document.meta.get(ANSWERS_KEY)
    if stored is not None:
        spans, _ = strings_to_spans(document.text, list(stored), DEFAULT_TAG)
        if [(s.start, s.end) for s in spans] == [(s.start, s.end) for s in document.spans]:
            answers = list(stored)
            literal = (document.meta.get(FORMAT_KEY) or {}).get("answer_literal")
            if literal is not None and _parses_to(literal, answers):
                return answers, literal
            return answers, repr(answers)
    answers = span_surfaces(document)
    return answers, repr(answers)


def _parses_to(literal: str, answers: list[str]) -> bool:
    try:
        return ast.literal_eval(literal.strip()) == answers
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def row_for(document: Document, *, instruction: str, tag: str | None, with_ids: bool, file: str
            ) -> list[str]:
    """The CSV row of one document; checks the question splits back into the same text.

    ``tag`` is the row's tag; ``None`` keeps the tag the document was read with (else ``d``).
    """
    stored: dict[str, Any] = dict(document.meta.get(FORMAT_KEY) or {})
    row_tag = tag if tag is not None else stored.get("tag", DEFAULT_TAG)
    prefix = stored.get("instruction", instruction)
    suffix = stored.get("suffix", "")
    question = f"{prefix}{OPEN}{document.text}{CLOSE}{suffix}"
    location = Location(file=file, doc_id=document.id)
    if split_question(question, location)[1] != document.text:
        raise InputError(
            "E025",
            "cannot write this document: its instruction or suffix contains 「 or 」 in a place that would "
            "change where the document starts or ends on reading; use an instruction without 「 after its "
            "first line and a suffix without 」",
            location,
        )
    _, cell = answers_for(document)
    row = [row_tag, question, cell]
    if with_ids:
        row.append(document.id)
    return row


def row_tag(documents: Sequence[Document], tag: str | None, file: str) -> str | None:
    """The tag every row gets: ``tag`` when given, else the corpus's one span label (``None``: no spans).

    A row has one tag and the reader gives every span of the row that label, so a corpus with spans of
    several labels is refused (``E025``) unless ``tag`` says under which label to write them all.
    """
    if tag is not None:
        return tag
    labels = sorted({span.label for doc in documents for span in doc.spans})
    if len(labels) > 1:
        raise InputError(
            "E025", f"the corpus has {len(labels)} span labels ({', '.join(labels)}) but a JMED-LLM row has "
            "one tag, which becomes the label of all its spans; select one label (--select d) or write all "
            "spans under one tag (--write-option tag=d)", Location(file=file))
    return labels[0] if labels else None


def warn_unrecoverable(documents: Sequence[Document], file: str) -> None:
    """Warn (``E026``) with the number of documents and spans that will not read back as written.

    The format lists strings, not offsets: reading marks every occurrence of every listed string and merges
    touching or overlapping occurrences, so a span comes back only when that reading reproduces it.
    """
    changed = written = read_back = 0
    for document in documents:
        answers, _ = answers_for(document)
        spans, _ = strings_to_spans(document.text, answers, DEFAULT_TAG)
        if [(s.start, s.end) for s in spans] != sorted({(s.start, s.end) for s in document.spans}):
            changed += 1
            written += len(document.spans)
            read_back += len(spans)
    if changed:
        warn("E026", f"JMED-LLM lists answer strings, not offsets: {changed} of {len(documents)} documents "
             f"will not read back as written — their {written} spans come back as {read_back} (every "
             "occurrence of a listed string becomes a span; touching spans merge); write jsonl to keep "
             "offsets",
             Location(file=file), stacklevel=3)


def write(
    documents: Sequence[Document],
    path: Path,
    *,
    instruction: str = DEFAULT_INSTRUCTION,
    tag: str | None = None,
    with_ids: bool = False,
    **options: Any,
) -> None:
    """Write documents as a JMED-LLM CSV file.

    Args:
        documents: the documents; those read from JMED-LLM keep their instruction, tag and answer cell.
        path: the ``.csv`` file to write.
        instruction: instruction (ending in a newline) for documents without ``meta["jmedllm"]``.
        tag: the ``tag`` column of every row; by default the corpus's one span label (several labels are
            ``E025``), or for a corpus without spans the tag each document was read with, else ``d``.
        with_ids: add an ``id`` column so document ids survive a round trip.
    """
    if options:
        raise TypeError(f"unknown jmedllm writer options: {', '.join(sorted(options))}")
    tag = row_tag(documents, tag, str(path))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, ID_COLUMN] if with_ids else list(COLUMNS))
    for document in documents:
        writer.writerow(
            row_for(document, instruction=instruction, tag=tag, with_ids=with_ids, file=str(path))
        )
    warn_unrecoverable(documents, str(path))
    write_text_output(path, buffer.getvalue())
