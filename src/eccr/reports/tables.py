"""Generic table writers: rows (mappings) to Markdown and CSV, and ``mean (SD)`` cells.

They know nothing about experiments, so paper-style tables, run summaries and grids can all use them.

>>> rows = [{"p": "1", "f1": 0.71234}, {"p": "100", "f1": 0.7}]
>>> print(markdown_table(rows, float_format="{:.3f}"))
| p | f1 |
| --- | ---: |
| 1 | 0.712 |
| 100 | 0.700 |
>>> mean_sd(0.71234, 0.0123)
'0.712 (0.012)'
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _cell(value: Any, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else float_format.format(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    float_format: str = "{:.4f}",
    headers: Mapping[str, str] | None = None,
) -> str:
    """A GitHub-flavoured Markdown table; numeric columns are right-aligned, missing cells empty."""
    cols = _columns(rows, columns)
    names = [(headers or {}).get(c, c) for c in cols]
    numeric = [
        bool(rows)
        and all(isinstance(r.get(c), int | float) for r in rows if r.get(c) is not None)
        and any(r.get(c) is not None for r in rows)
        for c in cols
    ]
    lines = [
        "| " + " | ".join(names) + " |",
        "| " + " | ".join("---:" if num else "---" for num in numeric) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c), float_format) for c in cols) + " |")
    return "\n".join(lines)


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as CSV text (header line first; floats written in full precision)."""
    cols = _columns(rows, columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c) for c in cols})
    return buffer.getvalue()


def write_csv(
    path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> Path:
    """Write rows as CSV to ``path`` (atomically: the old file stays until the new one is complete)."""
    from eccr.atomic import atomic_write_text

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(p, csv_text(rows, columns))


def mean_sd(mean: float, sd: float | None, digits: int = 3) -> str:
    """``mean (SD)`` as papers print it; the SD is omitted when unknown."""
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({sd:.{digits}f})"
