"""5-fold cross-validation of the classical baselines (character CRF, gazetteer) on the shared corpora.

Runs :func:`eccr.experiments.runner.cross_validate` — the same path as ``eccr cv`` — for each corpus and
model, writes each run directory under ``--out``, and prints wsm F1/recall/precision mean (SD) at
p = 1, 1.5, 2, 100, the pooled length-bin F1 at p = 1 and the wall time, as Markdown.

Usage::

    .venv/bin/python benchmarks/classical_cv.py                       # both corpora, crf + dict
    .venv/bin/python benchmarks/classical_cv.py --corpus medtxt --model crf --set model.options.window=4

Corpora are read from ``../shared/data`` (or ``$ECCR_SHARED_DATA``); a missing corpus is skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from eccr.corpus.io import read_corpus
from eccr.experiments.config import resolve_config
from eccr.experiments.runner import cross_validate
from eccr.reports.tables import markdown_table, mean_sd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
CORPORA = {
    "medtxt": (SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml", "d[certainty=positive]"),
    "mrner": (SHARED / "jmed-llm" / "mrner_disease.csv", None),
}
P_VALUES = ("1", "1.5", "2", "100")
BINS = ("1-2", "3-6", "7-10", "11-20", ">=21")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append", help="default: all")
    parser.add_argument("--model", action="append", help="model spec (default: crf and dict)")
    parser.add_argument("--set", action="append", default=[], help="config override KEY=VALUE (all runs)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "classical-cv")
    args = parser.parse_args(argv)

    rows, length_rows = [], []
    for name in args.corpus or sorted(CORPORA):
        path, select = CORPORA[name]
        if not path.exists():
            print(f"skipping {name}: {path} is absent", file=sys.stderr)
            continue
        corpus = read_corpus(path, select=select)
        for spec in args.model or ["crf", "dict"]:
            overrides = [o for o in args.set if spec == "crf" or not o.startswith(("model.", "search."))]
            config = resolve_config(
                {
                    "model": {"spec": spec},
                    "corpus": {"path": str(path), "select": select},
                    "folds": args.folds,
                    "seed": args.seed,
                },
                overrides=overrides,
            )
            result = cross_validate(corpus, config, args.out / f"{name}-{spec}")
            data = result.to_dict()
            for p in P_VALUES:
                entry = data["wsm"][p]
                rows.append(
                    {
                        "corpus": name,
                        "model": spec,
                        "p": p,
                        "F1": mean_sd(entry["f1"]["mean"], entry["f1"]["sd"]),
                        "recall": mean_sd(entry["recall"]["mean"], entry["recall"]["sd"]),
                        "precision": mean_sd(entry["precision"]["mean"], entry["precision"]["sd"]),
                        "pooled F1": f"{entry['f1']['pooled']:.3f}",
                        "wall s": f"{result.wall_s:.0f}",
                    }
                )
            by_length = data["by_length"]
            length_rows.append(
                {
                    "corpus": name,
                    "model": spec,
                    **{b: f"{by_length[b]['1']['f1']['pooled']:.3f}" for b in BINS},
                }
            )
            print(
                f"done {name} {spec}: wsm F1 p=1 {data['wsm']['1']['f1']['mean']:.3f} "
                f"in {result.wall_s:.0f} s -> {args.out / f'{name}-{spec}'}",
                file=sys.stderr,
                flush=True,
            )
    print(f"## wsm, {args.folds}-fold CV (seed {args.seed}): mean (SD) over folds\n")
    print(markdown_table(rows))
    print("\n## pooled wsm F1 at p=1 by gold span length (characters)\n")
    print(markdown_table(length_rows))
    if args.set:
        print(f"\noverrides: {' '.join(args.set)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
