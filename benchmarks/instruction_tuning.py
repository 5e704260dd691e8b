"""Instruction tuning (``it:``) on CPU: ``eccr cv`` end to end on MedTxt-CR, the agreement table, and
decoding speed — plus a prepared GPU comparison of the output representations.

``cv`` (default) — the pipeline proof, printed as it runs:

1. train a byte-level BPE tokenizer (GPT-NeoX style, lossless) on the unlabeled clinical texts and write a
   from-scratch Llama directory (:mod:`eccr.models.scratch`);
2. run the exact command ``eccr cv MedTxt-CR-JA-training.xml --select 'd[certainty=positive]' --model
   it:<dir> --set model.options.init=from_config --set model.options.constrained=false ... --save-models``:
   the paper's prompt and free generation (the paper's setting), 5 folds, each fold's model saved;
3. ``eccr agreement RUN_DIR`` — the paper's Table S18 for this run;
4. each fold's saved model predicts its test documents again with **constrained** decoding: wsm F1 and
   exact reproduction side by side with the free run, on the same folds and weights.

No pretrained weights exist here and the CPU is shared, so a tiny decoder (hidden 128, 2 layers) trained for
2 epochs on at most 20 documents per fold (``--epochs``, ``--max-train-docs``; 0 = all) is what is measured:
read the F1 as a pipeline proof, not as what the paper's 3.6B–70B models reach.

``speed`` — decoding speed in one run: a tiny Llama is trained (short prompt, ``--speed-epochs`` epochs)
until it writes its ``--speed-train-sentences`` MedTxt-CR training sentences back, and the first
``--sentences`` of them are decoded with plain greedy (batched by length, batched in input order, and batch
1), prompt lookup, constrained (batched and batch 1), constrained + prompt lookup. (A tiny decoder trained
for minutes on CPU memorises sentences but does not learn to copy unseen ones; on sentences it reproduces,
it behaves as a trained LLM does on any input, which is what prompt lookup and constrained decoding act on.)
Each configuration runs ``--repeats`` times round-robin; the median wall time gives sentences/s and
generated tokens/s. Ratios: length-sorted vs input-order batches; prompt lookup vs plain greedy at batch 1
(the only batch size ``transformers`` runs assisted decoding with) and whether their texts are identical;
constrained vs unconstrained time at the same batching. Targets: prompt lookup ≥ 1.5× plain greedy with
identical output; constrained ≤ 1.3× the time of unconstrained.

``gpu`` — prepared for a lent GPU (≤ 10 minutes): a small Llama (hidden 512, 8 layers) trained on fold 1
of MedTxt-CR sentences, then free vs constrained vs JSON output: wsm F1 at p = 1 and 100, exact
reproduction, sentences/s. ``--smoke`` runs it tiny on CPU.

Usage (the machine is shared: ``nice``, one thread)::

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/instruction_tuning.py cv --out /tmp/it-bench
    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/instruction_tuning.py speed --out /tmp/it-bench
    python benchmarks/instruction_tuning.py gpu --out $OUT          # on the GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MEDTXT = SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
SELECT = "d[certainty=positive]"
UNLABELED = SHARED / "unlabeled" / "ja-clinical-unlabeled.jsonl"
P_VALUES = ("1", "100")


def build_model_dir(out: Path, hidden: int, layers: int, heads: int, vocab: int) -> Path:
    """A from-scratch Llama directory with a byte-level BPE tokenizer trained on the unlabeled texts."""
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import read_texts, train_byte_level_bpe_tokenizer

    texts = read_texts(UNLABELED)
    tokenizer = train_byte_level_bpe_tokenizer(texts, vocab_size=vocab, role="decoder", model_max_length=1024)
    directory = out / f"llama-h{hidden}-l{layers}-bpe{vocab}"
    write_model_dir(
        "llama",
        tokenizer,
        directory,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=2 * hidden,
        max_length=1024,
    )
    print(
        f"model directory: {directory} (vocabulary {len(tokenizer)}, {len(texts)} tokenizer texts)",
        flush=True,
    )
    return directory


def run_cv(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    model_dir = build_model_dir(args.out, args.hidden, args.layers, args.heads, args.vocab)
    run_dir = args.out / "cv"
    options = {
        "init": "from_config",
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "patience": 2,
        "constrained": "false",
        "progress": "false",
        "logging_steps": 50,
        "eval_max_sentences": args.eval_sentences,
        "generation_batch_size": 64,
    }
    if args.max_train_docs:
        options["max_train_docs"] = args.max_train_docs
    command = [
        "eccr",
        "cv",
        str(MEDTXT),
        "--select",
        SELECT,
        "--model",
        f"it:{model_dir}",
        "--folds",
        str(args.folds),
        "--out",
        str(run_dir),
        "--save-models",
        "--format",
        "json",
        "--quiet",
    ]
    for key, value in options.items():
        command += ["--set", f"model.options.{key}={value}"]
    print("command:", shlex.join(command), flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "eccr", *command[1:]], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
        return result.returncode
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    print(f"\neccr cv wall time: {wall:.1f} s; per fold: {summary['run']['fold_wall_s']}")
    print(
        "\nFree generation (the paper's setting):\n\n| p | wsm F1 mean (SD) | pooled F1 | P mean | R mean |"
    )
    print("| --- | --- | --- | --- | --- |")
    for p in P_VALUES:
        row = summary["wsm"][p]
        print(
            f"| {p} | {row['f1']['mean']:.3f} ({row['f1']['sd']:.3f}) | {row['f1']['pooled']:.3f} | "
            f"{row['precision']['mean']:.3f} | {row['recall']['mean']:.3f} |"
        )
    print("\ncommand: eccr agreement", run_dir, flush=True)
    subprocess.run([sys.executable, "-m", "eccr", "agreement", str(run_dir)], check=True)
    print((run_dir / "agreement.md").read_text(encoding="utf-8"))
    compare_constrained(run_dir)
    return 0


def compare_constrained(run_dir: Path) -> None:
    """Each fold's saved model on its test documents: free (from the run) vs constrained (predicted now)."""
    from eccr.corpus.io import read_corpus
    from eccr.metrics import score
    from eccr.models.base import load_model

    rows = []
    for fold_dir in sorted(run_dir.glob("fold-*"), key=lambda p: int(p.name.split("-")[1])):
        gold = read_corpus(fold_dir / "gold.jsonl")
        free = read_corpus(fold_dir / "predictions.jsonl")
        free_summary = json.loads((fold_dir / "generation-summary.json").read_text(encoding="utf-8"))
        model = load_model(fold_dir / "model")
        model.opts = model.opts.model_copy(update={"constrained": True})
        constrained = model.predict(gold.map_spans(lambda d: ()))
        row = {"fold": fold_dir.name}
        for name, predicted, info in (
            ("free", free, free_summary),
            ("constrained", constrained, model.generation_summary),
        ):
            report = score(gold, predicted, p=(1.0, 100.0), conventional=False)
            row[name] = {
                "f1_p1": report.wsm[1.0].f1,
                "f1_p100": report.wsm[100.0].f1,
                "exact": info["exact_reproduction"]["rate"],
                "sentences_per_s": info["sentences_per_s"],
            }
        rows.append(row)
    print("\nSame folds and weights, free vs constrained decoding:\n")
    print(
        "| fold | free F1 p=1 | constrained F1 p=1 | free F1 p=100 | constrained F1 p=100 | free exact | "
        "constrained exact | free sent/s | constrained sent/s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        f, c = r["free"], r["constrained"]
        print(
            f"| {r['fold']} | {f['f1_p1']:.3f} | {c['f1_p1']:.3f} | {f['f1_p100']:.3f} | "
            f"{c['f1_p100']:.3f} | {f['exact']:.3f} | {c['exact']:.3f} | {f['sentences_per_s']:.1f} | "
            f"{c['sentences_per_s']:.1f} |"
        )
    for key in ("f1_p1", "exact"):
        free = [r["free"][key] for r in rows]
        con = [r["constrained"][key] for r in rows]
        print(f"mean {key}: free {statistics.fmean(free):.3f}, constrained {statistics.fmean(con):.3f}")
    (run_dir / "constrained-vs-free.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


SPEED_CONFIGS: dict[str, dict[str, Any]] = {
    "greedy (batched)": {"constrained": False},
    "greedy (batched, input order)": {"constrained": False, "sort_by_length": False},
    "greedy (batch 1)": {"constrained": False, "batch_size": 1},
    "prompt lookup": {"constrained": False, "prompt_lookup": 10},
    "constrained (batched)": {"constrained": True},
    "constrained (batch 1)": {"constrained": True, "batch_size": 1},
    "constrained + prompt lookup": {"constrained": True, "prompt_lookup": 10},
}


def speed_model(args: argparse.Namespace, sentences: list[Any]) -> Any:
    """The model whose decoding is timed: a tiny Llama trained until it writes its training sentences back.

    A tiny decoder trained for minutes on CPU memorises sentences but does not learn to copy unseen ones, so
    speed is measured on sentences it was trained on: it rewrites them as a trained LLM rewrites any input,
    which is what prompt lookup and constrained decoding act on. Saved in ``OUT/speed-model`` and reused.
    """
    from eccr.corpus.types import Corpus
    from eccr.models.base import create_model, load_model

    saved = args.out / "speed-model"
    if (saved / "eccr-model.json").is_file():
        return load_model(saved)
    model_dir = build_model_dir(args.out, args.hidden, args.layers, args.heads, args.vocab)
    options = {
        "init": "from_config",
        "epochs": args.speed_epochs,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "warmup": 0.05,
        "progress": False,
        "logging_steps": 20,
        "constrained": False,
        "prompt": SPEED_PROMPT,
    }
    model = create_model(f"it:{model_dir}", options)
    docs = Corpus([s.to_document(f"s{k}") for k, s in enumerate(sentences)])
    started = time.perf_counter()
    model.fit(docs, run_dir=args.out / "speed-run")
    print(
        f"trained the speed model on {len(docs)} sentences in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    model.save(saved)
    return load_model(saved)


#: A short prompt keeps the CPU training of the speed model to minutes (prefill is a small share of decoding).
SPEED_PROMPT = "入力:{input}\n応答:"


def run_speed(args: argparse.Namespace) -> int:
    import torch

    from eccr.corpus.io import read_corpus
    from eccr.models.instruction.sentences import split_sentences

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    corpus = list(read_corpus(MEDTXT, select=SELECT))
    train_sentences = split_sentences(corpus[:40])[0][: args.speed_train_sentences]
    model = speed_model(args, train_sentences)
    sentences = [s.text for s in train_sentences][: args.sentences]
    print(
        f"{len(sentences)} sentences (mean {statistics.fmean(len(s) for s in sentences):.1f} characters); "
        f"torch threads {torch.get_num_threads()}; {args.repeats} round-robin repeats",
        flush=True,
    )
    model.generate(sentences[:4])  # warm-up
    times: dict[str, list[float]] = {name: [] for name in SPEED_CONFIGS}
    runs: dict[str, Any] = {}
    for _ in range(args.repeats):
        for name, overrides in SPEED_CONFIGS.items():
            run = model.generate(sentences, **overrides)
            times[name].append(run.seconds)
            runs[name] = run
    exact = sum(
        a.text.replace("@@", "").replace("##", "") == s
        for a, s in zip(runs["greedy (batched)"].answers, sentences, strict=True)
    )
    print(f"free greedy answers that reproduce their sentence: {exact}/{len(sentences)}")
    results = {}
    print("\n| decoding | median s | sentences/s | generated tokens | tokens/s |")
    print("| --- | --- | --- | --- | --- |")
    for name in SPEED_CONFIGS:
        seconds = statistics.median(times[name])
        tokens = runs[name].new_tokens
        results[name] = {
            "seconds": seconds,
            "sentences_per_s": len(sentences) / seconds,
            "new_tokens": tokens,
            "tokens_per_s": tokens / seconds,
            "all_seconds": times[name],
        }
        print(
            f"| {name} | {seconds:.2f} | {len(sentences) / seconds:.2f} | {tokens} | {tokens / seconds:.1f} |"
        )

    def texts(name: str) -> list[str]:
        return [a.text for a in runs[name].answers]

    def ratio(a: str, b: str) -> float:
        return results[a]["seconds"] / results[b]["seconds"]

    ratios = {
        "length-sorted batching speed-up vs batches in input order": ratio(
            "greedy (batched, input order)", "greedy (batched)"
        ),
        "prompt lookup speed-up vs greedy batch 1 (target >= 1.5)": ratio(
            "greedy (batch 1)", "prompt lookup"
        ),
        "prompt lookup text identical to greedy batch 1": texts("prompt lookup") == texts("greedy (batch 1)"),
        "prompt lookup speed-up vs greedy batched": ratio("greedy (batched)", "prompt lookup"),
        "constrained / unconstrained time, batched (target <= 1.3)": ratio(
            "constrained (batched)", "greedy (batched)"
        ),
        "constrained / unconstrained time, batch 1 (target <= 1.3)": ratio(
            "constrained (batch 1)", "greedy (batch 1)"
        ),
        "constrained + prompt lookup / prompt lookup time": ratio(
            "constrained + prompt lookup", "prompt lookup"
        ),
        "constrained + prompt lookup speed-up vs constrained batch 1": ratio(
            "constrained (batch 1)", "constrained + prompt lookup"
        ),
        "constrained + prompt lookup text identical to constrained batch 1": texts(
            "constrained + prompt lookup"
        )
        == texts("constrained (batch 1)"),
    }
    print()
    for key, value in ratios.items():
        print(f"- {key}: {value if isinstance(value, bool) else f'{value:.2f}'}")
    (args.out / "speed.json").write_text(
        json.dumps({"results": results, "ratios": ratios, "reproduced": exact}, indent=2) + "\n",
        encoding="utf-8",
    )
    return 0


def run_gpu(args: argparse.Namespace) -> int:
    """One fold of MedTxt-CR: a small Llama per representation (free, constrained reading, JSON)."""
    import torch

    from eccr.corpus.io import read_corpus
    from eccr.data import sample_corpus
    from eccr.experiments.folds import make_folds
    from eccr.metrics import score
    from eccr.models.base import create_model

    started = time.perf_counter()
    corpus = read_corpus(MEDTXT, select=SELECT) if MEDTXT.exists() and not args.smoke else sample_corpus()
    plan = make_folds(corpus.ids, k=5, seed=0, validation_fraction=0.2)
    fold = plan.folds[0]
    train, validation, test = (corpus.subset(ids) for ids in (fold.train, fold.validation, fold.test))
    hidden, layers, heads = (32, 1, 2) if args.smoke else (512, 8, 8)
    if not UNLABELED.exists():
        print(f"skipped: {UNLABELED} is absent")
        return 0
    model_dir = build_model_dir(args.out, hidden, layers, heads, 2000 if args.smoke else 8000)
    base = {
        "init": "from_config",
        "epochs": 1 if args.smoke else args.epochs,
        "learning_rate": 1e-3,
        "batch_size": 16,
        "patience": 2,
        "progress": False,
        "eval_max_sentences": 100,
        "generation_batch_size": 64,
        "logging_steps": 50,
    }
    results: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "fold": 1,
        "documents": [len(train), len(validation), len(test)],
    }
    for name, options in (("inline", {"constrained": False}), ("json", {"representation": "json"})):
        model = create_model(f"it:{model_dir}", {**base, **options})
        fit_started = time.perf_counter()
        model.fit(train, validation, run_dir=args.out / name)
        fit_s = time.perf_counter() - fit_started
        readings = [("free", False)] if name == "json" else [("free", False), ("constrained", True)]
        for reading, constrained in readings:
            model.opts = model.opts.model_copy(update={"constrained": constrained})
            predicted = model.predict(test.map_spans(lambda d: ()))
            report = score(test, predicted, p=(1.0, 100.0), conventional=False)
            summary = model.generation_summary
            results[f"{name}-{reading}"] = {
                "wsm_f1_p1": report.wsm[1.0].f1,
                "wsm_f1_p100": report.wsm[100.0].f1,
                "exact_reproduction": summary.get("exact_reproduction", {}).get("rate"),
                "sentences_per_s": summary["sentences_per_s"],
                "problems": summary["problems"],
                "outcomes": summary["outcomes"],
                "fit_s": round(fit_s, 1),
            }
            print(name, reading, json.dumps(results[f"{name}-{reading}"], ensure_ascii=False), flush=True)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    (args.out / "gpu-results.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=("cv", "speed", "gpu"), default="cv")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "/tmp/eccr-it-bench")))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=2000)
    parser.add_argument("--learning-rate", default="2e-3")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--eval-sentences", type=int, default=20)
    parser.add_argument("--max-train-docs", type=int, default=20, help="cv: cap per fold (0: all)")
    parser.add_argument("--sentences", type=int, default=48, help="speed: sentences decoded")
    parser.add_argument("--speed-train-sentences", type=int, default=120, help="speed: training sentences")
    parser.add_argument("--speed-epochs", type=int, default=25, help="speed: training epochs")
    parser.add_argument("--repeats", type=int, default=3, help="speed: round-robin repeats")
    parser.add_argument("--smoke", action="store_true", help="gpu: tiny, on CPU, on the sample corpus")
    args = parser.parse_args(argv)
    if args.mode != "gpu" and not (MEDTXT.exists() and UNLABELED.exists()):
        print(f"skipped: {MEDTXT} or {UNLABELED} is absent")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    return {"cv": run_cv, "speed": run_speed, "gpu": run_gpu}[args.mode](args)


if __name__ == "__main__":
    raise SystemExit(main())
