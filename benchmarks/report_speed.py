"""Time of ``eccr report`` over many cross-validation runs (the issue asks for 20 runs × 5 folds).

Builds the runs cheaply once — on MedTxt-CR ``d[certainty=positive]`` (148 documents; the bundled sample
corpus when the shared data is absent), all on the same 5 folds: one character CRF (``max_iterations`` 30)
and gazetteer variants (``min_frequency`` × ``min_precision`` × ``casefold``) up to ``--runs`` — then times,
side by side in one process:

* ``compute``: reading the runs, scoring every fold and the pooled predictions again (p = 1, 1.5, 2, 100,
  token score with the ``simple`` tokenizer, length strata), bootstrap CIs of every measure, and the paired
  tests of all model pairs with Holm correction (:func:`eccr.reports.compute_report`);
* ``write``: tables in md, csv, latex and html, ``report.json`` and the 4 plots (PNG + SVG)
  (:func:`eccr.reports.write_report`);
* ``eccr report``: the whole command in a fresh process (interpreter start and imports included).

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/report_speed.py            # 20 runs under runs/report-bench
    .venv/bin/python benchmarks/report_speed.py --runs 5 --repeat 1

Runs already under ``--runs-dir`` are reused (``--rebuild`` to start again).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MEDTXT = SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml"


def _corpus():
    from eccr.corpus.io import read_corpus
    from eccr.data import SAMPLE_PATH, sample_corpus

    if MEDTXT.exists():
        return read_corpus(MEDTXT, select="d[certainty=positive]"), str(MEDTXT), "d[certainty=positive]"
    print(f"{MEDTXT} is absent: using the bundled sample corpus", file=sys.stderr)
    return sample_corpus(), str(SAMPLE_PATH), None


def _configs(n: int) -> list[tuple[str, dict]]:
    """One CRF, then gazetteer variants, ``n`` in all."""
    grid = itertools.product((1, 2, 3, 4, 5), (0.0, 0.3, 0.5, 0.7), (False, True))
    gazetteers = [("dict", {"min_frequency": f, "min_precision": p, "casefold": c}) for f, p, c in grid]
    return [("crf", {"max_iterations": 30, "word_features": "off"}), *gazetteers][:n]


def build_runs(directory: Path, n: int, rebuild: bool) -> list[Path]:
    from eccr.experiments.config import resolve_config
    from eccr.experiments.folds import make_folds
    from eccr.experiments.runner import cross_validate

    if rebuild and directory.exists():
        shutil.rmtree(directory)
    corpus, path, select = _corpus()
    plan = make_folds(corpus.ids, k=5, seed=0)
    runs = []
    for i, (spec, options) in enumerate(_configs(n)):
        run = directory / f"run-{i:02d}-{spec}"
        runs.append(run)
        if (run / "summary.json").is_file():
            continue
        started = time.perf_counter()
        config = resolve_config(
            {"model": {"spec": spec, "options": options}, "corpus": {"path": path, "select": select}}
        )
        cross_validate(corpus, config, run, plan=plan, progress=False)
        print(f"built {run.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "report-bench")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "report-bench-out")
    parser.add_argument("--repeat", type=int, default=3, help="timings per phase (median reported)")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)

    from eccr.reports import compute_report, write_report

    runs = build_runs(args.runs_dir, args.runs, args.rebuild)
    formats = ("md", "csv", "latex", "html")
    eccr = str(Path(sys.executable).parent / "eccr")
    command = [
        eccr,
        "report",
        str(args.runs_dir),
        "--out",
        str(args.out),
        "--quiet",
        *itertools.chain.from_iterable(("--format", f) for f in formats),
    ]
    timings: dict[str, list[float]] = {"compute": [], "write": [], "eccr report": []}
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = compute_report(runs)
        timings["compute"].append(time.perf_counter() - started)
        started = time.perf_counter()
        files = write_report(report, args.out, formats=formats)
        timings["write"].append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings["eccr report"].append(time.perf_counter() - started)
    group = report.groups[0]
    print(
        f"{len(runs)} runs × {len(group.models[0].folds)} folds, {len(group.gold)} documents, "
        f"{len(group.tests)} paired tests, {len(files)} files written; median of {args.repeat}:\n"
    )
    print("| phase | seconds | all |\n| --- | ---: | --- |")
    for phase, values in timings.items():
        print(f"| {phase} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    print(f"\ncommand: {' '.join(command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
