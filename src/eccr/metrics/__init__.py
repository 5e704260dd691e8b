"""Evaluation: the weighted soft matching score of the paper and every other measure it reports.

Each measure has one home: its entry in the registry of :mod:`eccr.metrics.measures` (name, p axis, how its
per-document counts are computed, how documents pool). Scoring, reports, fold summaries, paired comparisons
and the command line iterate the registry.

The definition of the weighted soft matching (WSM) and marker matching scores is stated in full in
:mod:`eccr.metrics.wsm`; the length strata rule in :mod:`eccr.metrics.strata`; the JMED-LLM scores, and
where the JMED-LLM script differs, in :mod:`eccr.metrics.jmedllm`. Metrics depend only on
:mod:`eccr.corpus` and numpy.

>>> from eccr.metrics import score, summarize_folds
"""

from eccr.metrics.measures import (
    DOCUMENT_MEAN,
    POOLED,
    Measure,
    Pooling,
    ScoringInput,
    get_measure,
    measure_names,
    measures,
    register_measure,
    unregister_measure,
)
from eccr.metrics.pairing import DocumentPair, pair_documents
from eccr.metrics.report import (
    DEFAULT_P,
    PRF,
    DocumentScore,
    LengthStratum,
    MacroPRF,
    ScoreReport,
    format_p,
    parse_p,
)
from eccr.metrics.score import DocumentTotals, document_totals, score
from eccr.metrics.stats import (
    BootstrapInterval,
    FoldSummary,
    PairedComparison,
    bootstrap_interval,
    bootstrap_intervals,
    compare_systems,
    document_average,
    holm_adjust,
    summarize_folds,
)
from eccr.metrics.token import char_tokens, resolve_tokenizer, simple_tokens
from eccr.metrics.wsm import holder_norm

__all__ = [
    "DEFAULT_P",
    "DOCUMENT_MEAN",
    "POOLED",
    "PRF",
    "BootstrapInterval",
    "DocumentPair",
    "DocumentScore",
    "DocumentTotals",
    "FoldSummary",
    "LengthStratum",
    "MacroPRF",
    "Measure",
    "PairedComparison",
    "Pooling",
    "ScoreReport",
    "ScoringInput",
    "bootstrap_interval",
    "bootstrap_intervals",
    "char_tokens",
    "compare_systems",
    "document_average",
    "document_totals",
    "format_p",
    "get_measure",
    "holder_norm",
    "holm_adjust",
    "measure_names",
    "measures",
    "pair_documents",
    "parse_p",
    "register_measure",
    "resolve_tokenizer",
    "score",
    "simple_tokens",
    "summarize_folds",
    "unregister_measure",
]
