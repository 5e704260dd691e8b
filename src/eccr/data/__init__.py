"""Data bundled with eccr: a small synthetic sample corpus for the demo and fast tests.

The sample (``data/sample/sample.txt``) is 40 fictional Japanese case-report snippets written for this
project (see ``data/sample/README.md``), in the ``inline`` format, one document per line. Document ids are
assigned by line: ``sample-0001`` … ``sample-0040``.

>>> corpus = sample_corpus()
>>> len(corpus), corpus[0].id, corpus[-1].id
(40, 'sample-0001', 'sample-0040')
"""

from __future__ import annotations

from pathlib import Path

from eccr.corpus.types import Corpus

#: Path of the bundled synthetic sample corpus (inline ``@@…##`` format, one document per line).
SAMPLE_PATH: Path = Path(__file__).resolve().parent / "sample" / "sample.txt"

#: Prefix of the sample's document ids (the file stem, as the inline reader names lines); the n-th line
#: (1-based) is ``f"{SAMPLE_ID_PREFIX}-{n:04d}"``.
SAMPLE_ID_PREFIX = SAMPLE_PATH.stem


def sample_corpus() -> Corpus:
    """The bundled synthetic sample corpus, read with the ``inline`` reader.

    The inline reader names the n-th line of a one-document-per-line file ``<file stem>-<n:04d>``, so every
    document gets the id ``sample-NNNN`` and reading :data:`SAMPLE_PATH` with ``eccr`` commands (for
    example the ``corpus.path`` of a run's ``resolved.yaml``) gives the same ids.
    """
    from eccr.corpus.io import read_corpus

    return read_corpus(SAMPLE_PATH, "inline")
