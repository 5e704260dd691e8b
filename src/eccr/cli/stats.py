"""``eccr stats CORPUS``: documents, characters, spans, labels and the paper's span-length histogram.

A shell over :meth:`eccr.corpus.Corpus.stats`. ``--format json`` prints exactly the keys ``documents``,
``characters``, ``spans``, ``labels`` and ``length_bins`` (``"1-2" "3-6" "7-10" "11-20" ">=21"``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer

from eccr.cli.common import OutputFormat, console, emit_problems
from eccr.cli.convert import FromOpt, LenientOpt, ReportOpt, SelectOpt

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]


def render_stats(stats: object, fmt: OutputFormat, title: str = "") -> str:
    """The statistics as JSON (:meth:`CorpusStats.to_dict`) or a plain-text table."""
    from eccr.corpus.types import CorpusStats

    assert isinstance(stats, CorpusStats)
    data = stats.to_dict()
    if fmt is OutputFormat.json:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt is OutputFormat.csv:
        rows = [(key, data[key]) for key in ("documents", "characters", "spans")]
        rows += [(f"label:{k}", v) for k, v in data["labels"].items()]
        rows += [(f"length:{k}", v) for k, v in data["length_bins"].items()]
        # csv quotes a label holding a comma or a quote ("d,x" stays one field); "\n" line ends on every OS
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("key", "value"))
        writer.writerows(rows)
        return buffer.getvalue()
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # a corpus path or label is data, not markup: "[x]" in it must print as written
    table = Table(title=Text(title) if title else None, show_header=True, header_style="bold")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("share", justify="right")
    for key in ("documents", "characters", "spans"):
        table.add_row(key, f"{data[key]:,}", "")
    spans = max(data["spans"], 1)
    for label, count in data["labels"].items():
        table.add_row(Text(f"label {label}"), f"{count:,}", f"{count / spans:.1%}")
    for name, count in data["length_bins"].items():
        table.add_row(f"length {name}", f"{count:,}", f"{count / spans:.1%}")
    capture = Console(width=100, record=True, file=io.StringIO())
    capture.print(table)
    return capture.export_text()


def command(
    corpus: Annotated[Path, typer.Argument(help="Corpus file or directory.")],
    from_format: FromOpt = None,
    select: SelectOpt = None,
    format: FormatOpt = OutputFormat.table,
    lenient: LenientOpt = False,
    report: ReportOpt = None,
) -> None:
    """Print corpus statistics (documents, characters, spans, labels, span-length bins)."""
    from eccr.corpus.io import read_corpus
    from eccr.errors import ProblemReport

    problems = ProblemReport(lenient=lenient)
    data = read_corpus(corpus, from_format, select=select, report=problems)
    emit_problems(problems, report)
    title = f"{corpus}" + (f" --select {select}" if select else "")
    console.print(render_stats(data.stats(), format, title), end="", highlight=False, markup=False,
                  soft_wrap=True)
