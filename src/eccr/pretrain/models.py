"""The model pretraining starts from: a fresh one of an architecture and size, or a saved LM to continue.

* **From scratch** (``ARCH[:SIZE]``): ``ARCH`` is one of :data:`eccr.models.scratch.ARCHITECTURES` (or an
  alias); ``SIZE`` a preset of :data:`SIZES` (``base`` is the paper's DeBERTa-v2 base shape, hidden 768,
  12 layers, 12 heads) or a JSON file — either size keys (``hidden``, ``layers``, ``heads``,
  ``intermediate``, ``max_length``) or a ``transformers`` ``config.json`` of the same ``model_type``. The
  vocabulary, special-token ids and the maximum length (the tokenizer's, at least the block size) come from
  the tokenizer (:func:`eccr.models.scratch.model_config`).
* **Continual** (a directory or hub id; a path that does not exist never reaches the Hub): loaded with
  ``AutoModelForMaskedLM``/``AutoModelForCausalLM``. A checkpoint without the objective's head (a
  token-classification model, a bare encoder) is ``E136`` — never a silently new, random head.

The objective defaults from the architecture: encoders (DeBERTa-v2, RoBERTa, BERT) ``mlm``, decoder-only
models ``clm``; an objective the architecture has no head for is ``E133``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eccr.errors import ConfigError, InputError, Location, ModelError

__all__ = ["SIZES", "StartingModel", "block_limit", "check_tokenizer_fits", "continue_model", "scratch_model"]

#: Size presets of ``--from-scratch ARCH:SIZE``.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"hidden": 64, "layers": 2, "heads": 2, "intermediate": 256},
    "small": {"hidden": 256, "layers": 4, "heads": 4, "intermediate": 1024},
    "base": {"hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072},
}
_SIZE_KEYS = frozenset({"hidden", "layers", "heads", "intermediate", "max_length"})

#: Class-name endings of checkpoints that carry the objective's head.
HEAD_SUFFIXES = {"mlm": ("ForMaskedLM", "ForPreTraining"), "clm": ("ForCausalLM", "LMHeadModel")}


@dataclass(frozen=True)
class StartingModel:
    """A model ready to pretrain, its tokenizer, objective, and where it came from (for the summary)."""

    model: Any
    tokenizer: Any
    objective: str
    architecture: str
    origin: str  # "scratch:<arch>:<size>" or the parent model


def default_objective(config: Any) -> str:
    """``clm`` for decoder-only architectures, else ``mlm``."""
    from eccr.models.recipes import is_decoder_only

    return "clm" if is_decoder_only(config) else "mlm"


def _auto_class(objective: str, model_type: str) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    names = MODEL_FOR_MASKED_LM_MAPPING_NAMES if objective == "mlm" else MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    if model_type not in names:
        other = "clm" if objective == "mlm" else "mlm"
        raise ConfigError("E133", f"a {model_type} model has no {objective} head; use --objective {other} "
                          "(encoders are pretrained with mlm, decoders with clm)")
    return AutoModelForMaskedLM if objective == "mlm" else AutoModelForCausalLM


def _check_tokenizer_objective(tokenizer: Any, objective: str, name: str) -> None:
    if objective == "mlm" and tokenizer.mask_token_id is None:
        raise ConfigError("E133", f"tokenizer {name} has no mask token, which mlm needs; train an encoder "
                          "tokenizer (eccr pretrain-tokenizer --role encoder) or use --objective clm",
                          Location(file=name))
    if tokenizer.pad_token_id is None:  # GPT-2 style: batches are padded with the end-of-text token
        if tokenizer.eos_token is None:
            raise ConfigError("E133", f"tokenizer {name} has neither a padding nor an end-of-sequence token",
                              Location(file=name))
        tokenizer.pad_token = tokenizer.eos_token


def _sizes(spec: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(size keys, full config dict or None)`` of a preset name or a JSON file."""
    if spec in SIZES:
        return dict(SIZES[spec]), None
    path = Path(spec)
    if not path.is_file():
        raise ConfigError("E133", f"unknown model size {spec!r}; choose one of {', '.join(SIZES)} or give a "
                          "JSON file", Location(file=spec))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError("E133", f"cannot read model size file {path}: {err}", Location(file=str(path))
                         ) from None
    if not isinstance(data, dict):
        raise InputError("E133", f"model size file {path} is not a JSON object", Location(file=str(path)))
    if "model_type" in data:
        return {}, data
    unknown = sorted(set(data) - _SIZE_KEYS)
    if unknown:
        raise ConfigError("E133", f"model size file {path} has unknown keys {unknown}; use "
                          f"{', '.join(sorted(_SIZE_KEYS))} or a transformers config.json",
                          Location(file=str(path)))
    return data, None


