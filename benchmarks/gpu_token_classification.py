"""GPU benchmark (issue 5): 5-fold CV of transformers trained from scratch on MedTxt-CR, with tokens/s.

One command, prepared for a lent GPU with a hard time limit. Within ``--budget-s`` (default 540 s) it runs,
in order, on MedTxt-CR ``d[certainty=positive]`` with the 5-fold plan of ``eccr cv`` (seed 0, 0.6/0.2/0.2):

1. ``deberta-base``: DeBERTa-v2 at base size (hidden 768, 12 layers, 12 heads, FFN 3072), **full
   fine-tuning** from random initialisation;
2. ``llama-causal``: a small Llama (hidden 512, 8 layers, 8 heads, FFN 1536), causal mask (the paper), full
   fine-tuning;
3. ``llama-bidir-all``: the same with the causal mask removed in all layers (``bidirectional: all``);
4. ``llama-bidir-top<k>``: the same with the mask removed in the top k layers (``--top-k``, 0 leaves it out);
5. ``llama-lora``: the causal Llama with **LoRA** (``lora: true``, r 8, the embeddings and the classification
   head trained fully via ``lora_modules_to_save``), as the issue asks for decoders (``--no-lora``: left out).

Why full fine-tuning in steps 1-4: no pretrained weights exist here (no network), so every model starts from
random weights. LoRA trains small low-rank updates of *frozen* base weights — meaningful when those weights
were pretrained, nearly meaningless when they are random. Step 5 honours the issue's "LoRA" anyway, on
from-scratch base weights: read its F1 as "what a low-rank adapter on a random network learns", not as the
paper's LoRA setting; it still measures LoRA's training throughput.

All steps use one character-level tokenizer per role (encoder/decoder) trained on the unlabeled clinical texts
(one token per character; no concept is cut by a token boundary), windows of ``--window`` tokens, IO labels,
early stopping on the validation wsm F1 at p = 1 (``--patience``, at most ``--epochs`` epochs, as the paper),
precision ``auto`` (bf16 on a GPU that supports it).

Folds run through the library: the fold plan is :func:`eccr.experiments.runner.plan_folds`, each fold is
:func:`eccr.experiments.runner.run_fold` (the per-fold step of ``cross_validate``; called fold by fold so the
script can stop between folds), and the result is the library's ``CVResult`` (``summary.json``/``.md`` in
``OUT/<step>/``).

Budget: each step gets an equal share of the time left (``remaining / steps left``) and runs at most
``--folds-to-run`` folds, stopping between folds when the next one (estimated from this step's previous fold,
else the previous step's mean fold time) would overrun its share. A step whose first fold would overrun the
whole remaining budget is skipped and said so; the results still record it (``"status": "skipped"``).

Training tokens/s: the non-padding tokens of every *training* batch the collator builds (batches with labels,
so validation decoding is excluded) divided by the Trainer's ``train_runtime`` minus its evaluation time
(``eval_runtime`` records in ``metrics.jsonl``): pure optimisation throughput, all epochs actually run.

Writes ``OUT/results.json`` and ``OUT/results.md`` (settings, device name, torch/transformers versions, per
step: folds run, wsm P/R/F1 mean (SD) and pooled at p = 1, 1.5, 2, 100, tokens/s, wall time), where OUT is
``--out``, else ``$OUT``, else ``/tmp/eccr-gpu``. Usage::

    python benchmarks/gpu_token_classification.py --out $OUT --budget-s 540    # the GPU session
    .venv/bin/python benchmarks/gpu_token_classification.py --smoke --corpus sample --out /tmp/eccr-gpu-smoke

``--smoke`` runs the whole pipeline tiny (hidden 32, 1 layer, 1 epoch, 1 fold, window 64) on CPU, on the
bundled sample corpus when the shared data is absent (or with ``--corpus sample``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Where the shared data may be: $ECCR_SHARED_DATA, beside the repository, or inside it (device copies).
DATA_CANDIDATES = tuple(
    Path(p)
    for p in (os.environ.get("ECCR_SHARED_DATA"), ROOT.parent / "shared" / "data", ROOT / "shared" / "data")
    if p
)
MEDTXT = Path("medtxt-cr") / "MedTxt-CR-JA-training.xml"
UNLABELED = Path("unlabeled") / "ja-clinical-unlabeled.jsonl"
SELECT = "d[certainty=positive]"
P_VALUES = (1.0, 1.5, 2.0, 100.0)
FOLDS = 5


#: Modules eccr's token-classification path needs; checked first so a bare machine fails in seconds.
REQUIRED_MODULES = ("torch", "transformers", "tokenizers", "peft", "accelerate", "pydantic", "numpy", "yaml",
                    "rich")


def preflight() -> list[str]:
    """Put ``src/`` on the path when ``eccr`` is not installed; return the missing required modules."""
    import importlib.util

    if importlib.util.find_spec("eccr") is None:
        sys.path.insert(0, str(ROOT / "src"))
    return [name for name in (*REQUIRED_MODULES, "eccr") if importlib.util.find_spec(name) is None]


def find_shared_data() -> Path | None:
    """The first candidate directory that holds MedTxt-CR and the unlabeled texts, else ``None``."""
    for base in DATA_CANDIDATES:
        if (base / MEDTXT).is_file() and (base / UNLABELED).is_file():
            return base
    return None


# --- the steps ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One model configuration to cross-validate: architecture, sizes and ``model.options``."""

    name: str
    architecture: str
    hidden: int
    layers: int
    heads: int
    intermediate: int
    options: Mapping[str, Any]
    note: str


