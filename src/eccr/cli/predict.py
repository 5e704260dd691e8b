"""``eccr predict``: apply a saved model directory to texts or corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def command(
    model_dir: Annotated[
        Path, typer.Argument(help="Model directory written by eccr train (or cv --save-models).")
    ],
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Raw .txt files (one document each), directories of them, or corpora in any format."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the predictions.")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Input format: 'text' or a corpus format (default: .txt is text, else the extension).",
        ),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Output corpus format (default: from --out's extension).")
    ] = None,
    allow_misaligned: Annotated[bool, typer.Option(
        "--allow-misaligned-tokenizer",
        help="Predict even when the tokenizer fails the aligner's invariants on the texts (E079).")] = False,
) -> None:
    """Predict concept spans for INPUTS with the model in MODEL_DIR and write them to --out."""
    from eccr.cli.common import console
    from eccr.experiments.runner import predict_files

    predictions = predict_files(model_dir, inputs, out, from_format=from_, to_format=to,
                                allow_misaligned_tokenizer=allow_misaligned)
    n_spans = sum(len(d.spans) for d in predictions)
    console.print(f"predicted {n_spans} spans in {len(predictions)} documents; wrote {out}", highlight=False)
