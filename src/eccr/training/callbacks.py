"""Trainer callbacks: the ``metrics.jsonl`` log of a training run.

Every time the ``Trainer`` logs (training loss, learning rate, validation wsm F1 …), one JSON object is
appended to ``<run_dir>/metrics.jsonl`` with the global step and epoch, so a run can be followed and
plotted without TensorBoard. Only the main process writes (under DDP every process logs the same values).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

METRICS_LOG = "metrics.jsonl"


class MetricsLogCallback(TrainerCallback):
    """Appends each ``Trainer`` log record to ``metrics.jsonl`` in ``run_dir``.

    Each line is ``{"step": int, "epoch": float, "time": unix seconds, **logs}``.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / METRICS_LOG

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time(), 3)}
        record.update({k: v for k, v in logs.items() if isinstance(v, int | float | str | bool)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_metrics_log(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``<run_dir>/metrics.jsonl`` (empty when the file does not exist)."""
    path = Path(run_dir) / METRICS_LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