def build_steps(args: argparse.Namespace) -> list[Step]:
    """The steps in run order, sized for the GPU or, with ``--smoke``, tiny."""
    smoke = args.smoke
    common = {
        "init": "from_config",
        "epochs": 1 if smoke else args.epochs,
        "patience": args.patience,
        "batch_size": args.batch_size,
        "window": 64 if smoke else args.window,
        "precision": "auto",
        "progress": False,
        "logging_steps": 10,
        "seed": 0,
    }
    enc = (32, 1, 2, 64) if smoke else (768, 12, 12, 3072)
    dec = (32, 1, 2, 64) if smoke else (512, 8, 8, 1536)
    dec_lr = args.decoder_lr
    steps = [
        Step("deberta-base", "deberta-v2", *enc,
             {**common, "learning_rate": args.encoder_lr, "lora": False},
             "full fine-tuning from random weights"),
        Step("llama-causal", "llama", *dec,
             {**common, "learning_rate": dec_lr, "lora": False, "bidirectional": False},
             "full fine-tuning, causal mask (the paper)"),
        Step("llama-bidir-all", "llama", *dec,
             {**common, "learning_rate": dec_lr, "lora": False, "bidirectional": "all"},
             "full fine-tuning, causal mask removed in all layers"),
    ]
    top_k = min(args.top_k, dec[1]) if args.top_k else 0
    if top_k:
        steps.append(Step(f"llama-bidir-top{top_k}", "llama", *dec,
                          {**common, "learning_rate": dec_lr, "lora": False, "bidirectional": top_k},
                          f"full fine-tuning, causal mask removed in the top {top_k} layers"))
    if args.lora:
        steps.append(Step("llama-lora", "llama", *dec,
                          {**common, "learning_rate": args.lora_lr, "lora": True, "bidirectional": False,
                           "lora_modules_to_save": ["embed_tokens"]},
                          "LoRA r 8 on from-scratch (random, frozen) base weights; embeddings and head "
                          "trained fully; causal"))
    return steps


# --- budget (pure functions) ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetDecision:
    """Whether to start a step or fold, and why."""

    run: bool
    reason: str


def step_share(remaining_s: float, steps_left: int) -> float:
    """The seconds a step may use: an equal share of the time left (unused time passes to later steps).

    >>> step_share(540.0, 4)
    135.0
    >>> step_share(-5.0, 2)
    0.0
    """
    if steps_left < 1:
        raise ValueError("steps_left must be >= 1")
    return max(0.0, remaining_s) / steps_left


