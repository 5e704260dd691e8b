"""``eccr pretrain-tokenizer TEXTS... --vocab-size N --out DIR``: train a tokenizer on domain text.

Trains a SentencePiece-compatible Unigram (default), a SentencePiece-style BPE or a character tokenizer with
the ``tokenizers`` library (:mod:`eccr.pretrain.tokenizer_training`) and writes a directory that
``AutoTokenizer.from_pretrained(DIR)``, ``eccr pretrain --tokenizer DIR`` and ``eccr diagnose-tokenizer``
load, with the pretraining record (:mod:`eccr.pretrain.provenance`). Inputs are read by
:func:`eccr.pretrain.texts.read_pretraining_texts`: plain text (a document per line, ``--unit file`` a
document per file), a directory of ``*.txt`` files, JSONL with a ``text`` field, or any eccr corpus.

It prints the vocabulary size, character coverage, unknown-token and byte-fallback rates, tokens per character
and the training time; ``--check CORPUS`` adds the tokenizer ceiling on a labelled corpus, computed exactly as
``eccr diagnose-tokenizer`` computes it (:func:`eccr.cli.diagnose_tokenizer.diagnose`).

Example::

    eccr pretrain-tokenizer ../shared/data/unlabeled/*.jsonl --vocab-size 8000 --out tokenizers/clinical-8k \\
        --exclude ../shared/data/medtxt-cr/MedTxt-CR-JA-training.xml \\
        --check ../shared/data/medtxt-cr/MedTxt-CR-JA-training.xml --select 'd[certainty=positive]'
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.diagnose_tokenizer import Toggle


def command(
    texts: Annotated[list[Path], typer.Argument(
        help="Text files (a document per line), directories of *.txt, JSONL with a text field, or corpora.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The tokenizer directory to write.")],
    vocab_size: Annotated[int | None, typer.Option(
        "--vocab-size", help="Vocabulary size, special and byte pieces included (char: an upper bound).")
                          ] = None,
    model: Annotated[str, typer.Option("--model", help="unigram (default), bpe or char.")] = "unigram",
    byte_fallback: Annotated[Toggle | None, typer.Option(
        "--byte-fallback", help="Spell unknown characters in UTF-8 byte pieces (default: on; char: off).")
                             ] = None,
    character_coverage: Annotated[float, typer.Option(
        "--character-coverage", help="Share of character occurrences the vocabulary covers (SentencePiece's "
        "rule; 1.0 keeps every character).")] = 0.9995,
    role: Annotated[str, typer.Option(
        "--role", help="Special tokens: encoder ([CLS] [SEP] [MASK]) or decoder (<s> </s>).")] = "encoder",
    unit: Annotated[str, typer.Option(
        "--unit", help="Plain text: a document per line, per file, or auto (files: lines; folders: files).")
                    ] = "auto",
    field: Annotated[str, typer.Option("--field", help="JSONL field holding the text.")] = "text",
    exclude: Annotated[list[Path] | None, typer.Option(
        "--exclude", help="Labelled corpus whose documents (same text or a shared sentence) are left out; "
        "repeatable.")] = None,
    check: Annotated[Path | None, typer.Option(
        "--check", help="Labelled corpus: report the tokenizer ceiling as diagnose-tokenizer does.")] = None,
    check_format: Annotated[str | None, typer.Option("--check-from", help="Format of --check.")] = None,
    select: Annotated[str | None, typer.Option(
        "--select", help="Span selector for --check, e.g. 'd[certainty=positive]'.")] = None,
    max_length: Annotated[int, typer.Option(
        "--max-length", min=8, help="model_max_length recorded in the tokenizer.")] = 512,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train a tokenizer on TEXTS and write it to --out with its statistics and pretraining record."""
    from eccr.errors import ConfigError
    from eccr.pretrain.tokenizer_training import MODELS, check_output_directory, pretrain_tokenizer

    if model not in MODELS:
        raise ConfigError("E123", f"unknown --model {model!r}; choose one of {', '.join(MODELS)}")
    check_output_directory(out)
    checker = _checker(check, check_format, select, out) if check is not None else None
    result = pretrain_tokenizer(
        texts, out, model=model, vocab_size=vocab_size,
        byte_fallback=None if byte_fallback is None else byte_fallback is Toggle.on,
        character_coverage=character_coverage, role=role, model_max_length=max_length, unit=unit,
        field=field, exclude=exclude or (), check=checker,
    )
    if as_json:
        data = result.to_dict()
        data["check"] = result.check.to_dict() if result.check is not None else None
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo(render(result), nl=False)


def _checker(corpus_path: Path, corpus_format: str | None, select: str | None, out: Path) -> Any:
    """Read the check corpus now (its errors come before training) and return the check to run."""
    from eccr.corpus.io import read_corpus

    corpus = read_corpus(corpus_path, corpus_format, select=select)

    def run(directory: Path) -> Any:
        from eccr.cli.diagnose_tokenizer import diagnose
        from eccr.models.hf_tokenizer import load_model_tokenizer

        loaded = load_model_tokenizer(directory, texts=list(corpus))  # as a model would load it
        return diagnose(corpus, loaded.tokenizer, tokenizer_name=str(out), select=select, loading=loaded)

    return run


def render(result: Any) -> str:
    """The result as a rich table (plus the ceiling report of ``--check``)."""
    from rich.console import Console
    from rich.table import Table

    from eccr.cli.diagnose_tokenizer import render_table

    stats = result.statistics
    texts = result.texts
    console = Console(file=io.StringIO(), width=120, color_system=None)
    settings = result.settings
    console.print(f"{settings['model']} tokenizer written to {result.out} (role {settings['role']}, byte "
                  f"fallback {'on' if settings['byte_fallback'] else 'off'}, character coverage "
                  f"{settings['character_coverage']})", highlight=False, markup=False)
    removed = texts.exclusion.counts() if texts.exclusion is not None else None
    console.print(f"trained on {len(texts.documents)} documents, {texts.characters()} characters from "
                  f"{len(texts.sources)} source(s)"
                  + (f"; {removed['candidates'] - removed['kept']} overlapping documents excluded "
                     f"({removed['duplicate']} duplicate, {removed['shared-sentence']} shared-sentence)"
                     if removed else ""), highlight=False, markup=False)
    table = Table(title="tokenizer on its training text", show_edge=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in (
        ("vocabulary size", f"{stats.vocab_size}"),
        ("character coverage", f"{stats.character_coverage:.4%}"),
        ("unknown-token rate", f"{stats.unknown_rate:.4%}"),
        ("byte-fallback token rate", f"{stats.byte_fallback_rate:.4%}"),
        ("tokens per character", f"{stats.tokens_per_character:.4f}"),
        ("training time", f"{result.seconds:.2f} s"),
    ):
        table.add_row(name, value)
    console.print(table)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return text + (render_table(result.check) if result.check is not None else "")
