"""``eccr predict``: apply a saved model directory to texts or corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eccr.cli.common import AllowMisalignedOpt, TrustRemoteCodeOpt


def command(
    model_dir: Annotated[
        Path, typer.Argument(help="Model directory written by eccr train (or cv --save-models).")
    ],
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Corpora in any format, or raw text files/directories with --from text (one document per "
            "file)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the predictions.")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Input format: 'text' (raw text, each file one document) or a corpus format (default: from "
            "the extension; .txt is the inline @@…## format, as in every command).",
        ),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Output corpus format (default: from --out's extension).")
    ] = None,
    allow_misaligned: AllowMisalignedOpt = False,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Predict concept spans for INPUTS with the model in MODEL_DIR and write them to --out."""
    from eccr.cli.common import console
    from eccr.experiments.runner import predict_files

    predictions = predict_files(model_dir, inputs, out, from_format=from_, to_format=to,
                                allow_misaligned_tokenizer=allow_misaligned,
                                trust_remote_code=trust_remote_code)
    n_spans = sum(len(d.spans) for d in predictions)
    console.print(f"predicted {n_spans} spans in {len(predictions)} documents; wrote {out}", highlight=False)