def decide_step(remaining_s: float, estimate_fold_s: float | None) -> BudgetDecision:
    """Start a step only if one fold, estimated from the previous step, fits in the remaining budget.

    Without an estimate (the first step) the step starts when any time is left.

    >>> decide_step(100.0, None).run
    True
    >>> decide_step(100.0, 150.0)
    BudgetDecision(run=False, reason='one fold needs ~150 s (previous step), 100 s left')
    """
    if remaining_s <= 0:
        return BudgetDecision(False, "budget spent")
    if estimate_fold_s is not None and estimate_fold_s > remaining_s:
        return BudgetDecision(
            False, f"one fold needs ~{estimate_fold_s:.0f} s (previous step), {remaining_s:.0f} s left"
        )
    return BudgetDecision(True, "fits")


def decide_fold(
    folds_done: int, folds_wanted: int, step_elapsed_s: float, share_s: float, estimate_fold_s: float | None
) -> BudgetDecision:
    """Run another fold of a step while fewer than ``folds_wanted`` ran and the next one fits the share.

    The first fold of a started step always runs (:func:`decide_step` already checked it fits the budget).

    >>> decide_fold(0, 5, 0.0, 10.0, 999.0).run
    True
    >>> decide_fold(2, 5, 80.0, 135.0, 40.0)
    BudgetDecision(run=True, reason='fits')
    >>> decide_fold(3, 5, 120.0, 135.0, 40.0).reason
    'next fold needs ~40 s, 15 s of the step share left'
    >>> decide_fold(5, 5, 1.0, 135.0, 1.0).reason
    'ran the 5 folds asked for'
    """
    if folds_done >= folds_wanted:
        return BudgetDecision(False, f"ran the {folds_wanted} folds asked for")
    if folds_done == 0 or estimate_fold_s is None:
        return BudgetDecision(True, "fits")
    left = share_s - step_elapsed_s
    if estimate_fold_s > left:
        return BudgetDecision(
            False, f"next fold needs ~{estimate_fold_s:.0f} s, {max(0.0, left):.0f} s of the step share left"
        )
    return BudgetDecision(True, "fits")


# --- token counting -------------------------------------------------------------------------------------
@dataclass
class TokenCounter:
    """Non-padding tokens and windows of the training batches built while counting."""

    tokens: int = 0
    windows: int = 0
    batches: int = 0


@contextmanager
def count_training_tokens() -> Iterator[TokenCounter]:
    """Count the tokens of every training batch (one with ``labels``) the eccr collator builds.

    ``TokenClassificationModel.fit`` imports :class:`eccr.training.collator.WindowCollator` when called, so a
    counting subclass put in its place for the duration sees every batch the Trainer draws (all epochs, the
    DataLoader runs in the main process). Validation/prediction batches have no labels and are not counted.
    """
    from eccr.training import collator as module

    counter = TokenCounter()
    original = module.WindowCollator

    class CountingCollator(original):  # type: ignore[misc, valid-type]
        def __call__(self, features: Any) -> dict[str, Any]:
            batch = super().__call__(features)
            if "labels" in batch:
                counter.tokens += int(batch["attention_mask"].sum())
                counter.windows += int(batch["attention_mask"].shape[0])
                counter.batches += 1
            return batch

    module.WindowCollator = CountingCollator  # type: ignore[misc]
    try:
        yield counter
    finally:
        module.WindowCollator = original  # type: ignore[misc]


def train_seconds(fold_dir: Path) -> tuple[float | None, float]:
    """(``train_runtime`` − evaluation time, evaluation time) from a fold's ``metrics.jsonl``."""
    from eccr.training.callbacks import read_metrics_log

    records = read_metrics_log(fold_dir)
    runtime = next((r["train_runtime"] for r in reversed(records) if "train_runtime" in r), None)
    evaluation = sum(float(r.get("eval_runtime", 0.0)) for r in records)
    if runtime is None:
        return None, evaluation
    return max(float(runtime) - evaluation, 1e-9), evaluation


