"""Tokenizer fidelity per model family on MedTxt-CR: transformers as loaded vs eccr's tokenizer.

For each family of :data:`eccr.models.hub_layouts.FAMILIES` (directories laid out like the paper's hub
repositories, tokenizer trained on ``unlabeled/ja-clinical-unlabeled.jsonl``) and, for the SentencePiece
families, each file layout (``spm.model`` only, ``tokenizer.json`` only, both), it reports on the 148
MedTxt-CR documents:

* id agreement with SentencePiece (documents whose ids are identical) of the tokenizer transformers loads
  and of the one eccr uses (:func:`eccr.models.hf_tokenizer.load_model_tokenizer`), and on the probe texts;
* unknown tokens of both and of SentencePiece itself;
* the aligner's invariants and the tokenizer ceiling (wsm F1 at p = 1, binary IO over
  ``d[certainty=positive]``) of both;
* the wall and CPU time of ``eccr doctor DIR --corpus MedTxt-CR`` (library call, imports already done).

Prints Markdown; ``--out`` also writes JSON. Threads are capped at one (the machine is shared).

Usage::

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/tokenizer_fidelity.py --out /tmp/fidelity.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
UNLABELED = SHARED / "unlabeled" / "ja-clinical-unlabeled.jsonl"
MEDTXT = SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
SELECT = "d[certainty=positive]"


def _ids(tokenizer, text):
    from eccr.align.fidelity import content_ids

    return content_ids(tokenizer, text)


def _measure(tokenizer, corpus, reference, unk_id):
    """Agreement with the reference, unknown tokens, invariants and ceiling (wsm F1 p=1) on the corpus."""
    from eccr.align.fidelity import PROBE_TEXTS
    from eccr.cli.diagnose_tokenizer import diagnose

    row = {}
    if reference is not None:
        row["agree_docs"] = sum(_ids(tokenizer, d.text) == reference(d.text) for d in corpus)
        row["agree_probes"] = sum(_ids(tokenizer, t) == reference(t) for t in PROBE_TEXTS)
    row["unk_tokens"] = (
        sum(_ids(tokenizer, d.text).count(unk_id) for d in corpus) if unk_id is not None else 0
    )
    try:
        diagnosis = diagnose(corpus, tokenizer, select=SELECT, p=(1.0,))
    except Exception as err:  # a slow tokenizer that cannot be aligned at all (E071)
        row["invariants"], row["ceiling_p1"] = f"error: {err}", None
        return row
    inv = diagnosis.invariants
    row["invariants"] = "ok" if inv.ok else ", ".join(f"{n} {c}" for c, n in sorted(inv.counts.items()))
    row["ceiling_p1"] = round(diagnosis.report.wsm[1.0].f1, 4)
    row["tokens"] = inv.tokens
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--families", help="comma-separated families (default: all)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--work", type=Path, help="keep the family directories here (default: temporary)")
    args = parser.parse_args(argv)
    for path in (UNLABELED, MEDTXT):
        if not path.exists():
            print(f"corpus not available: {path} is absent", file=sys.stderr)
            return 1

    import torch

    torch.set_num_threads(1)
    from eccr.cli.doctor import doctor
    from eccr.corpus.io import read_corpus
    from eccr.models.hf_tokenizer import load_model_tokenizer
    from eccr.models.hub_layouts import FAMILIES, write_family_dir
    from eccr.pretrain.tokenizer import load_tokenizer, read_texts

    texts = read_texts(UNLABELED)
    corpus = read_corpus(MEDTXT, select=SELECT)
    names = args.families.split(",") if args.families else list(FAMILIES)
    rows = []
    scratch = tempfile.TemporaryDirectory(prefix="eccr-fidelity-")
    work = Path(args.work) if args.work else Path(scratch.name)
    print(
        f"tokenizers trained on {len(texts)} unlabeled texts, vocabulary {args.vocab_size}; MedTxt-CR "
        f"{len(corpus)} documents, {sum(len(d.text) for d in corpus)} characters\n"
    )
    for name in names:
        layouts = ("model", "json", "both") if FAMILIES[name].sp_file else ("model",)
        for files in layouts:
            layout = write_family_dir(
                name,
                texts,
                work / f"{name}-{files}",
                vocab_size=args.vocab_size,
                files=files,
                hidden=64,
                layers=2,
                heads=2,
                max_length=512,
            )
            sp = layout.sentencepiece
            reference = (
                (lambda text, sp=sp, lower=name == "roberta-t5": sp.encode(text.lower() if lower else text))
                if sp is not None
                else None
            )
            as_loaded = load_tokenizer(layout.path)
            started = time.perf_counter()
            loaded = load_model_tokenizer(layout.path, texts=list(corpus))
            load_s = time.perf_counter() - started
            unk = getattr(as_loaded, "unk_token_id", None)
            before = _measure(as_loaded, corpus, reference, unk)
            after = _measure(loaded.tokenizer, corpus, reference, unk)
            started, cpu = time.perf_counter(), time.process_time()
            doctor(str(layout.path), corpus=MEDTXT, select=SELECT)
            doctor_s, doctor_cpu_s = time.perf_counter() - started, time.process_time() - cpu
            sp_unk = (
                sum(sp.encode(d.text).count(unk) for d in corpus)
                if sp is not None and unk is not None
                else None
            )
            row = {
                "family": name,
                "files": files if sp is not None else "tokenizer files",
                "recipe": loaded.recipe.name,
                "loaded_class": loaded.loaded_class,
                "choice": loaded.choice,
                "before": before,
                "after": after,
                "sentencepiece_unk_tokens": sp_unk,
                "load_check_s": round(load_s, 2),
                "doctor_s": round(doctor_s, 2),
                "doctor_cpu_s": round(doctor_cpu_s, 2),
            }
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
    scratch.cleanup()
    print(_markdown(rows, len(corpus)))
    if args.out:
        args.out.write_text(
            json.dumps(
                {"vocab_size": args.vocab_size, "documents": len(corpus), "rows": rows},
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
    return 0


def _markdown(rows: list[dict], documents: int) -> str:
    from eccr.align.fidelity import PROBE_TEXTS

    head = (
        "| family | files | loaded as | eccr's choice | docs agreeing (loaded → eccr) | probes agreeing | "
        "[UNK] loaded / eccr / SentencePiece | invariants loaded → eccr | ceiling p=1 loaded → eccr | "
        "doctor s |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        b, a = r["before"], r["after"]
        agree = f"{b['agree_docs']} → {a['agree_docs']} / {documents}" if "agree_docs" in b else "n/a"
        probes = (
            f"{b['agree_probes']} → {a['agree_probes']} / {len(PROBE_TEXTS)}"
            if "agree_probes" in b
            else "n/a"
        )
        sp_unk = r["sentencepiece_unk_tokens"]
        lines.append(
            f"| {r['family']} | {r['files']} | {r['loaded_class']} | {r['choice']} | {agree} | {probes} | "
            f"{b['unk_tokens']} / {a['unk_tokens']} / {sp_unk if sp_unk is not None else 'n/a'} | "
            f"{b['invariants']} → {a['invariants']} | {b['ceiling_p1']} → {a['ceiling_p1']} | "
            f"{r['doctor_s']} ({r['doctor_cpu_s']} CPU) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
