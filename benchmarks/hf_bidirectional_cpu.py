"""Causal vs bidirectional attention for a small decoder trained from scratch, one CV fold, on CPU.

The paper fine-tunes decoders with their causal mask and names removing it as future work (after Dukić &
Šnajder 2024). This script trains the same small Llama (from scratch, full fine-tuning, same seed, same
fold 0 of ``eccr cv``'s 5-fold plan with seed 0) on MedTxt-CR ``d[certainty=positive]`` with
``bidirectional`` = ``false``, ``1`` (top layer) and ``all``, and prints the test wsm F1 at p = 1, 2, 100 and
the fit time of each. One fold only (CPU time is shared): read the differences as indicative.

Usage::

    .venv/bin/python benchmarks/hf_bidirectional_cpu.py --out /tmp/eccr-bidir
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MEDTXT = SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
UNLABELED = SHARED / "unlabeled" / "ja-clinical-unlabeled.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "eccr-bidir")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--modes", default="false,1,all", help="comma-separated bidirectional values")
    args = parser.parse_args(argv)
    if not MEDTXT.exists() or not UNLABELED.exists():
        print(f"skipped: {MEDTXT} or {UNLABELED} is absent")
        return 0

    from eccr.corpus.io import read_corpus
    from eccr.experiments.folds import make_folds
    from eccr.metrics import score
    from eccr.models.base import create_model
    from eccr.models.scratch import write_model_dir
    from eccr.pretrain.tokenizer import read_texts, train_unigram_tokenizer

    corpus = read_corpus(MEDTXT, select="d[certainty=positive]")
    fold = make_folds(corpus.ids, 5, 0, 0.2).folds[0]
    train, validation, test = (corpus.subset(ids) for ids in (fold.train, fold.validation, fold.test))
    tokenizer = train_unigram_tokenizer(read_texts(UNLABELED), vocab_size=8000, byte_fallback=True,
                                        role="decoder")
    model_dir = write_model_dir("llama", tokenizer, args.out / "llama-scratch", hidden=args.hidden,
                                layers=args.layers, heads=4, intermediate=2 * args.hidden)
    print(f"fold 0: {len(train)} train, {len(validation)} validation, {len(test)} test documents")
    print("| bidirectional | wsm F1 p=1 | p=2 | p=100 | fit s |")
    print("| --- | --- | --- | --- | --- |")
    for mode in args.modes.split(","):
        value: bool | str | int = False if mode == "false" else (mode if mode == "all" else int(mode))
        model = create_model(f"hf:{model_dir}", {
            "init": "from_config", "lora": False, "bidirectional": value, "epochs": args.epochs,
            "learning_rate": args.learning_rate, "batch_size": 16, "window": 256, "patience": 3,
            "progress": False,
        })
        started = time.perf_counter()
        model.fit(train, validation, run_dir=args.out / f"run-{mode}")
        fit_s = time.perf_counter() - started
        report = score(test, model.predict(test), p=(1.0, 2.0, 100.0), conventional=False)
        f1 = [report.wsm[p].f1 for p in (1.0, 2.0, 100.0)]
        print(f"| {mode} | {f1[0]:.3f} | {f1[1]:.3f} | {f1[2]:.3f} | {fit_s:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
