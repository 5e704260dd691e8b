"""Hugging Face plumbing shared by every ``transformers``-based kind (``hf:`` token classification, ``it:``
instruction tuning): training options, loading a config and a model (pretrained or from a config), saving a
self-contained model directory (safetensors, LoRA merged), loading it back, and the main-process test.

The kinds differ in the ``Auto*`` class, the data and the inference; everything here is the same for both
(the tokenizer comes from :func:`eccr.models.hf_tokenizer.load_model_tokenizer`, with its family recipe),
so a fix (a loading error message, the safetensors-only rule, the ``trust_remote_code`` rule) lands once.
Decoder-specific setup (pad token, LoRA, bidirectional attention) is in :mod:`eccr.models.decoders`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eccr.errors import Location, ModelError


class HFTrainingOptions(BaseModel):
    """Options every ``transformers``-based kind takes (``model.options``). Unknown keys are errors.

    Attributes:
        span_label: label of predicted spans when the model is untyped (default: the training corpus's only
            label, else ``concept``).
        learning_rate, epochs, batch_size, grad_accum, weight_decay, seed: as in ``TrainingArguments``
            (``epochs`` is the maximum: early stopping usually ends sooner; the paper uses 10).
        warmup: warm-up, as a fraction of all steps when < 1, else a number of steps.
        patience: epochs without improvement of validation wsm F1 (p = 1) before stopping.
        precision: ``auto`` (bf16, else fp16, on CUDA; fp32 on CPU), ``fp32``, ``bf16`` or ``fp16``.
        lora: ``auto`` (LoRA for decoders, full fine-tuning for encoders), ``true`` or ``false``.
        lora_r, lora_alpha, lora_dropout: LoRA hyper-parameters.
        lora_target_modules: module names, ``all-linear``, or ``null`` for peft's default per architecture.
        lora_modules_to_save: further modules trained fully under LoRA; e.g. ``[embed_tokens]`` for a
            decoder trained from scratch.
        byte_fallback: switch the tokenizer's byte fallback on/off (``null`` keeps it as saved);
            ``false`` reproduces the paper's token-classification setting.
        recipe: the family recipe (:mod:`eccr.models.recipes`); ``null`` selects it from the model type and
            tokenizer class, and the name chosen is recorded here once the model is built.
        trust_remote_code: allow model/tokenizer code from the hub or the model path (off unless asked; when
            loading a saved model only ``load_model(dir, trust_remote_code=...)`` / ``--trust-remote-code``
            decide it, never the directory).
        init: ``pretrained`` weights or ``from_config`` (random initialisation from the config).
        attn_implementation: ``eager``/``sdpa``/… (default: transformers' choice).
        max_train_docs: train on at most this many documents (quick experiments).
        keep_checkpoints: keep the Trainer checkpoints in the run directory after a successful fit (they are
            always written during training so an interrupted run resumes).
        logging_steps: optimizer steps between log records (``metrics.jsonl``).
        progress: show progress bars.
    """

    model_config = ConfigDict(extra="forbid")

    span_label: str | None = None
    learning_rate: float = Field(5e-5, gt=0)
    epochs: int = Field(10, ge=1, le=1000)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    warmup: float = Field(0.1, ge=0)
    seed: int = 0
    patience: int = Field(3, ge=1)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    lora: bool | Literal["auto"] = "auto"
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_target_modules: list[str] | Literal["all-linear"] | None = None
    lora_modules_to_save: list[str] = Field(default_factory=list)
    byte_fallback: bool | None = None
    recipe: str | None = None
    trust_remote_code: bool = False
    init: Literal["pretrained", "from_config"] = "pretrained"
    attn_implementation: str | None = None
    max_train_docs: int | None = Field(None, ge=1)
    keep_checkpoints: bool = False
    logging_steps: int = Field(10, ge=1)
    progress: bool = True

    @field_validator("recipe")
    @classmethod
    def _known_recipe(cls, value: str | None) -> str | None:
        if value is not None:
            from eccr.models.recipes import RECIPES

            if value not in RECIPES:
                raise ValueError(f"unknown recipe {value!r}; choose one of {', '.join(RECIPES)}")
        return value

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every ``from_pretrained``/``from_config`` call gets from these options."""
        extra: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        if self.attn_implementation:
            extra["attn_implementation"] = self.attn_implementation
        return extra


def load_recipe_tokenizer(
    source: str | Path, config: Any, options: HFTrainingOptions, texts: Iterable[Any] = ()
) -> Any:
    """The model's tokenizer with its family recipe, checked against its origin
    (:func:`eccr.models.hf_tokenizer.load_model_tokenizer`); warns when it does not reproduce its reference.

    Returns the :class:`~eccr.models.hf_tokenizer.ModelTokenizer` (tokenizer, recipe, record).
    """
    import warnings

    from eccr.models.hf_tokenizer import load_model_tokenizer
    from eccr.models.recipes import is_decoder_only

    loaded = load_model_tokenizer(
        source,
        model_type=getattr(config, "model_type", None),
        recipe=options.recipe,
        byte_fallback=options.byte_fallback,
        trust_remote_code=options.trust_remote_code,
        texts=texts,
        decoder=is_decoder_only(config),
    )
    if loaded.fidelity is not None and not loaded.fidelity.ok:
        fidelity = loaded.fidelity
        warnings.warn(f"the tokenizer of {source} does not reproduce its reference: "
                      f"{fidelity.describe()}; first difference: {fidelity.first_difference}", stacklevel=3)
    return loaded


def load_config(source: str, options: HFTrainingOptions, **overrides: Any) -> Any:
    """``AutoConfig`` of ``source`` with ``overrides``.

    Raises:
        ModelError: ``E062`` naming ``source`` when there is no loadable config there.
    """
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=options.trust_remote_code, **overrides)
    except (OSError, ValueError) as err:
        raise ModelError("E062", f"cannot load a model config from {source}: {err}", Location(file=source)
                         ) from None


