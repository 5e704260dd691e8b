"""How big a token-classification model is and roughly how much accelerator memory it needs.

Nothing here loads weights: the model is built on PyTorch's ``meta`` device from its config, so a 70B
model is counted in a second. Memory figures are **estimates** for planning (which GPU, which batch size),
not measurements:

* weights: parameters × bytes of their dtype (the checkpoint's ``dtype`` in its config, else fp32);
* full fine-tuning (HF Trainer, AdamW, mixed precision keeps fp32 master weights): 16 bytes per parameter
  (fp32 weights 4, gradients 4, two Adam moments 8) plus activations;
* LoRA: the frozen weights in their dtype, 16 bytes per trainable parameter (adapters and the fully trained
  head), plus activations;
* activations of training, per layer (Korthikanti et al. 2022, "Reducing activation recomputation"):
  ``s·b·h·(34 + 5·a·s/h)`` bytes in 16-bit precision for sequence length ``s``, batch ``b``, hidden size
  ``h``, ``a`` heads — doubled in fp32;
* inference: the weights plus the largest transient tensors of one layer, ``b·s·(h + i)`` values for the
  feed-forward (``i`` intermediate size) and ``b·a·s²`` attention scores.

No gradient checkpointing, quantized weights or memory-efficient attention are assumed; each cuts these
figures a lot (a LoRA fine-tuning of a 70B model fits one 80 GB GPU only with such means).

>>> estimate_bytes(110_000_000, hidden=768, layers=12, heads=12, intermediate=3072, seq=512, batch=8,
...                trainable=110_000_000, weight_bytes=4, activation_bytes=2).training / 2**30 > 1.6
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GIB = 2**30


@dataclass(frozen=True)
class Footprint:
    """Parameters of a model and the sizes the estimates need.

    Attributes:
        parameters: all parameters of the token-classification model.
        hidden, layers, heads, intermediate, vocab: sizes read from the config.
        dtype: the checkpoint's weight dtype (``float32`` when the config names none).
        lora_parameters: trainable parameters under LoRA (adapters + head), for the target modules given.
        lora_targets: the modules LoRA adapts (``None``: not computed).
    """

    parameters: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    dtype: str
    lora_parameters: int | None = None
    lora_targets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated bytes: weights, training (weights, gradients, optimizer, activations) and inference."""

    weights: int
    training: int
    activations: int
    inference: int

    def to_dict(self) -> dict[str, float]:
        return {
            name: round(getattr(self, name) / GIB, 3)
            for name in ("weights", "training", "activations", "inference")
        }


_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def dtype_bytes(dtype: str) -> int:
    """Bytes per value of a dtype name (4 when unknown)."""
    return _DTYPE_BYTES.get(str(dtype).replace("torch.", ""), 4)


def _size(config: Any, *names: str, default: int = 0) -> int:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def measure(config: Any, lora_targets: Sequence[str] | None = None, lora_r: int = 8) -> Footprint:
    """Count the parameters of ``AutoModelForTokenClassification`` for ``config`` on the meta device.

    With ``lora_targets`` (module names, or ``all-linear``) also the trainable parameters under LoRA: ``r``
    × (in + out features) per adapted linear layer, plus the classification head.
    """
    import torch
    from transformers import AutoModelForTokenClassification

    with torch.device("meta"):
        model = AutoModelForTokenClassification.from_config(config)
    parameters = sum(p.numel() for p in model.parameters())
    hidden = _size(config, "hidden_size", "n_embd", "d_model")
    heads = _size(config, "num_attention_heads", "n_head")
    lora = None
    if lora_targets is not None:
        lora = _lora_parameters(model, lora_targets, lora_r)
    dtype = str(getattr(config, "dtype", None) or "float32")
    return Footprint(
        parameters,
        hidden,
        _size(config, "num_hidden_layers", "n_layer"),
        heads,
        _size(config, "intermediate_size", "n_inner", default=4 * hidden),
        _size(config, "vocab_size"),
        dtype.replace("torch.", ""),
        lora,
        tuple(lora_targets) if lora_targets is not None else None,
    )


def _lora_parameters(model: Any, targets: Sequence[str], r: int) -> int:
    from torch import nn

    from eccr.models.decoders import HEAD_NAMES

    every_linear = list(targets) == ["all-linear"] or targets == "all-linear"
    total = 0
    head = 0
    for name, module in model.named_modules():
        top = name.split(".")[0]
        if top in HEAD_NAMES:
            head += sum(p.numel() for p in module.parameters(recurse=False))
            continue
        in_features = getattr(module, "in_features", None) or getattr(module, "nx", None)
        out_features = getattr(module, "out_features", None) or getattr(module, "nf", None)
        if in_features is None or out_features is None or not isinstance(module, nn.Module):
            continue
        adapted = isinstance(module, nn.Linear) if every_linear else name.rsplit(".", 1)[-1] in targets
        if adapted:
            total += r * (int(in_features) + int(out_features))
    return total + head


def estimate_bytes(
    parameters: int,
    *,
    hidden: int,
    layers: int,
    heads: int,
    intermediate: int,
    seq: int,
    batch: int,
    trainable: int,
    weight_bytes: int,
    activation_bytes: int,
    inference_batch: int | None = None,
) -> MemoryEstimate:
    """The estimates of the module docstring (``trainable == parameters``: full fine-tuning)."""
    full = trainable >= parameters
    states = 16 * parameters if full else weight_bytes * parameters + 16 * trainable
    heads = max(heads, 1)
    per_layer = seq * batch * hidden * (34 + 5 * heads * seq / max(hidden, 1)) * activation_bytes / 2
    activations = int(per_layer * layers)
    b = inference_batch or batch
    transient = (b * seq * (hidden + intermediate) + b * heads * seq * seq) * activation_bytes
    return MemoryEstimate(
        weight_bytes * parameters,
        int(states + activations),
        activations,
        int(weight_bytes * parameters + transient),
    )
