"""Read + validate throughput (documents/s) of the jsonl and medtxt readers, on one core.

Builds a corpus of ``--docs`` documents (default 20,000) by repeating MedTxt-CR with unique ids, writes it
once as JSONL and once as MedTxt XML in a temporary directory, and times :func:`eccr.corpus.read_corpus`
(UTF-8 decoding, parsing, every span and document check, duplicate-id and empty-document checks) on each.
Two corpus shapes are measured:

* ``all tags``: every MedTxt entity span with its attributes (~57 spans per document);
* ``d only``: only the ``d`` spans (~16 per document), the paper's concept layer.

The process is pinned to one core. Both CPU time of the process and wall time are reported (best of
``--repeat``); on a shared machine CPU time is the fairer figure.

Usage::

    .venv/bin/python benchmarks/corpus_io.py [--medtxt PATH] [--docs 20000] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from eccr.corpus import Corpus, Document, read_corpus, write_corpus

DEFAULT_MEDTXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "medtxt-cr" / (
    "MedTxt-CR-JA-training.xml")


def repeated(corpus: Corpus, n_docs: int) -> list[Document]:
    """``n_docs`` documents cycling through ``corpus``, ids suffixed ``#<round>`` to stay unique."""
    return [
        Document(f"{doc.id}#{i // len(corpus)}", doc.text, doc.spans, doc.meta)
        for i, doc in ((i, corpus[i % len(corpus)]) for i in range(n_docs))
    ]


def measure(path: Path, fmt: str, repeat: int, expected_spans: int) -> dict[str, float]:
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        corpus = read_corpus(path, fmt)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        assert sum(len(d.spans) for d in corpus) == expected_spans
        n_docs = len(corpus)
        del corpus
    return {"documents": n_docs, "cpu_s": round(best_cpu, 3), "wall_s": round(best_wall, 3),
            "docs_per_cpu_s": round(n_docs / best_cpu), "docs_per_wall_s": round(n_docs / best_wall),
            "megabytes": round(path.stat().st_size / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medtxt", type=Path, default=DEFAULT_MEDTXT)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    source = read_corpus(args.medtxt)
    results: dict[str, Any] = {"docs": args.docs, "repeat": args.repeat}
    with tempfile.TemporaryDirectory() as tmp:
        for shape, select in (("all tags", None), ("d only", "d")):
            docs = repeated(source.select(select), args.docs)
            n_spans = sum(len(d.spans) for d in docs)
            n_chars = sum(len(d.text) for d in docs)
            print(f"[{shape}] {len(docs):,} documents, {n_spans:,} spans ({n_spans / len(docs):.1f}/doc), "
                  f"{n_chars / len(docs):.0f} characters/doc")
            for fmt, name in (("jsonl", "corpus.jsonl"), ("medtxt", "corpus.xml")):
                path = Path(tmp) / name
                write_corpus(docs, path, fmt)
                figures = measure(path, fmt, args.repeat, n_spans)
                print(f"  {fmt:6s} read+validate: {figures['docs_per_cpu_s']:>8,} docs/s CPU "
                      f"({figures['cpu_s']:.2f} s), {figures['docs_per_wall_s']:>8,} docs/s wall "
                      f"({figures['wall_s']:.2f} s), {figures['megabytes']} MB")
                results[f"{shape}/{fmt}"] = figures
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
