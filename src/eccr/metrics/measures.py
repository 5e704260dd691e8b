"""The measure registry: the one place where a measure is defined.

A :class:`Measure` states

* its ``name`` (the key in JSON, CSV and ``eccr compare --measure``) and its ``display`` name (tables, plots);
* whether it has a Hölder ``p`` axis (``has_p``: one score per p value, like the weighted soft matching);
* how its **per-document counts** are computed (``counts``): from the :class:`ScoringInput` of a scoring call
  to one row ``[precision_num, precision_den, recall_num, recall_den]`` per document (with a leading p axis
  when ``has_p``), and optionally the same sums **per span-length bin** (``strata``);
* how documents combine (``pooling``): :data:`POOLED` — the ratio of the sums over documents, so every unit
  counts once — or :data:`DOCUMENT_MEAN` — P, R and F1 per document, averaged over documents (JMED-LLM).

:func:`eccr.metrics.score`, :class:`~eccr.metrics.report.ScoreReport`, fold summaries, bootstrap intervals,
paired comparisons (``eccr compare``), run summaries and ``eccr report`` iterate :func:`measures`, so a
measure added with :func:`register_measure` appears in all of them with no other change.

>>> [m.name for m in measures()]
['wsm', 'marker', 'char', 'token', 'exact', 'jmedllm-exact', 'jmedllm-partial']
>>> get_measure("wsm").has_p, get_measure("char").has_p
(True, False)
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from eccr.errors import ConfigError
from eccr.metrics.char import char_totals
from eccr.metrics.exact import exact_counts
from eccr.metrics.jmedllm import document_counts, gold_surfaces, surfaces
from eccr.metrics.pairing import DocumentPair
from eccr.metrics.report import PRF, MacroPRF, f1_from_sums
from eccr.metrics.runs import Markers, RunSet
from eccr.metrics.strata import SpanBins, bin_sums
from eccr.metrics.token import TokenOffsets, token_counts

# --- how documents combine ---------------------------------------------------------------------------------


class Pooling(ABC):
    """How per-document rows combine into one score; ``rule`` says it in words.

    Both rules are a statistic of a **sum over documents** of per-document *summands*, which is what lets
    the bootstrap and the randomisation test (:mod:`eccr.metrics.stats`) resample and swap documents the
    same way for every measure: :meth:`summands` gives one vector per document, :meth:`statistic` turns
    sums of them (one row per resample) into the score.
    """

    name: str = ""
    rule: str = ""

    @abstractmethod
    def combine(self, rows: np.ndarray, zero_division: float) -> PRF | MacroPRF:
        """The score of ``rows`` (``(documents, 4)`` sums)."""

    @abstractmethod
    def empty(self, documents: int, zero_division: float) -> PRF | MacroPRF:
        """The score of a measure that was not computed (``conventional=False``)."""

    @abstractmethod
    def summands(self, rows: np.ndarray, metric: str, zero_division: float) -> np.ndarray:
        """One vector per document; its sums over (resampled) documents go to :meth:`statistic`."""

    @abstractmethod
    def statistic(self, sums: np.ndarray, documents: int, metric: str, zero_division: float) -> np.ndarray:
        """The ``metric`` of each row of summed summands (``documents`` per resample)."""

    def __repr__(self) -> str:
        return self.name.upper().replace(" ", "_")


class _Pooled(Pooling):
    name = "pooled"
    rule = "ratio of the sums over all documents: every unit counts once, whatever its document"

    def combine(self, rows: np.ndarray, zero_division: float) -> PRF:
        return prf_of_row(rows.sum(axis=0) if len(rows) else np.zeros(4), zero_division)

    def empty(self, documents: int, zero_division: float) -> PRF:
        return PRF(0.0, 0.0, 0.0, 0.0, zero_division)

    def summands(self, rows: np.ndarray, metric: str, zero_division: float) -> np.ndarray:
        return rows

    def statistic(self, sums: np.ndarray, documents: int, metric: str, zero_division: float) -> np.ndarray:
        return f1_from_sums(sums, zero_division, metric)


class _DocumentMean(Pooling):
    name = "document mean"
    rule = "P, R and F1 computed per document, then averaged over documents"

    def combine(self, rows: np.ndarray, zero_division: float) -> MacroPRF:
        # a plain Python sum over documents in order, so the figures equal JMED-LLM's loop to the last bit
        scores = [prf_of_row(row, zero_division) for row in rows]
        n = len(scores)
        means = [sum(getattr(s, m) for s in scores) / n if n else zero_division
                 for m in ("precision", "recall", "f1")]
        return MacroPRF(means[0], means[1], means[2], n)

    def empty(self, documents: int, zero_division: float) -> MacroPRF:
        return MacroPRF(zero_division, zero_division, zero_division, documents)

    def summands(self, rows: np.ndarray, metric: str, zero_division: float) -> np.ndarray:
        return f1_from_sums(rows, zero_division, metric)[:, None]

    def statistic(self, sums: np.ndarray, documents: int, metric: str, zero_division: float) -> np.ndarray:
        sums = np.atleast_2d(sums)
        return sums[:, 0] / documents if documents else np.full(len(sums), zero_division)


#: Ratio of sums over all documents: every unit (character, span, token) counts once, whatever its document.
POOLED: Pooling = _Pooled()
#: P, R and F1 per document, each averaged over documents (an undefined ratio counts as zero_division).
DOCUMENT_MEAN: Pooling = _DocumentMean()


def prf_of_row(row: np.ndarray, zero_division: float) -> PRF:
    """The :class:`PRF` of one ``[precision_num, precision_den, recall_num, recall_den]`` row."""
    return PRF(float(row[0]), float(row[1]), float(row[2]), float(row[3]), zero_division)


# --- what a measure sees -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringInput:
    """Everything one scoring call prepared, shared by every measure's ``counts`` and ``strata``.

    Attributes:
        pairs: gold documents with their predicted spans, in scoring order (one row per pair).
        p_values: the Hölder p values scored.
        typed: whether labels are compared.
        tokenizer: token offsets for token-based measures (``None``: not given).
        conventional: whether the conventional measures (exact match, JMED-LLM) are wanted.
        gold, pred: maximal runs of each side (per label when typed), laid out over all documents.
        gold_markers, pred_markers: markers of gold runs inside predicted runs, and the reverse.
        gold_norms, pred_norms: per p, the Hölder norm of each run's marker lengths.
    """

    pairs: Sequence[DocumentPair]
    p_values: tuple[float, ...]
    typed: bool
    tokenizer: TokenOffsets | None
    conventional: bool
    gold: RunSet
    pred: RunSet
    gold_markers: Markers
    pred_markers: Markers
    gold_norms: tuple[np.ndarray, ...]
    pred_norms: tuple[np.ndarray, ...]

    @property
    def documents(self) -> int:
        return len(self.pairs)

    def per_document(self, docs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``weights`` (or a count) per document index in ``docs``, as floats."""
        return np.bincount(docs, weights=weights, minlength=self.documents).astype(np.float64)


