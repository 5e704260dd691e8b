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
the paired comparison of the best system against the CRF — or, when the CRF is the best, of the best
other complete row (:func:`eccr.experiments.runs.compare_runs`, as ``eccr compare``). With
``--report-only`` nothing is trained: rows of models with unfinished folds are marked "k of 5" and come with
the CRF's mean on the same folds. Timings are measured on a shared machine, models one after the other
(or in parallel processes): compare ratios, not absolute seconds.

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


def run_models(corpus, plan, names, configs, out: Path, *, train: bool = True) -> dict[str, dict]:
    """Cross-validate each model on ``plan``, reusing folds already in ``out/<model>``.

    With ``train=False`` nothing is trained: every model contributes the folds it has finished (a partial
    row says which).
    """
    from eccr.experiments.config import resolve_config
    from eccr.experiments.runner import cross_validate

    results = {}
    for name in names:
        spec, options = configs[name]
        config = resolve_config({"model": {"spec": spec, "options": options}, "p": list(P_VALUES)})
        folds = _finished_folds(corpus, plan, config, out / name)
        if len(folds) == plan.k or not train:
            if folds:
                results[name] = {"dir": out / name, "folds": folds}
                print(
                    f"  {name}: reusing {len(folds)} fold(s) from {out / name}", file=sys.stderr, flush=True
                )
            continue
        print(f"  {name}: cv …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        result = cross_validate(corpus, config, out / name, plan=plan, progress=False)
        results[name] = {
            "dir": out / name,
            "folds": {
                f.index: _fold(f.predictions, f.report, f.fit_s, f.predict_s, f.n_test) for f in result.folds
            },
        }
        took = time.perf_counter() - started
        f1 = fmt([f.report.wsm[1.0].f1 for f in result.folds])
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
                print(
                    f"  {name}: fold {fold.index} wsm F1 p=1 {result.report.wsm[1.0].f1:.3f}",
                    file=sys.stderr,
                    flush=True,
                )


def _fold(predictions, report, fit_s: float, predict_s: float, n_test: int) -> dict:
    return {
        "pred": predictions,
        "f1": {p: report.wsm[p].f1 for p in P_VALUES},
        "fit_s": fit_s,
        "predict_s": predict_s,
        "n_test": n_test,
    }


def _finished_folds(corpus, plan, config, directory: Path) -> dict[int, dict]:
    """The folds of ``plan`` that an earlier run of this model config finished in ``directory``.

    The folds may come from one ``cross_validate`` or from several ``--only-folds`` processes.
    """
    import yaml

    from eccr.corpus.io import read_corpus
    from eccr.experiments.folds import read_folds
    from eccr.metrics import score

    if not (directory / "resolved.yaml").is_file() or not (directory / "folds.json").is_file():
        return {}
    resolved = yaml.safe_load((directory / "resolved.yaml").read_text(encoding="utf-8"))
    same_model = resolved["model"] == config.model_dump(mode="json")["model"]
    if not same_model or read_folds(directory / "folds.json").folds != plan.folds:
        return {}
    folds = {}
    for fold in plan.folds:
        fold_dir = directory / f"fold-{fold.index}"
        if not (fold_dir / "fold.json").is_file():
            continue
        info = json.loads((fold_dir / "fold.json").read_text(encoding="utf-8"))
        predicted = read_corpus(fold_dir / "predictions.jsonl")
        report = score(corpus.subset(fold.test), predicted, p=P_VALUES)
        folds[fold.index] = _fold(predicted, report, info["fit_s"], info["predict_s"], info["n_test"])
    return folds


def run_ensembles(corpus, plan, results: dict[str, dict], out: Path) -> dict[str, dict]:
    """Majority votes over every combination of two or more members, on the folds all members finished."""
    from eccr.corpus.io import write_corpus
    from eccr.corpus.types import Corpus
    from eccr.metrics import score
    from eccr.models.ensemble import combine_predictions

    ensembles = {}
    names = list(results)
    tests = {fold.index: corpus.subset(fold.test) for fold in plan.folds}
    for size in range(2, len(names) + 1):
        for members in itertools.combinations(names, size):
            common = sorted(set.intersection(*(set(results[m]["folds"]) for m in members)))
            if not common:
                continue
            name = "vote(" + "+".join(SHORT.get(m, m) for m in members) + ")"
            folds = {}
            for k in common:
                combined = Corpus(combine_predictions([results[m]["folds"][k]["pred"] for m in members]))
                member_folds = [results[m]["folds"][k] for m in members]
                folds[k] = _fold(
                    combined,
                    score(tests[k], combined, p=P_VALUES),
                    sum(f["fit_s"] for f in member_folds),
                    sum(f["predict_s"] for f in member_folds),
                    member_folds[0]["n_test"],
                )
            directory = out / name
            directory.mkdir(parents=True, exist_ok=True)
            write_corpus(
                Corpus([d for k in common for d in folds[k]["pred"]]),
                directory / "predictions.jsonl",
                "jsonl",
            )
            ensembles[name] = {"dir": directory / "predictions.jsonl", "folds": folds}
    return ensembles


def _mean(row: dict, key: str, p: float | None = None) -> float:
    values = [f[key][p] if p is not None else f[key] for f in row["folds"].values()]
    return sum(values) / len(values)


def _docs_per_s(row: dict) -> float:
    folds = row["folds"].values()
    return sum(f["n_test"] for f in folds) / max(1e-9, sum(f["predict_s"] for f in folds))


def table(rows: dict[str, dict], declared: str | None, k: int) -> tuple[str, str]:
    """The Markdown table and the name of the best complete row (all ``k`` folds)."""
    from eccr.reports.tables import markdown_table

    complete = [n for n in rows if len(rows[n]["folds"]) == k]
    best = max(complete, key=lambda n: _mean(rows[n], "f1", 1.0))
    crf = rows.get("crf")
    lines = []
    for name, row in rows.items():
        folds = sorted(row["folds"])
        mark = " (declared)" if name == declared else ""
        mark += " **best**" if name == best else ""
        line = {
            "model": name + mark,
            "folds": str(len(folds))
            if len(folds) == k
            else f"{len(folds)} of {k} ({','.join(map(str, folds))})",
            "wsm F1 p=1": fmt([row["folds"][i]["f1"][1.0] for i in folds]),
            "wsm F1 p=100": fmt([row["folds"][i]["f1"][100.0] for i in folds]),
            "crf p=1, same folds": f"{sum(crf['folds'][i]['f1'][1.0] for i in folds) / len(folds):.3f}"
            if crf
            else "",
            "train s/fold": f"{_mean(row, 'fit_s'):.0f}",
            "docs/s predict": f"{_docs_per_s(row):.1f}",
        }
        lines.append(line)
    return markdown_table(lines), best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append", help="default: both")
    parser.add_argument("--model", action="append", help="model names (default: all)")
    parser.add_argument("--max-steps", type=int, default=150, help="spaCy max_steps per fold (default 150)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: tabulate the folds finished under --out (partial rows marked)",
    )
    parser.add_argument(
        "--only-folds",
        help="run just these folds of each model (e.g. 3,4), for parallel "
        "processes on one --out; a later run without it reuses them",
    )
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
        results = run_models(corpus, plan, names, configs, out, train=not args.report_only)
        ensembles = run_ensembles(corpus, plan, results, out) if len(results) >= 2 else {}
        rows = {**results, **ensembles}
        declared = "vote(" + "+".join(SHORT[m] for m in DECLARED_ENSEMBLE) + ")"
        text, best = table(rows, declared if declared in rows else None, plan.k)
        report += [
            f"## {corpus_name} ({len(corpus)} documents{', ' + select if select else ''})",
            "",
            text,
            "",
        ]
        # the best system against the CRF; when the CRF is the best, the best of the others against it
        complete = [n for n in rows if n != "crf" and len(rows[n]["folds"]) == plan.k]
        challenger = (
            best if best != "crf" else max(complete, key=lambda n: _mean(rows[n], "f1", 1.0), default=None)
        )
        if "crf" in results and challenger is not None:
            comparison = compare_runs(
                rows[challenger]["dir"],
                results["crf"]["dir"] / "predictions.jsonl",
                results["crf"]["dir"] / "gold.jsonl",
            )
            report += [
                f"`eccr compare {rows[challenger]['dir']} {results['crf']['dir']}/predictions.jsonl "
                f"--gold {results['crf']['dir']}/gold.jsonl` (A = {challenger}, B = crf):",
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
