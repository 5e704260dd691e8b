"""MetricsLogCallback: one JSON line per log record, only from the main process."""

from __future__ import annotations

from types import SimpleNamespace

from eccr.training.callbacks import METRICS_LOG, MetricsLogCallback, read_metrics_log


def test_appends_one_record_per_log(tmp_path):
    callback = MetricsLogCallback(tmp_path)
    state = SimpleNamespace(is_world_process_zero=True, global_step=3, epoch=1.0)
    callback.on_log(None, state, None, logs={"loss": 0.5, "note": object()})
    callback.on_log(None, state, None, logs={"eval_wsm_f1": 0.75})
    records = read_metrics_log(tmp_path)
    assert [r.get("loss") for r in records] == [0.5, None]
    assert records[1]["eval_wsm_f1"] == 0.75 and records[1]["step"] == 3 and "note" not in records[0]


def test_other_processes_do_not_write(tmp_path):
    callback = MetricsLogCallback(tmp_path)
    callback.on_log(
        None, SimpleNamespace(is_world_process_zero=False, global_step=1, epoch=0.5), None, logs={"loss": 1.0}
    )
    assert not (tmp_path / METRICS_LOG).exists() and read_metrics_log(tmp_path) == []
