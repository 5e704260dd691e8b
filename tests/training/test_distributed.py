"""DDP on CPU: ``eccr train`` under ``torchrun --nproc_per_node 2`` (gloo) without code changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eccr.data import SAMPLE_PATH


@pytest.mark.slow
def test_eccr_train_under_torchrun_with_two_cpu_processes(tiny_model_dir, tmp_path):
    out = tmp_path / "model"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29531",
        "-m",
        "eccr",
        "train",
        str(SAMPLE_PATH),
        "--out",
        str(out),
        "--model",
        f"hf:{tiny_model_dir('deberta-v2')}",
        "--set",
        "model.options.init=from_config",
        "--set",
        "model.options.epochs=2",
        "--set",
        "model.options.batch_size=4",
        "--set",
        "model.options.progress=false",
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Could not locate the best model" not in result.stderr + result.stdout
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    evals = [r for r in log if "eval_wsm_f1" in r]
    # 32 training documents, 2 processes x batch 4 -> 4 optimizer steps per epoch (8 on one process);
    # only the main process writes the log, so each epoch is logged once
    assert [(r["epoch"], r["step"]) for r in evals] == [(1.0, 4), (2.0, 8)]
    from eccr.models.base import load_model

    model = load_model(out)
    assert model.predict_text("発熱と咳嗽を認めた。") is not None
