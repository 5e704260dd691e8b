"""``pretrain``: masked-LM or causal-LM pretraining of a model on unlabelled text, from scratch or continued.

The library entry point of ``eccr pretrain`` (and of ``benchmarks/pretraining.py``)::

    from eccr.pretrain.run import PretrainOptions, pretrain
    from eccr.pretrain.texts import read_pretraining_texts

    texts = read_pretraining_texts(["notes.jsonl"])
    result = pretrain(texts, "models/jmed-small", PretrainOptions(tokenizer="tokenizers/unigram-8k",
                      from_scratch="deberta-v2:small", steps=2000, eval_steps=200))
    result.summary["final_validation_loss"]

What a run does, in order (every check before anything is written):

1. **Text**: documents that duplicate or share a long sentence with an ``exclude`` corpus are removed
   (:func:`eccr.pretrain.texts.exclude_overlapping`); the rest are split 0.8/0.2 by document with ``seed``
   (:func:`eccr.pretrain.blocks.split_documents`) and packed into blocks of ``block_size`` tokens.
2. **Model** (:mod:`eccr.pretrain.models`): from scratch (``ARCH[:SIZE]``) or continued from a saved LM,
   optionally with an extended vocabulary (:mod:`eccr.pretrain.vocabulary`).
3. **Training**: Hugging Face ``Trainer`` — AdamW, linear schedule with ``warmup_ratio`` warm-up, gradient
   accumulation, bf16 on a GPU that has it (fp16 on older GPUs, fp32 on CPU), evaluation every
   ``eval_steps`` optimizer steps **and once before the first step** (step 0 of the curve), checkpoints every
   ``save_steps`` in ``OUT/checkpoints`` (the newest ``save_total_limit`` kept). Started under ``torchrun`` or
   ``accelerate launch`` it runs data-parallel on every GPU without any change.
4. **Publish**: the model (safetensors), tokenizer, ``pretraining-summary.json``, ``loss.csv``/``loss.png``
   and the provenance (:mod:`eccr.pretrain.provenance`) are written into a temporary sibling and swapped
   in as ``OUT`` at once (:func:`eccr.atomic.atomic_directory`): ``OUT`` is either an interrupted run (only
   ``checkpoints/``, which ``resume`` continues from) or a complete model directory that ``eccr cv --model
   hf:OUT`` (encoders) or ``it:OUT`` (decoders) loads unchanged — never half of one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from eccr.errors import ConfigError, InputError, Location

__all__ = ["SUMMARY_FILE", "PretrainOptions", "PretrainResult", "pretrain"]

SUMMARY_FILE = "pretraining-summary.json"
LOSS_CSV = "loss.csv"
LOSS_PNG = "loss.png"
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class PretrainOptions:
    """Everything a pretraining run is given besides its text and output directory.

    Attributes:
        tokenizer: tokenizer directory (required from scratch; default for continual: the model's own).
        from_scratch: ``ARCH[:SIZE]`` (:mod:`eccr.pretrain.models`); exactly one of it and ``continue_from``.
        continue_from: a saved masked-/causal-LM directory or hub id.
        objective: ``mlm`` or ``clm``; default from the architecture.
        block_size: tokens per block, special tokens included.
        steps: optimizer steps; when ``None``, ``epochs`` passes over the training blocks.
        epochs: passes over the training blocks (with ``steps`` unset).
        batch_size: blocks per device and forward pass.
        grad_accum: forward passes per optimizer step.
        learning_rate: peak learning rate; default 5e-4 from scratch, 5e-5 continual.
        warmup_ratio: share of the steps with linear warm-up.
        weight_decay: AdamW weight decay.
        eval_steps: optimizer steps between validation losses.
        save_steps: optimizer steps between checkpoints (default ``eval_steps``).
        save_total_limit: checkpoints kept.
        logging_steps: optimizer steps between training-loss records.
        mlm_probability: share of tokens predicted (mlm).
        whole_word_mask: mask whole MeCab words (:mod:`eccr.pretrain.masking`).
        extend_vocab: a domain tokenizer whose new pieces join the model's vocabulary (continual only).
        extend_vocab_limit: at most this many new pieces.
        validation_fraction: share of documents held out (the paper's 0.2).
        exclude: labelled corpora whose documents must not be pretrained on.
        seed: split, initialisation, masking and data order.
        resume: continue the interrupted run in ``OUT/checkpoints``.
        precision: ``auto``, ``fp32``, ``bf16`` or ``fp16``.
        keep_checkpoints: keep ``checkpoints/`` in the published directory.
        progress: show the progress bar.
        trust_remote_code: run code shipped with the model (only for models you trust).
    """

    tokenizer: str | None = None
    from_scratch: str | None = None
    continue_from: str | None = None
    objective: Literal["mlm", "clm"] | None = None
    block_size: int = 128
    steps: int | None = None
    epochs: float = 1.0
    batch_size: int = 16
    grad_accum: int = 1
    learning_rate: float | None = None
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    eval_steps: int = 500
    save_steps: int | None = None
    save_total_limit: int = 2
    logging_steps: int = 10
    mlm_probability: float = 0.15
    whole_word_mask: bool = False
    extend_vocab: str | None = None
    extend_vocab_limit: int | None = None
    validation_fraction: float = 0.2
    exclude: tuple[str, ...] = ()
    seed: int = 0
    resume: bool = False
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    keep_checkpoints: bool = False
    progress: bool = True
    trust_remote_code: bool = False

    def check(self) -> None:
        """``E131`` for contradictory or out-of-range options (those checkable without loading anything)."""
        problems = []
        if (self.from_scratch is None) == (self.continue_from is None):
            problems.append("give exactly one of --from-scratch ARCH[:SIZE] and --continue-from MODEL")
        if self.from_scratch is not None and self.tokenizer is None:
            problems.append("--from-scratch needs --tokenizer DIR (train one with eccr pretrain-tokenizer)")
        if self.extend_vocab is not None and self.continue_from is None:
            problems.append("--extend-vocab extends a pretrained model's vocabulary; use it with "
                            "--continue-from")
        if self.objective not in (None, "mlm", "clm"):
            problems.append(f"unknown objective {self.objective!r}; choose mlm or clm")
        if self.whole_word_mask and self.objective == "clm":
            problems.append("--whole-word-mask applies to mlm, not clm")
        for name in ("block_size", "batch_size", "grad_accum", "eval_steps", "save_total_limit",
                     "logging_steps"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        for name in ("steps", "save_steps", "extend_vocab_limit"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if not self.epochs > 0:
            problems.append("epochs must be positive")
        if self.learning_rate is not None and not self.learning_rate > 0:
            problems.append("the learning rate must be positive")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup_ratio must lie in [0, 1)")
        if not 0 < self.mlm_probability < 1:
            problems.append("mlm_probability must lie strictly between 0 and 1")
        if problems:
            raise ConfigError("E131", "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exclude": list(self.exclude)}


@dataclass(frozen=True)
class PretrainResult:
    """A finished run: the published directory, its summary, and the text it was pretrained on."""

    out: Path
    summary: Mapping[str, Any]
    texts: Any  # eccr.pretrain.texts.PretrainingTexts
    log_history: tuple[Mapping[str, Any], ...] = field(default=())


def _as_texts(texts: Any) -> Any:
    """:class:`~eccr.pretrain.texts.PretrainingTexts` as given, or built from a list of strings."""
    import hashlib

    from eccr.corpus.types import Document
    from eccr.pretrain.texts import PretrainingTexts, TextSource

    if isinstance(texts, PretrainingTexts):
        return texts
    documents = tuple(Document(f"text:{i + 1}", t) for i, t in enumerate(texts) if str(t).strip())
    if not documents:
        raise InputError("E120", "no text to pretrain on (every text is empty)")
    digest = hashlib.sha256("\n".join(d.text for d in documents).encode("utf-8")).hexdigest()
    source = TextSource("<texts>", "strings", digest, len(documents), sum(len(d.text) for d in documents))
    return PretrainingTexts(documents, (source,))


def check_out_dir(out: Path, resume: bool) -> str | None:
    """The checkpoint to resume from (``None``: a fresh start), or ``E134`` when ``out`` cannot be used.

    ``out`` must not exist, be empty, or hold only ``checkpoints/`` of an interrupted run (then ``resume``
    must be asked for: an earlier run is never continued or overwritten by accident).
    """
    from transformers.trainer_utils import get_last_checkpoint

    if out.exists() and not out.is_dir():
        raise ConfigError("E134", f"--out {out} is a file; give a directory", Location(file=str(out)))
    entries = sorted(p.name for p in out.iterdir() if not p.name.startswith(".eccr-tmp-")) \
        if out.is_dir() else []
    others = [name for name in entries if name != CHECKPOINTS]
    if others:
        raise ConfigError("E134", f"--out {out} already holds {', '.join(others[:5])} (a finished model or "
                          "other files); choose a new directory", Location(file=str(out)))
    checkpoint = get_last_checkpoint(str(out / CHECKPOINTS)) if (out / CHECKPOINTS).is_dir() else None
    if checkpoint is not None and not resume:
        raise ConfigError("E134", f"--out {out} holds an interrupted run ({Path(checkpoint).name}); pass "
                          "--resume to continue it, or choose a new directory", Location(file=str(out)))
    return checkpoint


def _starting_model(options: PretrainOptions) -> Any:
    from eccr.pretrain.models import continue_model, scratch_model
    from eccr.pretrain.tokenizer import load_tokenizer

    if options.from_scratch is not None:
        assert options.tokenizer is not None
        tokenizer = load_tokenizer(options.tokenizer, trust_remote_code=options.trust_remote_code)
        return scratch_model(options.from_scratch, tokenizer, objective=options.objective,
                             block_size=options.block_size, seed=options.seed,
                             tokenizer_name=options.tokenizer)
    assert options.continue_from is not None
    return continue_model(options.continue_from, options.tokenizer, objective=options.objective,
                          seed=options.seed, trust_remote_code=options.trust_remote_code)


def _check_block_size(start: Any, block_size: int) -> None:
    from eccr.pretrain.models import block_limit

    limit = block_limit(start.model.config)
    if limit is not None and block_size > limit:
        raise ConfigError("E132", f"block size {block_size} is above the {limit} positions the model "
                          f"{start.origin} can take; use --block-size {limit} or less")


def _extend(start: Any, options: PretrainOptions) -> Any:
    if options.extend_vocab is None:
        return None
    from eccr.pretrain.tokenizer import load_tokenizer
    from eccr.pretrain.vocabulary import extend_vocabulary, new_pieces

    domain = load_tokenizer(options.extend_vocab, trust_remote_code=options.trust_remote_code)
    pieces = new_pieces(start.tokenizer, domain, limit=options.extend_vocab_limit)
    if not pieces:
        raise ConfigError("E138", f"tokenizer {options.extend_vocab} has no piece that the model's tokenizer "
                          "lacks; nothing to extend", Location(file=options.extend_vocab))
    return extend_vocabulary(start.model, start.tokenizer, pieces)


def _whole_word_ids(options: PretrainOptions, tokenizer: Any) -> Any:
    if not options.whole_word_mask:
        return None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError("E139", "whole-word masking needs a fast tokenizer (character offsets); this one "
                          "is not")
    try:
        import fugashi  # noqa: F401
        import unidic_lite  # noqa: F401
    except ImportError:
        raise ConfigError("E139", "whole-word masking needs MeCab: pip install fugashi unidic-lite") from None
    from eccr.pretrain.masking import token_word_ids

    return token_word_ids


def _data(texts: Any, start: Any, options: PretrainOptions) -> tuple[Any, Any, list[Any], list[Any]]:
    """``(train blocks, validation blocks, train examples, frozen validation examples)``."""
    from eccr.pretrain.blocks import pack_blocks, split_documents
    from eccr.pretrain.masking import freeze_masking, make_collator

    words = _whole_word_ids(options, start.tokenizer)
    train_idx, valid_idx = split_documents(len(texts.documents), seed=options.seed,
                                           validation_fraction=options.validation_fraction)
    all_texts = texts.texts
    train = pack_blocks([all_texts[i] for i in train_idx], start.tokenizer, block_size=options.block_size,
                        word_ids=words)
    valid = pack_blocks([all_texts[i] for i in valid_idx], start.tokenizer, block_size=options.block_size,
                        word_ids=words)
    collator = make_collator(start.tokenizer, start.objective, mlm_probability=options.mlm_probability,
                             whole_word_mask=options.whole_word_mask)
    frozen = freeze_masking(valid.examples(), collator, seed=options.seed)
    return train, valid, train.examples(), frozen


def describe_exclusion(texts: Any, corpora: Sequence[str]) -> str | None:
    """One line saying what ``exclude`` removed, or ``None`` when nothing was excluded."""
    if texts.exclusion is None:
        return None
    counts = texts.exclusion.counts()
    removed = counts["duplicate"] + counts["shared-sentence"]
    return (f"--exclude {', '.join(corpora)}: removed {removed} of {counts['candidates']} documents "
            f"({counts['duplicate']} duplicates, {counts['shared-sentence']} sharing a sentence); "
            f"{counts['kept']} kept")


def pretrain(texts: Any, out: str | Path, options: PretrainOptions, *, callbacks: Sequence[Any] = (),
             log: Callable[[str], None] | None = None) -> PretrainResult:
    """Pretrain and publish a model directory at ``out`` (the steps in the module docstring).

    Args:
        texts: a :class:`~eccr.pretrain.texts.PretrainingTexts` or a list of document strings.
        out: the model directory to write (new, empty, or an interrupted run with ``options.resume``).
        options: the run's options.
        callbacks: extra ``transformers.TrainerCallback`` s (progress hooks, tests).
        log: called with a line of news before training (what ``exclude`` removed).

    Raises:
        ConfigError, InputError, ModelError: ``E120``, ``E125``, ``E130``–``E139`` (see ``docs/errors.md``),
            before anything is written.
    """
    options.check()
    out = Path(out)
    checkpoint = check_out_dir(out, options.resume)
    from eccr.pretrain.texts import exclude_corpora

    texts = exclude_corpora(_as_texts(texts), options.exclude)
    news = describe_exclusion(texts, options.exclude)
    if log is not None and news is not None:
        log(news)
    start = _starting_model(options)
    _check_block_size(start, options.block_size)
    extension = _extend(start, options)
    train, valid, train_examples, valid_examples = _data(texts, start, options)
    from eccr.pretrain.training import train_model

    outcome = train_model(start, train_examples, valid_examples, out / CHECKPOINTS, options,
                          checkpoint=checkpoint, callbacks=callbacks)
    summary = _summary(start, options, texts, train, valid, extension, outcome)
    if outcome.is_main_process:
        _publish(out, start, texts, options, summary, outcome.log_history)
    return PretrainResult(out, summary, texts, tuple(outcome.log_history))


def _summary(start: Any, options: PretrainOptions, texts: Any, train: Any, valid: Any, extension: Any,
             outcome: Any) -> dict[str, Any]:
    final = outcome.final_validation_loss
    return {
        "objective": start.objective,
        "architecture": start.architecture,
        "start": start.origin,
        "from_scratch": options.from_scratch is not None,
        "parameters": sum(p.numel() for p in start.model.parameters()),
        "vocab_size": len(start.tokenizer),
        "vocabulary_extension": extension.to_dict() if extension is not None else None,
        "documents": {"train": train.documents, "validation": valid.documents},
        "blocks": {"train": len(train), "validation": len(valid), "block_size": options.block_size},
        "text_tokens": {"train": train.tokens, "validation": valid.tokens},
        "characters": texts.characters(),
        "excluded": texts.exclusion.counts() if texts.exclusion is not None else None,
        "steps": outcome.global_step,
        "epochs": outcome.epoch,
        "tokens_seen": outcome.tokens_seen,
        "initial_validation_loss": outcome.initial_validation_loss,
        "final_validation_loss": final,
        "final_validation_perplexity": math.exp(min(final, 700.0)) if final is not None else None,
        "train_runtime_s": outcome.train_runtime,
        "tokens_per_second": (outcome.session_tokens / outcome.train_runtime
                              if outcome.train_runtime else None),
        "wall_time_s": outcome.wall_time,
        "device": outcome.device,
        "world_size": outcome.world_size,
        "precision": outcome.precision,
        "resumed_from": outcome.resumed_from,
        "options": options.to_dict(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _publish(out: Path, start: Any, texts: Any, options: PretrainOptions, summary: Mapping[str, Any],
             log_history: Sequence[Mapping[str, Any]]) -> None:
    """Model, tokenizer, summary, curves and provenance into a temporary sibling, swapped in as ``out``."""
    import json
    import os

    from eccr.atomic import atomic_directory, atomic_write_text
    from eccr.pretrain.curves import loss_rows, write_loss_csv, write_loss_plot
    from eccr.pretrain.provenance import write_provenance

    rows = loss_rows(log_history)
    with atomic_directory(out) as tmp:
        start.model.save_pretrained(tmp, safe_serialization=True)
        start.tokenizer.save_pretrained(tmp)
        write_loss_csv(tmp / LOSS_CSV, rows)
        write_loss_plot(tmp / LOSS_PNG, rows, title=f"{start.objective} pretraining of {start.origin}")
        atomic_write_text(tmp / SUMMARY_FILE, json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        write_provenance(tmp, texts, parent=options.continue_from,
                         details={"command": "pretrain", "objective": start.objective, "start": start.origin,
                                  "exclude": list(options.exclude), "options": options.to_dict()})
        if options.keep_checkpoints and (out / CHECKPOINTS).is_dir():
            os.replace(out / CHECKPOINTS, tmp / CHECKPOINTS)
