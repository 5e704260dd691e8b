"""``eccr compare RUN_A RUN_B [--gold GOLD]``: is system A better than system B on the same documents?

A run is an ``eccr cv`` run directory (its ``predictions.jsonl`` covers every document of the corpus, each
predicted by the fold that held it out; its ``gold.jsonl`` is the default gold) or a predictions file (then
``--gold`` is required). The older form ``eccr compare GOLD RUN_A RUN_B`` is still accepted. Prints
F1(A) − F1(B) of the chosen measure with a paired-bootstrap confidence interval and an
approximate-randomisation p-value (see :mod:`eccr.metrics.stats`); the rules for run directories are in
:mod:`eccr.experiments.runs`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import OutputFormat
from eccr.metrics.measures import measure_names

#: The measures ``--measure`` accepts, listed in its help (the registry, when the command is registered).
_MEASURES = measure_names()


def split_positionals(paths: list[Path], gold: Path | None) -> tuple[Path | None, Path, Path]:
    """``[RUN_A, RUN_B]`` (with ``--gold``) or the older ``[GOLD, RUN_A, RUN_B]`` -> ``(gold, a, b)``."""
    from eccr.errors import ConfigError

    if len(paths) == 2:
        return gold, paths[0], paths[1]
    if len(paths) == 3 and gold is None:
        return paths[0], paths[1], paths[2]
    if len(paths) == 3:
        raise ConfigError("E053", "give the gold once: RUN_A RUN_B --gold GOLD "
                                  "(or the older GOLD RUN_A RUN_B)")
    raise ConfigError("E053", f"expected RUN_A RUN_B [--gold GOLD], got {len(paths)} paths")


def render_comparison(result: Any, fmt: OutputFormat) -> str:
    """A :class:`~eccr.experiments.runs.RunComparison` (or a bare ``PairedComparison``) as table/JSON/CSV."""
    comparison = getattr(result, "comparison", result)
    if fmt is OutputFormat.json:
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt is OutputFormat.csv:
        d = comparison.to_dict()
        header = "measure,p,metric,a,b,difference,ci_low,ci_high,p_value,documents"
        values = [d["measure"], d["p"] or "", d["metric"], d["a"], d["b"], d["difference"], d["ci"]["low"],
                  d["ci"]["high"], d["p_value"], d["documents"]]
        return header + "\n" + ",".join(str(v) for v in values) + "\n"
    text = comparison.describe() + "\n"
    if comparison is not result:
        text += f"  A = {result.run_a}\n  B = {result.run_b}\n  gold = {result.gold}\n"
    return text


def command(
    paths: Annotated[list[Path], typer.Argument(
        help="RUN_A RUN_B: eccr cv run directories or predictions files (the older GOLD RUN_A RUN_B "
             "is also accepted).", show_default=False, metavar="RUN_A RUN_B")],
    gold: Annotated[Path | None, typer.Option(
        "--gold", help="Gold corpus; default: RUN_A's gold.jsonl. Required when the runs are files.")] = None,
    measure: Annotated[str, typer.Option(
        "--measure", help="A registered measure: " + ", ".join(_MEASURES) + ".")] = "wsm",
    p: Annotated[str, typer.Option("--p", help="Hölder p of wsm/marker (a number or 'inf').")] = "1",
    metric: Annotated[str, typer.Option("--metric", help="f1, precision or recall.")] = "f1",
    typed: Annotated[bool, typer.Option("--typed", help="Compare spans per label.")] = False,
    tokenizer: Annotated[str | None, typer.Option(
        "--tokenizer", help="Tokenizer of the token measure: 'char', 'simple' or a Hugging Face id/path.")
                         ] = None,
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
    """Compare two runs: score difference A − B, paired bootstrap CI and randomisation p-value.

    A run is an `eccr cv` run directory or a predictions file. Gold: --gold, else RUN_A's gold.jsonl.

    Runs made with different folds are compared, with a warning.
    """
    from eccr.cli.common import err_console
    from eccr.errors import ConfigError
    from eccr.experiments.runs import compare_runs
    from eccr.metrics import measure_names, parse_p
    from eccr.metrics.stats import check_resampling

    check_resampling(resamples, permutations)  # before anything is read

    if measure not in measure_names():
        raise ConfigError("E053", f"--measure must be one of {', '.join(measure_names())}, got {measure!r}")
    if metric not in ("f1", "precision", "recall"):
        raise ConfigError("E053", f"--metric must be f1, precision or recall, got {metric!r}")
    try:
        p_value = parse_p(p)
    except ValueError:
        raise ConfigError("E053", f"--p value {p!r} is not a number or 'inf'") from None
    gold_path, run_a, run_b = split_positionals(paths, gold)
    result = compare_runs(run_a, run_b, gold_path, measure=measure, p=p_value, metric=metric, typed=typed,
                          tokenizer=tokenizer,
                          gold_format=gold_format, pred_format=pred_format, select=select,
                          pred_select=pred_select, allow_missing=allow_missing, n_resamples=resamples,
                          n_permutations=permutations, seed=seed)
    for warning in result.warnings:
        err_console.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    typer.echo(render_comparison(result, fmt), nl=False)
