"""Batches for pretraining: masked-LM (token or whole-word masking over MeCab words) and causal-LM.

* **Token masking** (``mlm``, the default): Hugging Face's ``DataCollatorForLanguageModeling`` — each
  non-special token is chosen with probability ``mlm_probability`` (0.15); a chosen token becomes
  ``[MASK]`` 80 % of the time, a random token 10 %, stays itself 10 %; the loss is on the chosen tokens.
* **Whole-word masking** (:class:`WholeWordMaskCollator`): Japanese has no spaces, so a "word" is a MeCab
  word (fugashi with the dictionary it finds, e.g. unidic-lite: :func:`mecab_word_spans`). Each token belongs
  to the word its first non-space character falls in (:func:`token_word_ids`; a token covering no character
  is a word of its own; a word holding a special token such as ``[UNK]`` is never masked). Words are drawn
  in random order and taken whole while the tokens taken stay within ``mlm_probability`` of the sequence's
  maskable tokens (at least one word per sequence), so every token of a chosen word is predicted and no
  word is predicted in part; the 80/10/10 replacement then applies per token, as in BERT's whole-word
  masking.
* **Causal LM** (``clm``): ``DataCollatorForLanguageModeling(mlm=False)`` — labels are the inputs (the model
  shifts them), padding excluded.

Validation batches must not change between evaluations, or the validation curve would move with the random
masking: :func:`freeze_masking` masks the validation blocks once, with a fixed seed, and
:class:`PretrainCollator` passes already-labelled examples through with padding only.

>>> mecab_word_spans("患者は発熱を認めた")
[(0, 2), (2, 3), (3, 5), (5, 6), (6, 8), (8, 9)]
>>> token_word_ids("患者は発熱", [(0, 1), (0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 5)])
[0, 0, 0, 1, 2, 2, 3]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "PretrainCollator",
    "WholeWordMaskCollator",
    "freeze_masking",
    "make_collator",
    "mecab_word_spans",
    "token_word_ids",
]

IGNORE_INDEX = -100


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    from eccr.models.presegment import mecab_segmenter

    return mecab_segmenter()


def mecab_word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the MeCab words of ``text`` (whitespace belongs to no word).

    Raises:
        ModelError: ``E197`` when MeCab returns words that are not the text.
        ConfigError: ``E190`` style import errors surface as ``ModuleNotFoundError`` when fugashi is missing
            (checked by :func:`eccr.pretrain.run.pretrain` before training).
    """
    from eccr.models.presegment import word_spans

    return word_spans(text, _segmenter()(text))


def token_word_ids(text: str, offsets: Sequence[tuple[int, int]],
                   spans: Sequence[tuple[int, int]] | None = None) -> list[int]:
    """The MeCab word index of each token, given its character ``offsets`` into ``text``.

    A token belongs to the word of its first non-space character; a token that covers no character (an empty
    offset, whitespace only) gets an index of its own after the words', so it is masked alone.
    """
    spans = mecab_word_spans(text) if spans is None else spans
    owner = [-1] * len(text)
    for index, (start, end) in enumerate(spans):
        owner[start:end] = [index] * (end - start)
    result: list[int] = []
    extra = len(spans)
    for start, end in offsets:
        word = next((owner[i] for i in range(start, min(end, len(text))) if owner[i] >= 0), -1)
        if word < 0:
            word, extra = extra, extra + 1
        result.append(word)
    return result


def _pad(rows: Sequence[Sequence[int]], value: int) -> Any:
    import torch

    width = max(len(row) for row in rows)
    return torch.tensor([[*row, *([value] * (width - len(row)))] for row in rows], dtype=torch.long)


