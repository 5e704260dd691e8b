"""``eccr cv``: K-fold cross-validation of any model, writing a self-contained run directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from eccr.cli.common import AllowMisalignedOpt, OutputFormat, TrustRemoteCodeOpt


def default_run_dir(corpus: Path, spec: str) -> Path:
    """``runs/<corpus-stem>-<model kind>-<UTC timestamp>``."""
    kind = spec.split(":", 1)[0]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{corpus.stem}-{kind}-{stamp}"


def command(
    corpus: Annotated[Path, typer.Argument(help="Corpus with gold spans (any format eccr reads).")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model spec: crf, dict or hf:<id-or-path>.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Experiment YAML.")] = None,
    folds: Annotated[int | None, typer.Option("--folds", "-k", help="Number of folds (default 5).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Fold seed (default 0).")] = None,
    select: Annotated[
        str | None, typer.Option("--select", help="Span selector, e.g. 'd\\[certainty=positive]'.")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Corpus format (default: from the extension).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default runs/<corpus>-<model>-<time>).")
    ] = None,
    folds_file: Annotated[Path | None, typer.Option("--folds-file", help="Reuse a folds.json.")] = None,
    save_models: Annotated[bool, typer.Option("--save-models", help="Keep each fold's model.")] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override KEY=VALUE, e.g. model.options.c2=0.05 or 'search.c2=[0.01,0.1]'."
        ),
    ] = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Keep data with recoverable problems.")] = False,
    allow_misaligned: AllowMisalignedOpt = False,
    trust_remote_code: TrustRemoteCodeOpt = False,
    format: Annotated[
        OutputFormat, typer.Option("--format", help="How to print the summary.")
    ] = OutputFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Cross-validate MODEL on CORPUS: folds by document, per-fold predictions and scores, a summary."""
    import json
    import sys

    from eccr.cli.common import err_console, load_command_config
    from eccr.experiments.runner import cross_validate, load_corpus

    cfg = load_command_config(
        config,
        set_,
        corpus=corpus,
        model=model,
        corpus_format=from_,
        select=select,
        lenient=lenient,
        trust_remote_code=trust_remote_code,
        folds=folds,
        seed=seed,
        folds_file=str(folds_file) if folds_file else None,
        save_models=save_models or None,
        model__options__allow_misaligned_tokenizer=allow_misaligned or None,
    )
    run_dir = out if out is not None else default_run_dir(corpus, cfg.model.spec)
    result = cross_validate(load_corpus(cfg), cfg, run_dir, progress=not quiet, console=err_console)
    if format is OutputFormat.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    elif format is OutputFormat.csv:
        from eccr.reports.tables import csv_text

        sys.stdout.write(csv_text(result.rows()))
    else:
        print_summary(result)
        err_console.print(f"wrote {run_dir}", highlight=False, markup=False)


def print_summary(result) -> None:
    """A rich table of wsm P/R/F1 mean (SD) and pooled per p."""
    from rich.table import Table

    from eccr.cli.common import console
    from eccr.metrics import format_p
    from eccr.reports.tables import mean_sd

    summary = result.summary
    table = Table(
        title=f"{result.config.model.spec}: {result.plan.k}-fold wsm, mean (SD) / pooled "
        f"({result.wall_s:.1f} s)"
    )
    table.add_column("p", justify="right")
    for metric in ("f1", "recall", "precision"):
        table.add_column(metric, justify="right")
    for p in result.pooled.p_values:
        entry = summary.entry("wsm", format_p(p))
        stats = [getattr(entry, metric) for metric in ("f1", "recall", "precision")]
        table.add_row(format_p(p), *(f"{mean_sd(s.mean, s.sd)} / {s.pooled:.3f}" for s in stats))
    console.print(table)
