"""The ``eccr`` command: one module per command in :mod:`eccr.cli`, each a thin shell over a library call.

Each command module defines ``command`` (a typer-annotated function), or ``app`` (a ``typer.Typer``) for a
group of subcommands (``eccr experiment run``). Modules must import heavy
dependencies (torch, transformers) inside the function so that ``eccr --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

#: (command name, module) pairs, in the order ``eccr --help`` lists them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("convert", "eccr.cli.convert"),
    ("stats", "eccr.cli.stats"),
    ("show", "eccr.cli.show"),
    ("score", "eccr.cli.score"),
    ("compare", "eccr.cli.compare"),
    ("report", "eccr.cli.report"),
    ("train", "eccr.cli.train"),
    ("cv", "eccr.cli.cv"),
    ("predict", "eccr.cli.predict"),
    ("serve", "eccr.cli.serve"),
    ("export-onnx", "eccr.cli.export_onnx"),
    ("diagnose-tokenizer", "eccr.cli.diagnose_tokenizer"),
    ("pretrain-tokenizer", "eccr.cli.pretrain_tokenizer"),
    ("pretrain", "eccr.cli.pretrain"),
    ("experiment", "eccr.cli.experiment"),
    ("view", "eccr.cli.view"),
    ("demo", "eccr.cli.demo"),
    ("doctor", "eccr.cli.doctor"),
    ("agreement", "eccr.cli.agreement"),
)

app = typer.Typer(
    name="eccr",
    help="Extended Clinical Concept Recognition for Japanese clinical text.",
    no_args_is_help=False,  # bare `eccr` is a usage error (usage line + one line, exit 2), see run_app
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    for name, module_name in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue  # command not built yet in this checkout
        group = getattr(module, "app", None)
        if isinstance(group, typer.Typer):
            app.add_typer(group, name=name)
        else:
            app.command(name)(module.command)


_register()


def main() -> None:
    from eccr.cli.common import run_app

    run_app(app)


if __name__ == "__main__":
    main()
