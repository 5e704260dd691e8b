"""The training loop of :func:`eccr.pretrain.run.pretrain`: Hugging Face ``Trainer`` with eccr's settings.

* ``TrainingArguments`` (:func:`pretraining_arguments`): evaluation and checkpoints every so many optimizer
  steps, linear schedule with warm-up, gradient accumulation, mixed precision where the GPU has it
  (:func:`eccr.training.trainer.mixed_precision`), tokens counted without padding, the progress bar.
* **Step 0**: the validation loss of the untrained (or parent) model is measured before the first update
  and put at the head of the log history (:class:`InitialEvaluation`), where checkpoints keep it: the
  curve starts at the model's starting point, also after a resume.
* **Resume**: from the newest checkpoint of the work directory; model, optimizer, scheduler, RNG states, step
  count and log history continue.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainerCallback, TrainingArguments

__all__ = ["InitialEvaluation", "TrainOutcome", "pretraining_arguments", "train_model"]


@dataclass(frozen=True)
class TrainOutcome:
    """What the run did (for the summary)."""

    global_step: int
    epoch: float | None
    tokens_seen: int
    session_tokens: int
    initial_validation_loss: float | None
    final_validation_loss: float | None
    train_runtime: float | None
    wall_time: float
    log_history: tuple[Mapping[str, Any], ...]
    device: str
    world_size: int
    precision: str
    resumed_from: str | None
    is_main_process: bool


class InitialEvaluation(TrainerCallback):
    """Puts the step-0 evaluation at the head of a fresh run's log history (a resumed run already has it)."""

    def __init__(self, metrics: Mapping[str, Any] | None) -> None:
        self.metrics = dict(metrics) if metrics else None
        self.tokens_at_start = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.tokens_at_start = int(state.num_input_tokens_seen or 0)  # a resumed run counted some already
        if self.metrics is not None and state.global_step == 0:
            state.log_history.insert(0, {**self.metrics, "epoch": 0.0, "step": 0})


def pretraining_arguments(work_dir: Path, options: Any, *, learning_rate: float) -> TrainingArguments:
    """``TrainingArguments`` of a run (``options``: :class:`~eccr.pretrain.run.PretrainOptions`)."""
    from eccr.training.trainer import _cuda_available, mixed_precision, world_size

    cuda = _cuda_available()
    return TrainingArguments(
        output_dir=str(work_dir),
        max_steps=options.steps if options.steps is not None else -1,
        num_train_epochs=options.epochs,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size,
        gradient_accumulation_steps=options.grad_accum,
        learning_rate=learning_rate,
        weight_decay=options.weight_decay,
        warmup_steps=options.warmup_ratio,  # a float below 1 is a share of all steps
        lr_scheduler_type="linear",
        seed=options.seed,
        data_seed=options.seed,
        eval_strategy="steps",
        eval_steps=options.eval_steps,
        save_strategy="steps",
        save_steps=options.save_steps or options.eval_steps,
        save_total_limit=options.save_total_limit,
        logging_strategy="steps",
        logging_steps=options.logging_steps,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=not options.progress,
        dataloader_num_workers=0,
        dataloader_pin_memory=cuda,
        use_cpu=not cuda,
        ddp_backend="gloo" if not cuda and world_size() > 1 else None,
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
        **mixed_precision(options.precision),
    )


def _precision(args: TrainingArguments) -> str:
    return "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"


def train_model(start: Any, train: Sequence[Any], validation: Sequence[Any], work_dir: Path, options: Any, *,
                checkpoint: str | None = None, callbacks: Sequence[Any] = ()) -> TrainOutcome:
    """Train ``start.model`` on the train examples, evaluating on the (frozen) validation examples.

    Args:
        start: :class:`~eccr.pretrain.models.StartingModel`.
        train: training examples (``{"input_ids"}`` / ``word_ids``); masked on the fly.
        validation: validation examples with their ``labels`` already drawn.
        work_dir: checkpoints go here.
        options: :class:`~eccr.pretrain.run.PretrainOptions`.
        checkpoint: resume from this checkpoint.
        callbacks: extra trainer callbacks.
    """
    from eccr.pretrain.masking import make_collator

    began = time.perf_counter()
    learning_rate = options.learning_rate or (5e-4 if options.from_scratch is not None else 5e-5)
    args = pretraining_arguments(work_dir, options, learning_rate=learning_rate)
    collator = make_collator(start.tokenizer, start.objective, mlm_probability=options.mlm_probability,
                             whole_word_mask=options.whole_word_mask)
    trainer = Trainer(model=start.model, args=args, train_dataset=list(train), eval_dataset=list(validation),
                      data_collator=collator, processing_class=start.tokenizer, callbacks=list(callbacks))
    if not options.progress:  # without the bar the Trainer prints every log record; quiet means quiet
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    initial = None if checkpoint is not None else trainer.evaluate()
    starter = InitialEvaluation(initial)
    trainer.add_callback(starter)
    output = trainer.train(resume_from_checkpoint=checkpoint)
    final = trainer.evaluate()
    history = tuple(dict(record) for record in trainer.state.log_history)
    first = next((r["eval_loss"] for r in history if r.get("step") == 0 and "eval_loss" in r), None)
    return TrainOutcome(
        global_step=int(trainer.state.global_step),
        epoch=float(trainer.state.epoch) if trainer.state.epoch is not None else None,
        tokens_seen=int(trainer.state.num_input_tokens_seen or 0),
        session_tokens=int(trainer.state.num_input_tokens_seen or 0) - starter.tokens_at_start,
        initial_validation_loss=float(first) if first is not None else None,
        final_validation_loss=float(final["eval_loss"]) if "eval_loss" in final else None,
        train_runtime=float(output.metrics.get("train_runtime", 0.0)) or None,
        wall_time=time.perf_counter() - began,
        log_history=history,
        device=str(args.device),
        world_size=int(args.world_size),
        precision=_precision(args),
        resumed_from=Path(checkpoint).name if checkpoint else None,
        is_main_process=trainer.is_world_process_zero(),
    )
