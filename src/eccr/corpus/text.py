"""Raw text (format ``text``): each file is one document, its text exactly as stored, with no markup.

This is how eccr reads notes to annotate (``eccr predict MODEL note.txt --from text``), and how any command
reads plain text (``eccr convert notes/ notes.jsonl --from text``, ``eccr cv``/``stats`` likewise).

Rules, in plain words:

* A **file** is one document; its id is the file name without the extension, its text the whole file
  decoded exactly as every eccr reader decodes files (:func:`eccr.corpus.validation.read_text_file`):
  UTF-8, a leading byte-order mark removed (offset 0 is the character after it), line ends kept as they
  are (``\\r\\n`` stays two characters). So span offsets index the file's text, CRs and all.
* A **directory** is one document per ``*.txt`` file in it, in name order.
* **Never chosen by extension.** A ``.txt`` path means the paper's inline ``@@…##`` format in every
  command (:mod:`eccr.corpus.inline`; one document per line); raw text is asked for with ``--from text``
  (``format="text"``). An empty file is an empty document (``E020``, recoverable).
* **Writing** to a directory writes ``<id>.txt`` per document (the text exactly, no BOM); to a file, exactly
  one document. Spans and meta have no place in raw text: writing documents with spans warns (``E026``)
  with the number of documents and spans that will not come back.

>>> import tempfile, pathlib
>>> from eccr.errors import ProblemReport
>>> path = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
>>> _ = path.write_bytes("\\ufeff発熱あり。\\r\\n咳嗽なし。\\r\\n".encode())
>>> [(d.id, d.text) for d in read(path, ProblemReport())]
[('note', '発熱あり。\\r\\n咳嗽なし。\\r\\n')]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eccr.corpus.output import write_file_set, write_text_output
from eccr.corpus.types import Document
from eccr.corpus.validation import CheckedDocuments, UniqueIds, check_not_empty, read_text_file
from eccr.errors import InputError, Location, ProblemReport, warn

#: Never detected from an extension: ``.txt`` is the inline format (see the module docstring).
EXTENSIONS: tuple[str, ...] = ()
SUFFIX = ".txt"


def read(path: Path, report: ProblemReport, **options: Any) -> list[Document]:
    """Read one raw text file, or every ``*.txt`` file of a directory, as documents."""
    if options:
        raise TypeError(f"text reader takes no options, got {', '.join(options)}")
    path = Path(path)
    files = sorted(path.glob(f"*{SUFFIX}")) if path.is_dir() else [path]
    documents = CheckedDocuments()
    ids = UniqueIds(report)
    for file in files:
        text = read_text_file(file)
        where = Location(file=str(file), doc_id=file.stem)
        check_not_empty(file.stem, text, report, where)
        documents.append(ids.claim_document(Document.trusted(file.stem, text, (), None), where))
    return documents


def _file_name(doc_id: str, target: Path) -> str:
    if doc_id in (".", "..") or doc_id.startswith(".") or any(ch in doc_id for ch in "/\\\0\n\r"):
        raise InputError("E025", f"document id {doc_id!r} cannot be a file name; write to another format",
                         Location(file=str(target), doc_id=doc_id))
    return doc_id + SUFFIX


def write(documents: Sequence[Document], path: Path, **options: Any) -> None:
    """Write each document's text: ``<id>.txt`` files in a directory, or one document to a file.

    ``path`` is a directory when it exists as one or has no suffix; otherwise a file, which holds exactly
    one document (``E025`` otherwise).
    """
    if options:
        raise TypeError(f"text writer takes no options, got {', '.join(options)}")
    path = Path(path)
    lost = [doc for doc in documents if doc.spans]
    if lost:
        warn("E026", f"raw text cannot hold spans: {sum(len(d.spans) for d in lost)} spans of {len(lost)} "
             "documents are not written (write jsonl, or inline with --to inline, to keep them)",
             Location(file=str(path)), stacklevel=2)
    if path.is_dir() or not path.suffix:
        write_file_set(path, ((_file_name(doc.id, path), doc.text) for doc in documents),
                       owned=lambda name: name.endswith(SUFFIX), what="text")
        return
    if len(documents) != 1:
        raise InputError("E025", f"a raw text file holds one document, got {len(documents)}; write to a "
                         "directory instead (one <id>.txt per document)", Location(file=str(path)))
    write_text_output(path, documents[0].text)
