"""Generic table writers: Markdown and CSV from rows."""

from __future__ import annotations

import csv
import io
import math

from eccr.reports.tables import csv_text, markdown_table, mean_sd, write_csv


def test_markdown_table_aligns_numbers_escapes_pipes_and_leaves_missing_cells_empty() -> None:
    rows = [{"name": "a|b", "f1": 0.5, "n": 3}, {"name": "c", "n": 4, "extra": "x"}]
    text = markdown_table(rows, float_format="{:.2f}")
    lines = text.splitlines()
    assert lines[0] == "| name | f1 | n | extra |"
    assert lines[1] == "| --- | ---: | ---: | --- |"
    assert lines[2] == "| a\\|b | 0.50 | 3 |  |"
    assert lines[3] == "| c |  | 4 | x |"
    assert markdown_table([{"x": math.nan}]).splitlines()[2] == "| nan |"


def test_csv_round_trips_values_and_honours_column_order(tmp_path) -> None:
    rows = [{"a": 1, "b": 0.123456789, "c": "日本語,引用"}, {"b": 2}]
    text = csv_text(rows, columns=["c", "b"])
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed == [{"c": "日本語,引用", "b": "0.123456789"}, {"c": "", "b": "2"}]
    path = write_csv(tmp_path / "sub" / "t.csv", rows)
    assert path.read_text(encoding="utf-8") == csv_text(rows)


def test_mean_sd_formats() -> None:
    assert mean_sd(0.7, 0.01) == "0.700 (0.010)"
    assert mean_sd(0.7, None) == mean_sd(0.7, math.nan) == "0.700"
    assert mean_sd(0.71234, 0.0, digits=2) == "0.71 (0.00)"
