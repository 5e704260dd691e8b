"""Loss curves of pretraining: training and validation loss by optimizer step (the paper's Figures S1–S2).

The ``Trainer``'s log history (kept in every checkpoint, so a resumed run continues its curve) holds one
record per logging step (``loss``, ``learning_rate``) and one per evaluation (``eval_loss``), including the
evaluation at step 0 that :func:`eccr.pretrain.run.pretrain` runs before the first update. :func:`loss_rows`
merges them by step; :func:`write_loss_csv` writes ``step,epoch,train_loss,validation_loss,learning_rate``
(empty cells where a step has no such value) and :func:`write_loss_plot` the PNG (matplotlib, Agg backend,
no display needed). Both write atomically.

>>> rows = loss_rows([{"step": 0, "eval_loss": 7.0}, {"step": 10, "epoch": 0.5, "loss": 6.0,
...                   "learning_rate": 1e-4}, {"step": 10, "eval_loss": 5.5}])
>>> [(r.step, r.train_loss, r.validation_loss) for r in rows]
[(0, None, 7.0), (10, 6.0, 5.5)]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eccr.atomic import atomic_path, atomic_write_text

__all__ = ["LossRow", "loss_rows", "write_loss_csv", "write_loss_plot"]

CSV_COLUMNS = ("step", "epoch", "train_loss", "validation_loss", "learning_rate")


@dataclass(frozen=True)
class LossRow:
    """Losses logged at one optimizer step (``None`` where nothing was logged)."""

    step: int
    epoch: float | None = None
    train_loss: float | None = None
    validation_loss: float | None = None
    learning_rate: float | None = None


def loss_rows(log_history: Iterable[Mapping[str, Any]]) -> list[LossRow]:
    """The log history merged by step, in step order; a later value at the same step wins."""
    rows: dict[int, LossRow] = {}
    for record in log_history:
        if "step" not in record:
            continue
        step = int(record["step"])
        row = rows.get(step, LossRow(step))
        changes: dict[str, Any] = {}
        if "loss" in record:
            changes["train_loss"] = float(record["loss"])
        if "eval_loss" in record:
            changes["validation_loss"] = float(record["eval_loss"])
        if "learning_rate" in record:
            changes["learning_rate"] = float(record["learning_rate"])
        if record.get("epoch") is not None:
            changes["epoch"] = float(record["epoch"])
        if changes:
            rows[step] = replace(row, **changes)
    return [rows[step] for step in sorted(rows)]


def write_loss_csv(path: str | Path, rows: Sequence[LossRow]) -> Path:
    """``step,epoch,train_loss,validation_loss,learning_rate`` per row, empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if getattr(row, c) is None else getattr(row, c) for c in CSV_COLUMNS])
    return atomic_write_text(path, buffer.getvalue())


def write_loss_plot(path: str | Path, rows: Sequence[LossRow], *, title: str = "pretraining loss") -> Path:
    """Training and validation loss against the optimizer step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    try:
        for name, label, style in (("train_loss", "training", "-"), ("validation_loss", "validation", "o-")):
            points = [(r.step, getattr(r, name)) for r in rows if getattr(r, name) is not None]
            if points:
                axes.plot(*zip(*points, strict=True), style, label=label, markersize=3)
        axes.set_xlabel("optimizer step")
        axes.set_ylabel("loss")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        target = Path(path)
        with atomic_path(target) as tmp:
            figure.savefig(tmp, format="png")
    finally:
        plt.close(figure)
    return target
