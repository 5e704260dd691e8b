"""Shared CLI helpers: error reporting, output formats."""

from __future__ import annotations

import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from eccr.errors import EccrError, ProblemReport

if TYPE_CHECKING:
    from eccr.experiments.config import ExperimentConfig

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def emit_problems(problems: ProblemReport, path: Path | None) -> None:
    """The ``--lenient`` warning report: written to ``path`` (JSON) when given, else printed to stderr when it
    holds problems."""
    if path is not None:
        problems.write(path)
    elif len(problems):
        err_console.print(problems.to_json(), highlight=False, markup=False, soft_wrap=True)


_P_VALUE = re.compile(r"^(\d+(\.\d*)?|\.\d+|inf|Infinity|∞)$", re.IGNORECASE)


def join_p_values(argv: list[str]) -> list[str]:
    """Let ``--p`` take several values as written in the paper's tables: ``--p 1 1.5 2 100 inf``.

    Click options take one value each, so the numbers that follow ``--p`` are joined into the
    comma-separated form the commands parse (``--p 1,1.5,2,100,inf``). Joining stops at the first argument
    that is not a number or ``inf``.

    >>> join_p_values(["score", "g.jsonl", "p.jsonl", "--p", "1", "1.5", "inf", "--by-length"])
    ['score', 'g.jsonl', 'p.jsonl', '--p', '1,1.5,inf', '--by-length']
    >>> join_p_values(["score", "--p", "2", "gold.jsonl", "pred.jsonl"])
    ['score', '--p', '2', 'gold.jsonl', 'pred.jsonl']
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        out.append(argv[i])
        if argv[i] == "--p" and i + 1 < len(argv):
            j = i + 1
            while j < len(argv) and _P_VALUE.match(argv[j]):
                j += 1
            if j > i + 1:
                out.append(",".join(argv[i + 1 : j]))
                i = j
                continue
        i += 1
    return out


def run_app(app: typer.Typer) -> None:
    """Run the typer app, turning :class:`EccrError` into a one-line coded message and exit status 2."""
    try:
        app(args=join_p_values(sys.argv[1:]), standalone_mode=False)
    except EccrError as err:
        # the message is data, not markup: "d[certainty=positive]" must print as written
        err_console.print(f"[bold red]error[/] {escape(str(err))}", highlight=False, markup=True,
                          soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise


def load_command_config(
    config: Path | None,
    overrides: list[str] | None,
    *,
    corpus: Path,
    model: str | None,
    corpus_format: str | None,
    select: str | None,
    lenient: bool,
    **flags: Any,
) -> ExperimentConfig:
    """The config of ``eccr train`` and ``eccr cv``: ``--config``, then the named flags, then ``--set``.

    ``flags`` are further named flags as :func:`~eccr.experiments.config.resolve_config` takes them
    (``seed=…``, ``folds=…``); ``None`` (and ``False`` for ``lenient``) means "not given".
    """
    from eccr.experiments.config import load_config

    return load_config(
        config,
        overrides=overrides or [],
        model__spec=model,
        corpus__path=str(corpus),
        corpus__format=corpus_format,
        corpus__select=select,
        corpus__lenient=lenient or None,
        **flags,
    )
