"""The offline models side by side: CRF, spaCy (from GiNZA's pretrained tok2vec, or blank) and ensembles.

5-fold cross-validation, seed 0, **one folds file for every model** (drawn once per corpus and passed to each
:func:`eccr.experiments.runner.cross_validate` — the same path as ``eccr cv --folds-file``), on MedTxt-CR
``d[certainty=positive]`` and MRNER-disease. Models:

* ``crf`` — the character CRF with its defaults;
* ``spacy-ner-ginza`` — ``spacy:ja_ginza``, ``ner`` on GiNZA's pretrained tok2vec and word vectors;
* ``spacy-spancat-ginza`` — ``spacy:ja_ginza`` with ``component: spancat``;
* ``spacy-ner-blank`` — ``spacy:ja`` (blank Japanese, new tok2vec, no vectors);
* ensembles — majority votes (:func:`eccr.models.ensemble.combine_predictions`, the rule of
  ``--model ensemble --set model.options.combine=vote``) over the members' own cross-validated predictions:
  each member was trained on the same training split of each fold, so this is what ``eccr cv --model
  ensemble`` with those members computes (``tests/models/test_ensemble.py`` checks the equality on the
  sample corpus), without training the members a second time. Every combination of two or more members is
  listed; ``crf+ner+spancat`` was fixed before the run as *the* ensemble, the best row is marked as chosen
  after seeing the test folds (optimistic).

Printed (and written to ``OUT/results.md``): wsm F1 at p = 1 and 100, mean (SD) over folds; mean training
time per fold; documents per second at prediction (test documents / prediction wall time, model loaded);
the paired comparison of the best system against the CRF (:func:`eccr.experiments.runs.compare_runs`, as
``eccr compare``). Timings are measured in one run, one model after the other, on a shared machine: compare
ratios, not absolute seconds.

spaCy training is capped for bounded time (``--max-steps``, default 150 steps, evaluation every 50 steps,
the best evaluated checkpoint kept); eccr's ``spacy:`` default is 2,000 steps. Threads are limited to
``--threads`` (default 1). A model whose complete run directory (same model options, same folds) is already
under ``--out`` is read back instead of trained again, so an interrupted benchmark resumes.

Usage::

    nice .venv/bin/python benchmarks/offline_models.py                      # both corpora, all models
    nice .venv/bin/python benchmarks/offline_models.py --corpus medtxt --max-steps 200 --model crf
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECCR_SHARED_DATA", ROOT.parent / "shared" / "data"))
CORPORA = {
    "medtxt": (SHARED / "medtxt-cr" / "MedTxt-CR-JA-training.xml", "d[certainty=positive]"),
    "mrner": (SHARED / "jmed-llm" / "mrner_disease.csv", None),
}
P_VALUES = (1.0, 100.0)


def model_configs(max_steps: int) -> dict[str, tuple[str, dict]]:
    capped = {
        "max_steps": max_steps,
        "eval_frequency": max(1, min(50, max_steps)),
        "patience": max_steps,  # the cap decides; the best evaluated checkpoint is kept
        "progress": False,
    }
    return {  # cheapest first, so an interrupted run still has the most figures
        "crf": ("crf", {}),
        "spacy-ner-blank": ("spacy:ja", dict(capped)),
        "spacy-ner-ginza": ("spacy:ja_ginza", dict(capped)),
        "spacy-spancat-ginza": ("spacy:ja_ginza", {**capped, "component": "spancat"}),
    }


SHORT = {"crf": "crf", "spacy-ner-ginza": "ner", "spacy-spancat-ginza": "spancat", "spacy-ner-blank": "blank"}
DECLARED_ENSEMBLE = ("crf", "spacy-ner-ginza", "spacy-spancat-ginza")


def fmt(values: list[float]) -> str:
    """``mean (SD)`` over folds (sample SD)."""
    import statistics

    from eccr.reports.tables import mean_sd

    return mean_sd(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)


def run_models(corpus, plan, names, configs, out: Path) -> dict[str, dict]:
    """Cross-validate each model on ``plan`` (a finished run of the same model and folds is reused)."""
    from eccr.experiments.config import resolve_config
    from eccr.experiments.runner import cross_validate

    results = {}
    for name in names:
        spec, options = configs[name]
        config = resolve_config({"model": {"spec": spec, "options": options}, "p": list(P_VALUES)})
        started = time.perf_counter()
        reused = _finished_run(corpus, plan, config, out / name)
        if reused is not None:
            results[name] = reused
            print(f"  {name}: reusing {out / name}", file=sys.stderr, flush=True)
            continue
        print(f"  {name}: cv …", file=sys.stderr, flush=True)
        result = cross_validate(corpus, config, out / name, plan=plan, progress=False)
        results[name] = _summary(
            out / name,
            [f.predictions for f in result.folds],
            [f.report for f in result.folds],
            [f.fit_s for f in result.folds],
            [f.predict_s for f in result.folds],
            [f.n_test for f in result.folds],
        )
        f1 = fmt(results[name]["f1"][1.0])
        took = time.perf_counter() - started
        print(f"  {name}: wsm F1 p=1 {f1} in {took:.0f} s", file=sys.stderr, flush=True)
    return results


def run_folds(corpus, plan, names, configs, out: Path, indices: list[int]) -> None:
    """Run only the folds ``indices`` of each model into ``out/<model>`` (``cross_validate``'s layout)."""
    from eccr.experiments.config import resolve_config
    from eccr.experiments.runner import run_fold

    for name in names:
        spec, options = configs[name]
        config = resolve_config({"model": {"spec": spec, "options": options}, "p": list(P_VALUES)})
        config.write(out / name)
        plan.write(out / name / "folds.json")
        for fold in plan.folds:
            if fold.index in indices and not (out / name / f"fold-{fold.index}" / "fold.json").is_file():
                print(f"  {name}: fold {fold.index} …", file=sys.stderr, flush=True)
                result = run_fold(corpus, fold, config, out / name / f"fold-{fold.index}")
                print(f"  {name}: fold {fold.index} wsm F1 p=1 {result.report.wsm[1.0].f1:.3f}",
                      file=sys.stderr, flush=True)


def _summary(directory, predictions, reports, fit_s, predict_s, n_test) -> dict:
    return {
        "dir": directory,
        "folds": predictions,
        "f1": {p: [r.wsm[p].f1 for r in reports] for p in P_VALUES},
        "fit_s": fit_s,
        "docs_per_s": sum(n_test) / max(1e-9, sum(predict_s)),
    }


def _finished_run(corpus, plan, config, directory: Path) -> dict | None:
    """The figures of an earlier run in ``directory`` with this model config and these folds, every fold done.

    The folds may come from one ``cross_validate`` or from several ``--only-folds`` processes.
    """
    import yaml

    from eccr.corpus.io import read_corpus
    from eccr.experiments.folds import read_folds
    from eccr.metrics import score

    done = [directory / f"fold-{fold.index}" / "fold.json" for fold in plan.folds]
    if not (directory / "resolved.yaml").is_file() or not all(path.is_file() for path in done):
        return None
    resolved = yaml.safe_load((directory / "resolved.yaml").read_text(encoding="utf-8"))
    same_model = resolved["model"] == config.model_dump(mode="json")["model"]
    if not same_model or read_folds(directory / "folds.json").folds != plan.folds:
        return None
    predictions, reports, fit_s, predict_s, n_test = [], [], [], [], []
    for fold in plan.folds:
        fold_dir = directory / f"fold-{fold.index}"
        info = json.loads((fold_dir / "fold.json").read_text(encoding="utf-8"))
        predicted = read_corpus(fold_dir / "predictions.jsonl")
        predictions.append(predicted)
        reports.append(score(corpus.subset(fold.test), predicted, p=P_VALUES))
        fit_s.append(info["fit_s"])
        predict_s.append(info["predict_s"])
        n_test.append(info["n_test"])
    return _summary(directory, predictions, reports, fit_s, predict_s, n_test)


def run_ensembles(corpus, plan, results: dict[str, dict], out: Path) -> dict[str, dict]:
    """Majority votes over every combination of two or more members' per-fold predictions."""
    from eccr.corpus.io import write_corpus
    from eccr.corpus.types import Corpus
    from eccr.metrics import score
    from eccr.models.ensemble import combine_predictions

    ensembles = {}
    names = list(results)
    for size in range(2, len(names) + 1):
        for members in itertools.combinations(names, size):
            name = "vote(" + "+".join(SHORT.get(m, m) for m in members) + ")"
            folds = []
            for k, fold in enumerate(plan.folds):
                combined = combine_predictions([results[m]["folds"][k] for m in members])
                folds.append((corpus.subset(fold.test), Corpus(combined)))
            reports = [score(gold, pred, p=P_VALUES) for gold, pred in folds]
            directory = out / name
            directory.mkdir(parents=True, exist_ok=True)
            write_corpus(
                Corpus([d for _, pred in folds for d in pred]), directory / "predictions.jsonl", "jsonl"
            )
            ensembles[name] = {
                "dir": directory / "predictions.jsonl",
                "members": members,
                "f1": {p: [r.wsm[p].f1 for r in reports] for p in P_VALUES},
                "fit_s": [sum(results[m]["fit_s"][k] for m in members) for k in range(plan.k)],
                "docs_per_s": 1.0 / sum(1.0 / results[m]["docs_per_s"] for m in members),
            }
    return ensembles


def table(rows: dict[str, dict], declared: str | None) -> str:
    from eccr.reports.tables import markdown_table

    best = max(rows, key=lambda n: sum(rows[n]["f1"][1.0]))
    lines = []
    for name, row in rows.items():
        mark = " (declared)" if name == declared else ""
        mark += " **best**" if name == best else ""
        lines.append(
            {
                "model": name + mark,
                "wsm F1 p=1": fmt(row["f1"][1.0]),
                "wsm F1 p=100": fmt(row["f1"][100.0]),
                "train s/fold": f"{sum(row['fit_s']) / len(row['fit_s']):.1f}",
                "docs/s predict": f"{row['docs_per_s']:.1f}",
            }
        )
    return markdown_table(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append", help="default: both")
    parser.add_argument("--model", action="append", help="model names (default: all)")
    parser.add_argument("--max-steps", type=int, default=150, help="spaCy max_steps per fold (default 150)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only-folds", help="run just these folds of each model (e.g. 3,4), for parallel "
                        "processes on one --out; a later run without it reuses them")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "offline-models")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    from eccr.corpus.io import read_corpus
    from eccr.experiments.folds import make_folds
    from eccr.experiments.runs import compare_runs

    configs = model_configs(args.max_steps)
    names = args.model or list(configs)
    report = [
        f"# Offline models (5-fold CV, seed 0; spaCy max_steps {args.max_steps}, {args.threads} thread)",
        "",
    ]
    for corpus_name in args.corpus or sorted(CORPORA):
        path, select = CORPORA[corpus_name]
        if not path.exists():
            print(f"skipping {corpus_name}: {path} is absent", file=sys.stderr)
            continue
        corpus = read_corpus(path, select=select)
        out = args.out / corpus_name
        plan = make_folds(corpus.ids, k=5, seed=0)
        out.mkdir(parents=True, exist_ok=True)
        plan.write(out / "folds.json")
        print(f"{corpus_name}: {len(corpus)} documents", file=sys.stderr, flush=True)
        if args.only_folds:
            run_folds(corpus, plan, names, configs, out, [int(k) for k in args.only_folds.split(",")])
            continue
        results = run_models(corpus, plan, names, configs, out)
        ensembles = run_ensembles(corpus, plan, results, out) if len(results) >= 2 else {}
        rows = {**results, **ensembles}
        declared = "vote(" + "+".join(SHORT[m] for m in DECLARED_ENSEMBLE) + ")"
        report += [
            f"## {corpus_name} ({len(corpus)} documents{', ' + select if select else ''})",
            "",
            table(rows, declared if declared in rows else None),
            "",
        ]
        best = max(rows, key=lambda n: sum(rows[n]["f1"][1.0]))
        if "crf" in results and best != "crf":
            comparison = compare_runs(
                rows[best]["dir"],
                results["crf"]["dir"] / "predictions.jsonl",
                results["crf"]["dir"] / "gold.jsonl",
            )
            report += [
                f"`eccr compare {rows[best]['dir']} {results['crf']['dir']}/predictions.jsonl "
                f"--gold {results['crf']['dir']}/gold.jsonl` (A = {best}, B = crf):",
                "",
                comparison.comparison.describe(),
                "",
            ]
    text = "\n".join(report)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
