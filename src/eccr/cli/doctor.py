"""``eccr doctor MODEL [--corpus C]``: what to know about a pretrained model before training on it.

Loads a model directory or hub id the way ``--model hf:MODEL`` will (config, tokenizer with its family
recipe, checked against its SentencePiece model; no weights) and reports:

* the architecture, parameters, sizes, encoder or decoder, full fine-tuning or LoRA (and what it trains);
* the family recipe and its settings, and whether what it needs (Juman++, MeCab…) is installed;
* the tokenizer: class, how eccr obtained it, its SentencePiece model, **fidelity** (id agreement with
  SentencePiece before and after eccr's fix), byte fallback;
* the maximum input length, the window and step, and with ``--corpus`` how many documents need several
  windows;
* with ``--corpus``: unknown-token rate, the aligner's invariants and the **tokenizer ceiling** (wsm F1 at
  p = 1, 2, 100), as ``eccr diagnose-tokenizer`` reports them;
* a memory estimate (:mod:`eccr.models.footprint`) for training (full and LoRA) and inference at the
  configured batch size and window.

Model options (``--set model.options.window=256``, ``byte_fallback=false``…) are those of ``hf:`` models;
an eccr model directory (``eccr-model.json``) brings its own. It exits with ``E079`` when the tokenizer
fails the invariants (``--no-strict``: report only) and ``E190`` when the recipe needs something missing.

Example::

    eccr doctor izumi-lab/deberta-v2-base-japanese --select 'd[certainty=positive]' \\
        --corpus ../shared/data/medtxt-cr/MedTxt-CR-JA-training.xml --set model.options.byte_fallback=false
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import OutputFormat

DEFAULT_CEILING_P: tuple[float, ...] = (1.0, 2.0, 100.0)


@dataclass
class DoctorReport:
    """Everything ``eccr doctor`` found (see the module docstring); :meth:`to_dict` for JSON."""

    source: str
    model_type: str | None
    architecture: str | None
    decoder: bool
    footprint: Any  # eccr.models.footprint.Footprint
    recipe: Any  # eccr.models.recipes.Recipe
    options: Any  # TokenClassificationOptions
    training: dict[str, Any]
    requirements: list[dict[str, Any]]
    tokenizer: Any = None  # eccr.models.hf_tokenizer.ModelTokenizer (None when it could not be loaded)
    limits: dict[str, Any] = field(default_factory=dict)
    corpus: dict[str, Any] | None = None
    diagnosis: Any = None  # eccr.cli.diagnose_tokenizer.TokenizerDiagnosis
    memory: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: Any = None  # the EccrError that stopped the check (missing requirement)

    def to_dict(self) -> dict[str, Any]:
        fp = self.footprint
        return {
            "model": self.source,
            "model_type": self.model_type,
            "architecture": self.architecture,
            "decoder": self.decoder,
            "parameters": fp.parameters,
            "sizes": {
                "hidden": fp.hidden,
                "layers": fp.layers,
                "heads": fp.heads,
                "intermediate": fp.intermediate,
                "vocab": fp.vocab,
                "dtype": fp.dtype,
            },
            "recipe": self.recipe.settings(self.model_type),
            "requirements": self.requirements,
            "training": self.training,
            "tokenizer": self.tokenizer.record() if self.tokenizer is not None else None,
            "limits": self.limits,
            "corpus": self.corpus,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis is not None else None,
            "memory_gib": self.memory,
            "seconds": round(self.seconds, 3),
            "error": str(self.error) if self.error is not None else None,
        }


def _source_and_options(model: str, overrides: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The path or hub id, and the model options (an eccr model directory's own, then ``overrides``)."""
    from eccr.errors import ConfigError, Location
    from eccr.models.base import MODEL_FILE

    source = model[len("hf:") :] if model.startswith("hf:") else model
    path = Path(source).expanduser()
    looks_local = source.startswith((".", "/", "~")) or path.exists() or source.count("/") != 1
    if looks_local and not path.exists():
        raise ConfigError(
            "E194",
            f"model directory {source} does not exist (a hub id is written owner/name)",
            Location(file=source),
        )
    options: dict[str, Any] = {}
    record = path / MODEL_FILE
    if record.is_file():
        options = dict(json.loads(record.read_text(encoding="utf-8")).get("options") or {})
    return (str(path) if path.exists() else source), {**options, **overrides}


