"""``eccr agreement RUN_DIR``: does an instruction-tuned model write its input back? (paper Table S18)"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from eccr.cli.common import OutputFormat


def command(
    run_dir: Annotated[Path, typer.Argument(help="An `eccr cv --model it:…` run directory.")],
    format: Annotated[OutputFormat, typer.Option("--format", help="How to print the table.")] = (
        OutputFormat.table
    ),
    write: Annotated[
        bool, typer.Option("--write/--no-write", help="Also write agreement.md and .json in RUN_DIR.")
    ] = True,
) -> None:
    """Does an it: model write its input back? The paper's agreement table (Table S18) for a cv run.

    Exact-match rate after removing @@/##, and over mismatches the mean SequenceMatcher ratio, Levenshtein
    distance and length difference; per fold and mean (SD) across folds.
    """
    from eccr.cli.common import console, err_console
    from eccr.models.instruction.agreement import AGREEMENT_MD, agreement

    report = agreement(run_dir)
    if write:
        report.write(run_dir)
    if format is OutputFormat.json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    elif format is OutputFormat.csv:
        from eccr.reports.tables import csv_text

        sys.stdout.write(csv_text(report.rows()))
    else:
        from rich.table import Table

        rows = report.rows()
        table = Table(title=f"Input–output agreement ({sum(f.sentences for f in report.folds)} sentences)")
        for name in rows[0]:
            table.add_column(name, justify="left" if name == "measure" else "right", no_wrap=True)
        for row in rows:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
        if write:
            err_console.print(f"wrote {run_dir / AGREEMENT_MD}", highlight=False)
