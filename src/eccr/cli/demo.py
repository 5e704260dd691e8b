"""``eccr demo [--data PATH --select S]``: the main job of eccr, start to finish (what ``make demo`` runs).

Corpus statistics; 5-fold cross-validation of a character CRF, a gazetteer and a small transformer trained
from scratch on the same folds (:mod:`eccr.experiments.demo`); the paper-style report with its plots; the
HTML error viewer of each run; and the best model trained on every document extracting concepts from a new
note, shown highlighted. Everything goes to ``--out`` (default ``demo-output/``), which an earlier demo's
output is replaced in and nothing else is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote everything, and how long it took."""

    out_dir: Path
    run_dirs: Mapping[str, Path]
    report_files: tuple[Path, ...]
    viewers: Mapping[str, Path]
    best_model: str
    model_dir: Path
    note_predictions: Path
    note_html: Path
    wall_s: float


def extract_note(model_dir: Path, note: Path, out_dir: Path) -> tuple[Any, Path, Path]:
    """Predict ``note`` with the saved model; write the predictions (JSONL) and a highlighted HTML page."""
    import html

    from eccr.atomic import atomic_write_text
    from eccr.experiments.runner import predict_files
    from eccr.reports.viewer import HIGHLIGHT_CSS, highlight_html

    predictions = out_dir / f"{note.stem}.jsonl"
    doc = predict_files(model_dir, [note], predictions)[0]
    page = out_dir / f"{note.stem}.html"
    atomic_write_text(page, (
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'>"
        f"<title>{html.escape(note.name)}</title><style>body{{font-family:sans-serif;margin:24px}}"
        f"{HIGHLIGHT_CSS}</style></head><body><h1>{html.escape(note.name)}: {len(doc.spans)} concepts</h1>"
        f"<div class='hl-text'>{highlight_html(doc.text, pred=doc.spans)}</div></body></html>\n"
    ))
    return doc, predictions, page


def write_demo_report(run_dirs: Mapping[str, Path], out_dir: Path, console: Console) -> list[Path]:
    """The paper-style report of the runs (:func:`eccr.reports.build_report`).

    The Table-2 style table is printed; every table (Markdown, CSV, HTML) and the plots are written under
    ``out_dir`` and their paths printed.
    """
    from eccr.reports import build_report, main_table_markdown

    report = build_report(list(run_dirs.values()), out_dir, formats=("md", "csv", "html"),
                          labels=list(run_dirs))
    console.print(main_table_markdown(report), highlight=False, markup=False, soft_wrap=True)
    files = [Path(f) for f in report.files]
    for path in files:
        if path.suffix in (".md", ".html", ".png"):
            console.print(f"  {path}", highlight=False)
    return files


def run_demo(
    out_dir: str | Path = "demo-output",
    *,
    data: str | Path | None = None,
    corpus_format: str | None = None,
    select: str | None = None,
    note: str | Path | None = None,
    console: Console | None = None,
    progress: bool = True,
) -> DemoResult:
    """Run the whole demo and return where everything was written.

    Args:
        out_dir: the demo's output folder (replaced if an earlier demo wrote it; ``E157`` otherwise).
        data, corpus_format, select: the corpus (default: the bundled synthetic sample).
        note: a raw text file to extract concepts from (default: the bundled new note).
        console: where to print (default: stdout).
        progress: show the experiment's progress bar.
    """
    from rich.console import Console

    from eccr.cli.show import render_document
    from eccr.cli.stats import OutputFormat, render_stats
    from eccr.data import SAMPLE_PATH
    from eccr.errors import ConfigError, EccrError, Location
    from eccr.experiments.config import load_config
    from eccr.experiments.demo import best_run, demo_experiment, prepare_out_dir
    from eccr.experiments.matrix import plan_experiment
    from eccr.experiments.matrix_run import load_plan_corpus, run_plan
    from eccr.experiments.runner import train_model
    from eccr.reports.viewer import write_viewer

    console = console or Console()
    started = time.perf_counter()
    out = Path(out_dir)
    data_path = Path(data) if data is not None else SAMPLE_PATH
    note_path = Path(note) if note is not None else SAMPLE_PATH.parent / "new-note.txt"
    if not note_path.is_file():
        raise ConfigError("E043", f"note {note_path} does not exist", Location(file=str(note_path)))
    experiment = demo_experiment(data_path, select=select,
                                 corpus_format=corpus_format or ("inline" if data is None else None))
    plan = plan_experiment(experiment, out / "runs")
    corpus = load_plan_corpus(plan, next(iter(experiment.corpora)))  # bad data fails before any output
    prepare_out_dir(out)

    def step(number: int, text: str) -> None:
        console.rule(f"[bold]{number}/5 {text}", align="left")

    step(1, f"the corpus: {data_path}" + (f", selection {select}" if select else ""))
    console.print(render_stats(corpus.stats(), OutputFormat.table), end="", highlight=False)

    step(2, "5-fold cross-validation of a CRF, a gazetteer and a small transformer on the same folds")
    outcome = run_plan(plan, progress=progress, console=console, load_corpus=lambda _plan, _name: corpus)
    if outcome.failures:
        raise EccrError("E154", "demo cells failed: " + "; ".join(f.describe() for f in outcome.failures))
    run_dirs = {run.model: run.directory for run in plan.runs}

    step(3, "the paper-style report: wsm F1 / recall / precision at p = 1, 1.5, 2, 100, mean (SD)")
    report_files = write_demo_report(run_dirs, out / "report", console)

    step(4, "the HTML error viewer of each run (gold blue, predicted red, both purple)")
    viewers = {name: write_viewer(run_dir, out / f"view-{name}.html") for name, run_dir in run_dirs.items()}
    for name, path in viewers.items():
        console.print(f"  {name:12s} {path}", highlight=False)

    best = best_run(run_dirs)
    step(5, f"the best model ({best}), trained on all {len(corpus)} documents, reads a new note")
    config = load_config(run_dirs[best] / "resolved.yaml").model_copy(update={"folds_file": None})
    trained = train_model(corpus, config, out / "model", progress=False)
    doc, predictions, page = extract_note(trained.out_dir, note_path, out)
    for renderable in render_document(doc, labels_inline=False):
        console.print(renderable)
    console.print(f"  predictions {predictions}\n  highlighted {page}", highlight=False)
    wall = time.perf_counter() - started
    console.print(f"[bold]demo finished in {wall:.0f} s[/]: everything is in {out}/", highlight=False)
    return DemoResult(out, run_dirs, tuple(report_files), viewers, best, trained.out_dir, predictions, page,
                      wall)


def command(
    data: Annotated[Path | None, typer.Option(
        "--data", help="Your corpus (any format eccr reads); default: the bundled synthetic sample.")] = None,
    select: Annotated[str | None, typer.Option(
        "--select", help="Span selector, e.g. 'd\\[certainty=positive]'.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Corpus format (default: from the extension).")
                     ] = None,
    note: Annotated[Path | None, typer.Option(
        "--note", help="A raw text note to extract concepts from (default: the bundled new note).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (replaced if a demo wrote it).")
                   ] = Path("demo-output"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run the main job end to end: corpus → 5-fold CV of three models → report → viewer → extraction."""
    from eccr.cli.experiment import _quiet_library_bars

    if not quiet:
        _quiet_library_bars()
    run_demo(out, data=data, corpus_format=from_, select=select, note=note, progress=not quiet)
