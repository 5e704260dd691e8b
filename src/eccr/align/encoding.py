"""Model inputs for a document (training and inference) and spans from the model's outputs.

:func:`encode_document` = :func:`~eccr.align.offsets.align_text` + :func:`~eccr.align.labels.token_labels`
+ :func:`~eccr.align.windows.plan_windows`: one :class:`WindowFeatures` per window, each a complete model
input (special tokens added, labels :data:`~eccr.align.labels.IGNORE_INDEX` on them). No text is truncated.

:func:`decode_document` takes the model's scores for each window (all positions, special tokens included),
merges them by maximum context and decodes spans with :func:`~eccr.align.labels.decode_token_scores`.
A run with window ``w`` predicts every content token exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eccr.align.labels import (
    IGNORE_INDEX,
    Combine,
    CrossingRule,
    LabelScheme,
    TokenLabels,
    decode_token_scores,
)
from eccr.align.labels import token_labels as make_token_labels
from eccr.align.offsets import TokenAlignment, align_text
from eccr.align.windows import SpecialTokens, Window, content_rows, merge_window_scores, plan_windows
from eccr.corpus.types import Document, Span


@dataclass(frozen=True)
class WindowFeatures:
    """One model input.

    Attributes:
        doc_id: the document.
        window: the content tokens ``[start, end)`` of the document it holds.
        input_ids: ids with the special tokens.
        attention_mask: all ones (padding is the collator's job).
        labels: per position, a label id or ``IGNORE_INDEX`` (special tokens, tokens without characters);
            ``None`` when encoded without labels.
        content_start: position in ``input_ids`` of the window's first content token.
    """

    doc_id: str
    window: Window
    input_ids: tuple[int, ...]
    attention_mask: tuple[int, ...]
    labels: tuple[int, ...] | None
    content_start: int

    def to_dict(self) -> dict[str, list[int]]:
        """``input_ids``, ``attention_mask`` and (when present) ``labels``, ready for a data collator."""
        out = {"input_ids": list(self.input_ids), "attention_mask": list(self.attention_mask)}
        if self.labels is not None:
            out["labels"] = list(self.labels)
        return out


@dataclass(frozen=True)
class EncodedDocument:
    """A document's alignment, token labels (if any) and windows."""

    doc_id: str
    alignment: TokenAlignment
    labels: TokenLabels | None
    special: SpecialTokens
    windows: tuple[WindowFeatures, ...]


def encode_document(
    tokenizer: Any,
    doc: Document,
    scheme: LabelScheme,
    *,
    window: int = 512,
    step: int | None = None,
    with_labels: bool = True,
    rule: CrossingRule = "majority",
    special: SpecialTokens | None = None,
) -> EncodedDocument:
    """Tokenize, label and window one document.

    Args:
        tokenizer: a Hugging Face tokenizer (fast preferred).
        doc: the document; its spans give the labels when ``with_labels``.
        scheme: the label scheme.
        window: maximum model input length, special tokens included.
        step: content tokens between window starts (default half a window).
        with_labels: compute token labels from ``doc.spans``.
        rule: how a token crossing a concept boundary is labelled (``majority`` or ``any``).
        special: the tokenizer's special tokens (found with :meth:`SpecialTokens.from_tokenizer` if omitted;
            pass it when encoding many documents).
    """
    special = special if special is not None else SpecialTokens.from_tokenizer(tokenizer)
    alignment = align_text(tokenizer, doc.text, doc_id=doc.id)
    labels = make_token_labels(alignment, doc.spans, scheme, rule) if with_labels else None
    features = []
    for win in plan_windows(len(alignment), window, step, special.count):
        ids = special.wrap(alignment.input_ids[win.start : win.end])
        window_labels = None
        if labels is not None:
            content = labels.label_ids[win.start : win.end].tolist()
            window_labels = tuple([IGNORE_INDEX] * len(special.prefix) + content
                                  + [IGNORE_INDEX] * len(special.suffix))
        features.append(WindowFeatures(doc.id, win, tuple(ids), (1,) * len(ids), window_labels,
                                       len(special.prefix)))
    return EncodedDocument(doc.id, alignment, labels, special, tuple(features))


def merge_document_scores(encoded: EncodedDocument, window_scores: Sequence[np.ndarray]) -> np.ndarray:
    """Per content token scores, shape ``(tokens, labels)``, from per-window model outputs.

    ``window_scores[k]`` is the output for ``encoded.windows[k]`` over all its positions (special tokens
    included; trailing padding allowed).
    """
    rows = [content_rows(scores, encoded.special, len(feat.window))
            for feat, scores in zip(encoded.windows, window_scores, strict=True)]
    return merge_window_scores(len(encoded.alignment), [f.window for f in encoded.windows], rows)


def decode_document(
    encoded: EncodedDocument,
    window_scores: Sequence[np.ndarray],
    scheme: LabelScheme,
    *,
    combine: Combine = "mean",
    repair: bool = True,
) -> list[Span]:
    """Spans predicted for the document from the model's scores of each of its windows."""
    scores = merge_document_scores(encoded, window_scores)
    if scores.shape[0] == 0:
        return []
    return decode_token_scores(encoded.alignment, scores, scheme, combine=combine, repair=repair)
