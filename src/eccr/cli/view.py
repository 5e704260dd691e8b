"""``eccr view RUN_DIR [--out report.html]``: one self-contained HTML page to read a run's errors.

Every document with gold, predicted and overlapping spans in distinct colours, its weighted soft matching
P/R/F1, missed and fragmented concepts highlighted; sorting, filters, a search box and keyboard navigation.
The page needs no network to open. See :mod:`eccr.reports.viewer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def command(
    run: Annotated[Path, typer.Argument(
        help="An eccr cv run directory (or a predictions file with --gold).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="The HTML file to write (default RUN_DIR/view.html).")] = None,
    gold: Annotated[Path | None, typer.Option(
        "--gold", help="Gold corpus (default: the run's gold.jsonl).")] = None,
    p: Annotated[str, typer.Option("--p", help="Hölder p of the scores shown (a number or 'inf').")] = "1",
) -> None:
    """Write an HTML page showing gold vs predicted spans for every document of a run."""
    from eccr.cli.common import err_console
    from eccr.errors import ConfigError
    from eccr.metrics import parse_p
    from eccr.reports.viewer import write_viewer

    try:
        p_value = parse_p(p)
    except ValueError:
        raise ConfigError("E053", f"--p value {p!r} is not a number or 'inf'") from None
    path = write_viewer(run, out, gold=gold, p=p_value)
    err_console.print(f"wrote {path}", highlight=False)