# --- running --------------------------------------------------------------------------------------------
def environment_info() -> dict[str, Any]:
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": cuda,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
    }
    try:
        import peft

        info["peft"] = peft.__version__
    except ImportError:  # pragma: no cover - peft is a dependency of the hf extra
        info["peft"] = None
    return info


def run_step(step: Step, model_dir: Path, corpus: Any, plan: Any, folds_wanted: int, share_s: float,
             estimate_fold_s: float | None, work: Path, out: Path) -> dict[str, Any]:
    """Cross-validate one step fold by fold within ``share_s``; the step's result as a JSON-ready dict.

    Checkpoints and predictions stay in ``work/<step>``; ``summary.json``/``.md`` are copied to
    ``out/<step>``.
    """
    from eccr.corpus.types import Corpus
    from eccr.experiments.config import resolve_config
    from eccr.experiments.folds import FoldPlan
    from eccr.experiments.runner import CVResult, run_fold
    from eccr.metrics import score, summarize_folds

    step_dir = work / step.name
    shutil.rmtree(step_dir, ignore_errors=True)  # a stale checkpoint would be resumed, not retrained
    config = resolve_config({"model": {"spec": f"hf:{model_dir}", "options": dict(step.options)},
                             "folds": plan.k, "seed": 0, "p": list(P_VALUES)})
    started = time.perf_counter()
    folds, fold_rows, stop_reason = [], [], ""
    estimate = estimate_fold_s
    while True:
        decision = decide_fold(len(folds), folds_wanted, time.perf_counter() - started, share_s, estimate)
        if not decision.run:
            stop_reason = decision.reason
            break
        fold = plan.folds[len(folds)]
        fold_dir = step_dir / f"fold-{fold.index}"
        with count_training_tokens() as counter:
            result = run_fold(corpus, fold, config, fold_dir)
        train_s, eval_s = train_seconds(fold_dir)
        folds.append(result)
        fold_rows.append({
            "fold": fold.index, "wall_s": round(result.wall_s, 2), "fit_s": round(result.fit_s, 2),
            "train_s": None if train_s is None else round(train_s, 4), "eval_s": round(eval_s, 4),
            "train_tokens": counter.tokens, "train_windows": counter.windows,
            "tokens_per_s": None if not train_s else round(counter.tokens / train_s, 1),
            "wsm_f1_p1": round(result.report.wsm[1.0].f1, 4),
        })
        estimate = result.wall_s
        print(f"  {step.name} fold {fold.index}: wsm F1 p=1 {result.report.wsm[1.0].f1:.3f}, "
              f"{counter.tokens} train tokens, {fold_rows[-1]['tokens_per_s']} tokens/s, "
              f"{result.wall_s:.1f} s", flush=True)
    wall = time.perf_counter() - started
    sub_plan = FoldPlan(tuple(plan.folds[: len(folds)]), plan.seed, plan.validation_fraction)
    gold = Corpus(d for f in sub_plan.folds for d in corpus.subset(f.test))
    predicted = Corpus(d for r in folds for d in r.predictions)
    pooled = score(gold, predicted, p=P_VALUES, by_length=True)
    summary = summarize_folds([r.report for r in folds], pooled)
    CVResult(config, sub_plan, tuple(folds), pooled, summary, wall, time.strftime("%FT%TZ", time.gmtime()),
             step_dir).write(step_dir)
    (out / step.name).mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "summary.md"):
        shutil.copy(step_dir / name, out / step.name / name)
    scores = summary.to_dict()["wsm"]
    tokens = sum(r["train_tokens"] for r in fold_rows)
    train_total = sum(r["train_s"] or 0.0 for r in fold_rows)
    return {
        "name": step.name, "status": "ran", "note": step.note, "architecture": step.architecture,
        "hidden": step.hidden, "layers": step.layers, "heads": step.heads, "intermediate": step.intermediate,
        "options": dict(step.options), "folds_run": len(folds), "folds_planned": plan.k,
        "stopped_because": stop_reason, "wall_s": round(wall, 2), "share_s": round(share_s, 1),
        "train_tokens": tokens, "train_s": round(train_total, 2),
        "tokens_per_s": round(tokens / train_total, 1) if train_total > 0 else None,
        "wsm": scores, "folds": fold_rows, "summary": f"{step.name}/summary.json",
    }