#: ``counts(input)``: ``(documents, 4)`` rows, ``(p values, documents, 4)`` with a p axis, or ``None`` when
#: the measure cannot be computed for this call (e.g. no tokenizer).
CountsFunction = Callable[[ScoringInput], np.ndarray | None]
#: ``strata(input, bins)``: the same sums per length bin, ``(bins, 4)`` or ``(p values, bins, 4)``.
StrataFunction = Callable[[ScoringInput, SpanBins], np.ndarray]

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Measure:
    """One measure: what it is called, its axes, how its per-document counts come about, how they pool.

    Attributes:
        name: lower-case key (``wsm``, ``jmedllm-exact``), unique in the registry.
        display: the name tables and plots show ("weighted soft matching").
        has_p: one score per Hölder p value; ``counts`` then returns a leading p axis.
        counts: per-document sums (see :data:`CountsFunction`).
        pooling: :data:`POOLED` or :data:`DOCUMENT_MEAN`.
        description: the rule in plain words (shown by ``eccr report`` and the docs).
        strata: per-length-bin sums (``None``: not stratified; see :mod:`eccr.metrics.strata`).
        conventional: skipped (zero counts) when scoring with ``conventional=False``.
        needs_tokenizer: only computed when a tokenizer is given.
        json_path: where the score sits in :meth:`ScoreReport.to_dict` (default ``(name,)``).
        strata_key: the key of its length strata there (default ``by_length_<name>``).
    """

    name: str
    display: str
    has_p: bool
    counts: CountsFunction
    pooling: Pooling = POOLED
    description: str = ""
    strata: StrataFunction | None = None
    conventional: bool = False
    needs_tokenizer: bool = False
    json_path: tuple[str, ...] = ()
    strata_key: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError("E140", f"measure name {self.name!r} must be lower-case letters, digits and "
                                      "single hyphens, starting with a letter (e.g. 'wsm', 'jmedllm-exact')")
        if not self.json_path:
            object.__setattr__(self, "json_path", (self.name,))
        if self.strata is not None and not self.strata_key:
            object.__setattr__(self, "strata_key", f"by_length_{self.name}")

    @property
    def path_text(self) -> str:
        """``json_path`` joined with ``/`` (``jmedllm/exact``), as fold summaries name scores."""
        return "/".join(self.json_path)

    def __repr__(self) -> str:
        return f"Measure({self.name!r})"


