"""Tests of ``benchmarks/gpu_token_classification.py``: budget rules (fast) and a CPU smoke run (slow)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_token_classification.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("gpu_token_classification", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


gpu = _load_script()


def test_step_share_divides_what_is_left_equally():
    assert gpu.step_share(540.0, 5) == pytest.approx(108.0)
    assert gpu.step_share(0.0, 3) == 0.0
    with pytest.raises(ValueError):
        gpu.step_share(10.0, 0)


def test_first_step_runs_without_an_estimate_and_later_steps_need_one_fold_to_fit():
    assert gpu.decide_step(540.0, None).run
    assert gpu.decide_step(200.0, 150.0).run
    skipped = gpu.decide_step(100.0, 150.0)
    assert not skipped.run and "150 s" in skipped.reason and "100 s left" in skipped.reason
    assert not gpu.decide_step(0.0, None).run
    assert gpu.decide_step(-3.0, 1.0).reason == "budget spent"


def test_folds_stop_at_the_requested_count_or_when_the_next_would_overrun_the_share():
    # the first fold of a started step always runs, whatever the estimate
    assert gpu.decide_fold(0, 5, 0.0, 10.0, 1000.0).run
    # later folds run while the estimate fits what is left of the share
    assert gpu.decide_fold(1, 5, 30.0, 100.0, 30.0).run
    assert gpu.decide_fold(3, 5, 90.0, 100.0, 30.0).reason.startswith("next fold needs ~30 s")
    assert not gpu.decide_fold(3, 5, 90.0, 100.0, 30.0).run
    stop = gpu.decide_fold(2, 2, 0.0, 1000.0, 1.0)
    assert not stop.run and stop.reason == "ran the 2 folds asked for"


def test_a_simulated_run_never_starts_a_fold_it_expects_to_overrun():
    """Drive the two rules with fixed fold times: every started fold fits its share (except a first)."""
    budget, fold_s, elapsed, ran = 300.0, [40.0, 70.0, 25.0, 25.0], 0.0, []
    estimate = None
    for index, cost in enumerate(fold_s):
        remaining = budget - elapsed
        if not gpu.decide_step(remaining, estimate).run:
            ran.append(0)
            continue
        share, step_elapsed, done = gpu.step_share(remaining, len(fold_s) - index), 0.0, 0
        while gpu.decide_fold(done, 5, step_elapsed, share, estimate if done == 0 else cost).run:
            step_elapsed += cost
            done += 1
        elapsed += step_elapsed
        estimate = step_elapsed / done
        ran.append(done)
    # shares: 300/4 = 75 -> 1 x 40 s; 260/3 = 87 -> 1 x 70 s; 190/2 = 95 -> 3 x 25 s; 115 -> 4 x 25 s
    assert ran == [1, 1, 3, 4]
    assert elapsed <= budget


def test_count_training_tokens_counts_labelled_batches_only_and_restores_the_collator():
    from eccr.pretrain.tokenizer import train_char_tokenizer
    from eccr.training import collator

    original = collator.WindowCollator
    tokenizer = train_char_tokenizer(["発熱と咳嗽", "頭痛"], role="encoder")
    features = [
        {"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [0, 1, 0]},
        {"input_ids": [5], "attention_mask": [1], "labels": [0]},
    ]
    with gpu.count_training_tokens() as counter:
        make = collator.WindowCollator
        assert make is not original
        make(tokenizer)(features)
        make(tokenizer)([{k: v for k, v in f.items() if k != "labels"} for f in features])  # prediction
    assert (counter.tokens, counter.windows, counter.batches) == (4, 2, 1)  # padding is not counted
    assert collator.WindowCollator is original


@pytest.mark.slow
def test_smoke_run_writes_every_step_with_scores_and_throughput(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--corpus", "sample", "--out", str(out),
         "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    names = [s["name"] for s in data["steps"]]
    assert names == ["deberta-base", "llama-causal", "llama-bidir-all", "llama-bidir-top1", "llama-lora"]
    env = data["environment"]
    assert env["device"] and env["torch"] and env["transformers"]
    assert "sample" in data["corpus"]
    for step in data["steps"]:
        assert step["status"] == "ran" and step["folds_run"] == 1
        for p in ("1", "1.5", "2", "100"):
            f1 = step["wsm"][p]["f1"]["mean"]
            assert isinstance(f1, float) and 0.0 <= f1 <= 1.0
        assert isinstance(step["tokens_per_s"], float) and step["tokens_per_s"] > 0
        assert step["train_tokens"] > 0 and math.isfinite(step["wall_s"])
        assert (out / step["name"] / "summary.json").is_file()
    markdown = (out / "results.md").read_text(encoding="utf-8")
    assert all(name in markdown for name in names)
    assert not any(p.name.startswith("checkpoint") for p in out.rglob("*"))  # heavy files stay in --work