def load_data(args: argparse.Namespace) -> tuple[Any, list[str], str]:
    """(corpus, tokenizer texts, description) for ``--corpus``; exits with code 2 when data is missing."""
    from eccr.corpus.io import read_corpus
    from eccr.data import sample_corpus
    from eccr.pretrain.tokenizer import read_texts

    base = find_shared_data()
    choice = args.corpus
    if choice == "auto":
        choice = "medtxt" if base is not None or not args.smoke else "sample"
    if choice == "medtxt":
        if base is None:
            searched = ", ".join(str(b) for b in DATA_CANDIDATES)
            raise SystemExit(f"error: MedTxt-CR and the unlabeled texts not found under any of: {searched} "
                             "(set ECCR_SHARED_DATA, or --smoke --corpus sample for a test run)")
        corpus = read_corpus(base / MEDTXT, select=SELECT)
        return corpus, read_texts(base / UNLABELED), f"{base / MEDTXT} {SELECT} ({len(corpus)} documents)"
    corpus = sample_corpus()
    return corpus, [d.text for d in corpus], f"bundled sample corpus ({len(corpus)} documents)"


def to_markdown(results: Mapping[str, Any]) -> str:
    env, settings = results["environment"], results["settings"]
    lines = [
        "# GPU token-classification benchmark (issue 5)", "",
        f"- device: {env['device']} (bf16 {env['bf16']}); torch {env['torch']}, transformers "
        f"{env['transformers']}, peft {env['peft']}, Python {env['python']}",
        f"- corpus: {results['corpus']}; tokenizer: {results['tokenizer']}",
        f"- budget {settings['budget_s']} s, used {results['wall_s']:.0f} s; smoke: {settings['smoke']}",
        f"- command: `{results['command']}`", "",
        "| step | model | folds | wsm F1 p=1 mean (SD) | pooled | p=2 | p=100 | P p=1 | R p=1 "
        "| train tokens/s | wall s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in results["steps"]:
        if s["status"] != "ran":
            lines.append(f"| {s['name']} | – | 0 | skipped: {s['stopped_because']} | | | | | | | |")
            continue
        w = s["wsm"]
        sd = w["1"]["f1"]["sd"]
        lines.append(
            f"| {s['name']} | {s['architecture']} h{s['hidden']} l{s['layers']} | {s['folds_run']}/"
            f"{s['folds_planned']} | {w['1']['f1']['mean']:.3f} ({'–' if sd is None else f'{sd:.3f}'}) | "
            f"{w['1']['f1']['pooled']:.3f} | {w['2']['f1']['mean']:.3f} | {w['100']['f1']['mean']:.3f} | "
            f"{w['1']['precision']['mean']:.3f} | {w['1']['recall']['mean']:.3f} | {s['tokens_per_s']} | "
            f"{s['wall_s']:.1f} |"
        )
    lines += ["", "Steps:", ""]
    for s in results["steps"]:
        extra = f"; stopped: {s['stopped_because']}" if s.get("stopped_because") else ""
        lines.append(f"- `{s['name']}`: {s['note']}; options `{json.dumps(s['options'])}`{extra}")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "/tmp/eccr-gpu"))
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "eccr-gpu-work",
                        help="model directories, checkpoints and per-fold files (kept out of --out)")
    parser.add_argument("--budget-s", type=float, default=540.0, help="wall-clock budget of all steps")
    parser.add_argument("--folds-to-run", type=int, default=FOLDS, help=f"at most this many of the {FOLDS}")
    parser.add_argument("--corpus", choices=("auto", "medtxt", "sample"), default="auto",
                        help="auto: MedTxt-CR, or the bundled sample with --smoke when it is absent")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--encoder-lr", type=float, default=3e-4)
    parser.add_argument("--decoder-lr", type=float, default=1e-3)
    parser.add_argument("--lora-lr", type=float, default=2e-3)
    parser.add_argument("--top-k", type=int, default=4, help="bidirectional top-k step (0: leave out)")
    parser.add_argument("--no-lora", dest="lora", action="store_false", help="leave out the LoRA step")
    parser.add_argument("--steps", default="", help="comma-separated step names to run (default: all)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 epoch, 1 fold (CPU test)")
    args = parser.parse_args(argv)
    if not 1 <= args.folds_to_run <= FOLDS:
        parser.error(f"--folds-to-run must be 1..{FOLDS}")
    if args.smoke:
        args.folds_to_run = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    missing = preflight()
    if missing:
        print(f"error: missing Python modules {', '.join(missing)} "
              "(pip install -e '.[train]' where a network is reachable)", file=sys.stderr)
        return 2
    from eccr.experiments.folds import make_folds
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import train_char_tokenizer

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    env = environment_info()
    corpus, texts, corpus_text = load_data(args)
    plan = make_folds(corpus.ids, k=FOLDS, seed=0, validation_fraction=0.2)
    tokenizers = {role: train_char_tokenizer(texts, role=role) for role in ("encoder", "decoder")}
    steps = build_steps(args)
    if args.steps:
        wanted = set(args.steps.split(","))
        unknown = wanted - {s.name for s in steps}
        if unknown:
            raise SystemExit(f"error: unknown steps {sorted(unknown)}; choose from {[s.name for s in steps]}")
        steps = [s for s in steps if s.name in wanted]
    print(f"device {env['device']}, torch {env['torch']}, transformers {env['transformers']}; "
          f"corpus {corpus_text}; {len(steps)} steps, budget {args.budget_s:.0f} s", flush=True)
    results: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/gpu_token_classification.py", *(argv or sys.argv[1:])]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "environment": env, "corpus": corpus_text,
        "tokenizer": f"character-level, {len(tokenizers['encoder'])} entries (encoder), trained on "
                     f"{len(texts)} texts",
        "select": SELECT, "p": list(P_VALUES), "steps": [],
    }
    estimate: float | None = None
    for index, step in enumerate(steps):
        remaining = args.budget_s - (time.perf_counter() - started)
        decision = decide_step(remaining, estimate)
        if not decision.run:
            print(f"skipped {step.name}: {decision.reason}", flush=True)
            results["steps"].append({**asdict(step), "status": "skipped", "stopped_because": decision.reason,
                                     "folds_run": 0, "wsm": None, "tokens_per_s": None})
            continue
        share = step_share(remaining, len(steps) - index)
        role = "encoder" if step.architecture == "deberta-v2" else "decoder"
        model_dir = write_model_dir(step.architecture, tokenizers[role], args.work / "models" / step.name,
                                    hidden=step.hidden, layers=step.layers, heads=step.heads,
                                    intermediate=step.intermediate, max_length=max(512, args.window))
        print(f"{step.name} ({step.note}): share {share:.0f} s, up to {args.folds_to_run} folds", flush=True)
        row = run_step(step, model_dir, corpus, plan, args.folds_to_run, share, estimate, args.work, out)
        results["steps"].append(row)
        estimate = row["wall_s"] / max(1, row["folds_run"])
        f1 = row["wsm"]["1"]["f1"]
        print(f"{step.name}: {row['folds_run']} folds, wsm F1 p=1 {f1['mean']:.3f} "
              f"(pooled {f1['pooled']:.3f}), {row['tokens_per_s']} train tokens/s, {row['wall_s']:.1f} s "
              f"({row['stopped_because']})",
              flush=True)
        _write(out, results, started)
    _write(out, results, started)
    print(f"\nwrote {out / 'results.json'} and {out / 'results.md'}\n")
    print((out / "results.md").read_text(encoding="utf-8"))
    return 0


def _write(out: Path, results: dict[str, Any], started: float) -> None:
    """Write results.json and results.md now (a run cut off by the device limit keeps what finished)."""
    results["wall_s"] = round(time.perf_counter() - started, 2)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1, default=_json),
                                      encoding="utf-8")
    (out / "results.md").write_text(to_markdown(results), encoding="utf-8")


def _json(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


if __name__ == "__main__":
    raise SystemExit(main())
