"""The HF ``Trainer`` as eccr uses it: early stopping on validation wsm F1 over character spans.

HF ``Trainer`` runs the loop (optimizer, scheduler, gradient accumulation, mixed precision, DDP,
checkpoints, resume); eccr adds only what the paper's protocol needs:

* :class:`SpanF1Trainer` — ``evaluate`` predicts the validation documents through the model's own
  character-level decoder (windows merged, tokens mapped back to characters) and scores the spans with
  :func:`eccr.metrics.score`; the metric ``eval_wsm_f1`` (weighted soft matching F1 at p = 1) selects the best
  checkpoint and drives :class:`transformers.EarlyStoppingCallback`.
* :func:`training_arguments` — ``TrainingArguments`` from eccr's options (evaluate and save every epoch,
  keep the best, safetensors, bf16/fp16 on GPU when the hardware supports it).
* :func:`last_checkpoint` — the checkpoint to resume from when a run directory was interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainingArguments

#: Name (without the ``eval_`` prefix) of the metric that selects the best epoch: wsm F1 at p = 1.
BEST_METRIC = "wsm_f1"


class SpanF1Trainer(Trainer):
    """A ``Trainer`` whose evaluation is character-span wsm P/R/F1 on the validation documents.

    Args:
        span_evaluator: called with no argument after each epoch; returns metrics without prefix, at least
            ``wsm_f1`` (see :func:`eccr.models.token_classification.TokenClassificationModel`).
        *args, **kwargs: passed to :class:`transformers.Trainer`.
    """

    def __init__(self, *args: Any, span_evaluator: Callable[[], dict[str, float]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.span_evaluator = span_evaluator

    def evaluate(
        self, eval_dataset: Any = None, ignore_keys: list[str] | None = None, metric_key_prefix: str = "eval"
    ) -> dict[str, float]:
        """Score the validation documents; log, notify callbacks (early stopping) and return the metrics."""
        start = time.time()
        was_training = self.model.training
        self.model.eval()
        try:
            values = self.span_evaluator()
        finally:
            self.model.train(was_training)
        metrics = {f"{metric_key_prefix}_{k}": float(v) for k, v in values.items()}
        metrics[f"{metric_key_prefix}_runtime"] = round(time.time() - start, 4)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def mixed_precision(precision: str) -> dict[str, bool]:
    """``bf16``/``fp16`` flags for ``TrainingArguments``: ``auto`` = bf16 (else fp16) on CUDA, fp32 on CPU.

    >>> mixed_precision("fp32")
    {'bf16': False, 'fp16': False}
    """
    if precision == "fp32":
        return {"bf16": False, "fp16": False}
    if precision == "bf16":
        return {"bf16": True, "fp16": False}
    if precision == "fp16":
        return {"bf16": False, "fp16": True}
    import torch

    if not torch.cuda.is_available():
        return {"bf16": False, "fp16": False}
    if torch.cuda.is_bf16_supported():
        return {"bf16": True, "fp16": False}
    return {"bf16": False, "fp16": True}


def training_arguments(
    output_dir: Path,
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    grad_accum: int,
    weight_decay: float,
    warmup: float,
    seed: int,
    precision: str,
    has_validation: bool,
    save_checkpoints: bool,
    logging_steps: int,
    progress: bool,
) -> TrainingArguments:
    """``TrainingArguments`` for one eccr run (evaluate/save per epoch, best model by validation wsm F1)."""
    per_epoch = "epoch" if has_validation else "no"
    save = "epoch" if (save_checkpoints or has_validation) else "no"
    return TrainingArguments(
        output_dir=str(output_dir),
        learning_rate=learning_rate,
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        weight_decay=weight_decay,
        warmup_steps=warmup,
        lr_scheduler_type="linear",
        seed=seed,
        data_seed=seed,
        eval_strategy=per_epoch,
        save_strategy=save,
        save_total_limit=2 if save != "no" else None,
        load_best_model_at_end=has_validation,
        metric_for_best_model=BEST_METRIC if has_validation else None,
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=logging_steps,
        report_to="none",
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        dataloader_pin_memory=_cuda_available(),
        # without CUDA, accelerate runs DDP only when told the run is on CPU (gloo); one process is unaffected
        use_cpu=not _cuda_available(),
        ddp_backend="gloo" if not _cuda_available() and world_size() > 1 else None,
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
        **mixed_precision(precision),
    )


def last_checkpoint(run_dir: Path | None) -> str | None:
    """The newest ``checkpoint-*`` directory in ``run_dir`` (to resume an interrupted run), else ``None``."""
    if run_dir is None or not Path(run_dir).is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(run_dir))


def world_size() -> int:
    """Processes in this run (``WORLD_SIZE`` set by ``torchrun``; 1 without it)."""
    import os

    return int(os.environ.get("WORLD_SIZE", "1"))


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