def doctor(
    model: str,
    *,
    corpus: str | Path | None = None,
    corpus_format: str | None = None,
    select: str | None = None,
    options: dict[str, Any] | None = None,
    p: tuple[float, ...] = DEFAULT_CEILING_P,
) -> DoctorReport:
    """Inspect ``model`` (a directory or hub id, ``hf:`` optional); see the module docstring."""
    from transformers import AutoConfig

    from eccr.errors import ConfigError, Location, ModelError
    from eccr.models.base import parse_options
    from eccr.models.hf_tokenizer import load_model_tokenizer, read_tokenizer_config
    from eccr.models.recipes import is_decoder_only, select_recipe
    from eccr.models.token_classification import TokenClassificationOptions

    started = time.perf_counter()
    source, merged = _source_and_options(model, dict(options or {}))
    opts = parse_options(TokenClassificationOptions, merged)
    documents = None
    if corpus is not None:
        from eccr.corpus.io import read_corpus

        documents = read_corpus(corpus, corpus_format, select=select)
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=opts.trust_remote_code, num_labels=2)
    except (OSError, ValueError) as err:
        raise ModelError(
            "E062", f"cannot load a model config from {source}: {err}", Location(file=source)
        ) from None
    decoder = is_decoder_only(config)
    tokenizer_config = read_tokenizer_config(source)
    recipe = select_recipe(
        config.model_type, tokenizer_config.get("tokenizer_class"), source, decoder=decoder
    )
    if opts.recipe:
        from eccr.models.recipes import get_recipe

        recipe = get_recipe(opts.recipe)
    requirements = [
        {"name": r.name, "missing": r.missing(), "install": r.install}
        for r in recipe.needed(tokenizer_config)
    ]
    report = DoctorReport(
        source,
        config.model_type,
        _token_classification_class(config),
        recipe.decoder,
        None,
        recipe,
        opts,
        {},
        requirements,
    )
    uses_lora = opts.lora is True or (opts.lora == "auto" and recipe.decoder)
    # the modules LoRA would adapt (estimated also when the model trains fully): the option, the recipe's,
    # else peft's default for the architecture
    targets = (
        opts.lora_target_modules or list(recipe.lora_target_modules or []) or _peft_default(config.model_type)
    )
    report.footprint = _footprint(config, targets, opts.lora_r)
    try:
        report.tokenizer = load_model_tokenizer(
            source,
            model_type=config.model_type,
            recipe=recipe,
            byte_fallback=opts.byte_fallback,
            trust_remote_code=opts.trust_remote_code,
            texts=list(documents) if documents is not None else (),
            decoder=decoder,
        )
    except ConfigError as err:
        if err.code != "E190":
            raise
        report.error = err
    report.training = _training(report.footprint, uses_lora, targets, opts)
    if report.tokenizer is not None:
        _limits_and_corpus(report, config, documents, select, p)
    report.memory = _memory(report, opts)
    report.seconds = time.perf_counter() - started
    return report


def _token_classification_class(config: Any) -> str | None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES

    return MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES.get(config.model_type)


def _peft_default(model_type: str | None) -> list[str] | None:
    try:
        from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as mapping
    except ImportError:
        return None
    return mapping.get(model_type or "")


def _footprint(config: Any, targets: list[str] | str | None, r: int) -> Any:
    from eccr.models.footprint import measure

    return measure(config, targets if targets is None or isinstance(targets, list) else [targets], r)


def _training(footprint: Any, uses_lora: bool, targets: Any, opts: Any) -> dict[str, Any]:
    if not uses_lora:
        return {
            "mode": "full fine-tuning",
            "trainable": footprint.parameters,
            "lora_if_asked": {
                "r": opts.lora_r,
                "target_modules": targets,
                "trainable": footprint.lora_parameters,
            },
        }
    return {
        "mode": "LoRA",
        "r": opts.lora_r,
        "target_modules": targets,
        "trainable": footprint.lora_parameters,
        "bidirectional": opts.bidirectional,
    }


