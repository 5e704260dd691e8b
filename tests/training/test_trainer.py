"""Training arguments, precision choice and checkpoint discovery."""

from __future__ import annotations

import pytest

from eccr.training.trainer import BEST_METRIC, last_checkpoint, mixed_precision, training_arguments


def test_auto_precision_is_fp32_on_cpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert mixed_precision("auto") == {"bf16": False, "fp16": False}
    assert mixed_precision("bf16") == {"bf16": True, "fp16": False}


def arguments(tmp_path, **changes):
    values = dict(
        learning_rate=1e-4,
        epochs=10,
        batch_size=4,
        grad_accum=2,
        weight_decay=0.0,
        warmup=0.1,
        seed=7,
        precision="fp32",
        has_validation=True,
        save_checkpoints=True,
        logging_steps=5,
        progress=False,
    )
    return training_arguments(tmp_path, **{**values, **changes})


def test_validation_selects_the_best_epoch_by_wsm_f1(tmp_path):
    args = arguments(tmp_path)
    assert args.eval_strategy == "epoch" and args.save_strategy == "epoch"
    assert (
        args.load_best_model_at_end and args.metric_for_best_model == BEST_METRIC and args.greater_is_better
    )
    assert args.gradient_accumulation_steps == 2 and args.seed == 7
    assert args.report_to in ([], ["none"], "none")  # no TensorBoard/W&B unless configured


def test_without_validation_every_epoch_runs_and_checkpoints_still_save(tmp_path):
    args = arguments(tmp_path, has_validation=False)
    assert args.eval_strategy == "no" and not args.load_best_model_at_end and args.save_strategy == "epoch"


def test_last_checkpoint_is_the_newest(tmp_path):
    assert last_checkpoint(tmp_path / "missing") is None
    assert last_checkpoint(tmp_path) is None
    for step in (5, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path).endswith("checkpoint-10")


def test_warmup_is_a_fraction_below_one_else_a_number_of_steps(tmp_path):
    assert arguments(tmp_path, warmup=0.1).get_warmup_steps(200) == 20
    assert arguments(tmp_path, warmup=30.0).get_warmup_steps(200) == 30
    assert arguments(tmp_path, warmup=0.0).get_warmup_steps(200) == 0
