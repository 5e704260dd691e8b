"""Data bundled with eccr: a small synthetic sample corpus for the demo and fast tests.

The sample (``data/sample/sample.txt``) is 40 fictional Japanese case-report snippets written for this
project (see ``data/sample/README.md``), in the ``inline`` format, one document per line. Document ids are
assigned by line: ``sample-0001`` … ``sample-0040``.

>>> corpus = sample_corpus()
>>> len(corpus), corpus[0].id
(40, 'sample-0001')
"""

from __future__ import annotations

from pathlib import Path

from eccr.corpus.types import Corpus

#: Path of the bundled synthetic sample corpus (inline ``@@…##`` format, one document per line).
SAMPLE_PATH: Path = Path(__file__).resolve().parent / "sample" / "sample.txt"

#: Prefix of the sample's document ids; the n-th line (1-based) is ``f"{SAMPLE_ID_PREFIX}-{n:04d}"``.
SAMPLE_ID_PREFIX = "sample"


def sample_corpus() -> Corpus:
    """The bundled synthetic sample corpus, read with the ``inline`` reader.

    Every document gets the id ``sample-NNNN`` (its 1-based line number, zero-padded to 4 digits), whatever
    default the inline reader uses for a file, so ids stay stable for tests and examples.
    """
    from eccr.corpus.io import read_corpus
    from eccr.corpus.types import Document

    corpus = read_corpus(SAMPLE_PATH, "inline")
    renamed = [
        Document(f"{SAMPLE_ID_PREFIX}-{index:04d}", doc.text, doc.spans, doc.meta)
        for index, doc in enumerate(corpus, start=1)
    ]
    return Corpus(renamed, source=str(SAMPLE_PATH))