def scratch_model(spec: str, tokenizer: Any, *, objective: str | None, block_size: int, seed: int,
                  tokenizer_name: str = "tokenizer") -> StartingModel:
    """A randomly initialised model of ``spec`` (``ARCH[:SIZE]``, default ``small``) for ``tokenizer``."""
    import transformers

    from eccr.models.scratch import ALIASES, ARCHITECTURES, model_config

    name, _, size = spec.partition(":")
    architecture = ALIASES.get(name, name)
    if architecture not in ARCHITECTURES:
        raise ConfigError("E133", f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    sizes, full = _sizes(size or "small")
    limit = getattr(tokenizer, "model_max_length", 512)
    max_length = max(block_size, limit if isinstance(limit, int) and 0 < limit < 10**6 else 512)
    config = model_config(architecture, tokenizer, **{"max_length": max_length, **sizes})
    if full is not None:
        if full["model_type"] != config.model_type:
            raise ConfigError("E133", f"config file {size} is a {full['model_type']} config, not "
                              f"{architecture}", Location(file=size))
        config = type(config).from_dict({**full, "vocab_size": len(tokenizer), **_special_ids(config)})
    objective = objective or default_objective(config)
    auto_class = _auto_class(objective, config.model_type)
    _check_tokenizer_objective(tokenizer, objective, tokenizer_name)
    transformers.set_seed(seed)
    model = auto_class.from_config(config)
    origin = f"scratch:{architecture}:{size or 'small'}"
    return StartingModel(model, tokenizer, objective, architecture, origin)


def _special_ids(config: Any) -> dict[str, Any]:
    return {k: getattr(config, k) for k in ("pad_token_id", "bos_token_id", "eos_token_id")
            if getattr(config, k, None) is not None}


def _check_head(config: Any, objective: str, source: str) -> None:
    architectures = list(getattr(config, "architectures", None) or [])
    if architectures and not any(a.endswith(HEAD_SUFFIXES[objective]) for a in architectures):
        raise ModelError("E136", f"model {source} is a {', '.join(architectures)} checkpoint without the "
                         f"{objective} head continual pretraining needs; start from a "
                         f"{'masked' if objective == 'mlm' else 'causal'}-LM checkpoint (or --from-scratch)",
                         Location(file=source))


def continue_model(source: str, tokenizer_source: str | None, *, objective: str | None, seed: int,
                   trust_remote_code: bool = False) -> StartingModel:
    """The saved LM at ``source`` (directory or hub id) and its tokenizer (``tokenizer_source`` or its own).

    Raises:
        ConfigError: ``E086`` for a missing local path, ``E133`` for an objective the model has no head for.
        ModelError: ``E135`` when it cannot be loaded, ``E136`` when its head for ``objective`` is missing.
    """
    import transformers
    from transformers import AutoConfig

    from eccr.paths import local_or_hub_id
    from eccr.pretrain.tokenizer import load_tokenizer

    source = local_or_hub_id(source, "model")
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise ModelError("E135", f"cannot load a model config from {source}: {err}", Location(file=source)
                         ) from None
    objective = objective or default_objective(config)
    auto_class = _auto_class(objective, config.model_type)
    _check_head(config, objective, source)
    tokenizer_name = tokenizer_source or source
    tokenizer = load_tokenizer(tokenizer_name, trust_remote_code=trust_remote_code)
    _check_tokenizer_objective(tokenizer, objective, str(tokenizer_name))
    transformers.set_seed(seed)
    verbosity = transformers.logging.get_verbosity()
    bars = transformers.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()  # the head check below replaces the "newly initialized" wall
    transformers.logging.disable_progress_bar()  # a local load is instant; its bar would only be noise
    try:
        model, info = auto_class.from_pretrained(source, config=config, output_loading_info=True,
                                                 trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise ModelError("E135", f"cannot load the weights of {source}: {err}", Location(file=source)
                         ) from None
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.logging.enable_progress_bar()
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        raise ModelError("E136", f"model {source} lacks {len(missing)} weights of its {objective} head "
                         f"(e.g. {missing[0]}); they would start random. Start from a "
                         f"{'masked' if objective == 'mlm' else 'causal'}-LM checkpoint",
                         Location(file=source))
    check_tokenizer_fits(model, tokenizer, str(tokenizer_name))
    return StartingModel(model, tokenizer, objective, str(config.model_type), source)


def check_tokenizer_fits(model: Any, tokenizer: Any, name: str) -> None:
    """``E137`` when the tokenizer has ids beyond the model's embedding matrix (not the model's tokenizer)."""
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise ModelError("E137", f"tokenizer {name} has {len(tokenizer)} tokens but the model's embeddings "
                         f"hold {rows}: it is not this model's tokenizer (use the model's own, or "
                         "--extend-vocab to add domain pieces)", Location(file=name))


def block_limit(config: Any) -> int | None:
    """The longest block the model's position embeddings allow (RoBERTa-style offsets subtracted), if any."""
    from eccr.models.recipes import PADDING_OFFSET_MODEL_TYPES

    for name in ("max_position_embeddings", "n_positions"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            if getattr(config, "model_type", None) in PADDING_OFFSET_MODEL_TYPES:
                value -= int(getattr(config, "pad_token_id", None) or 0) + 1
            return value
    return None
