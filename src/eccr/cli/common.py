"""Shared CLI helpers: error reporting, output formats."""

from __future__ import annotations

import sys
from enum import StrEnum

import typer
from rich.console import Console
from rich.markup import escape

from eccr.errors import EccrError

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def run_app(app: typer.Typer) -> None:
    """Run the typer app, turning :class:`EccrError` into a one-line coded message and exit status 2."""
    try:
        app(standalone_mode=False)
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
