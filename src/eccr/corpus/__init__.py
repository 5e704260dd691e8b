"""Corpus types, formats, selection, masks and segmentation.

>>> from eccr.corpus import Corpus, Document, Span
"""

from eccr.corpus.io import FORMATS, detect_format, read_corpus, write_corpus
from eccr.corpus.mask import bio_to_spans, mask_to_spans, merge_spans, spans_to_bio, spans_to_mask
from eccr.corpus.selector import Selector
from eccr.corpus.types import LENGTH_BINS, Corpus, CorpusStats, Document, Span, length_bin

__all__ = [
    "FORMATS",
    "LENGTH_BINS",
    "Corpus",
    "CorpusStats",
    "Document",
    "Selector",
    "Span",
    "bio_to_spans",
    "detect_format",
    "length_bin",
    "mask_to_spans",
    "merge_spans",
    "read_corpus",
    "spans_to_bio",
    "spans_to_mask",
    "write_corpus",
]
