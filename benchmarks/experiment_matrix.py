"""The offline experiment matrix on the real corpora, and MRNER-disease with extra MedTxt-CR training data.

Runs the exact commands a user would (each printed before it runs), resuming whatever an earlier invocation
with the same ``--out`` finished:

1. ``eccr experiment run examples/offline.yaml --out OUT`` — MedTxt-CR ``d[certainty=positive]`` and
   MRNER-disease × the character CRF, the gazetteer and a small DeBERTa-v2 trained from scratch, 5 folds;
2. ``eccr experiment run examples/offline.yaml --only mrner-disease/crf --extra-train medtxt-d-positive``
   — the CRF on MRNER-disease with MedTxt-CR's documents added to every training split, minus those that
   overlap the fold's test or validation documents (MRNER-disease's 50 case reports are MedTxt-CR documents);
3. ``eccr compare`` of the CRF with and without the extra documents (same folds, paired by document);
4. ``eccr report OUT`` (when this checkout has ``eccr report``) and ``eccr view`` of every run, timed.

It prints wsm F1 / recall / precision at p = 1, 1.5, 2, 100 as mean (SD) for every run, the wall time of every
cell, and the extra documents offered, removed and used per fold. Usage (about 20 minutes on two shared
cores, one torch thread; resumable)::

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/experiment_matrix.py --out /tmp/eccr-offline
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
EXPERIMENT = ROOT / "examples" / "offline.yaml"
P_VALUES = ("1", "1.5", "2", "100")


def eccr(*args: str, check: bool = True) -> tuple[subprocess.CompletedProcess[str], float]:
    command = [sys.executable, "-m", "eccr", *args]
    print("$ eccr " + shlex.join(args), flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if check and result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
        raise SystemExit(result.returncode)
    return result, wall


def runs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("*/*/summary.json"))


def print_table(out: Path) -> None:
    print("\n| corpus | model | " + " | ".join(f"{m} p={p}" for p in P_VALUES for m in ("F1", "R", "P"))
          + " | cell wall s |")
    print("| --- | --- |" + " --- |" * (3 * len(P_VALUES) + 1))
    for run in runs(out):
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        cells = []
        for p in P_VALUES:
            entry = summary["wsm"][p]
            cells += [f"{entry[m]['mean']:.3f} ({entry[m]['sd']:.3f})" for m in ("f1", "recall", "precision")]
        walls = ", ".join(f"{f['wall_s']:.0f}" for f in summary["fold_results"])
        print(f"| {run.parent.name} | {run.name} | " + " | ".join(cells) + f" | {walls} |")


def print_extra(run: Path) -> None:
    print(f"\nextra training documents per fold ({run}):")
    print("| fold | train | offered | removed (test dup/shared) | removed (validation dup/shared) | used |")
    print("| --- | --- | --- | --- | --- | --- |")
    for fold_json in sorted(run.glob("fold-*/fold.json")):
        info = json.loads(fold_json.read_text(encoding="utf-8"))
        extra = info["extra_train"]
        split = extra["removed_by_split"]
        print(f"| {info['fold']} | {info['n_train']} | {extra['offered']} | "
              f"{split['test']['duplicate']}/{split['test']['shared-sentence']} | "
              f"{split['validation']['duplicate']}/{split['validation']['shared-sentence']} | "
              f"{extra['used']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/eccr-offline"))
    args = parser.parse_args(argv)
    corpora = (SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml", SHARED / "jmed-llm" / "mrner_disease.csv")
    if not all(path.exists() for path in corpora):
        print(f"skipped: the real corpora are absent from {SHARED}")
        return 0
    out = args.out
    _, wall = eccr("experiment", "run", str(EXPERIMENT), "--out", str(out), "--quiet")
    print(f"matrix: {wall:.0f} s this invocation")
    _, wall = eccr("experiment", "run", str(EXPERIMENT), "--out", str(out), "--quiet",
                   "--only", "mrner-disease/crf", "--extra-train", "medtxt-d-positive")
    print(f"extra-train run: {wall:.0f} s this invocation")
    print_table(out)
    print_extra(out / "mrner-disease" / "crf+medtxt-d-positive")
    result, _ = eccr("compare", str(out / "mrner-disease" / "crf+medtxt-d-positive"),
                     str(out / "mrner-disease" / "crf"))
    print(result.stdout + result.stderr)
    report, wall = eccr("report", str(out), "--out", str(out / "report"), check=False)
    if report.returncode == 0:
        print(report.stdout)
        print(f"eccr report over {len(runs(out))} runs: {wall:.1f} s")
    else:
        print(f"eccr report not run ({report.stderr.strip().splitlines()[-1] if report.stderr else ''})")
    for run in runs(out):
        _, wall = eccr("view", str(run))
        print(f"  {wall:.1f} s -> {run / 'view.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
