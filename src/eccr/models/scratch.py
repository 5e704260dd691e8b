"""Model directories for training from scratch: a ``config.json`` sized by hand plus a tokenizer.

No pretrained Japanese clinical weights are available everywhere eccr runs (tests, CI, air-gapped
hospitals). :func:`write_model_dir` writes a directory that ``hf:<dir>`` with ``init: from_config``
turns into a randomly initialised model of the chosen architecture, sized from a few numbers, with
the vocabulary, special-token ids and maximum length taken from the tokenizer.

>>> sorted(ARCHITECTURES)
['bert', 'deberta-v2', 'gpt2', 'gpt_neox', 'llama', 'mistral', 'roberta']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eccr.errors import ConfigError

#: Supported architectures (``model_type`` of transformers); encoders first.
ARCHITECTURES = ("deberta-v2", "roberta", "bert", "llama", "mistral", "gpt_neox", "gpt2")

#: Accepted spellings of the architectures.
ALIASES = {"deberta-v3": "deberta-v2", "gpt-neox": "gpt_neox", "neox": "gpt_neox"}


def _token_ids(tokenizer: Any) -> dict[str, int]:
    ids: dict[str, int] = {}
    for name in ("pad", "bos", "eos"):
        value = getattr(tokenizer, f"{name}_token_id", None)
        if value is not None:
            ids[f"{name}_token_id"] = int(value)
    if "pad_token_id" not in ids and "eos_token_id" in ids:
        ids["pad_token_id"] = ids["eos_token_id"]
    return ids


def model_config(
    architecture: str,
    tokenizer: Any,
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 2,
    intermediate: int | None = None,
    max_length: int = 512,
) -> Any:
    """A ``transformers`` config of ``architecture`` sized ``hidden``/``layers``/``heads`` for ``tokenizer``.

    DeBERTa-v2 is configured like DeBERTa-v3 (relative positions with buckets, no absolute positions).
    """
    from transformers import AutoConfig

    architecture = ALIASES.get(architecture, architecture)
    if architecture not in ARCHITECTURES:
        raise ConfigError(
            "E045", f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}"
        )
    if hidden % heads:
        raise ConfigError("E045", f"hidden size {hidden} is not a multiple of the {heads} attention heads")
    inner = intermediate or 4 * hidden
    common: dict[str, Any] = {"vocab_size": len(tokenizer), **_token_ids(tokenizer)}
    if architecture == "gpt2":
        sizes = {
            "n_embd": hidden,
            "n_layer": layers,
            "n_head": heads,
            "n_inner": inner,
            "n_positions": max_length,
        }
    else:
        sizes = {
            "hidden_size": hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "intermediate_size": inner,
            "max_position_embeddings": max_length,
        }
    extra: dict[str, Any] = {}
    if architecture == "deberta-v2":
        extra = {
            "relative_attention": True,
            "position_buckets": 64,
            "max_relative_positions": -1,
            "pos_att_type": ["p2c", "c2p"],
            "position_biased_input": False,
            "type_vocab_size": 0,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": True,
        }
    elif architecture == "roberta":
        # RoBERTa numbers positions from pad_token_id + 1: reserve those rows so max_length tokens fit
        sizes["max_position_embeddings"] = max_length + int(common.get("pad_token_id", 1)) + 1
        extra = {"type_vocab_size": 1}
    elif architecture in ("llama", "mistral"):
        extra = {"num_key_value_heads": heads, "tie_word_embeddings": False}
        if architecture == "mistral":
            extra["sliding_window"] = None
    elif architecture == "gpt_neox":
        extra = {"use_parallel_residual": True, "rotary_pct": 1.0}
    return AutoConfig.for_model(architecture, **common, **sizes, **extra)


def write_model_dir(architecture: str, tokenizer: Any, directory: str | Path, **sizes: Any) -> Path:
    """Write ``config.json`` and the tokenizer into ``directory``; train it with ``init: from_config``.

    Args:
        architecture: one of :data:`ARCHITECTURES`.
        tokenizer: a ``transformers`` tokenizer (e.g. from :mod:`eccr.pretrain.tokenizer`).
        directory: created if missing.
        **sizes: ``hidden``, ``layers``, ``heads``, ``intermediate``, ``max_length``
            (see :func:`model_config`).
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model_config(architecture, tokenizer, **sizes).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
