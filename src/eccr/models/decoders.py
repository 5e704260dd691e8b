"""Decoder-only models for token classification: detection, padding, LoRA and bidirectional attention.

The paper fine-tunes decoders (LLaMA-2/Swallow, Mistral, GPT-NeoX, GPT-2-style LLM-jp) for token
classification with LoRA, keeping their causal attention mask. This module holds everything that is
specific to decoders, so :mod:`eccr.models.token_classification` stays architecture-agnostic:

* :func:`is_decoder_only` — a model type that has a causal-LM head and no masked-LM head (the rule lives
  with the family recipes, :mod:`eccr.models.recipes`, and is re-exported here);
* :func:`prepare_decoder_tokenizer` — right padding, and a pad token when the tokenizer has none (the
  family recipe's choice), written into the model config as ``pad_token_id``;
* :func:`apply_lora` — a peft LoRA wrapper whose classification head is trained fully (``modules_to_save``),
  adapting the family recipe's target modules unless told otherwise;
* :func:`make_bidirectional` — removes the causal mask in all or the top *k* layers (after Dukić & Šnajder
  2024, "Looking Right is Sometimes Right").

How bidirectional attention is done (transformers 5): every decoder layer's attention module is called with
``attention_mask=`` (a 4-D mask that already combines causality and padding, or ``None`` when SDPA may
use its own ``is_causal`` flag) and reads ``module.is_causal`` when the mask is ``None``. For each chosen
layer a forward pre-hook replaces the 4-D mask by its padding-only part and the module's ``is_causal`` is set
to ``False``. The padding-only part of a causal+padding mask is the union over query rows: a key position is
visible to *some* query exactly when it is not padding (the last row of a causal mask sees every earlier key).
Only ``eager`` and ``sdpa`` attention are supported (flex/flash masks are different objects); the
model is switched to ``sdpa`` when it uses something else. Tests check that the first token's hidden
state changes when a later token changes only in bidirectional mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn

from eccr.errors import ConfigError, ModelError
from eccr.models.recipes import Recipe, is_decoder_only, recipe_for_config

#: Names of the classification heads of ``*ForTokenClassification`` models (trained fully under LoRA).
HEAD_NAMES = ("classifier", "score")

Bidirectional = bool | Literal["all"] | int

_HOOK_ATTR = "_eccr_bidirectional_hook"

__all__ = [
    "apply_lora",
    "attention_modules",
    "bidirectional_layers",
    "head_module_names",
    "is_decoder_only",
    "make_bidirectional",
    "padding_only_mask",
    "prepare_decoder_tokenizer",
]


def prepare_decoder_tokenizer(tokenizer: Any, config: Any, recipe: Recipe | None = None) -> None:
    """Right padding and a pad token for a decoder's tokenizer; ``config.pad_token_id`` follows it.

    Decoders are usually released without a pad token. Padding is on the right so that, under a causal
    mask, no real token ever attends to a pad token (generation pads prompts on the left itself). When
    there is no pad token, the family recipe's choice is used (:attr:`~eccr.models.recipes.Recipe.pad_token`:
    EOS, else UNK, for every family so far); padded positions are masked out and carry no label, so the
    choice does not change predictions.

    Args:
        tokenizer: the decoder's tokenizer (changed in place).
        config: the model config (its ``pad_token_id`` is set).
        recipe: the family recipe (default: selected from ``config``).

    Raises:
        ModelError: ``E063`` when the tokenizer has neither pad, EOS nor UNK token.
    """
    recipe = recipe or recipe_for_config(config)
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        substitute = next((getattr(tokenizer, f"{kind}_token", None) for kind in recipe.pad_token
                           if getattr(tokenizer, f"{kind}_token", None) is not None), None)
        if substitute is None:
            raise ModelError(
                "E063",
                "the decoder's tokenizer has no pad, EOS or UNK token to pad with; add a pad token to it",
            )
        tokenizer.pad_token = substitute
    config.pad_token_id = tokenizer.pad_token_id


def head_module_names(model: nn.Module) -> list[str]:
    """Names of the top-level classification head(s) of a ``*ForTokenClassification`` model."""
    names = [name for name, _ in model.named_children() if name in HEAD_NAMES]
    if not names:
        raise ModelError(
            "E064",
            f"{type(model).__name__} has no classification head named one of {HEAD_NAMES}; "
            "LoRA needs to know which module to train fully",
        )
    return names


def apply_lora(
    model: nn.Module,
    *,
    r: int,
    alpha: int,
    dropout: float,
    target_modules: Sequence[str] | str | None,
    extra_modules_to_save: Sequence[str] = (),
    recipe: Recipe | None = None,
    task: Literal["token_classification", "causal_lm"] = "token_classification",
) -> nn.Module:
    """Wrap ``model`` with peft LoRA; the classification head (and ``extra_modules_to_save``) train fully.

    ``target_modules=None`` takes the family recipe's modules (``q_proj``/``v_proj`` for LLaMA and Mistral,
    ``query_key_value`` for GPT-NeoX, ``c_attn`` for GPT-2; ``recipe`` defaults to the one selected from
    ``model.config``), else peft's default for the architecture; ``"all-linear"`` adapts every linear layer
    but the head. ``task="causal_lm"`` is for a ``*ForCausalLM`` model (instruction tuning): it has no
    classification head, its LM head stays frozen.
    """
    if target_modules is None:
        recipe = recipe or recipe_for_config(getattr(model, "config", None))
        target_modules = list(recipe.lora_target_modules) if recipe.lora_target_modules else None
    from peft import LoraConfig, TaskType, get_peft_model

    targets: list[str] | str | None = (
        list(target_modules) if isinstance(target_modules, list | tuple) else (target_modules)
    )
    causal = task == "causal_lm"
    heads = [] if causal else head_module_names(model)
    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM if causal else TaskType.TOKEN_CLS,
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        modules_to_save=[*heads, *extra_modules_to_save] or None,
    )
    try:
        return get_peft_model(model, config)
    except ValueError as err:  # peft: unknown architecture without target_modules, or no module matched
        raise ConfigError("E045", f"cannot apply LoRA: {err}; set lora_target_modules explicitly") from err


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """The self-attention modules of a decoder, bottom layer first.

    They are the modules that carry an ``is_causal`` attribute (how transformers marks causal attention);
    the model classes themselves are excluded.
    """
    from transformers import PreTrainedModel

    found = [
        m
        for m in model.modules()
        if hasattr(m, "is_causal") and not isinstance(m, PreTrainedModel) and isinstance(m, nn.Module)
    ]
    if not found:
        raise ModelError(
            "E065",
            f"no causal attention modules found in {type(model).__name__}; "
            "bidirectional attention is for decoder-only models",
        )
    return found


def padding_only_mask(mask: torch.Tensor) -> torch.Tensor:
    """The padding part of a 4-D causal+padding mask ``(batch, heads, query, key)``: union over queries.

    Boolean masks (``True`` = may attend) are OR-ed over query rows; additive float masks (0 = may attend,
    a large negative = masked) take the maximum over query rows. The result is broadcast back to the shape.

    >>> causal = torch.tensor([[True, False, False], [True, True, False], [True, True, False]])[None, None]
    >>> padding_only_mask(causal)[0, 0].tolist()
    [[True, True, False], [True, True, False], [True, True, False]]
    """
    if mask.dim() != 4:
        raise ModelError("E065", f"expected a 4-D attention mask, got shape {tuple(mask.shape)}")
    keys = mask.any(dim=-2, keepdim=True) if mask.dtype == torch.bool else mask.amax(dim=-2, keepdim=True)
    return keys.expand_as(mask)


def _bidirectional_pre_hook(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    if "attention_mask" not in kwargs:
        raise ModelError(
            "E065",
            f"{type(module).__name__} was not given attention_mask by keyword; "
            "bidirectional attention cannot override it for this architecture",
        )
    mask = kwargs["attention_mask"]
    if isinstance(mask, torch.Tensor):
        kwargs = {**kwargs, "attention_mask": padding_only_mask(mask)}
    elif mask is not None:
        raise ModelError(
            "E065", f"bidirectional attention supports eager/sdpa masks, got {type(mask).__name__}"
        )
    return args, kwargs


def bidirectional_layers(n_layers: int, bidirectional: Bidirectional) -> list[int]:
    """Indices of the layers whose causal mask is removed: none, all, or the top ``k``.

    >>> bidirectional_layers(4, False), bidirectional_layers(4, "all"), bidirectional_layers(4, 1)
    ([], [0, 1, 2, 3], [3])
    """
    if bidirectional is False:
        return []
    if bidirectional is True or bidirectional == "all":
        return list(range(n_layers))
    if isinstance(bidirectional, int) and 1 <= bidirectional <= n_layers:
        return list(range(n_layers - bidirectional, n_layers))
    raise ConfigError(
        "E045",
        f"bidirectional must be false, 'all' or a number of top layers 1..{n_layers}, got {bidirectional!r}",
    )


def make_bidirectional(model: nn.Module, bidirectional: Bidirectional) -> list[int]:
    """Remove the causal mask in the chosen layers of a decoder (in place); returns their indices.

    Idempotent: layers already changed are not hooked twice. Works on a peft-wrapped model too (the hooks
    sit on the base model's attention modules).
    """
    modules = attention_modules(model)
    chosen = bidirectional_layers(len(modules), bidirectional)
    if not chosen:
        return []
    config = getattr(model, "config", None)
    implementation = getattr(config, "_attn_implementation", None)
    if implementation not in (None, "eager", "sdpa"):
        set_impl = getattr(model, "set_attn_implementation", None)
        if set_impl is None:
            raise ModelError(
                "E065", f"bidirectional attention needs eager or sdpa attention, not {implementation}"
            )
        set_impl("sdpa")
    for index in chosen:
        module = modules[index]
        module.is_causal = False
        if getattr(module, _HOOK_ATTR, None) is None:
            handle = module.register_forward_pre_hook(_bidirectional_pre_hook, with_kwargs=True)
            setattr(module, _HOOK_ATTR, handle)
    return chosen
