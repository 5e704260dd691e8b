"""Batch prediction on the local machine (``eccr predict --engine local``): read, predict, write, summarise.

Reading and predicting are per unit and per document: an input that cannot be read, or a document the model
fails on, is reported with its coded error (file, document id) and everything else is still predicted and
written. Output goes through the corpus writers (any format that can hold the documents) or
:mod:`eccr.inference.html`, to a file or to standard output.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eccr.atomic import atomic_path, atomic_write_text
from eccr.corpus.io import FORMATS, detect_target_format, write_corpus
from eccr.corpus.types import Document
from eccr.errors import ConfigError, EccrError
from eccr.inference.extractor import DEFAULT_BATCH_SIZE, Extractor
from eccr.inference.inputs import InputUnit

HTML = "html"
#: Formats predictions can be written in (``--to``).
OUTPUT_FORMATS = (*FORMATS, HTML)
#: Formats that are a directory of files and so cannot go to standard output.
DIRECTORY_FORMATS = ("brat",)


@dataclass
class PredictSummary:
    """What a prediction run did: counts, failures and throughput (model loading excluded)."""

    documents: int = 0
    spans: int = 0
    characters: int = 0
    seconds: float = 0.0
    failures: list[EccrError] = field(default_factory=list)

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    @property
    def characters_per_second(self) -> float:
        return self.characters / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """One line, e.g. ``predicted 1,204 spans in 148 documents (412,345 characters) in 12.3 s: …``."""
        line = (
            f"predicted {self.spans:,} spans in {self.documents:,} documents ({self.characters:,} "
            f"characters) in {self.seconds:.1f} s: {self.documents_per_second:,.1f} documents/s, "
            f"{self.characters_per_second:,.0f} characters/s"
        )
        if self.failures:
            line += f"; {len(self.failures)} input(s) or document(s) failed (reported above)"
        return line


def output_format(out: Path | None, to: str | None) -> str:
    """The ``--to`` format: as given, else from ``--out``'s extension (``.html`` → html), else ``jsonl``."""
    if to is not None:
        if to not in OUTPUT_FORMATS:
            raise ConfigError(
                "E041", f"unknown output format {to!r}; choose one of {', '.join(OUTPUT_FORMATS)}"
            )
        fmt = to
    elif out is None:
        fmt = "jsonl"
    elif out.suffix.lower() in (".html", ".htm"):
        fmt = HTML
    else:
        fmt = detect_target_format(out)
    if out is None and fmt in DIRECTORY_FORMATS:
        raise ConfigError("E168", f"{fmt} output is a directory of files: pass --out DIR")
    return fmt


def read_units(units: Sequence[InputUnit], stdin: bytes | None, failures: list[EccrError]) -> list[Document]:
    """The documents of every readable unit (gold spans dropped); unreadable units go to ``failures``.

    Raises:
        DocumentError: ``E021`` when two inputs hold the same document id (outputs are keyed by id).
    """
    from eccr.corpus.types import Corpus

    documents: list[Document] = []
    for unit in units:
        try:
            documents.extend(d.with_spans(()) if d.spans else d for d in unit.read(stdin))
        except EccrError as err:
            failures.append(err.with_location(file=unit.path))
    Corpus(documents)  # duplicate ids across inputs: E021 naming the id, before any prediction
    return documents


def predict_documents(
    extractor: Extractor,
    documents: Sequence[Document],
    summary: PredictSummary,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_result: Callable[[Document, EccrError | None], None] | None = None,
) -> list[Document]:
    """The documents with predicted spans, in order; failed documents are left out and recorded."""
    predicted: list[Document] = []
    started = time.perf_counter()
    for result in extractor.iter_results(documents, batch_size):
        if result.error is not None:
            summary.failures.append(result.error)
        else:
            assert result.spans is not None
            predicted.append(result.document.with_spans(result.spans))
            summary.documents += 1
            summary.spans += len(result.spans)
            summary.characters += len(result.document.text)
        if on_result is not None:
            on_result(result.document, result.error)
    summary.seconds += time.perf_counter() - started
    return predicted


def write_predictions(documents: Sequence[Document], out: Path | None, fmt: str, *, note: str = "") -> None:
    """Write ``documents`` to ``out`` (standard output when ``None``) in ``fmt``."""
    if out is None:
        with tempfile.TemporaryDirectory(prefix="eccr-predict-") as tmp:
            path = Path(tmp) / f"predictions.{fmt}"
            write_predictions(documents, path, fmt, note=note)
            sys.stdout.buffer.write(path.read_bytes())
            sys.stdout.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == HTML:
        from eccr.inference.html import render_html

        atomic_write_text(out, render_html(documents, note=note))
    elif fmt in DIRECTORY_FORMATS:
        write_corpus(documents, out, fmt)
    else:
        with atomic_path(out) as tmp:  # the file appears complete or not at all
            write_corpus(documents, tmp, fmt)
