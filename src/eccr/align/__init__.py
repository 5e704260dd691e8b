"""Character ↔ token alignment: labels for token classification and spans from its predictions.

All offsets are half-open character offsets into the ORIGINAL text (see :mod:`eccr.corpus.types`). This
package imports no torch/transformers: tokenizers are passed in (any Hugging Face tokenizer; fast ones give
offsets directly, slow ones get them reconstructed).

Training (one document → model inputs)::

    from eccr.align import LabelScheme, SpecialTokens, encode_document
    scheme = LabelScheme.from_corpus(corpus, "bio")   # or LabelScheme("io", ("concept",), typed=False)
    special = SpecialTokens.from_tokenizer(tokenizer)  # once per tokenizer
    enc = encode_document(tokenizer, doc, scheme, window=512, step=256, special=special)
    rows = [w.to_dict() for w in enc.windows]  # input_ids / attention_mask / labels (-100 on specials)

Inference (model outputs → spans)::

    enc = encode_document(tokenizer, doc, scheme, window=512, with_labels=False, special=special)
    logits = [model(input_ids=[w.input_ids]).logits[0].numpy() for w in enc.windows]
    spans = decode_document(enc, logits, scheme, combine="mean", repair=True)

Rules, in one place each:

* :mod:`eccr.align.offsets` — token offsets; byte-fallback pieces map to exactly one character; a lone
  ``▁`` marker has no characters; tokens sharing characters form a *unit*.
* :mod:`eccr.align.labels` — IO/BIO schemes, typed or not; a unit crossing a concept boundary is labelled
  by ``majority`` (default; at least half its non-space characters) or ``any``, and crossings are counted;
  unit scores are combined by ``mean`` (default) or ``max``; BIO decoding with optional repair.
* :mod:`eccr.align.windows` — sliding windows in tokens (special tokens subtracted), merged by maximum
  context; never truncates.
* :mod:`eccr.align.invariants` — the checker every tokenizer must pass on a corpus (bounds, monotonic,
  non-overlapping, coverage, no oversized unit, no huge ``[UNK]``).
* :mod:`eccr.align.ceiling` — the tokenizer ceiling (gold → tokens → characters round trip).

Error codes: ``E070``–``E079`` (``E070`` malformed alignment, ``E071`` slow tokenizer cannot be aligned,
``E072`` bad scheme/rule option, ``E073`` span label not in the scheme, ``E074`` overlapping spans of
different types, ``E075`` score shape, ``E076`` special-token template, ``E077`` window/step, ``E078``
window merge, ``E079`` tokenizer violates the invariants).
"""

from eccr.align.ceiling import CeilingResult, tokenizer_ceiling
from eccr.align.encoding import (
    EncodedDocument,
    WindowFeatures,
    decode_document,
    encode_document,
    merge_document_scores,
)
from eccr.align.invariants import (
    InvariantReport,
    Violation,
    check_alignment,
    check_alignments,
    check_tokenizer,
)
from eccr.align.labels import (
    IGNORE_INDEX,
    LabelScheme,
    TokenLabels,
    char_scores,
    char_tags_to_spans,
    combine_unit_scores,
    decode_token_labels,
    decode_token_scores,
    token_labels,
    unit_labels_to_char_tags,
)
from eccr.align.offsets import TokenAlignment, align_text, reconstruct_offsets
from eccr.align.windows import (
    SpecialTokens,
    Window,
    best_window_per_token,
    content_rows,
    merge_window_scores,
    plan_windows,
)

__all__ = [
    "IGNORE_INDEX",
    "CeilingResult",
    "EncodedDocument",
    "InvariantReport",
    "LabelScheme",
    "SpecialTokens",
    "TokenAlignment",
    "TokenLabels",
    "Violation",
    "Window",
    "WindowFeatures",
    "align_text",
    "best_window_per_token",
    "char_scores",
    "char_tags_to_spans",
    "check_alignment",
    "check_alignments",
    "check_tokenizer",
    "combine_unit_scores",
    "content_rows",
    "decode_document",
    "decode_token_labels",
    "decode_token_scores",
    "encode_document",
    "merge_document_scores",
    "merge_window_scores",
    "plan_windows",
    "reconstruct_offsets",
    "token_labels",
    "tokenizer_ceiling",
    "unit_labels_to_char_tags",
]
