"""``eccr pretrain``: masked-LM / causal-LM pretraining on unlabelled text, from scratch or continued.

A thin shell over :func:`eccr.pretrain.run.pretrain` (the rules are documented there and in
``docs/pretraining.md``). Options may also come from ``--config FILE`` (YAML or JSON whose keys are the
:class:`~eccr.pretrain.run.PretrainOptions` field names, e.g. ``block_size: 256``); an option given on the
command line wins over the file.

Example::

    eccr pretrain --texts ../shared/data/unlabeled/ja-clinical-unlabeled.jsonl \\
        --tokenizer tokenizers/unigram-8k --from-scratch deberta-v2:small --out models/jmed-small \\
        --steps 2000 --eval-steps 200 --whole-word-mask \\
        --exclude ../shared/data/medtxt-cr/MedTxt-CR-JA-training.xml
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import TrustRemoteCodeOpt


class Objective(StrEnum):
    mlm = "mlm"
    clm = "clm"


class Unit(StrEnum):
    auto = "auto"
    line = "line"
    file = "file"


class Precision(StrEnum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


def read_config(path: Path) -> dict[str, Any]:
    """The option values of a ``--config`` file (YAML or JSON mapping of :class:`PretrainOptions` fields).

    Raises:
        InputError: ``E131`` when the file cannot be read or is not a mapping.
        ConfigError: ``E131`` for a key that is no option.
    """
    from dataclasses import fields

    import yaml

    from eccr.errors import ConfigError, InputError, Location
    from eccr.pretrain.run import PretrainOptions

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InputError("E131", f"cannot read the config file {path}: {err}", Location(file=str(path))
                         ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("E131", f"config file {path} is not a mapping of option names to values",
                         Location(file=str(path)))
    names = {f.name for f in fields(PretrainOptions)} | {"texts", "out", "unit", "field"}
    unknown = sorted(set(map(str, data)) - names)
    if unknown:
        raise ConfigError("E131", f"config file {path} has unknown options {unknown}; use "
                          f"{', '.join(sorted(names))}", Location(file=str(path)))
    if "exclude" in data and isinstance(data["exclude"], list):
        data["exclude"] = tuple(map(str, data["exclude"]))
    return data


def _describe_texts(texts: Any) -> None:
    for source in texts.sources:
        typer.echo(f"read {source.documents} documents ({source.characters:,} characters) from {source.path}")


def _describe_result(summary: dict[str, Any], out: Path) -> None:
    first, last = summary["initial_validation_loss"], summary["final_validation_loss"]
    start = f"{first:.4f} → " if first is not None else ""
    speed = summary["tokens_per_second"]
    typer.echo(f"{summary['objective']} pretraining of {summary['start']}: {summary['steps']} steps, "
               f"{summary['tokens_seen']:,} tokens seen"
               + (f" ({speed:,.0f} tokens/s)" if speed else ""))
    typer.echo(f"validation loss {start}{last:.4f} (perplexity {summary['final_validation_perplexity']:.2f})")
    typer.echo(f"wrote {out} (model, tokenizer, loss.csv, loss.png, pretraining-summary.json)")


def command(
    texts: Annotated[list[Path] | None, typer.Option(
        "--texts", help="Unlabelled text: .txt (a document per line), a folder of .txt, .jsonl (text field) "
                        "or any eccr corpus. Repeatable; further paths may follow it.")] = None,
    more_texts: Annotated[list[Path] | None, typer.Argument(help="More text paths.", show_default=False)
                          ] = None,
    tokenizer: Annotated[str | None, typer.Option(
        "--tokenizer", help="Tokenizer directory (eccr pretrain-tokenizer); for --continue-from the model's "
                            "own by default.")] = None,
    from_scratch: Annotated[str | None, typer.Option(
        "--from-scratch", help="ARCH[:SIZE]: deberta-v2, roberta, bert (mlm); llama, mistral, gpt_neox, gpt2 "
                               "(clm); SIZE tiny, small (default), base, or a JSON file.")] = None,
    continue_from: Annotated[str | None, typer.Option(
        "--continue-from", help="A masked-/causal-LM directory or hub id to continue pretraining.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model directory to write (new or empty).")
                   ] = None,
    objective: Annotated[Objective | None, typer.Option(
        "--objective", help="mlm or clm (default: from the architecture).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Labelled corpus whose documents (and long sentences) are removed from the text. "
                          "Repeatable.")] = None,
    unit: Annotated[Unit | None, typer.Option("--unit", help="Plain text: a document per line or per file.")
                    ] = None,
    field: Annotated[str | None, typer.Option("--field", help="JSONL field holding the text.")] = None,
    block_size: Annotated[int | None, typer.Option("--block-size", help="Tokens per block [128].")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Optimizer steps.")] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Passes over the text [1].")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Blocks per device [16].")] = None,
    grad_accum: Annotated[int | None, typer.Option("--grad-accum", help="Gradient accumulation [1].")] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", help="Peak learning rate [5e-4 from scratch, 5e-5 continual].")] = None,
    warmup_ratio: Annotated[float | None, typer.Option("--warmup-ratio", help="Warm-up share [0.06].")
                            ] = None,
    eval_steps: Annotated[int | None, typer.Option("--eval-steps", help="Steps between evaluations [500].")
                          ] = None,
    save_steps: Annotated[int | None, typer.Option("--save-steps", help="Steps between checkpoints.")] = None,
    mlm_probability: Annotated[float | None, typer.Option(
        "--mlm-probability", help="Share of tokens predicted [0.15].")] = None,
    whole_word_mask: Annotated[bool | None, typer.Option(
        "--whole-word-mask/--token-mask", help="Mask whole MeCab words (fugashi) instead of single tokens.")
                               ] = None,
    extend_vocab: Annotated[str | None, typer.Option(
        "--extend-vocab", help="Tokenizer trained on the domain text: its pieces the model lacks are added "
                               "(--continue-from only).")] = None,
    extend_vocab_limit: Annotated[int | None, typer.Option(
        "--extend-vocab-limit", help="Add at most this many pieces.")] = None,
    precision: Annotated[Precision | None, typer.Option("--precision", help="auto: bf16 on a GPU with it.")
                         ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Split, initialisation, masking, order [0].")
                    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run in --out.")] = False,
    keep_checkpoints: Annotated[bool | None, typer.Option(
        "--keep-checkpoints", help="Keep checkpoints/ in the finished directory.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")] = True,
    config: Annotated[Path | None, typer.Option(
        "--config", help="YAML/JSON file of options (PretrainOptions names); the command line wins.")] = None,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Pretrain a model (masked-LM or causal-LM) on unlabelled text and write an HF model directory."""
    from eccr.errors import ConfigError
    from eccr.pretrain.run import PretrainOptions, pretrain
    from eccr.pretrain.texts import read_pretraining_texts

    values: dict[str, Any] = read_config(config) if config is not None else {}
    given = {
        "tokenizer": tokenizer, "from_scratch": from_scratch, "continue_from": continue_from,
        "objective": objective.value if objective else None, "block_size": block_size, "steps": steps,
        "epochs": epochs, "batch_size": batch_size, "grad_accum": grad_accum, "learning_rate": lr,
        "warmup_ratio": warmup_ratio, "eval_steps": eval_steps, "save_steps": save_steps,
        "mlm_probability": mlm_probability, "whole_word_mask": whole_word_mask, "extend_vocab": extend_vocab,
        "extend_vocab_limit": extend_vocab_limit, "precision": precision.value if precision else None,
        "seed": seed, "keep_checkpoints": keep_checkpoints,
        "exclude": tuple(exclude) if exclude else None,
        "unit": unit.value if unit else None, "field": field,
        "out": str(out) if out is not None else None,
    }
    values.update({k: v for k, v in given.items() if v is not None})
    paths = [*(texts or []), *(more_texts or [])] or [Path(p) for p in values.pop("texts", None) or []]
    values.pop("texts", None)
    target = values.pop("out", None)
    if not paths or target is None:
        raise ConfigError("E131", "give the text (--texts PATH) and the model directory to write (--out DIR)")
    if steps is not None and epochs is not None:
        raise ConfigError("E131", "give --steps or --epochs, not both")
    read_options = {"unit": values.pop("unit", "auto"), "field": values.pop("field", "text")}
    options = PretrainOptions(**values, resume=resume, progress=progress, trust_remote_code=trust_remote_code)
    options.check()
    corpus_texts = read_pretraining_texts(paths, **read_options)
    _describe_texts(corpus_texts)
    result = pretrain(corpus_texts, Path(target), options, log=typer.echo)
    _describe_result(dict(result.summary), Path(target))
