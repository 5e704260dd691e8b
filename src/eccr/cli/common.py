"""Shared CLI helpers: error reporting, output formats."""

from __future__ import annotations

import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from eccr.errors import EccrError, ProblemReport

if TYPE_CHECKING:
    from eccr.experiments.config import ExperimentConfig

console = Console()
err_console = Console(stderr=True)


#: ``--trust-remote-code`` (train, cv, predict): the only way code shipped with a model may run.
TrustRemoteCodeOpt = Annotated[bool, typer.Option(
    "--trust-remote-code",
    help="Run code shipped with the model (transformers auto_map classes). Only for models whose origin you "
         "trust; a setting inside a model directory is never used.")]

AllowMisalignedOpt = Annotated[bool, typer.Option(
    "--allow-misaligned-tokenizer",
    help="Go on when the tokenizer fails the aligner's invariants (E079) on the documents; recorded in the "
         "run. Without it eccr stops with the diagnosis diagnose-tokenizer prints.")]


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


#: Exit status of a coded error (:class:`EccrError`) and of a command-line usage error, as click uses.
USAGE_EXIT = 2
#: Exit status of an unexpected internal error (a bug: the message asks to report it).
INTERNAL_EXIT = 70


def run_app(app: typer.Typer, argv: list[str] | None = None, prog_name: str = "eccr") -> None:
    """Run the typer app the way a command-line tool must end: never with a Python traceback.

    * an :class:`EccrError` prints one line ``error [E0xx] message (where)`` and exits 2;
    * a usage error (unknown command or option, missing argument, bad value, bare ``eccr``) prints the
      command's usage line and a one-line ``error: …`` and exits 2, as click does in standalone mode;
    * an :class:`~eccr.errors.EccrWarning` prints one line ``warning [E0xx] …`` and the command goes on;
    * an ``OSError`` nobody turned into a coded error (a full disk, a vanished file) prints one ``E002`` line
      and exits 2; Ctrl-C exits 130; any other exception is a bug in eccr: one line asking to report it, exit
      70 (``ECCR_DEBUG=1`` shows the traceback).
    """
    import os
    import warnings

    from eccr.errors import EccrWarning

    args = join_p_values(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", EccrWarning)
        previous = warnings.showwarning
        warnings.showwarning = _show_warning(previous)
        try:
            app(args=args, prog_name=prog_name, standalone_mode=False)
        except EccrError as err:
            # the message is data, not markup: "d[certainty=positive]" must print as written; and one line,
            # even when it quotes a library's multi-line message
            err_console.print(f"[bold red]error[/] {escape(one_line(str(err)))}", highlight=False,
                              markup=True, soft_wrap=True)
            sys.exit(USAGE_EXIT)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except (typer.Abort, KeyboardInterrupt):
            err_console.print("interrupted", highlight=False, markup=False)
            sys.exit(130)
        except typer.TyperException as exc:  # click's usage errors (typer vendors click)
            _print_usage_error(exc, prog_name)
            sys.exit(getattr(exc, "exit_code", USAGE_EXIT) or USAGE_EXIT)
        except OSError as exc:  # a full disk, a permission, a vanished file that no reader turned into E002
            where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            err_console.print(f"error [E002] cannot read or write{where}: {exc.strerror or exc}",
                              highlight=False, markup=False, soft_wrap=True)
            sys.exit(USAGE_EXIT)
        except Exception as exc:
            if os.environ.get("ECCR_DEBUG"):
                raise
            err_console.print(
                f"internal error: {type(exc).__name__}: {exc} — this is a bug in eccr; please report it with "
                "the command line (ECCR_DEBUG=1 shows the traceback)",
                highlight=False, markup=False, soft_wrap=True)
            sys.exit(INTERNAL_EXIT)
        finally:
            warnings.showwarning = previous


def one_line(text: str) -> str:
    r"""``text`` with its line breaks (and the indentation after them) turned into single spaces.

    >>> one_line("while parsing a block mapping\n  in '<unicode string>', line 1")
    "while parsing a block mapping in '<unicode string>', line 1"
    """
    return re.sub(r"[ \t]*[\r\n]+[ \t]*", " ", text).strip()


def _show_warning(fallback: Any) -> Any:
    from eccr.errors import EccrWarning

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
             ) -> None:
        if isinstance(message, EccrWarning):
            err_console.print(f"[yellow]warning[/] {escape(one_line(str(message)))}", highlight=False,
                              markup=True, soft_wrap=True)
        else:
            fallback(message, category, filename, lineno, file, line)

    return show


def _print_usage_error(exc: Exception, prog_name: str) -> None:
    """The usage line of the command that failed and a one-line ``error: …`` (no traceback, no box)."""
    ctx = getattr(exc, "ctx", None)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    commands = list(getattr(ctx.command, "commands", None) or {}) if ctx is not None else []
    if commands and message.rstrip(".") in ("Missing command", ""):
        message = f"missing command; choose one of {', '.join(commands)}"
    usage = ctx.get_usage() if ctx is not None else f"Usage: {prog_name} [OPTIONS] COMMAND [ARGS]..."
    command_path = ctx.command_path if ctx is not None else prog_name
    line = " ".join(message.split())  # one line, whatever click or pydantic wrapped
    err_console.print(usage, highlight=False, markup=False, soft_wrap=True)
    err_console.print(f"error: {line} (see '{command_path} --help')", highlight=False, markup=False,
                      soft_wrap=True)


def load_command_config(
    config: Path | None,
    overrides: list[str] | None,
    *,
    corpus: Path,
    model: str | None,
    corpus_format: str | None,
    select: str | None,
    lenient: bool,
    trust_remote_code: bool = False,
    **flags: Any,
) -> ExperimentConfig:
    """The config of ``eccr train`` and ``eccr cv``: ``--config``, then the named flags, then ``--set``.

    ``flags`` are further named flags as :func:`~eccr.experiments.config.resolve_config` takes them
    (``seed=…``, ``folds=…``); ``None`` (and ``False`` for ``lenient``) means "not given".
    ``trust_remote_code`` (``--trust-remote-code``) sets ``model.options.trust_remote_code``.
    """
    from eccr.experiments.config import load_config

    return load_config(
        config,
        overrides=[*(overrides or []), *(["model.options.trust_remote_code=true"] * trust_remote_code)],
        model__spec=model,
        corpus__path=str(corpus),
        corpus__format=corpus_format,
        corpus__select=select,
        corpus__lenient=lenient or None,
        **flags,
    )