def instantiate(auto_class: Any, source: str, config: Any, tokenizer: Any, options: HFTrainingOptions) -> Any:
    """A model of ``auto_class``: pretrained weights from ``source`` or (``init: from_config``) random ones.

    From a config, the vocabulary is sized to hold every token of ``tokenizer``; pretrained embeddings are
    resized when the tokenizer has more tokens than the weights. The seed is set first, so a from-config
    initialisation is reproducible.

    Raises:
        ModelError: ``E062`` when the weights cannot be loaded.
    """
    import transformers

    transformers.set_seed(options.seed)
    if options.init == "from_config":
        config.vocab_size = max(int(getattr(config, "vocab_size", 0) or 0), len(tokenizer))
        return auto_class.from_config(config, **options.model_kwargs())
    try:
        model = auto_class.from_pretrained(source, config=config, **options.model_kwargs())
    except (OSError, ValueError) as err:
        raise ModelError(
            "E062",
            f"cannot load pretrained weights from {source}: {err}; "
            "use init: from_config to train from scratch",
            Location(file=source),
        ) from None
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    return model


def save_model_dir(model: Any, tokenizer: Any, directory: Path, *, merge_lora: bool = True) -> Any:
    """Weights (safetensors), config and tokenizer into ``directory``; returns the model now in use.

    A peft model is merged into its base first (``merge_lora``), so the directory is a plain model any
    ``transformers`` code loads; with ``merge_lora=False`` only the adapter is written
    (``adapter_model.safetensors`` + ``adapter_config.json``).
    """
    from peft import PeftModel

    if merge_lora and isinstance(model, PeftModel):
        model = model.merge_and_unload()
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return model


def load_model_dir(auto_class: Any, directory: Path, options: HFTrainingOptions) -> Any:
    """The model saved in ``directory`` (safetensors only: eccr never unpickles weights), on GPU if any.

    Raises:
        ModelError: ``E062`` when the weights cannot be loaded.
    """
    import torch

    try:
        model = auto_class.from_pretrained(str(directory), use_safetensors=True, **options.model_kwargs())
    except (OSError, ValueError) as err:
        raise ModelError(
            "E062", f"cannot load the weights in {directory}: {err}", Location(file=str(directory))
        ) from None
    if torch.cuda.is_available():
        model.to("cuda")
    return model.eval()


def process_rank() -> int:
    """This process's rank under ``torch.distributed`` (0 without it): only rank 0 writes files."""
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def progress(items: Sequence[Any], description: str, *, enabled: bool) -> Any:
    """``items`` with a tqdm bar when ``enabled``."""
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=description, total=len(items), leave=False)
