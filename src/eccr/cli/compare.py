"""``eccr compare GOLD RUN_A RUN_B``: is system A better than system B on the same documents?

A run is a predictions file. Prints F1(A) − F1(B) of the chosen measure with a paired-bootstrap confidence
interval and an approximate-randomisation p-value (see :mod:`eccr.metrics.stats`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import OutputFormat


def compare_files(gold: Path, run_a: Path, run_b: Path, *, measure: str = "wsm", p: float | None = 1.0,
                  metric: str = "f1", typed: bool = False, gold_format: str | None = None,
                  pred_format: str | None = None, select: str | None = None, pred_select: str | None = None,
                  allow_missing: bool = False, n_resamples: int = 1000, n_permutations: int = 1000,
                  seed: int = 0, zero_division: float = 0.0) -> Any:
    """Read the three corpora and return :func:`eccr.metrics.compare_systems`'s comparison."""
    from eccr.corpus.io import read_corpus
    from eccr.metrics import compare_systems

    gold_corpus = read_corpus(gold, gold_format, select=select)
    runs = [read_corpus(path, pred_format, select=pred_select) for path in (run_a, run_b)]
    return compare_systems(gold_corpus, runs[0], runs[1], measure=measure, p=p, metric=metric, typed=typed,
                           allow_missing=allow_missing, n_resamples=n_resamples,
                           n_permutations=n_permutations, seed=seed, zero_division=zero_division)


def render_comparison(comparison: Any, fmt: OutputFormat) -> str:
    if fmt is OutputFormat.json:
        return json.dumps(comparison.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt is OutputFormat.csv:
        d = comparison.to_dict()
        header = "measure,p,metric,a,b,difference,ci_low,ci_high,p_value,documents"
        values = [d["measure"], d["p"] or "", d["metric"], d["a"], d["b"], d["difference"], d["ci"]["low"],
                  d["ci"]["high"], d["p_value"], d["documents"]]
        return header + "\n" + ",".join(str(v) for v in values) + "\n"
    return comparison.describe() + "\n"


def command(
    gold: Annotated[Path, typer.Argument(help="Gold corpus (any format eccr reads).")],
    run_a: Annotated[Path, typer.Argument(help="Predictions of system A.")],
    run_b: Annotated[Path, typer.Argument(help="Predictions of system B (same documents).")],
    measure: Annotated[str, typer.Option("--measure", help="wsm, marker, char or exact.")] = "wsm",
    p: Annotated[str, typer.Option("--p", help="Hölder p of wsm/marker (a number or 'inf').")] = "1",
    metric: Annotated[str, typer.Option("--metric", help="f1, precision or recall.")] = "f1",
    typed: Annotated[bool, typer.Option("--typed", help="Compare spans per label.")] = False,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples (CI).")] = 1000,
    permutations: Annotated[int, typer.Option("--permutations", help="Randomisation rounds (p).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and the test.")] = 0,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    gold_format: Annotated[str | None, typer.Option("--gold-format", help="Gold format.")] = None,
    pred_format: Annotated[str | None, typer.Option("--pred-format", help="Format of both runs.")] = None,
    select: Annotated[str | None, typer.Option("--select", help="Span selector applied to GOLD.")] = None,
    pred_select: Annotated[str | None, typer.Option("--pred-select", help="Span selector for the runs.")
                           ] = None,
    allow_missing: Annotated[bool, typer.Option("--allow-missing", help="Missing predictions = none.")
                             ] = False,
) -> None:
    """Compare two runs on GOLD: score difference A − B, paired bootstrap CI and randomisation p-value."""
    from eccr.errors import ConfigError
    from eccr.metrics import parse_p

    if measure not in ("wsm", "marker", "char", "exact"):
        raise ConfigError("E053", f"--measure must be wsm, marker, char or exact, got {measure!r}")
    if metric not in ("f1", "precision", "recall"):
        raise ConfigError("E053", f"--metric must be f1, precision or recall, got {metric!r}")
    try:
        p_value = parse_p(p)
    except ValueError:
        raise ConfigError("E053", f"--p value {p!r} is not a number or 'inf'") from None
    comparison = compare_files(gold, run_a, run_b, measure=measure, p=p_value, metric=metric, typed=typed,
                               gold_format=gold_format, pred_format=pred_format, select=select,
                               pred_select=pred_select, allow_missing=allow_missing, n_resamples=resamples,
                               n_permutations=permutations, seed=seed)
    typer.echo(render_comparison(comparison, fmt), nl=False)
