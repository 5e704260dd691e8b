"""``it:`` under ``torchrun --nproc_per_node 2`` (gloo, CPU) without code changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eccr.data import SAMPLE_PATH


@pytest.mark.slow
def test_eccr_train_it_under_torchrun_with_two_cpu_processes(tiny_causal_lm_dir, tmp_path):
    out = tmp_path / "model"
    options = {"init": "from_config", "epochs": 2, "batch_size": 4, "progress": "false", "max_train_docs": 8,
               "eval_max_sentences": 4, "new_tokens_extra": 2}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_port", "29547", "-m", "eccr", "train", str(SAMPLE_PATH), "--out", str(out),
               "--model", f"it:{tiny_causal_lm_dir('llama')}"]
    for key, value in options.items():
        command += ["--set", f"model.options.{key}={value}"]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    evals = [r for r in log if "eval_wsm_f1" in r]
    assert [r["epoch"] for r in evals] == [1.0, 2.0]  # logged once per epoch, by the main process
    data = json.loads((out / "instruction-data.json").read_text(encoding="utf-8"))
    assert data["train"]["documents"] == 8
    from eccr.models.base import load_model

    assert load_model(out).predict_text("発熱と咳嗽を認めた。") is not None
