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


def run_training(
    model: Any,
    train_features: Any,
    *,
    collator: Any,
    options: Any,
    run_dir: Path | None,
    evaluator: Callable[[], dict[str, float]] | None,
    eval_items: Any = None,
) -> Any:
    """Train ``model`` the eccr way and return it, in eval mode, with the best epoch's weights.

    The one training loop of every ``transformers``-based kind: HF ``Trainer`` (:class:`SpanF1Trainer`)
    with :func:`training_arguments` from ``options`` (an :class:`~eccr.models.hf_common.HFTrainingOptions`),
    ``metrics.jsonl`` in ``run_dir``, early stopping on ``evaluator``'s ``wsm_f1`` when there is one, and
    checkpoints in ``run_dir/checkpoints`` — resumed from when an interrupted run left some, removed after
    success unless ``options.keep_checkpoints``. Without ``run_dir`` a temporary directory is used (refused
    under several processes, which must share one).

    Args:
        model: the model to train (peft-wrapped or not).
        train_features: the training dataset (a list of feature dicts).
        collator: batches features into tensors.
        options: learning rate, epochs, batch size… (see :func:`training_arguments`).
        run_dir: where logs and checkpoints go.
        evaluator: returns validation metrics (at least ``wsm_f1``) for the current weights, or ``None``.
        eval_items: what the evaluator scores (the Trainer only checks that there is something).
    """
    import shutil
    import tempfile

    from transformers import EarlyStoppingCallback, PrinterCallback

    from eccr.errors import ConfigError
    from eccr.training.callbacks import MetricsLogCallback

    if run_dir is None and world_size() > 1:
        raise ConfigError(
            "E045",
            "distributed training needs a run directory shared by all processes "
            "(fit(..., run_dir=DIR); eccr train/cv pass one)",
        )
    temporary = tempfile.mkdtemp(prefix="eccr-train-") if run_dir is None else None
    run_dir = Path(temporary) if temporary is not None else Path(run_dir)  # type: ignore[arg-type]
    checkpoints = run_dir / "checkpoints"
    has_validation = evaluator is not None
    args = training_arguments(
        checkpoints,
        learning_rate=options.learning_rate,
        epochs=options.epochs,
        batch_size=options.batch_size,
        grad_accum=options.grad_accum,
        weight_decay=options.weight_decay,
        warmup=options.warmup,
        seed=options.seed,
        precision=options.precision,
        has_validation=has_validation,
        save_checkpoints=True,
        logging_steps=options.logging_steps,
        progress=options.progress,
    )
    callbacks: list[Any] = [MetricsLogCallback(run_dir)]
    if has_validation:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=options.patience))
    trainer = SpanF1Trainer(
        model=model,
        args=args,
        train_dataset=train_features,
        eval_dataset=(eval_items or [None]) if has_validation else None,
        data_collator=collator,
        callbacks=callbacks,
        span_evaluator=evaluator or (lambda: {}),
    )
    if not options.progress:  # no bars and no printed log dicts; metrics.jsonl still has every record
        trainer.remove_callback(PrinterCallback)
    try:
        trainer.train(resume_from_checkpoint=last_checkpoint(checkpoints))
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    trained = trainer.model
    trained.eval()
    trainer.accelerator.wait_for_everyone()  # DDP: every process has loaded the best checkpoint
    if temporary is None and not options.keep_checkpoints and trainer.is_world_process_zero():
        shutil.rmtree(checkpoints, ignore_errors=True)
    return trained
