"""``eccr train``: fit a model on a corpus and save it as a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eccr.cli.common import AllowMisalignedOpt, TrustRemoteCodeOpt


def command(
    corpus: Annotated[Path, typer.Argument(help="Training corpus (any format eccr reads).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model spec: crf, dict or hf:<id-or-path>.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Experiment YAML.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override KEY=VALUE, e.g. model.options.c2=0.05.")
    ] = None,
    select: Annotated[
        str | None, typer.Option("--select", help="Span selector, e.g. 'd\\[certainty=positive]'.")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Corpus format (default: from the extension).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (validation split, model).")] = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Keep data with recoverable problems.")] = False,
    allow_misaligned: AllowMisalignedOpt = False,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Train MODEL on CORPUS (holding out validation_fraction for validation) and save it to --out."""
    from eccr.cli.common import console, load_command_config
    from eccr.experiments.runner import load_corpus, train_model

    cfg = load_command_config(
        config, set_, corpus=corpus, model=model, corpus_format=from_, select=select, lenient=lenient,
        seed=seed, model__options__allow_misaligned_tokenizer=allow_misaligned or None,
        trust_remote_code=trust_remote_code,
    )
    result = train_model(load_corpus(cfg), cfg, out)
    console.print(
        f"trained {cfg.model.spec} on {result.n_train} documents ({result.n_validation} validation) "
        f"in {result.fit_s:.1f} s; saved to {result.out_dir}",
        highlight=False,
    )