@dataclass
class WholeWordMaskCollator:
    """Masks whole MeCab words: features ``{"input_ids", "word_ids"}`` (``-1`` = never masked) → a batch.

    Attributes:
        tokenizer: gives the mask, pad and vocabulary size.
        mlm_probability: share of maskable tokens to predict.
        mask_replace_prob: share of the predicted tokens replaced by the mask token.
        random_replace_prob: share replaced by a random token (the rest stay as they are).
    """

    tokenizer: Any
    mlm_probability: float = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1

    def chosen_words(self, word_ids: Sequence[int]) -> set[int]:
        """The words of one sequence to predict: drawn in random order, whole, within the token budget."""
        import torch

        sizes: dict[int, int] = {}
        for word in word_ids:
            if word >= 0:
                sizes[word] = sizes.get(word, 0) + 1
        if not sizes:
            return set()
        budget = max(1, round(sum(sizes.values()) * self.mlm_probability))
        words = list(sizes)
        chosen: set[int] = set()
        taken = 0
        for position in torch.randperm(len(words)).tolist():
            word = words[position]
            if taken + sizes[word] <= budget:
                chosen.add(word)
                taken += sizes[word]
        if not chosen:  # every word is longer than the budget: still predict one
            chosen.add(words[int(torch.randint(len(words), (1,)))])
        return chosen

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        pad_id = self.tokenizer.pad_token_id
        input_ids = _pad([f["input_ids"] for f in features], pad_id)
        word_ids = _pad([f["word_ids"] for f in features], -1)
        attention = _pad([[1] * len(f["input_ids"]) for f in features], 0)
        special = torch.tensor([self.tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
                                for row in input_ids.tolist()], dtype=torch.bool)
        # a word holding a special token ([UNK]) cannot be predicted whole, so none of it is masked
        for row in range(word_ids.shape[0]):
            spoiled = set(word_ids[row][special[row]].tolist()) - {-1}
            if spoiled:
                word_ids[row][torch.isin(word_ids[row], torch.tensor(sorted(spoiled)))] = -1
        word_ids[special] = -1
        masked = torch.zeros_like(input_ids, dtype=torch.bool)
        for row, words in enumerate(word_ids.tolist()):
            chosen = self.chosen_words(words)
            masked[row] = torch.tensor([w in chosen for w in words], dtype=torch.bool)
        labels = torch.where(masked, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
        replace = masked & torch.bernoulli(torch.full(input_ids.shape, self.mask_replace_prob)).bool()
        input_ids[replace] = self.tokenizer.mask_token_id
        rest = 1.0 - self.mask_replace_prob
        share = self.random_replace_prob / rest if rest > 0 else 0.0
        randomise = masked & ~replace & torch.bernoulli(torch.full(input_ids.shape, share)).bool()
        input_ids[randomise] = torch.randint(len(self.tokenizer), input_ids.shape)[randomise]
        return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


@dataclass
class PretrainCollator:
    """The ``Trainer``'s collator: examples that already hold ``labels`` (frozen validation batches) are
    only padded; the others go through ``masker`` (the objective's collator)."""

    masker: Any
    pad_token_id: int

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if "labels" not in features[0]:
            return self.masker(list(features))
        return {
            "input_ids": _pad([f["input_ids"] for f in features], self.pad_token_id),
            "attention_mask": _pad([[1] * len(f["input_ids"]) for f in features], 0),
            "labels": _pad([f["labels"] for f in features], IGNORE_INDEX),
        }


def make_collator(tokenizer: Any, objective: str, *, mlm_probability: float = 0.15,
                  whole_word_mask: bool = False) -> PretrainCollator:
    """The collator of ``objective`` (``mlm`` or ``clm``), wrapped in :class:`PretrainCollator`."""
    from transformers import DataCollatorForLanguageModeling

    if objective == "mlm" and whole_word_mask:
        masker: Any = WholeWordMaskCollator(tokenizer, mlm_probability)
    elif objective == "mlm":
        masker = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=mlm_probability)
    else:
        masker = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    return PretrainCollator(masker, int(tokenizer.pad_token_id))


def freeze_masking(examples: Sequence[dict[str, Any]], collator: PretrainCollator, *, seed: int
                   ) -> list[dict[str, list[int]]]:
    """Each example masked once by ``collator``'s masker, under a fixed seed, as ``{"input_ids", "labels"}``.

    Torch's global random state is restored afterwards, so training draws are not affected.
    """
    import torch

    frozen: list[dict[str, list[int]]] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for example in examples:
            batch = collator([example])
            frozen.append({"input_ids": batch["input_ids"][0].tolist(),
                           "labels": batch["labels"][0].tolist()})
    return frozen
