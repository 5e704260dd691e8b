"""``eccr export-onnx --model DIR --out DIR [--quantize int8]``: an ONNX model directory, parity-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def command(
    model: Annotated[Path, typer.Option("--model", "-m", help="A trained hf model directory.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The new onnx model directory.")],
    quantize: Annotated[
        str, typer.Option("--quantize", help="'int8' (dynamic int8 weights) or 'none' (fp32).")
    ] = "none",
    check: Annotated[
        Path | None,
        typer.Option("--check", help="Labelled corpus for the parity check (default: the bundled sample)."),
    ] = None,
    check_format: Annotated[str | None, typer.Option("--check-from", help="Format of --check.")] = None,
    select: Annotated[str | None, typer.Option("--select", help="Span selector for --check.")] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", min=0.0, help="Largest wsm F1 drop allowed for int8.")
    ] = 0.005,
    force: Annotated[bool, typer.Option("--force", help="Write even when the parity check fails.")] = False,
) -> None:
    """Export a trained hf model to ONNX (optionally int8) and check it predicts what the original does."""
    from eccr.cli.common import console, err_console
    from eccr.corpus.io import read_corpus
    from eccr.errors import ConfigError
    from eccr.inference.onnx_export import export_onnx

    if quantize not in ("none", "int8"):
        raise ConfigError("E164", f"--quantize {quantize!r}: choose int8 or none")
    corpus = read_corpus(check, check_format, select=select) if check is not None else None
    result = export_onnx(
        model,
        out,
        quantize=quantize,
        check=corpus,
        tolerance=tolerance,  # type: ignore[arg-type]
        force=force,
    )
    parity = result.parity
    status = "[green]parity ok[/]" if parity.passed else "[bold red]parity FAILED (written with --force)[/]"
    console.print(f"{status}: {parity.describe()}", highlight=False)
    console.print(
        f"wrote {out} ({result.graph_bytes / 1e6:.1f} MB graph, {result.quantization}); "
        f"predict with: eccr predict --model {out} INPUT",
        highlight=False,
    )
    if not parity.passed:
        err_console.print("warning: the exported model does not match the original", highlight=False)
