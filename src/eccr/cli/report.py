"""``eccr report RUN_DIR... [--format md|csv|latex|html] [--out DIR]``: the paper's tables and figures.

A thin shell over :func:`eccr.reports.build_report`: prints the Table-2 style table of each corpus and
writes every table, ``report.json`` and the plots into ``--out``.
"""

from __future__ import annotations

from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer


class ReportFormat(StrEnum):
    md = "md"
    csv = "csv"
    latex = "latex"
    html = "html"


@contextmanager
def _progress(enabled: bool) -> Any:
    """A rich progress bar on stderr as a ``hook(description, done, total)`` (``None`` when disabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from eccr.cli.common import err_console

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def hook(description: str, done: int, total: int) -> None:
            kind = description.split(" ", 1)[0]
            if kind not in tasks:
                tasks[kind] = bar.add_task(description, total=total)
            bar.update(tasks[kind], description=description, completed=done, total=total)

        yield hook


def command(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="eccr cv run directories, or folders holding them (e.g. an experiment's output).",
            show_default=False,
            metavar="RUN_DIR...",
        ),
    ],
    fmt: Annotated[
        list[ReportFormat] | None,
        typer.Option(
            "--format", "-f", help="Repeat for several (default md). report.json is always written."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory (replaced if it holds an earlier report).")
    ] = Path("report"),
    p: Annotated[
        list[str] | None,
        typer.Option(
            "--p", help="Hölder p values, e.g. '1 1.5 2 100' (default: those the runs were scored with)."
        ),
    ] = None,
    tokenizer: Annotated[
        str,
        typer.Option(
            "--tokenizer",
            help="Tokenizer of the token segment score: simple, char, a Hugging Face id/path, or none.",
        ),
    ] = "simple",
    typed: Annotated[bool, typer.Option("--typed", help="Compare spans per label.")] = False,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Row label of each run, in the order the runs are found (repeat)."),
    ] = None,
    test_measure: Annotated[
        str, typer.Option("--test-measure", help="Measure of the paired tests and per-document table.")
    ] = "wsm",
    test_p: Annotated[str | None, typer.Option("--test-p", help="Its p (default: the first p).")] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples.")] = 1000,
    permutations: Annotated[
        int | None,
        typer.Option(
            "--permutations",
            help="Randomisation rounds (default: max(1000, 40 × pairs), so that Holm-adjusted p can fall "
            "below 0.05).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and the tests.")] = 0,
    no_plots: Annotated[
        bool, typer.Option("--no-plots", help="Skip the figures (no matplotlib needed).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no table on stdout.")
    ] = False,
) -> None:
    """Tables (Table 2 style, S1–S3, length strata, per document, pooled CIs, paired tests) and plots over
    finished `eccr cv` runs, grouped by corpus and model family."""
    from eccr.cli.common import err_console
    from eccr.cli.score import parse_p_values
    from eccr.errors import ConfigError
    from eccr.metrics import parse_p
    from eccr.reports import build_report, main_table_markdown

    chosen_p = None
    if test_p is not None:
        try:
            chosen_p = parse_p(test_p)
        except ValueError:
            raise ConfigError("E147", f"--test-p {test_p!r} is not a number or 'inf'") from None
    with _progress(not quiet) as hook:
        report = build_report(
            run_dirs,
            out,
            formats=tuple(dict.fromkeys(str(f) for f in fmt or ["md"])),
            plots=not no_plots,
            p=parse_p_values(p),
            tokenizer=None if tokenizer.lower() == "none" else tokenizer,
            typed=typed,
            labels=label,
            test_measure=test_measure,
            test_p=chosen_p,
            n_resamples=resamples,
            n_permutations=permutations,
            seed=seed,
            progress=hook,
        )
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    if not quiet:
        typer.echo(main_table_markdown(report))
    documents = [f for f in report.files if f.suffix in (".md", ".html", ".tex")]
    err_console.print(
        f"wrote {out}: {len(report.files)} files" + "".join(f"\n  {f}" for f in documents),
        highlight=False,
        markup=False,
    )
