"""Vocabulary extension for continual pretraining: domain pieces added to a general model's tokenizer.

A general Japanese model splits clinical words (``胸水``, ``喀痰``, ``ＣＲＰ``) into many pieces or bytes.
Continual pretraining (``eccr pretrain --continue-from MODEL --extend-vocab DOMAIN_TOKENIZER``) may add the
pieces of a tokenizer trained on the domain text (``eccr pretrain-tokenizer``) to the model's own tokenizer:

* **Which pieces** (:func:`new_pieces`): the domain tokenizer's vocabulary in its own order (Unigram: most
  probable first), without special tokens and byte pieces (``<0xE3>``), with the word-start mark ``▁`` removed
  (added tokens are matched in the text itself, where there is no ``▁``), keeping only pieces the old
  tokenizer cannot spell as one token (its encoding, ``▁``-only tokens dropped, is several tokens or the
  unknown token); at most ``limit`` of them.
* **How they are added**: as added tokens (``tokenizer.add_tokens``, matched on the normalised text before
  the old model splits the rest), so **every old token keeps its id** and the new ones follow it.
* **Their embeddings** (:func:`extend_vocabulary`): each new row of the input embeddings — and of an untied
  output embedding and its bias — is the mean of the old rows of the pieces the old tokenizer split that
  string into. The model starts where it was: a new token first means what its pieces meant together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["VocabularyExtension", "extend_vocabulary", "new_pieces", "old_piece_ids"]

_MARK = "\u2581"  # SentencePiece's word-start mark


@dataclass(frozen=True)
class VocabularyExtension:
    """What :func:`extend_vocabulary` did.

    Attributes:
        added: the new tokens, in id order (the first has id ``old_size``).
        old_size: the tokenizer's length before.
        new_size: its length after.
        embedding_rows: rows of the input embedding matrix after resizing.
    """

    added: tuple[str, ...]
    old_size: int
    new_size: int
    embedding_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"added": len(self.added), "old_size": self.old_size, "new_size": self.new_size,
                "embedding_rows": self.embedding_rows, "examples": list(self.added[:20])}


def old_piece_ids(tokenizer: Any, text: str) -> list[int]:
    """Ids of the tokens ``tokenizer`` splits ``text`` into, dropping tokens that are only the ``▁`` mark."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    marks = {i for i, tok in zip(ids, tokenizer.convert_ids_to_tokens(ids), strict=True) if tok == _MARK}
    kept = [i for i in ids if i not in marks]
    return kept or ids


def _is_byte_piece(piece: str) -> bool:
    return len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">")


def new_pieces(tokenizer: Any, domain_tokenizer: Any, *, limit: int | None = None) -> list[str]:
    """The domain tokenizer's pieces that ``tokenizer`` lacks (rules in the module docstring)."""
    vocab = domain_tokenizer.get_vocab()
    specials = set(domain_tokenizer.all_special_tokens) | set(tokenizer.all_special_tokens)
    unknown = tokenizer.unk_token_id
    seen: set[str] = set()
    result: list[str] = []
    for piece, _ in sorted(vocab.items(), key=lambda item: item[1]):
        if piece in specials or _is_byte_piece(piece):
            continue
        text = piece.replace(_MARK, "").strip()
        if not text or text in seen:
            continue
        seen.add(text)
        ids = old_piece_ids(tokenizer, text)
        if len(ids) > 1 or (unknown is not None and unknown in ids):
            result.append(text)
            if limit is not None and len(result) >= limit:
                break
    return result


def extend_vocabulary(model: Any, tokenizer: Any, pieces: Sequence[str]) -> VocabularyExtension:
    """Add ``pieces`` to ``tokenizer`` (in place) and grow ``model``'s embeddings, each new row the mean of
    the old rows of its pieces. Old ids are unchanged."""
    import torch
    from tokenizers import AddedToken

    old_size = len(tokenizer)
    sources = {piece: old_piece_ids(tokenizer, piece) for piece in pieces}
    tokenizer.add_tokens([AddedToken(piece, normalized=True) for piece in pieces])
    rows = max(model.get_input_embeddings().num_embeddings, len(tokenizer))
    model.resize_token_embeddings(rows, mean_resizing=False)
    inputs = model.get_input_embeddings().weight
    output_layer = model.get_output_embeddings()
    untied = output_layer is not None and output_layer.weight.data_ptr() != inputs.data_ptr()
    bias = getattr(output_layer, "bias", None) if output_layer is not None else None
    added = tuple(piece for piece in pieces if tokenizer.convert_tokens_to_ids(piece) >= old_size)
    with torch.no_grad():
        for piece in added:
            new_id = tokenizer.convert_tokens_to_ids(piece)
            old = torch.tensor(sources[piece], dtype=torch.long)
            inputs[new_id] = inputs[old].mean(dim=0)
            if untied:
                output_layer.weight[new_id] = output_layer.weight[old].mean(dim=0)
            if bias is not None and bias.shape[0] == rows:
                bias[new_id] = bias[old].mean()
    return VocabularyExtension(added, old_size, len(tokenizer), rows)
