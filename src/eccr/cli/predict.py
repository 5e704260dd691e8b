"""``eccr predict --model DIR INPUT... [-]``: extract concepts from files, directories, globs or stdin.

Exit status: 0 when everything was predicted; 1 when some inputs or documents failed (each reported with
its coded error; the rest were predicted and written); 2 for an error that stopped the run, or when no
document at all could be predicted (nothing written). The old form ``eccr predict MODEL_DIR INPUT...``
still works.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eccr.cli.common import AllowMisalignedOpt, TrustRemoteCodeOpt, err_console

if TYPE_CHECKING:
    from eccr.inference.inputs import InputUnit
    from eccr.inference.predict import PredictSummary


def command(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories, globs ('notes/*.xml'), corpora in any format, or '-' for standard "
            "input; raw text files/directories with --from text (one document per file).",
            show_default=False,
        ),
    ],
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Model directory (eccr train, cv --save-models, export-onnx)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write (default: standard output).")
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Input format: 'text' (raw text, each file one document) or a corpus format (default: from "
            "the extension; .txt is the inline @@…## format, as in every command; stdin: text).",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Output format: jsonl, inline, medtxt, brat, conll, jmedllm or html "
            "(default: from --out's extension, else jsonl).",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Documents per model call.")] = 32,
    forward_batch: Annotated[
        int | None,
        typer.Option("--forward-batch", min=1, help="Transformers: windows per forward pass, sorted by "
                     "length (default: twice the training batch size)."),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="'local' (this process) or 'ray' (a Ray cluster; eccr[scale]).")
    ] = "local",
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Ray: model actors (default: one per CPU/GPU).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    allow_misaligned: AllowMisalignedOpt = False,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Predict concept spans for INPUTS with the model in --model and write them to --out (or stdout)."""
    from eccr.errors import ConfigError
    from eccr.inference.inputs import STDIN, resolve_inputs
    from eccr.inference.predict import output_format

    old_form = model is None
    model_dir, inputs = _model_and_inputs(model, inputs)
    if engine not in ("local", "ray"):
        raise ConfigError("E168", f"unknown engine {engine!r}; choose local or ray")
    fmt = output_format(out, to) if engine == "local" else (to or "jsonl")  # ray: a file or a shard folder
    units = resolve_inputs(inputs, from_)
    stdin = sys.stdin.buffer.read() if any(u.path == STDIN for u in units) else None
    if engine == "ray":
        from eccr.inference.ray_engine import predict_with_ray

        summary = predict_with_ray(
            model_dir,
            units,
            out,
            fmt,
            batch_size=batch_size,
            workers=workers,
            device=device,
            progress=not quiet,
            allow_misaligned_tokenizer=allow_misaligned,
            trust_remote_code=trust_remote_code,
            forward_batch_size=forward_batch,
        )
    else:
        summary = _predict_local(
            model_dir, units, stdin, out, fmt, batch_size, device, quiet, allow_misaligned, trust_remote_code,
            forward_batch,
        )
    if summary.failures and not summary.documents:  # nothing predicted: an error that stopped the run
        for failure in summary.failures[1:]:
            err_console.print(f"[bold red]error[/] {_escape(str(failure))}", highlight=False, soft_wrap=True)
        raise summary.failures[0]
    for failure in summary.failures:
        err_console.print(f"[bold red]error[/] {_escape(str(failure))}", highlight=False, soft_wrap=True)
    if not quiet:
        where = f"; wrote {out}" if out is not None and summary.documents else ""
        err_console.print(summary.describe() + where, highlight=False, soft_wrap=True)
        if old_form:  # after the outcome, so errors still come first on standard error
            err_console.print(
                f"note: 'eccr predict MODEL_DIR INPUT' is the old form; use "
                f"'eccr predict --model {model_dir} INPUT...'",
                highlight=False,
                soft_wrap=True,
            )
    if summary.failures:
        raise SystemExit(1)  # not typer.Exit: run_app would read that as success


def _predict_local(
    model_dir: Path,
    units: list[InputUnit],
    stdin: bytes | None,
    out: Path | None,
    fmt: str,
    batch_size: int,
    device: str,
    quiet: bool,
    allow_misaligned: bool,
    trust_remote_code: bool,
    forward_batch: int | None = None,
) -> PredictSummary:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from eccr.errors import ConfigError
    from eccr.inference import Extractor
    from eccr.inference.predict import PredictSummary, predict_documents, read_units, write_predictions

    summary = PredictSummary()
    documents = read_units(units, stdin, summary.failures)
    if not documents:
        for failure in summary.failures:
            raise failure
        raise ConfigError("E043", "the inputs hold no documents")
    extractor = Extractor.load(
        model_dir,
        device=device,
        allow_misaligned_tokenizer=allow_misaligned,
        trust_remote_code=trust_remote_code,
        forward_batch_size=forward_batch,
    )
    with Progress(
        TextColumn("predicting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    ) as progress:
        task = progress.add_task("predict", total=len(documents))
        predicted = predict_documents(
            extractor,
            documents,
            summary,
            batch_size=batch_size,
            on_result=lambda doc, err: progress.advance(task),
        )
    if predicted:
        note = f"model {extractor.info.model_id} ({extractor.info.kind}); {summary.describe()}"
        write_predictions(predicted, out, fmt, note=note)
    return summary


def _model_and_inputs(model: Path | None, inputs: list[str]) -> tuple[Path, list[str]]:
    """``--model DIR INPUT...``, or the old ``MODEL_DIR INPUT...`` (the first input is a model directory)."""
    from eccr.errors import ConfigError
    from eccr.models.base import MODEL_FILE

    if model is not None:
        return model, inputs
    if len(inputs) >= 2 and (Path(inputs[0]) / MODEL_FILE).is_file():
        return Path(inputs[0]), inputs[1:]
    raise ConfigError(
        "E168",
        "no model given: eccr predict --model MODEL_DIR INPUT... (a directory written "
        "by eccr train, eccr cv --save-models or eccr export-onnx)",
    )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