# --- the registry ------------------------------------------------------------------------------------------

_REGISTRY: dict[str, Measure] = {}


def register_measure(measure: Measure, *, replace: bool = False) -> Measure:
    """Add ``measure`` to the registry (after the built-in ones, in registration order) and return it.

    Raises:
        ConfigError: ``E140`` when the name (or its place in the JSON report) is already taken and
            ``replace`` is false.
    """
    if not replace:
        if measure.name in _REGISTRY:
            raise ConfigError("E140", f"a measure named {measure.name!r} is already registered")
        clash = next((m for m in _REGISTRY.values() if m.json_path == measure.json_path
                      or (measure.strata_key and m.strata_key == measure.strata_key)), None)
        if clash is not None:
            raise ConfigError("E140", f"measure {measure.name!r} would share its report keys with "
                                      f"{clash.name!r}; give it another name, json_path or strata_key")
    _REGISTRY[measure.name] = measure
    return measure


def unregister_measure(name: str) -> Measure:
    """Remove a measure (e.g. one a test registered) and return it."""
    return _REGISTRY.pop(get_measure(name).name)


def measures() -> tuple[Measure, ...]:
    """Every registered measure, built-in ones first, in registration order."""
    return tuple(_REGISTRY.values())


def measure_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_measure(name: str | Measure) -> Measure:
    """The registered measure called ``name`` (a :class:`Measure` is returned as is).

    Raises:
        ConfigError: ``E141`` naming the known measures.
    """
    if isinstance(name, Measure):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError("E141", f"unknown measure {name!r}; known measures: "
                                  f"{', '.join(_REGISTRY)}") from None


# --- the built-in measures ---------------------------------------------------------------------------------


def _wsm_counts(inp: ScoringInput) -> np.ndarray:
    gold, pred = inp.gold, inp.pred
    g_den = inp.per_document(gold.docs, gold.lengths.astype(np.float64))
    q_den = inp.per_document(pred.docs, pred.lengths.astype(np.float64))
    out = np.zeros((len(inp.p_values), inp.documents, 4))
    for k, (g_norm, q_norm) in enumerate(zip(inp.gold_norms, inp.pred_norms, strict=True)):
        out[k] = np.stack([inp.per_document(pred.docs, q_norm), q_den,
                           inp.per_document(gold.docs, g_norm), g_den], axis=1)
    return out


