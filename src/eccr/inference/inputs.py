"""What ``eccr predict`` reads: files, directories, globs or standard input, each read by the corpus layer.

Inputs are resolved into **units** that are read independently, so one unreadable file is reported and the
others are still predicted:

* ``-`` is standard input: one raw-text document with id ``stdin``, or a corpus in the ``--from`` format;
* a path containing ``*``, ``?`` or ``[`` that does not exist as written is a glob (sorted matches);
* a directory read as raw text (``--from text``) gives one unit per ``.txt`` file; any other directory
  (BRAT) is one unit;
* any other file is one unit, in the ``--from`` format or the one its extension names — the corpus layer's
  rule (:func:`eccr.corpus.io.detect_format`; a ``.txt`` is the inline format, raw text is ``--from text``).

Raw text follows the corpus layer's reading rule (:mod:`eccr.corpus.text`: UTF-8, a leading BOM removed,
line ends kept exactly), so offsets index the file's characters as they are.
"""

from __future__ import annotations

import glob
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eccr.corpus.io import FORMATS, detect_format, format_module, read_corpus
from eccr.corpus.types import Document
from eccr.corpus.validation import decode_utf8, read_text_file
from eccr.errors import ConfigError, EccrError, Location

#: The raw-text input format: a whole file (or standard input) is one document.
TEXT = "text"
STDIN = "-"
STDIN_NAME = "<stdin>"
#: Formats an input may be read as (``--from``).
INPUT_FORMATS = tuple(dict.fromkeys((TEXT, *FORMATS)))


@dataclass(frozen=True)
class InputUnit:
    """One thing read at once: a file, a BRAT directory, or standard input (``path`` is ``-``)."""

    path: str
    format: str

    def read(self, stdin: bytes | None = None) -> list[Document]:
        """The unit's documents (spans they hold are kept; prediction ignores them).

        Raises:
            EccrError: the corpus layer's coded error naming the file (and line) when it cannot be read.
        """
        if self.path == STDIN:
            return _read_stdin(stdin or b"", self.format)
        if self.format == TEXT and not _corpus_layer_reads_text():
            path = Path(self.path)
            return [Document(path.stem, read_text_file(path), (), {"file": self.path})]
        return list(read_corpus(self.path, self.format))


def resolve_inputs(inputs: Sequence[str], format: str | None = None) -> list[InputUnit]:
    """The units to read for ``inputs`` (see the module rules), in the order given.

    Raises:
        ConfigError: ``E043`` for a path that does not exist or a glob with no match; ``E041`` for an
            unknown ``format``; ``E042`` for a file whose format cannot be told; ``E167`` for ``-`` twice.
    """
    if format is not None and format not in INPUT_FORMATS:
        raise ConfigError(
            "E041", f"unknown input format {format!r}; choose one of {', '.join(INPUT_FORMATS)}"
        )
    units: list[InputUnit] = []
    if list(inputs).count(STDIN) > 1:
        raise ConfigError("E167", "standard input ('-') can be read only once")
    for raw in inputs:
        if raw == STDIN:
            units.append(InputUnit(STDIN, format or TEXT))
            continue
        for path in _expand(raw):
            units.extend(_units_of(path, format))
    return units


def _expand(raw: str) -> list[Path]:
    path = Path(raw)
    if path.exists() or not glob.has_magic(raw):
        if not path.exists():
            raise ConfigError("E043", f"input {raw} does not exist", Location(file=raw))
        return [path]
    matches = sorted(Path(m) for m in glob.glob(raw, recursive=True))
    if not matches:
        raise ConfigError("E043", f"no input matches {raw}", Location(file=raw))
    return matches


def _corpus_layer_reads_text() -> bool:
    """Whether the corpus layer has the raw-text format (:mod:`eccr.corpus.text`); then its rule for what a
    ``.txt`` path means applies here too, and raw text is read by it."""
    return TEXT in FORMATS


def _units_of(path: Path, format: str | None) -> list[InputUnit]:
    text_by_default = not _corpus_layer_reads_text()  # before the corpus layer's rule: .txt is raw text
    if path.is_dir():
        if (format == TEXT or (format is None and text_by_default)) and not any(path.glob("*.ann")):
            files = sorted(path.glob("*.txt"))  # one unit per file: a bad file fails alone
            if files:
                return [InputUnit(str(f), TEXT) for f in files]
        return [InputUnit(str(path), format or detect_format(path))]
    if format is None:
        format = TEXT if text_by_default and path.suffix.lower() == ".txt" else detect_format(path)
    return [InputUnit(str(path), format)]


def _read_stdin(data: bytes, format: str) -> list[Document]:
    if format == TEXT:
        return [Document("stdin", decode_utf8(data, STDIN_NAME), (), {"file": STDIN_NAME})]
    if format == "brat":
        raise ConfigError("E167", "brat is a directory format and cannot be read from standard input")
    # corpus readers read files: hand them standard input as one, named with the format's extension
    extensions = [e for e in format_module(format).EXTENSIONS if e]
    with tempfile.TemporaryDirectory(prefix="eccr-stdin-") as tmp:
        path = Path(tmp) / f"stdin{extensions[0] if extensions else ''}"
        path.write_bytes(data)
        try:
            documents = list(read_corpus(path, format))
        except EccrError as err:  # name standard input, not the temporary file
            where = err.location
            raise type(err)(
                err.code,
                err.message.replace(str(path), STDIN_NAME),
                Location(STDIN_NAME, where.doc_id, where.line, where.offset),
            ) from None
    return [Document.trusted(d.id, d.text, d.spans, {**d.meta, "file": STDIN_NAME}) for d in documents]
