"""Batching token-classification windows for the HF ``Trainer``.

A training example is one window of a document (see :mod:`eccr.align`): ``input_ids``, ``attention_mask``
and ``labels`` (``-100`` where a token has no label: special tokens, and padding). Windows have different
lengths; :class:`WindowCollator` pads them on the tokenizer's padding side (right for decoders) with
:class:`transformers.DataCollatorForTokenClassification`, which pads ``labels`` with ``-100`` so padding
never contributes to the loss. Keys the model does not take (window bookkeeping) are dropped first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Keys passed to the model; anything else in a feature is bookkeeping and is dropped before padding.
MODEL_KEYS = ("input_ids", "attention_mask", "labels", "token_type_ids")


@dataclass
class WindowCollator:
    """Pads window features into a batch of tensors; ``labels`` are padded with ``-100``.

    Args:
        tokenizer: the model's tokenizer (its pad token and padding side are used).
        pad_to_multiple_of: pad lengths to a multiple of this (8 helps tensor cores on GPU).
        position_ids: add ``position_ids`` counted from 0 in every row (models pretrained that way whose
            architecture would otherwise count from ``pad_token_id + 1``: the ``from-zero`` recipes of
            :mod:`eccr.models.recipes`). Padding is on the right, so real tokens get 0, 1, 2…
    """

    tokenizer: Any
    pad_to_multiple_of: int | None = None
    position_ids: bool = False
    _inner: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from transformers import DataCollatorForTokenClassification

        self._inner = DataCollatorForTokenClassification(
            self.tokenizer,
            padding=True,
            pad_to_multiple_of=self.pad_to_multiple_of,
            label_pad_token_id=-100,
            return_tensors="pt",
        )

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        kept = [{k: list(v) for k, v in f.items() if k in MODEL_KEYS} for f in features]
        batch = dict(self._inner(kept))
        if self.position_ids:
            import torch

            rows, length = batch["input_ids"].shape
            batch["position_ids"] = torch.arange(length).expand(rows, length).clone()
        return batch
