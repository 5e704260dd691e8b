"""``eccr experiment run EXP.yaml``: corpora × models × folds, resumable, one ``eccr cv`` run per pair.

The experiment file and the output layout are described in :mod:`eccr.experiments.matrix`; how cells are
run, skipped, recorded when they fail and retried in :mod:`eccr.experiments.matrix_run`.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from eccr.experiments.matrix import ExperimentPlan

class PlanFormat(StrEnum):
    table = "table"
    json = "json"


app = typer.Typer(
    help="Run a matrix of corpora × models × folds from a YAML file (resumable).", no_args_is_help=True
)


def default_out_dir(path: Path, name: str | None) -> Path:
    """``runs/<experiment name or file stem>``."""
    return Path("runs") / (name or path.stem)


def _quiet_library_bars() -> None:
    """Hide Hugging Face's own progress bars (the matrix shows one bar for everything)."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def plan_rows(plan: ExperimentPlan) -> list[dict[str, Any]]:
    """One row per run of the plan: cells selected and their states on disk."""
    from eccr.experiments.matrix_run import cell_state

    rows = []
    for run in plan.runs:
        cells = plan.cells_of(run)
        if not cells:
            continue
        states = [cell_state(cell.directory).state for cell in cells]
        rows.append({
            "corpus": run.corpus, "model": run.name, "spec": run.config.model.spec,
            "cells": len(cells), "done": states.count("done"), "failed": states.count("failed"),
            "pending": states.count("pending"), "directory": str(run.directory),
            "options": run.config.model.options,
        })
    return rows


def print_plan(plan: ExperimentPlan, documents: dict[str, int]) -> None:
    from rich.table import Table

    from eccr.cli.common import console

    table = Table(title=f"experiment {plan.experiment.name or ''} → {plan.out_dir} (dry run)")
    for column in ("corpus", "documents", "model", "spec", "cells", "done", "failed", "to run"):
        table.add_column(column, overflow="fold", justify="right" if column in (
            "documents", "cells", "done", "failed", "to run") else "left")
    rows = plan_rows(plan)
    for row in rows:
        table.add_row(row["corpus"], str(documents.get(row["corpus"], "")), row["model"], row["spec"],
                      str(row["cells"]), str(row["done"]), str(row["failed"]),
                      str(row["pending"] + row["failed"]))
    console.print(table)
    to_run = sum(r["pending"] + r["failed"] for r in rows)
    console.print(f"{to_run} of {sum(r['cells'] for r in rows)} selected cells would run; "
                  f"{plan.experiment.folds} folds, seed {plan.experiment.seed}, p {plan.experiment.p}",
                  highlight=False)


def print_outcome(outcome: Any) -> None:
    """A table of every selected run: folds finished and wsm F1 at the first p, mean (SD) and pooled."""
    from rich.table import Table

    from eccr.cli.common import console
    from eccr.experiments.matrix_run import status

    state = status(outcome.plan)
    selected = {(run.corpus, run.name) for run in outcome.plan.runs if outcome.plan.cells_of(run)}
    table = Table(title=f"{outcome.ran} cells run, {outcome.skipped} already finished, "
                        f"{len(outcome.failures)} failed")
    for column in ("corpus", "model", "folds", "wsm F1 mean (SD)", "pooled"):
        justify = "right" if column in ("folds", "pooled") else "left"
        table.add_column(column, overflow="fold", justify=justify)
    for run in state["runs"]:
        if (run["corpus"], run["model"]) not in selected:
            continue
        f1 = run.get("wsm_f1")
        table.add_row(
            run["corpus"], run["model"], f"{run['folds_done']}/{run['folds']}",
            f"{f1['mean']:.3f} ({f1['sd']:.3f}) at p={f1['p']}" if f1 else "",
            f"{f1['pooled']:.3f}" if f1 else "",
        )
    console.print(table)
    console.print(f"run directories: {outcome.plan.out_dir}/<corpus>/<model>", highlight=False)


@app.command("run")
def run(
    experiment: Annotated[Path, typer.Argument(help="Experiment YAML (corpora, models, folds).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder (default runs/<name or file stem>).")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Run only cells matching CORPUS\\[/MODEL\\[/FOLD]] (wildcards *; repeatable).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Validate the file, read the corpora and show what would run; train nothing.")
    ] = False,
    extra_train: Annotated[str | None, typer.Option(
        "--extra-train", help="A corpus of the experiment (or a corpus file) whose documents join every "
                              "training split, minus those overlapping the fold's held-out documents.")
    ] = None,
    extra_select: Annotated[str | None, typer.Option(
        "--extra-select", help="Span selector for --extra-train (default: the corpus's own).")] = None,
    fmt: Annotated[PlanFormat, typer.Option(
        "--format", help="table, or json (status.json; the plan with --dry-run) on stdout.")
    ] = PlanFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run every cell (corpus × model × fold) not finished yet; a failed cell is recorded, the rest go on.

    Each (corpus, model) pair is an ordinary `eccr cv` run directory under OUT/<corpus>/<model>, on folds
    shared by every model of the corpus. Run the same command again to resume and retry failed cells.
    """
    from eccr.cli.common import err_console
    from eccr.errors import EccrError
    from eccr.experiments.matrix import load_experiment, plan_experiment, resolve_extra
    from eccr.experiments.matrix_run import load_plan_corpus, run_plan

    spec = load_experiment(experiment)
    extra = resolve_extra(spec, extra_train, extra_select)
    out_dir = out if out is not None else default_out_dir(experiment, spec.name)
    plan = plan_experiment(spec, out_dir, only=only or [], extra=extra, source=str(experiment))
    if dry_run:
        documents = {name: len(load_plan_corpus(plan, name)) for name in spec.corpora
                     if any(run.corpus == name for run in plan.runs if plan.cells_of(run))}
        if extra is not None and extra.name not in documents:
            from eccr.experiments.runner import read_corpus_config

            read_corpus_config(extra.corpus, "extra_train")
        if fmt is PlanFormat.json:
            data = {"out": str(plan.out_dir), "documents": documents, "runs": plan_rows(plan)}
            sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        else:
            print_plan(plan, documents)
        return
    if not quiet:
        _quiet_library_bars()
    outcome = run_plan(plan, progress=not quiet, console=err_console)
    if fmt is PlanFormat.json:
        from eccr.experiments.matrix_run import status

        sys.stdout.write(json.dumps(status(plan), ensure_ascii=False, indent=2) + "\n")
    else:
        print_outcome(outcome)
        complete = [run.directory for run in plan.runs if plan.cells_of(run) and
                    (run.directory / "summary.json").is_file()]
        if complete:
            err_console.print(f"next: eccr report {' '.join(str(d) for d in complete)}", highlight=False,
                              soft_wrap=True)
    if outcome.failures:
        listed = "; ".join(f.describe() for f in outcome.failures[:3])
        more = f" (and {len(outcome.failures) - 3} more)" if len(outcome.failures) > 3 else ""
        raise EccrError(
            "E154",
            f"{len(outcome.failures)} of {outcome.ran} cells failed: {listed}{more}; the other cells "
            f"finished. Details: {plan.out_dir / 'status.json'} and each fold's error.json; run the same "
            "command again to retry them",
        )