def _limits_and_corpus(
    report: DoctorReport, config: Any, documents: Any, select: str | None, p: tuple[float, ...]
) -> None:
    from eccr.align import SpecialTokens, align_text
    from eccr.align.windows import content_size, default_step
    from eccr.cli.diagnose_tokenizer import diagnose
    from eccr.models.token_classification import _model_limit

    tokenizer = report.tokenizer.tokenizer
    opts = report.options
    limit = _model_limit(config, tokenizer, report.recipe)
    window = opts.window or limit
    special = SpecialTokens.from_tokenizer(tokenizer)
    step = opts.step or default_step(window, special.count)
    report.limits = {
        "model_limit": limit,
        "window": window,
        "step": step,
        "special_tokens": special.count,
        "positions": report.recipe.position_rule(report.model_type),
    }
    if documents is None:
        return
    alignments = {doc.id: align_text(tokenizer, doc.text, doc_id=doc.id) for doc in documents}
    lengths = [len(a) for a in alignments.values()]
    size = content_size(window, special.count)
    report.corpus = {
        "source": str(documents.source),
        "select": select,
        "documents": len(lengths),
        "need_windows": sum(n > size for n in lengths),
        "longest_tokens": max(lengths, default=0),
        "tokens": sum(lengths),
    }
    report.diagnosis = diagnose(
        documents,
        tokenizer,
        tokenizer_name=report.source,
        select=select,
        p=p,
        alignments=alignments,
        loading=report.tokenizer,
    )


def _memory(report: DoctorReport, opts: Any) -> dict[str, Any]:
    from eccr.models.footprint import dtype_bytes, estimate_bytes

    fp = report.footprint
    seq = report.limits.get("window") or 512
    activation_bytes = 4 if opts.precision == "fp32" else 2
    common = {
        "hidden": fp.hidden,
        "layers": fp.layers,
        "heads": fp.heads,
        "intermediate": fp.intermediate,
        "seq": seq,
        "batch": opts.batch_size,
        "activation_bytes": activation_bytes,
        "inference_batch": 2 * opts.batch_size,
    }
    full = estimate_bytes(fp.parameters, trainable=fp.parameters, weight_bytes=4, **common)
    memory = {
        "assumptions": f"batch {opts.batch_size} × {seq} tokens, "
        f"{'fp32' if activation_bytes == 4 else '16-bit'} activations, AdamW; inference batch "
        f"{2 * opts.batch_size}, weights as {fp.dtype}",
        "full_fine_tuning": full.to_dict(),
    }
    if fp.lora_parameters is not None:
        lora = estimate_bytes(
            fp.parameters, trainable=fp.lora_parameters, weight_bytes=dtype_bytes(fp.dtype), **common
        )
        memory["lora"] = lora.to_dict()
    memory["inference"] = estimate_bytes(
        fp.parameters, trainable=0, weight_bytes=dtype_bytes(fp.dtype), **common
    ).to_dict()["inference"]
    return memory


def _count(n: int | None) -> str:
    """``83.2 K``, ``110.4 M``, ``6.7 B``."""
    if n is None:
        return "?"
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return str(n)


def _gib(value: float) -> str:
    """GiB with one decimal, or MiB below 0.1 GiB."""
    return f"{value:.1f} GiB" if value >= 0.1 else f"{value * 1024:.1f} MiB"


def render(report: DoctorReport) -> str:
    """The report as text, one finding per line."""
    from rich.console import Console

    out = Console(file=io.StringIO(), width=120, color_system=None)

    def line(label: str, text: str) -> None:
        out.print(f"{label:<13}{text}", highlight=False, markup=False, soft_wrap=True)

    fp, recipe = report.footprint, report.recipe
    line(
        "model",
        f"{report.source} — {report.model_type} ({report.architecture}), "
        f"{'decoder' if report.decoder else 'encoder'}",
    )
    line(
        "size",
        f"{_count(fp.parameters)} parameters (hidden {fp.hidden}, {fp.layers} layers, {fp.heads} "
        f"heads, vocabulary {fp.vocab}); weights {fp.dtype}",
    )
    line("recipe", f"{recipe.name} — {recipe.family}; {'; '.join(recipe.describe(report.model_type))}")
    if recipe.notes:
        line("", recipe.notes)
    for requirement in report.requirements:
        status = "installed" if not requirement["missing"] else f"MISSING {', '.join(requirement['missing'])}"
        line("requires", f"{requirement['name']}: {status}")
    training = report.training
    if training["mode"] == "LoRA":
        targets = training["target_modules"]
        line(
            "training",
            f"LoRA r={training['r']} on {targets if isinstance(targets, str) else ', '.join(targets)}"
            f" + the head: {_count(training['trainable'])} trainable "
            f"({training['trainable'] / fp.parameters:.2%})",
        )
    else:
        line("training", f"full fine-tuning: {_count(training['trainable'])} trainable")
    if report.error is not None:
        line("tokenizer", f"not loaded: {report.error}")
    else:
        _render_tokenizer(report, line)
    memory = report.memory
    line("memory", f"estimate ({memory['assumptions']}):")
    full = memory["full_fine_tuning"]
    line("", f"full fine-tuning ≈ {_gib(full['training'])} ({_gib(full['activations'])} activations)")
    if "lora" in memory:
        lora = memory["lora"]
        targets = report.footprint.lora_targets or ()
        line("", f"LoRA r={report.options.lora_r} on {', '.join(targets)} ≈ {_gib(lora['training'])} "
             f"({_gib(lora['activations'])} activations)")
    line("", f"inference ≈ {_gib(memory['inference'])}")
    line("time", f"{report.seconds:.1f} s")
    return out.file.getvalue()  # type: ignore[attr-defined]


