"""Tokenizer ceilings on the shared corpora for tokenizers trained locally on the unlabeled text.

Trains, on ``unlabeled/ja-clinical-unlabeled.jsonl``, a SentencePiece-style Unigram tokenizer with byte
fallback (``--vocab-size`` pieces, default 8000), uses it also with byte fallback switched off (the paper's
setting: out-of-vocabulary characters become ``[UNK]``), and a character-level tokenizer without and with
whitespace tokens, and a GPT-NeoX style byte-level BPE of the same size. For each
tokenizer and corpus it runs the invariant check and the tokenizer ceiling (gold → token labels →
characters, :func:`eccr.align.tokenizer_ceiling`, binary IO by default as in the paper) scored with
:func:`eccr.metrics.score`: weighted soft matching F1 at p = 1, 2, 100, character F1, crossing counts,
``[UNK]`` characters and byte pieces, and the time taken. Prints Markdown; ``--out`` also writes JSON.

Usage::

    .venv/bin/python benchmarks/tokenizer_ceiling.py
    .venv/bin/python benchmarks/tokenizer_ceiling.py --vocab-size 16000 --scheme bio --out ceil.json

Corpora are read from ``../shared/data`` (or ``$ECCR_SHARED_DATA``); a missing corpus is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from eccr.cli.diagnose_tokenizer import diagnose
from eccr.corpus.io import read_corpus
from eccr.pretrain.tokenizer import (
    read_texts,
    set_byte_fallback,
    train_byte_level_bpe_tokenizer,
    train_char_tokenizer,
    train_unigram_tokenizer,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
UNLABELED = SHARED / "unlabeled" / "ja-clinical-unlabeled.jsonl"
CORPORA = {
    "MedTxt-CR d[certainty=positive]": (SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml",
                                        "d[certainty=positive]"),
    "MRNER-disease": (SHARED / "jmed-llm" / "mrner_disease.csv", None),
}
P_VALUES = (1.0, 2.0, 100.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--scheme", choices=("io", "bio"), default="io")
    parser.add_argument("--rule", choices=("majority", "any"), default="majority")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--save-tokenizers", type=Path, help="save the trained tokenizers under this folder")
    args = parser.parse_args(argv)

    if not UNLABELED.exists():
        print(f"unlabeled text not available: {UNLABELED} is absent", file=sys.stderr)
        return 1
    texts = read_texts(UNLABELED)
    t0 = time.perf_counter()
    unigram = train_unigram_tokenizer(texts, vocab_size=args.vocab_size, byte_fallback=True)
    t_unigram = time.perf_counter() - t0
    t0 = time.perf_counter()
    char = train_char_tokenizer(texts)
    t_char = time.perf_counter() - t0
    char_ws = train_char_tokenizer(texts, keep_whitespace=True)
    bpe = train_byte_level_bpe_tokenizer(texts, vocab_size=args.vocab_size)
    k = args.vocab_size // 1000
    tokenizers = {
        f"unigram-{k}k, byte fallback on": unigram,
        f"unigram-{k}k, byte fallback off": set_byte_fallback(unigram, False),
        "char": char,
        "char + whitespace tokens": char_ws,
        f"byte-level BPE-{k}k": bpe,
    }
    print(f"trained on {len(texts)} texts ({sum(map(len, texts))} characters): unigram {len(unigram)} pieces "
          f"in {t_unigram:.1f} s, char {len(char)} tokens in {t_char:.2f} s")
    if args.save_tokenizers:
        for name, tok in tokenizers.items():
            slug = "-".join(part for part in name.replace(",", " ").replace("+", " ").split() if part)
            tok.save_pretrained(str(args.save_tokenizers / slug))

    rows = []
    for corpus_name, (path, select) in CORPORA.items():
        if not path.exists():
            print(f"skipped {corpus_name}: {path} is absent", file=sys.stderr)
            continue
        gold = read_corpus(path, select=select)
        for tok_name, tok in tokenizers.items():
            t0 = time.perf_counter()
            diagnosis = diagnose(gold, tok, scheme=args.scheme, typed=False, rule=args.rule, p=P_VALUES)
            inv, result, report = diagnosis.invariants, diagnosis.ceiling, diagnosis.report
            violations = ", ".join(f"{n} {c}" for c, n in sorted(inv.counts.items()))
            seconds = time.perf_counter() - t0
            rows.append({
                "corpus": corpus_name,
                "tokenizer": tok_name,
                "invariants": "ok" if inv.ok else violations,
                **{f"wsm_f1_p{p:g}": report.wsm[p].f1 for p in P_VALUES},
                "char_f1": report.char.f1,
                "exact_f1": report.exact.f1,
                "tokens": result.tokens,
                "crossing_units": result.crossing_units,
                "crossing_tokens": result.crossing_tokens,
                "crossed_spans": result.crossed_spans,
                "spans": result.spans,
                "unk_chars": inv.unk_chars,
                "byte_pieces": inv.byte_fallback_tokens,
                "seconds": seconds,
            })

    header = ("corpus", "tokenizer", "invariants", "wsm F1 p=1", "p=2", "p=100", "char F1", "exact F1",
              "tokens", "crossing tokens", "crossed spans / spans", "[UNK] chars", "byte pieces", "s")
    print(f"\nscheme {args.scheme}, rule {args.rule}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join([
            r["corpus"], r["tokenizer"], r["invariants"],
            *(f"{r[f'wsm_f1_p{p:g}']:.4f}" for p in P_VALUES), f"{r['char_f1']:.4f}", f"{r['exact_f1']:.4f}",
            str(r["tokens"]), str(r["crossing_tokens"]), f"{r['crossed_spans']} / {r['spans']}",
            str(r["unk_chars"]), str(r["byte_pieces"]), f"{r['seconds']:.1f}",
        ]) + " |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        data = {"scheme": args.scheme, "rule": args.rule, "vocab_size": args.vocab_size, "rows": rows}
        args.out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
