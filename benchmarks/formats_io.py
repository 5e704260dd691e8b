"""Throughput of the jmedllm, brat and conll readers/writers and of sentence segmentation, on real corpora.

* jmedllm: read MRNER-disease (100 documents, 810 listed strings).
* brat: write and read MedTxt-CR with all entity tags and attributes (148 documents, one pair each).
* conll: write and read MedTxt-CR positive ``d`` spans in char mode (one block per sentence).
* segment: characters/s over MedTxt-CR, sentence counts, and how many positive ``d`` / MRNER spans cross a
  sentence end (those would be merged into one segment by :func:`eccr.corpus.segment.split_document`).

Figures are best of ``--repeat`` runs on one core.

Usage::

    .venv/bin/python benchmarks/formats_io.py [--data ../shared/data] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eccr.corpus import read_corpus, write_corpus
from eccr.corpus.jmedllm import answer_strings
from eccr.corpus.segment import crossing_spans, segment

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    medtxt = args.data / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
    mrner = args.data / "jmed-llm" / "mrner_disease.csv"
    tmp = Path(tempfile.mkdtemp(prefix="eccr-formats-"))
    try:
        m = read_corpus(mrner)
        t = best(lambda: read_corpus(mrner), args.repeat)
        print(f"jmedllm read: {len(m)} documents, {sum(len(answer_strings(d)) for d in m)} listed strings, "
              f"{sum(len(d.spans) for d in m)} merged spans; {len(m) / t:,.0f} documents/s")

        c = read_corpus(medtxt)
        write_corpus(c, tmp / "brat", "brat")

        def write_brat() -> None:
            shutil.rmtree(tmp / "brat2", ignore_errors=True)
            write_corpus(c, tmp / "brat2", "brat")

        t_write = best(write_brat, args.repeat)
        t_read = best(lambda: read_corpus(tmp / "brat"), args.repeat)
        print(f"brat ({len(c)} documents, {c.stats().spans} spans, all tags): write {len(c) / t_write:,.0f} "
              f"documents/s, read {len(c) / t_read:,.0f} documents/s")

        pos = c.select("d[certainty=positive]")
        write_corpus(pos, tmp / "p.conll")
        t_write = best(lambda: write_corpus(pos, tmp / "p2.conll"), args.repeat)
        t_read = best(lambda: read_corpus(tmp / "p.conll"), args.repeat)
        print(f"conll char ({len(pos)} documents, {pos.stats().spans} spans): "
              f"write {len(pos) / t_write:,.0f} documents/s, read {len(pos) / t_read:,.0f} documents/s")

        chars = sum(len(d.text) for d in c)
        t = best(lambda: [segment(d.text) for d in c], args.repeat)
        for name, corpus in (("MedTxt-CR positive d", pos), ("MRNER-disease", m)):
            segs = [segment(d.text) for d in corpus]
            crossing = sum(len(crossing_spans(s, d.spans)) for s, d in zip(segs, corpus, strict=True))
            print(f"segment {name}: {sum(len(s) for s in segs)} sentences in {len(corpus)} documents, "
                  f"{crossing} of {sum(len(d.spans) for d in corpus)} spans cross a sentence end")
        print(f"segment speed: {chars / t / 1e6:.2f} M characters/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
