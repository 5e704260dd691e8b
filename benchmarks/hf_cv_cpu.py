"""5-fold CV on CPU of a small transformer trained from scratch (``eccr cv --model hf:...``), timed.

Steps, printed as they run:

1. train a tokenizer on the unlabeled clinical texts (``ja-clinical-unlabeled.jsonl``; Unigram with byte
   fallback, or one token per character with ``--tokenizer char``);
2. write a from-scratch DeBERTa-v2 model directory (``config.json`` + tokenizer, :mod:`eccr.models.scratch`);
3. run the exact command ``eccr cv MedTxt-CR-JA-training.xml --select 'd[certainty=positive]'
   --model hf:<dir> --set model.options.init=from_config ...`` and time it
   (``--corpus mrner``: the same on MRNER-disease);
4. print wsm F1 (and P, R) mean (SD) and pooled at p = 1, 1.5, 2, 100 from the run's ``summary.json``.

No pretrained weights exist here, so this measures the pipeline and what a tiny transformer learns from ~90
documents — not what the paper's pretrained models reach. Usage::

    .venv/bin/python benchmarks/hf_cv_cpu.py --out /tmp/hf-cv     # DeBERTa-v2, ~5 min on 2 shared cores
    .venv/bin/python benchmarks/hf_cv_cpu.py --tokenizer char --epochs 10 --hidden 128
    .venv/bin/python benchmarks/hf_cv_cpu.py --architecture llama --bidirectional all  # vs causal
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MEDTXT = SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
MRNER = SHARED / "jmed-llm" / "mrner_disease.csv"
#: corpus name -> (path, selector)
CORPORA = {"medtxt": (MEDTXT, "d[certainty=positive]"), "mrner": (MRNER, None)}
UNLABELED = SHARED / "unlabeled" / "ja-clinical-unlabeled.jsonl"
P_VALUES = ("1", "1.5", "2", "100")


DECODERS = ("llama", "mistral", "gpt_neox", "gpt2")


def build_model_dir(
    out: Path, architecture: str, tokenizer_kind: str, vocab: int, hidden: int, layers: int, heads: int
) -> Path:
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import read_texts, train_char_tokenizer, train_unigram_tokenizer

    texts = read_texts(UNLABELED)
    role = "decoder" if architecture in DECODERS else "encoder"
    if tokenizer_kind == "char":
        tokenizer = train_char_tokenizer(texts, role=role)
    else:
        tokenizer = train_unigram_tokenizer(texts, vocab_size=vocab, byte_fallback=True, role=role)
    directory = out / f"{architecture}-scratch-{tokenizer_kind}-h{hidden}-l{layers}"
    write_model_dir(
        architecture,
        tokenizer,
        directory,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=2 * hidden,
        max_length=512,
    )
    print(f"model directory: {directory} (vocabulary {len(tokenizer)}, {len(texts)} tokenizer texts)")
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/eccr-hf-cv"))
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="medtxt")
    parser.add_argument("--architecture", default="deberta-v2", help="deberta-v2, roberta, llama, gpt2…")
    parser.add_argument("--bidirectional", default="false", help="decoders: false, all or k top layers")
    parser.add_argument(
        "--lora", default="false", help="false (full fine-tuning; default from scratch), true or auto"
    )
    parser.add_argument("--tokenizer", choices=("unigram", "char"), default="unigram")
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--learning-rate", default="2e-3")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--patience", type=int, default=2)
    args = parser.parse_args(argv)
    corpus_path, selector = CORPORA[args.corpus]
    if not corpus_path.exists() or not UNLABELED.exists():
        print(f"skipped: {corpus_path} or {UNLABELED} is absent")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model_dir = build_model_dir(
        args.out, args.architecture, args.tokenizer, args.vocab, args.hidden, args.layers, args.heads
    )
    prepared = time.perf_counter() - started
    run_dir = args.out / "cv"
    options = {
        "init": "from_config",
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "window": args.window,
        "patience": args.patience,
        "progress": "false",
        "logging_steps": 50,
        "lora": args.lora,
    }
    if args.architecture in DECODERS:
        options["bidirectional"] = args.bidirectional
    command = [
        sys.executable,
        "-m",
        "eccr",
        "cv",
        str(corpus_path),
        *(["--select", selector] if selector else []),
        "--model",
        f"hf:{model_dir}",
        "--out",
        str(run_dir),
        "--format",
        "json",
        "--quiet",
    ]
    for key, value in options.items():
        command += ["--set", f"model.options.{key}={value}"]
    print("command:", shlex.join(["eccr", *command[3:]]), flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
        return result.returncode
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    print(f"\ntokenizer + model directory: {prepared:.1f} s; eccr cv wall time: {wall:.1f} s")
    print("per-fold wall time (s):", summary.get("run", {}).get("fold_wall_s"))
    print("\n| p | wsm F1 mean (SD) | pooled F1 | P mean | R mean |")
    print("| --- | --- | --- | --- | --- |")
    for p in P_VALUES:
        row = summary["wsm"][p]
        f1 = row["f1"]
        print(
            f"| {p} | {f1['mean']:.3f} ({f1['sd']:.3f}) | {f1['pooled']:.3f} | "
            f"{row['precision']['mean']:.3f} | {row['recall']['mean']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