def _marker_counts(inp: ScoringInput) -> np.ndarray:
    gold, pred = inp.gold, inp.pred
    g_len, q_len = gold.lengths.astype(np.float64), pred.lengths.astype(np.float64)
    g_cnt, q_cnt = inp.per_document(gold.docs), inp.per_document(pred.docs)
    out = np.zeros((len(inp.p_values), inp.documents, 4))
    for k, (g_norm, q_norm) in enumerate(zip(inp.gold_norms, inp.pred_norms, strict=True)):
        out[k] = np.stack([inp.per_document(pred.docs, q_norm / q_len), q_cnt,
                           inp.per_document(gold.docs, g_norm / g_len), g_cnt], axis=1)
    return out


def _wsm_strata(inp: ScoringInput, bins: SpanBins) -> np.ndarray:
    g_len, q_len = inp.gold.lengths.astype(np.float64), inp.pred.lengths.astype(np.float64)
    return np.stack([bin_sums(bins, q_norm, q_len, g_norm, g_len)
                     for g_norm, q_norm in zip(inp.gold_norms, inp.pred_norms, strict=True)]
                    ) if inp.p_values else np.zeros((0, bins.n_bins, 4))


def _marker_strata(inp: ScoringInput, bins: SpanBins) -> np.ndarray:
    g_len, q_len = inp.gold.lengths.astype(np.float64), inp.pred.lengths.astype(np.float64)
    rows = []
    for g_norm, q_norm in zip(inp.gold_norms, inp.pred_norms, strict=True):
        rows.append(bin_sums(bins, q_norm / q_len if len(q_len) else q_norm, None,
                             g_norm / g_len if len(g_len) else g_norm, None))
    return np.stack(rows) if rows else np.zeros((0, bins.n_bins, 4))


def _char_counts(inp: ScoringInput) -> np.ndarray:
    return char_totals(inp.gold, inp.pred, inp.gold_markers, inp.documents)


def _token_counts(inp: ScoringInput) -> np.ndarray | None:
    if inp.tokenizer is None:
        return None
    offsets = inp.tokenizer
    return np.asarray([token_counts(pair.gold.text, pair.gold.spans, pair.pred_spans,
                                    offsets(pair.gold.text), inp.typed) for pair in inp.pairs],
                      dtype=np.float64).reshape(inp.documents, 4)


def _exact_counts(inp: ScoringInput) -> np.ndarray:
    return np.asarray([exact_counts(pair.gold.spans, pair.pred_spans, inp.typed) for pair in inp.pairs],
                      dtype=np.float64).reshape(inp.documents, 4)


def _jmedllm(partial: bool) -> CountsFunction:
    def counts(inp: ScoringInput) -> np.ndarray:
        return np.asarray([document_counts(gold_surfaces(pair.gold, inp.typed),
                                           surfaces(pair.gold.text, pair.pred_spans, inp.typed),
                                           partial=partial) for pair in inp.pairs],
                          dtype=np.float64).reshape(inp.documents, 4)

    return counts


def _register_builtins() -> None:
    register_measure(Measure(
        "wsm", "weighted soft matching", True, _wsm_counts, strata=_wsm_strata, strata_key="by_length",
        description="length-weighted soft matching: each span scores the Hölder p-norm of its markers over "
                    "its length, weighted by its length (p = 1 equals the character score)"))
    register_measure(Measure(
        "marker", "marker matching", True, _marker_counts, strata=_marker_strata,
        strata_key="by_length_marker",
        description="the soft matching score of each span, every span counting once whatever its length"))
    register_measure(Measure(
        "char", "character segment", False, _char_counts,
        description="covered characters: both sides / predicted (precision) or gold (recall)"))
    register_measure(Measure(
        "token", "token segment", False, _token_counts, needs_tokenizer=True,
        description="tokens with a covered character: both sides / predicted or gold tokens"))
    register_measure(Measure(
        "exact", "exact span match", False, _exact_counts, conventional=True,
        description="spans as given with the same start and end (and label when typed)"))
    for kind in ("exact", "partial"):
        register_measure(Measure(
            f"jmedllm-{kind}", f"JMED-LLM {kind}", False, _jmedllm(kind == "partial"), pooling=DOCUMENT_MEAN,
            conventional=True, json_path=("jmedllm", kind),
            description=f"JMED-LLM's document-level string-set {kind} match, averaged over documents"))


_register_builtins()
