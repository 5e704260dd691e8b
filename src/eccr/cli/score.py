"""``eccr score``: score predictions against gold with every measure of the paper.

A thin shell over :func:`eccr.metrics.score`; rendering (table, JSON, CSV) lives here. ``--p`` takes
several values (``--p 1 1.5 2 100 inf``, joined by :func:`eccr.cli.common.join_p_values`), a
comma-separated list (``--p 1,1.5,2,100,inf``) or is repeated (``--p 1 --p inf``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import OutputFormat


def parse_p_values(values: list[str] | None) -> tuple[float, ...] | None:
    """``["1,1.5", "inf"]`` -> ``(1.0, 1.5, inf)``; ``None`` or empty -> ``None`` (the default p values)."""
    from eccr.errors import ConfigError
    from eccr.metrics import parse_p

    if not values:
        return None
    out = []
    for value in values:
        for part in value.replace(" ", ",").split(","):
            if part:
                try:
                    out.append(parse_p(part))
                except ValueError:
                    raise ConfigError("E053", f"--p value {part!r} is not a number or 'inf'") from None
    return tuple(out)


def _csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def document_rows(report: Any) -> list[dict[str, Any]]:
    """One row per document, measure and p (``--per-doc`` in CSV and table output), in registry order."""
    from eccr.metrics import format_p

    rows = []
    for doc in report.per_document or ():
        for measure, value in doc.scores.items():
            for p, prf in (value.items() if measure.has_p else [(None, value)]):
                rows.append({"document": doc.doc_id, "measure": measure.name,
                             "p": "" if p is None else format_p(p), **prf.to_dict()})
    return rows


def render_report(report: Any, fmt: OutputFormat) -> str:
    """The report as JSON (:meth:`ScoreReport.to_dict`), CSV rows or a plain-text table."""
    if fmt is OutputFormat.json:
        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    rows = report.rows()
    if fmt is OutputFormat.csv:
        text = _csv(rows)
        if report.per_document is not None:
            text += "\n" + _csv(document_rows(report))
        return text
    text = render_table(rows, f"{report.documents} documents, {report.gold_spans} gold and "
                              f"{report.pred_spans} predicted spans{' (typed)' if report.typed else ''}")
    if report.per_document:
        text += "\n" + render_table(document_rows(report), "per-document scores")
    return text


def render_table(rows: list[dict[str, Any]], caption: str) -> str:
    """A fixed-width text table of score rows (rich renders it; also readable when piped)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(caption=caption, show_edge=False)
    columns = [key for key in rows[0] if key not in ("precision", "recall", "f1")] if rows else []
    for key in columns:
        table.add_column(key)
    for key in ("precision", "recall", "f1"):
        table.add_column(key, justify="right")
    for row in rows:
        scores = (f"{row[k]:.4f}" for k in ("precision", "recall", "f1"))
        table.add_row(*(str(row[k]) for k in columns), *scores)
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def command(
    gold: Annotated[Path, typer.Argument(help="Gold corpus (any format eccr reads).")],
    pred: Annotated[Path, typer.Argument(help="Predictions on the same documents (matched by id).")],
    p: Annotated[list[str] | None, typer.Option("--p", help="Hölder p values: '1,1.5,2,100,inf' or "
                                                          "repeated. Default 1,1.5,2,100.")] = None,
    by_length: Annotated[bool, typer.Option("--by-length", help="Add the span-length strata.")] = False,
    per_doc: Annotated[bool, typer.Option("--per-doc", help="Add per-document scores.")] = False,
    tokenizer: Annotated[str | None, typer.Option(
        "--tokenizer", help="Token score: 'char', 'simple', or a Hugging Face tokenizer id/path.")] = None,
    typed: Annotated[bool, typer.Option("--typed", help="Compare spans per label.")] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the output to a file.")] = None,
    gold_format: Annotated[str | None, typer.Option("--gold-format", help="Gold format (default: extension).")
                           ] = None,
    pred_format: Annotated[str | None, typer.Option("--pred-format", help="Pred format (default: extension).")
                           ] = None,
    select: Annotated[str | None, typer.Option(
        "--select", help="Span selector applied to GOLD, e.g. 'd[certainty=positive]'.")] = None,
    pred_select: Annotated[str | None, typer.Option(
        "--pred-select", help="Span selector applied to PRED (default: keep every predicted span).")] = None,
    allow_missing: Annotated[bool, typer.Option(
        "--allow-missing", help="Score gold documents without predictions as predicting nothing.")] = False,
    zero_division: Annotated[float, typer.Option("--zero-division", help="Value of an undefined ratio.")
                             ] = 0.0,
    paired: Annotated[Path | None, typer.Option(
        "--paired", help="A second predictions file or cv run directory: also print PRED − PAIRED with CI "
                     "and p-value (as eccr compare PRED PAIRED --gold GOLD).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the paired bootstrap and test.")] = 0,
) -> None:
    """Score PRED against GOLD with every measure: weighted soft matching, marker, character, token (with
    --tokenizer), exact and JMED-LLM scores."""
    from eccr.cli.common import console
    from eccr.corpus.io import read_corpus
    from eccr.metrics import DEFAULT_P, score

    p_values = parse_p_values(p) or DEFAULT_P
    gold_corpus = read_corpus(gold, gold_format, select=select)
    pred_corpus = read_corpus(pred, pred_format, select=pred_select)
    from eccr.experiments.runner import warn_if_no_spans

    warn_if_no_spans(gold_corpus, "scoring against gold")
    report = score(gold_corpus, pred_corpus, p=p_values, typed=typed, tokenizer=tokenizer,
                   by_length=by_length, per_document=per_doc, zero_division=zero_division,
                   allow_missing=allow_missing)
    text = render_report(report, fmt)
    if paired is not None:
        from eccr.cli.compare import render_comparison
        from eccr.experiments.runs import compare_runs

        comparison = compare_runs(pred, paired, gold, p=p_values[0], typed=typed, gold_format=gold_format,
                                  pred_format=pred_format, select=select, pred_select=pred_select,
                                  allow_missing=allow_missing, seed=seed, zero_division=zero_division)
        from eccr.cli.common import err_console

        for warning in comparison.warnings:
            err_console.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
        if fmt is OutputFormat.json:
            data = report.to_dict()
            data["paired"] = comparison.to_dict()
            text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        else:
            text += render_comparison(comparison, fmt)
    if output is not None:
        from eccr.corpus.output import write_text_output

        write_text_output(output, text)
        console.print(f"wrote {output}", highlight=False, markup=False)
    else:
        typer.echo(text, nl=False)
