"""Domain pretraining on the CPU: tokenizer training time, MLM tokens/s, and CV with vs without pretraining.

Every step is the ``eccr`` command a user would type (printed before it runs), timed here:

1. ``eccr pretrain-tokenizer`` on the unlabeled texts of ``../shared/data/unlabeled`` (clinical case and
   radiology reports + medical exam questions and posts), each kind of tokenizer timed (Unigram 8k with byte
   fallback, SentencePiece-style BPE 8k, one token per character), MedTxt-CR and MRNER-disease excluded
   (``--exclude``: nothing of either may be in the text) and the character tokenizer checked on MedTxt-CR;
2. a small DeBERTa-v2 model directory (character tokenizer from step 1; :mod:`eccr.models.scratch`), the
   *without* model: ``eccr cv --model hf:DIR --set model.options.init=from_config`` trains it from random
   weights;
3. ``eccr pretrain --from-scratch deberta-v2:DIR/config.json`` — the same architecture and tokenizer, MLM on
   the unlabeled texts (test documents of neither corpus can be in them: ``--exclude`` both) — the *with*
   model: ``eccr cv --model hf:PRETRAINED`` (same options, same folds);
4. on MedTxt-CR ``d[certainty=positive]`` and MRNER-disease: both transformer runs, the character CRF on the
   same folds, and ``eccr compare`` between the two transformer runs.

Figures (2 shared cores, 1,200 MLM steps): docs/pretraining.md, "With and without pretraining".

Usage::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/pretraining.py --out /tmp/eccr-pretraining
    .venv/bin/python benchmarks/pretraining.py --part tokenizer        # step 1 only
    .venv/bin/python benchmarks/pretraining.py --steps 2000 --no-crf    # longer pretraining, no CRF rows

The unlabeled text here is 238 K characters — about 1/2000 of the paper's 0.56 GB — so this measures what a
few minutes of MLM on a small in-domain text buy a small model, not what JMedDeBERTa reached.
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
CORPORA = {"medtxt": (MEDTXT, "d[certainty=positive]"), "mrner": (MRNER, None)}
UNLABELED = SHARED / "unlabeled"
TEXTS = (UNLABELED / "ja-clinical-unlabeled.jsonl", UNLABELED / "ja-medical-extra.jsonl")
P_VALUES = ("1", "1.5", "2", "100")
#: The fine-tuning options of both transformer runs (docs/token-classification.md's character model).
FINE_TUNING = {"epochs": 10, "patience": 3, "learning_rate": "1e-3", "batch_size": 16, "window": 256,
               "progress": "false"}
SIZES = {"hidden": 128, "layers": 2, "heads": 4, "intermediate": 256, "max_length": 512}


def eccr(*args: str, log: Path | None = None) -> tuple[float, str]:
    """Run ``eccr ARGS`` (printed first); the wall time and stdout. A failure stops the benchmark."""
    print("$ eccr", shlex.join(args), flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "eccr", *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if log is not None:
        log.write_text(result.stdout + "\n--- stderr ---\n" + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"eccr {args[0]} failed with exit code {result.returncode}")
    return wall, result.stdout


def train_tokenizers(out: Path) -> Path:
    """Step 1; returns the character tokenizer's directory."""
    excludes = [arg for path, _ in CORPORA.values() for arg in ("--exclude", str(path))]
    rows = []
    for kind, extra in (("unigram", ["--vocab-size", "8000", "--byte-fallback", "on"]),
                        ("bpe", ["--vocab-size", "8000", "--byte-fallback", "on"]),
                        ("char", ["--check", str(MEDTXT), "--select", "d[certainty=positive]"])):
        target = out / f"tokenizer-{kind}"
        wall, stdout = eccr("pretrain-tokenizer", *map(str, TEXTS), "--model", kind, *extra, *excludes,
                            "--out", str(target), "--json")
        stats = json.loads(stdout)
        rows.append((kind, wall, stats))
    print("\n| tokenizer | documents | training s | command wall s | vocabulary | coverage | unknown rate "
          "| byte-piece rate | tokens/char |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, wall, stats in rows:
        st = stats["statistics"]
        print(f"| {kind} | {stats['documents']} | {stats['training_seconds']:.1f} | {wall:.1f} | "
              f"{st['vocab_size']} | {st['character_coverage']:.4%} | {st['unknown_rate']:.4%} | "
              f"{st['byte_fallback_rate']:.4%} | {st['tokens_per_character']:.3f} |")
    check = (rows[-1][2].get("check") or {}).get("ceiling") or {}
    print("\nchar tokenizer ceiling on MedTxt-CR d[certainty=positive]:",
          json.dumps({k: v for k, v in check.items() if k in ("wsm", "exact", "crossed_spans")}))
    return out / "tokenizer-char"


def model_directories(out: Path, tokenizer_dir: Path, steps: int, block_size: int) -> tuple[Path, Path]:
    """Steps 2 and 3: the random-initialisation directory and the pretrained one."""
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import load_tokenizer

    random_dir = write_model_dir("deberta-v2", load_tokenizer(tokenizer_dir), out / "deberta-random", **SIZES)
    pretrained = out / "deberta-pretrained"
    excludes = [arg for path, _ in CORPORA.values() for arg in ("--exclude", str(path))]
    wall, _ = eccr("pretrain", "--texts", *map(str, TEXTS), "--tokenizer", str(tokenizer_dir),
                   "--from-scratch", f"deberta-v2:{random_dir / 'config.json'}", *excludes,
                   "--objective", "mlm", "--whole-word-mask", "--block-size", str(block_size),
                   "--steps", str(steps), "--batch-size", "16", "--lr", "1e-3", "--warmup-ratio", "0.06",
                   "--eval-steps", str(max(steps // 10, 1)), "--seed", "0", "--no-progress",
                   "--out", str(pretrained), log=out / "pretrain.log")
    summary = json.loads((pretrained / "pretraining-summary.json").read_text(encoding="utf-8"))
    print(f"\npretraining wall {wall:.1f} s:", json.dumps(summary, ensure_ascii=False, indent=1))
    return random_dir, pretrained


def cross_validate(out: Path, corpus: str, name: str, spec: str, options: dict[str, object]) -> dict:
    path, select = CORPORA[corpus]
    run_dir = out / "runs" / corpus / name
    args = ["cv", str(path), *(["--select", select] if select else []), "--model", spec,
            "--out", str(run_dir), "--format", "json", "--quiet", "--seed", "0", "--folds", "5"]
    for key, value in options.items():
        args += ["--set", f"model.options.{key}={value}"]
    wall, _ = eccr(*args, log=out / f"cv-{corpus}-{name}.log")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    summary["_wall_s"] = wall
    summary["_run_dir"] = str(run_dir)
    return summary


def f1_cell(summary: dict, p: str) -> str:
    f1 = summary["wsm"][p]["f1"]
    return f"{f1['mean']:.3f} ({f1['sd']:.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/eccr-pretraining"))
    parser.add_argument("--part", choices=("tokenizer", "all"), default="all")
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append", help="default: both")
    parser.add_argument("--steps", type=int, default=1200, help="MLM pretraining steps (batch 16)")
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--no-crf", action="store_true", help="skip the character CRF rows")
    args = parser.parse_args(argv)
    missing = [p for p in (*TEXTS, MEDTXT, MRNER) if not p.exists()]
    if missing:
        print(f"skipped: {', '.join(map(str, missing))} absent")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer_dir = train_tokenizers(args.out)
    if args.part == "tokenizer":
        return 0
    random_dir, pretrained = model_directories(args.out, tokenizer_dir, args.steps, args.block_size)
    rows = []
    for corpus in args.corpus or sorted(CORPORA):
        runs = {
            "random": cross_validate(args.out, corpus, "random", f"hf:{random_dir}",
                                     {"init": "from_config", **FINE_TUNING}),
            "pretrained": cross_validate(args.out, corpus, "pretrained", f"hf:{pretrained}", FINE_TUNING),
        }
        if not args.no_crf:
            runs["crf"] = cross_validate(args.out, corpus, "crf", "crf", {})
        _, compared = eccr("compare", runs["pretrained"]["_run_dir"], runs["random"]["_run_dir"])
        rows.append((corpus, runs, compared))
    print("\n| corpus | model | " + " | ".join(f"wsm F1 p={p}" for p in P_VALUES) + " | cv wall s |")
    print("| --- | --- | " + " | ".join("---" for _ in P_VALUES) + " | --- |")
    for corpus, runs, _ in rows:
        for name, summary in runs.items():
            cells = " | ".join(f1_cell(summary, p) for p in P_VALUES)
            print(f"| {corpus} | {name} | {cells} | {summary['_wall_s']:.0f} |")
    for corpus, runs, compared in rows:
        print(f"\n{corpus}: eccr compare pretrained random ->", compared.strip()[:3000])
        leak = runs["pretrained"].get("pretraining")
        print(f"{corpus}: pretraining record in the summary:", json.dumps(leak, ensure_ascii=False)[:1500])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