def _render_tokenizer(report: DoctorReport, line: Any) -> None:
    from eccr.metrics import format_p

    loaded = report.tokenizer
    record = loaded.record()
    fallback = {None: "n/a", True: "on", False: "off"}[record["byte_fallback"]]
    line("tokenizer", f"{loaded.loaded_class} ({loaded.choice}); byte fallback {fallback}")
    for text in loaded.describe()[1:]:
        line("", text)
    if loaded.sentencepiece is None and loaded.fidelity is None:
        line("", "fidelity: no SentencePiece model or tokenizer.json to compare with")
    limits = report.limits
    line(
        "length",
        f"window {limits['window']} tokens (model limit {limits['model_limit']}, "
        f"{limits['special_tokens']} special), step {limits['step']}; positions {limits['positions']}",
    )
    if report.corpus is None:
        line("corpus", "none given (--corpus adds windows, unknown rate, invariants and the ceiling)")
        return
    corpus, diagnosis = report.corpus, report.diagnosis
    line(
        "corpus",
        f"{corpus['source']}{' [' + corpus['select'] + ']' if corpus['select'] else ''}: "
        f"{corpus['documents']} documents, {corpus['tokens']} tokens; {corpus['need_windows']} need several "
        f"windows (longest {corpus['longest_tokens']} tokens)",
    )
    inv = diagnosis.invariants
    line(
        "unknown",
        f"{inv.unk_tokens} of {inv.tokens} tokens ({inv.unk_tokens / max(inv.tokens, 1):.2%}), "
        f"{inv.unk_chars} of {inv.characters} characters ({inv.unk_chars / max(inv.characters, 1):.2%}); "
        f"{inv.byte_fallback_tokens} byte pieces",
    )
    for number, text in enumerate(inv.describe()):
        line("invariants" if number == 0 else "", text.removeprefix("invariants: "))
    scores = ", ".join(f"p={format_p(p)} {diagnosis.report.wsm[p].f1:.4f}" for p in diagnosis.report.p_values)
    counts = diagnosis.ceiling.counts()
    line(
        "ceiling",
        f"wsm F1 {scores}; {counts['crossed_spans']} of {counts['spans']} spans cross a token boundary",
    )


def command(
    model: Annotated[str, typer.Argument(help="Model directory or hub id (hf: optional).")],
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Corpus to check the tokenizer on.")] = None,
    select: Annotated[
        str | None, typer.Option("--select", help="Span selector, e.g. 'd[certainty=positive]'.")
    ] = None,
    corpus_format: Annotated[
        str | None, typer.Option("--from", help="Corpus format (default: extension).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Model option KEY=VALUE, e.g. model.options.byte_fallback=false."),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="Output format (table or json).")
    ] = OutputFormat.table,
    p: Annotated[
        list[str] | None, typer.Option("--p", help="Hölder p values of the ceiling (default 1,2,100).")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict/--no-strict", help="Exit with E079 when the tokenizer violates an invariant."),
    ] = True,
) -> None:
    """Report what to know before training MODEL: size, recipe, tokenizer fidelity, ceiling, memory."""
    from eccr.cli.score import parse_p_values
    from eccr.errors import ConfigError
    from eccr.experiments.config import parse_override

    if fmt is OutputFormat.csv:
        raise ConfigError("E194", "doctor writes table or json, not csv")
    options: dict[str, Any] = {}
    for text in set_ or []:
        path, value = parse_override(text)
        if len(path) != 3 or path[:2] != ["model", "options"]:
            raise ConfigError(
                "E194", f"doctor takes model options only (--set model.options.KEY=VALUE), not {text!r}"
            )
        options[path[2]] = value
    report = doctor(
        model,
        corpus=corpus,
        corpus_format=corpus_format,
        select=select,
        options=options,
        p=parse_p_values(p) or DEFAULT_CEILING_P,
    )
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render(report), nl=False)
    if report.error is not None:
        raise report.error
    if strict and report.diagnosis is not None:
        report.diagnosis.invariants.raise_if_violated(f"the tokenizer of {report.source}")
