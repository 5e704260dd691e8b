"""Label schemes and the mapping between character labels and token labels, both ways.

Schemes (:class:`LabelScheme`)
------------------------------
* ``io``: ``O`` plus ``I-<type>`` per concept type. The paper's binary setting is ``io`` with one type:
  adjacent concepts of the same type merge (as in the binary character mask).
* ``bio``: ``O``, ``B-<type>``, ``I-<type>``: adjacent concepts stay apart.

``typed=False`` ignores span labels: every span counts as the scheme's single type (the paper's binary
concept/non-concept task on e.g. ``d[certainty=positive]``).

Characters → tokens (training, :func:`token_labels`)
-----------------------------------------------------
Labels are decided per *unit* (a token, or a group of tokens sharing characters such as the byte pieces of
one character, see :mod:`eccr.align.offsets`); every token of a unit gets the unit's label, tokens without
characters and special tokens get :data:`IGNORE_INDEX` (-100). Only non-whitespace characters vote.

* rule ``majority`` (default): the unit is in a concept when at least half of its characters are; its
  type is the most frequent type among them (ties: the type of the first such character).
* rule ``any``: the unit is in a concept when any of its characters is.

With ``bio`` the unit is ``B-t`` when a span of type ``t`` starts inside it or the previous unit is not of
type ``t``; otherwise ``I-t``. A unit whose characters are not all in the same span (a concept boundary
falls strictly inside it) is a **crossing**; crossings are counted (:class:`TokenLabels`) because no model
on that tokenizer can get those boundaries right.

Tokens → characters (inference, :func:`decode_token_scores`)
------------------------------------------------------------
Scores (logits or probabilities, shape ``(tokens, labels)``) of the tokens of a unit are combined —
``mean`` (default) or ``max`` per label — and the unit takes the best label. The label is projected onto the
unit's characters with leading and trailing whitespace left out: ``B-t`` gives ``B-t`` to its first
character and ``I-t`` to the rest, ``I-t`` gives ``I-t`` to all. A character between two characters of one
concept (the later one tagged ``I-t``) joins the concept when no token covers it (whitespace a tokenizer
drops) or it is whitespace covered by a unit labelled with the same type; whitespace covered by an ``O``
unit keeps the two apart. With ``io`` and a tokenizer that drops whitespace, concepts separated only by
whitespace therefore merge (IO cannot tell them from one concept with a space inside). Spans are then read
with :func:`eccr.corpus.mask.bio_to_spans` (``bio``; ``repair=True`` reads an ``I`` after ``O`` as a new
span, ``repair=False`` drops such an ``I``) or as maximal runs per type (``io``).

>>> from eccr.align.offsets import TokenAlignment
>>> al = TokenAlignment("発熱と咳嗽", (1, 2, 3), ((0, 2), (2, 3), (3, 5)), ("発熱", "と", "咳嗽"))
>>> scheme = LabelScheme("bio")
>>> labels = token_labels(al, [Span(0, 2), Span(3, 5)], scheme)
>>> [scheme.labels[i] for i in labels.label_ids]
['B-concept', 'O', 'B-concept']
>>> decode_token_labels(al, labels.label_ids, scheme)
[Span(0, 2, 'concept'), Span(3, 5, 'concept')]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from eccr.align.offsets import TokenAlignment
from eccr.corpus.mask import bio_to_spans, mask_to_spans
from eccr.corpus.types import DEFAULT_LABEL, Corpus, Span
from eccr.errors import ConfigError, Location, SpanError

#: The label id of tokens that take no part in the loss (special tokens, tokens without characters).
IGNORE_INDEX = -100

SchemeKind = Literal["io", "bio"]
CrossingRule = Literal["majority", "any"]
Combine = Literal["mean", "max"]


@dataclass(frozen=True)
class LabelScheme:
    """The token label set.

    Args:
        kind: ``"io"`` or ``"bio"``.
        types: the concept types, in label order.
        typed: when ``False``, span labels are ignored and every span is ``types[0]`` (needs one type).

    >>> LabelScheme("bio", ("d", "a")).labels
    ('O', 'B-d', 'I-d', 'B-a', 'I-a')
    >>> LabelScheme("io").labels
    ('O', 'I-concept')
    """

    kind: SchemeKind = "io"
    types: tuple[str, ...] = (DEFAULT_LABEL,)
    typed: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("io", "bio"):
            raise ConfigError("E072", f"unknown label scheme {self.kind!r}; choose io or bio")
        if not self.types or len(set(self.types)) != len(self.types):
            raise ConfigError("E072", f"label scheme types must be distinct and non-empty, got "
                              f"{self.types!r}")
        if not self.typed and len(self.types) != 1:
            raise ConfigError("E072", "an untyped label scheme has exactly one type")

    @classmethod
    def from_corpus(cls, corpus: Corpus | Iterable[Any], kind: SchemeKind = "io", *, typed: bool = True,
                    label: str | None = None) -> LabelScheme:
        """The scheme for a corpus: its span labels in sorted order, or one type when ``typed=False``.

        ``label`` names the single type of an untyped scheme (default: the corpus's only label, else
        ``"concept"``).
        """
        found = sorted({span.label for doc in corpus for span in doc.spans})
        if typed:
            return cls(kind, tuple(found) or (label or DEFAULT_LABEL,), True)
        name = label or (found[0] if len(found) == 1 else DEFAULT_LABEL)
        return cls(kind, (name,), False)

    @property
    def labels(self) -> tuple[str, ...]:
        """Label names in id order; ``O`` is always id 0."""
        names = ["O"]
        for t in self.types:
            names.extend([f"B-{t}", f"I-{t}"] if self.kind == "bio" else [f"I-{t}"])
        return tuple(names)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.labels))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.labels)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in a trained model's config."""
        return {"kind": self.kind, "types": list(self.types), "typed": self.typed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelScheme:
        return cls(data.get("kind", "io"), tuple(data.get("types", (DEFAULT_LABEL,))),
                   bool(data.get("typed", True)))

    # --- ids ------------------------------------------------------------------------------------------
    def type_index(self, span: Span, doc_id: str | None = None) -> int:
        """0-based index of a span's type; raises ``E073`` for a label the scheme does not have."""
        if not self.typed:
            return 0
        try:
            return self.types.index(span.label)
        except ValueError:
            raise SpanError(
                "E073",
                f"span label {span.label!r} is not in the label scheme ({', '.join(self.types)}); select the "
                "labels to train on or use an untyped scheme",
                Location(doc_id=doc_id, offset=span.start),
            ) from None

    def label_id(self, type_index: int, begin: bool) -> int:
        """Id of ``B-``/``I-`` (``begin``) of the type with index ``type_index``; IO has no ``B``."""
        if self.kind == "bio":
            return 1 + 2 * type_index + (0 if begin else 1)
        return 1 + type_index

    def decompose(self, label_id: int) -> tuple[int, bool]:
        """``(type_index, begin)`` of a label id; ``type_index`` is -1 for ``O``."""
        if label_id <= 0:
            return -1, False
        if self.kind == "bio":
            return (label_id - 1) // 2, (label_id - 1) % 2 == 0
        return label_id - 1, False


@dataclass(frozen=True)
class TokenLabels:
    """Token labels of one text and how many units cross a concept boundary.

    Attributes:
        label_ids: per content token, a label id of the scheme or :data:`IGNORE_INDEX`.
        units: number of units (tokens or token groups with characters).
        crossing_units: units containing characters of a concept and characters outside it (or of two
            different concepts).
        crossing_tokens: tokens in those units.
        spans: number of spans.
        crossed_spans: spans with at least one boundary strictly inside a unit.
    """

    label_ids: np.ndarray
    units: int
    crossing_units: int
    crossing_tokens: int
    spans: int
    crossed_spans: int


def _char_span_index(text_length: int, spans: Sequence[Span], scheme: LabelScheme, doc_id: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per character: the index of the span covering it (-1 none) and that span's type index (-1 none).

    Overlapping spans of the same type are merged (the binary view); of different types they are an error.
    """
    span_of = np.full(text_length, -1, dtype=np.int64)
    type_of = np.full(text_length, -1, dtype=np.int64)
    for k, span in enumerate(spans):
        t = scheme.type_index(span, doc_id)
        region = slice(span.start, span.end)
        clash = (type_of[region] >= 0) & (type_of[region] != t)
        if clash.any():
            raise SpanError(
                "E074",
                f"span [{span.start}, {span.end}) {span.label!r} overlaps a span of another type; token "
                "labels cannot express that — select one type or resolve the overlap",
                Location(doc_id=doc_id, offset=span.start),
            )
        taken = span_of[region]
        if scheme.kind == "bio" and (taken >= 0).any():
            raise SpanError("E012", f"span [{span.start}, {span.end}) overlaps another span; BIO cannot "
                            "express overlap", Location(doc_id=doc_id, offset=span.start))
        span_of[region] = np.where(taken >= 0, taken, k)
        type_of[region] = t
    return span_of, type_of


def token_labels(alignment: TokenAlignment, spans: Iterable[Span], scheme: LabelScheme,
                 rule: CrossingRule = "majority") -> TokenLabels:
    """Label the content tokens of ``alignment`` from character spans (see the module rules)."""
    if rule not in ("majority", "any"):
        raise ConfigError("E072", f"unknown crossing rule {rule!r}; choose majority or any")
    text = alignment.text
    spans = list(spans) if scheme.typed else [s.with_label(scheme.types[0]) for s in spans]
    if scheme.kind == "io":  # same-type overlaps merge in the binary view
        spans = _merge_same_type(spans)
    span_of, type_of = _char_span_index(len(text), spans, scheme, alignment.doc_id)
    label_ids = np.full(len(alignment), IGNORE_INDEX, dtype=np.int64)
    crossing_units = crossing_tokens = 0
    crossed: set[int] = set()
    previous_type = -1
    for first, last, c_start, c_end in alignment.units:
        chars = [c for c in range(c_start, c_end) if not text[c].isspace()] or list(range(c_start, c_end))
        members = [int(span_of[c]) for c in chars]
        if len(set(members)) > 1:
            crossing_units += 1
            crossing_tokens += last - first
            crossed.update(m for m in members if m >= 0)
        inside = [c for c in chars if type_of[c] >= 0]
        positive = bool(inside) and (rule == "any" or 2 * len(inside) >= len(chars))
        if not positive:
            label_ids[first:last] = 0
            previous_type = -1
            continue
        counts = Counter(int(type_of[c]) for c in inside)
        best = max(counts.values())
        t = next(int(type_of[c]) for c in inside if counts[int(type_of[c])] == best)
        begin = previous_type != t or any(
            span_of[c] >= 0 and type_of[c] == t and spans[int(span_of[c])].start == c
            for c in range(c_start, c_end)
        )
        label_ids[first:last] = scheme.label_id(t, begin)
        previous_type = t
    return TokenLabels(label_ids, len(alignment.units), crossing_units, crossing_tokens, len(spans),
                       len(crossed))


def _merge_same_type(spans: Sequence[Span]) -> list[Span]:
    """Overlapping spans of the same label merged into one (adjacent ones kept apart)."""
    result: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.label, s.start, s.end)):
        if result and result[-1].label == span.label and span.start < result[-1].end:
            last = result[-1]
            result[-1] = Span(last.start, max(last.end, span.end), last.label, last.attrs)
        else:
            result.append(span)
    return sorted(result, key=lambda s: (s.start, s.end, s.label))


def combine_unit_scores(alignment: TokenAlignment, scores: np.ndarray, combine: Combine = "mean"
                        ) -> np.ndarray:
    """Scores per unit, shape ``(units, labels)``: the ``mean`` or ``max`` over the unit's tokens.

    ``mean`` of logits is the default: for byte-fallback pieces it weighs each piece equally; ``max`` lets
    the most confident piece decide.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(alignment):
        raise ConfigError(
            "E075",
            f"expected token scores of shape ({len(alignment)}, labels), got {scores.shape}",
            Location(doc_id=alignment.doc_id),
        )
    if combine not in ("mean", "max"):
        raise ConfigError("E072", f"unknown combination {combine!r}; choose mean or max")
    out = np.zeros((len(alignment.units), scores.shape[1]), dtype=np.float64)
    for u, (first, last, _, _) in enumerate(alignment.units):
        block = scores[first:last]
        out[u] = block.mean(axis=0) if combine == "mean" else block.max(axis=0)
    return out


def unit_labels_to_char_tags(alignment: TokenAlignment, unit_label_ids: Sequence[int], scheme: LabelScheme
                             ) -> list[str]:
    """Character BIO tags (``O``, ``B-t``, ``I-t``; IO labels become ``I-t``) from one label per unit."""
    text = alignment.text
    tags = ["O"] * len(text)
    for (_, _, c_start, c_end), label_id in zip(alignment.units, unit_label_ids, strict=True):
        t, begin = scheme.decompose(int(label_id))
        if t < 0:
            continue
        name = scheme.types[t]
        chars = [c for c in range(c_start, c_end) if not text[c].isspace()]
        for k, c in enumerate(chars):
            tags[c] = ("B-" if begin and k == 0 else "I-") + name
    # whitespace / uncovered characters between two characters of one concept: filled when the later one
    # continues the concept (I-t) and each gap character is either covered by no token or is whitespace
    # covered by a unit of the same type (a whitespace unit labelled O keeps two concepts apart)
    char_units = alignment.char_units()
    unit_types = [scheme.decompose(int(label_id))[0] for label_id in unit_label_ids]
    last_tag_index = -1
    for i, tag in enumerate(tags):
        if tag == "O":
            continue
        if last_tag_index >= 0 and i - last_tag_index > 1 and tag.startswith("I-") and \
                tags[last_tag_index][2:] == tag[2:]:
            t = scheme.types.index(tag[2:])
            gap = range(last_tag_index + 1, i)
            if all(char_units[g] < 0 or (text[g].isspace() and unit_types[char_units[g]] == t) for g in gap):
                for g in gap:
                    tags[g] = tag
        last_tag_index = i
    return tags


def char_tags_to_spans(tags: Sequence[str], scheme: LabelScheme, *, repair: bool = True) -> list[Span]:
    """Spans from character tags: BIO decoding (``bio``) or maximal same-type runs (``io``)."""
    if scheme.kind == "io":
        spans: list[Span] = []
        for name in scheme.types:
            spans.extend(mask_to_spans([1 if tag[2:] == name else 0 for tag in tags], name))
        return sorted(spans, key=lambda s: (s.start, s.end, s.label))
    if not repair:
        tags = _drop_dangling_inside(tags)
    return bio_to_spans(tags, repair=True)


def _drop_dangling_inside(tags: Sequence[str]) -> list[str]:
    """``I-t`` tags that do not continue a ``B-t``/``I-t`` become ``O`` (strict BIO reading)."""
    out = list(tags)
    previous = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            out[i] = "O"
        previous = out[i]
    return out


def decode_token_scores(alignment: TokenAlignment, scores: np.ndarray, scheme: LabelScheme, *,
                        combine: Combine = "mean", repair: bool = True) -> list[Span]:
    """Spans predicted for the text from per-token scores of its content tokens (see the module rules).

    Args:
        alignment: the text's tokens and offsets.
        scores: shape ``(len(alignment), len(scheme.labels))``, logits or probabilities; rows of tokens
            without characters are ignored.
        scheme: the label scheme the scores are over.
        combine: how scores of tokens sharing characters (byte pieces) are combined, ``mean`` or ``max``.
        repair: BIO only — read an ``I`` that continues nothing as a new span (``True``) or drop it.
    """
    if np.asarray(scores).ndim == 2 and np.asarray(scores).shape[1] != len(scheme.labels):
        raise ConfigError("E075", f"scores have {np.asarray(scores).shape[1]} labels, the scheme has "
                          f"{len(scheme.labels)}", Location(doc_id=alignment.doc_id))
    unit_scores = combine_unit_scores(alignment, scores, combine)
    unit_ids = unit_scores.argmax(axis=1) if len(unit_scores) else np.zeros(0, dtype=np.int64)
    tags = unit_labels_to_char_tags(alignment, unit_ids.tolist(), scheme)
    return char_tags_to_spans(tags, scheme, repair=repair)


def decode_token_labels(alignment: TokenAlignment, label_ids: Sequence[int], scheme: LabelScheme, *,
                        repair: bool = True) -> list[Span]:
    """Spans from one label id per content token (:data:`IGNORE_INDEX` rows are ignored).

    Goes through :func:`decode_token_scores` with one-hot scores, so it is exactly the inference path.
    """
    ids = np.asarray(label_ids, dtype=np.int64)
    onehot = np.zeros((len(ids), len(scheme.labels)), dtype=np.float64)
    valid = ids >= 0
    onehot[np.flatnonzero(valid), ids[valid]] = 1.0
    return decode_token_scores(alignment, onehot, scheme, combine="max", repair=repair)


def char_scores(alignment: TokenAlignment, scores: np.ndarray, *, combine: Combine = "mean",
                fill: float = np.nan) -> np.ndarray:
    """Per character, the combined scores of the unit covering it (``fill`` where no token covers it)."""
    unit_scores = combine_unit_scores(alignment, scores, combine)
    out = np.full((len(alignment.text), unit_scores.shape[1]), fill, dtype=np.float64)
    for u, (_, _, c_start, c_end) in enumerate(alignment.units):
        out[c_start:c_end] = unit_scores[u]
    return out
