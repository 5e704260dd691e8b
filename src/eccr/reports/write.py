"""Writing a :class:`~eccr.reports.build.Report` into its output directory, all files or none.

Layout of ``OUT/`` (the whole directory is written beside it and swapped into place at the end, so a failed
report never leaves half of one)::

    report.json                    every number of the report, for programs (always)
    report.md | report.html | report.tex   the tables (and plots) per --format
    csv/scores.csv                 tidy: corpus, family, model, measure, p, metric, mean, sd, pooled,
                                   ci_low, ci_high, best, fold_1 … fold_k          (--format csv)
    csv/length_strata.csv          the same per gold-span-length bin
    csv/per_document.csv           every measure of every document for every model
    csv/pairwise.csv               the paired tests with Holm-adjusted p-values
    plots/<corpus>/<name>.png|svg  f1-vs-p, f1-by-length, fold-spread, gold-span-lengths

An existing ``OUT`` is replaced only when it holds an earlier eccr report; ``OUT`` may never be (or hold) one
of the run directories the report reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eccr.atomic import atomic_directory, atomic_write_text
from eccr.corpus.types import LENGTH_BINS
from eccr.errors import ConfigError, Location
from eccr.metrics import format_p
from eccr.metrics.report import score_path
from eccr.reports.build import METRICS, GroupReport, ModelResult, Report
from eccr.reports.paper import column_best, is_best
from eccr.reports.tables import csv_text

LENGTH_BIN_NAMES = tuple(name for name, _, _ in LENGTH_BINS)
REPORT_JSON = "report.json"
REPORT_FORMAT = "eccr-report/1"
FORMATS = ("md", "csv", "latex", "html")
DOCUMENTS = {"md": "report.md", "latex": "report.tex", "html": "report.html"}


def check_formats(formats: Sequence[str]) -> None:
    """Raise ``E147`` for a format that is not one of :data:`FORMATS`."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError("E147", f"unknown report format {unknown[0]!r}; choose from {', '.join(FORMATS)}")


def check_out_dir(out: Path, run_dirs: Sequence[Path]) -> None:
    """Refuse an ``out`` that would destroy something: a file, a folder of other things, a run directory.

    Raises:
        ConfigError: ``E146`` naming what is in the way.
    """
    resolved = out.resolve()
    for run in run_dirs:
        run = run.resolve()
        if resolved == run or resolved in run.parents:
            raise ConfigError(
                "E146",
                f"--out {out} is or holds the run directory {run}; write the report "
                "somewhere else (e.g. --out report)",
                Location(file=str(out)),
            )
    if out.exists() and not out.is_dir():
        raise ConfigError("E146", f"--out {out} is a file; give a directory", Location(file=str(out)))
    if out.is_dir() and any(out.iterdir()):
        try:
            marker = json.loads((out / REPORT_JSON).read_text(encoding="utf-8")).get("format")
        except (OSError, ValueError, AttributeError):
            marker = None
        if marker != REPORT_FORMAT:
            raise ConfigError(
                "E146",
                f"--out {out} exists and is not an earlier eccr report; refusing to "
                "replace it (choose a new or empty directory)",
                Location(file=str(out)),
            )


def _best(models: Sequence[ModelResult], path: tuple[str, ...]) -> dict[str, float | None]:
    """The best mean of each metric at ``path`` over ``models`` (the ``best`` column, as in the tables)."""
    entries = [m.summary.entry(*path) for m in models]
    return {
        metric: column_best([getattr(e, metric).mean if e else None for e in entries]) for metric in METRICS
    }


def _fold_rows(group: GroupReport, p_values: Sequence[float], strata: bool) -> list[dict[str, Any]]:
    rows = []
    for measure in group.models[0].pooled.scores:
        if strata and measure.strata is None:
            continue
        for bin_name in LENGTH_BIN_NAMES if strata else (None,):
            for p in p_values if measure.has_p else (None,):
                path = score_path(measure, p, bin_name)
                best = _best(group.models, path)
                for model in group.models:
                    entry = model.summary.entry(*path)
                    if entry is None:
                        continue
                    for metric in METRICS:
                        stat = getattr(entry, metric)
                        row: dict[str, Any] = {
                            "corpus": group.name,
                            "family": model.family.key,
                            "model": model.label,
                            "measure": measure.name,
                            "p": "" if p is None else format_p(p),
                        }
                        if strata:
                            row["bin"] = bin_name
                        row.update(
                            {"metric": metric, "mean": stat.mean, "sd": stat.sd, "pooled": stat.pooled}
                        )
                        if not strata:
                            interval = model.intervals.get(path, {}).get(metric)
                            row.update(
                                {
                                    "ci_low": interval.low if interval else None,
                                    "ci_high": interval.high if interval else None,
                                }
                            )
                        row["best"] = is_best(stat.mean, best[metric])
                        row.update({f"fold_{i + 1}": v for i, v in enumerate(stat.values)})
                        rows.append(row)
    return rows


def _document_rows(group: GroupReport) -> list[dict[str, Any]]:
    rows = []
    for model in group.models:
        for doc in model.pooled.per_document or ():
            for measure, value in doc.scores.items():
                for p, prf in value.items() if measure.has_p else [(None, value)]:
                    rows.append(
                        {
                            "corpus": group.name,
                            "model": model.label,
                            "document": doc.doc_id,
                            "measure": measure.name,
                            "p": "" if p is None else format_p(p),
                            "precision": prf.precision,
                            "recall": prf.recall,
                            "f1": prf.f1,
                        }
                    )
    return rows


def _pairwise_rows(group: GroupReport) -> list[dict[str, Any]]:
    return [
        {
            "corpus": group.name,
            "a": t.a,
            "b": t.b,
            "measure": t.comparison.measure,
            "p": "" if t.comparison.p is None else format_p(t.comparison.p),
            "metric": t.comparison.metric,
            "a_value": t.comparison.value_a,
            "b_value": t.comparison.value_b,
            "difference": t.comparison.difference,
            "ci_low": t.comparison.low,
            "ci_high": t.comparison.high,
            "p_value": t.comparison.p_value,
            "p_holm": t.p_holm,
        }
        for t in group.tests
    ]


def _csv_files(report: Report) -> dict[str, str]:
    tables = {"scores": [], "length_strata": [], "per_document": [], "pairwise": []}
    for group in report.groups:
        tables["scores"] += _fold_rows(group, report.p_values, strata=False)
        tables["length_strata"] += _fold_rows(group, report.p_values, strata=True)
        tables["per_document"] += _document_rows(group)
        tables["pairwise"] += _pairwise_rows(group)
    return {f"csv/{name}.csv": csv_text(rows) if rows else "" for name, rows in tables.items()}


def report_dict(report: Report) -> dict[str, Any]:
    """``report.json``: options, warnings and, per group, every model's fold summary, pooled scores, CIs and
    the paired tests."""
    groups = []
    for group in report.groups:
        models = [
            {
                "label": m.label,
                "family": m.family.key,
                "spec": m.run.spec,
                "run": str(m.run.path),
                "folds": len(m.folds),
                "summary": m.summary.to_dict(),
                "pooled": m.pooled.scores_dict(),
                "intervals": {
                    "/".join(path): {metric: ci.to_dict() for metric, ci in cis.items()}
                    for path, cis in m.intervals.items()
                },
            }
            for m in group.models
        ]
        groups.append(
            {
                "name": group.name,
                "corpus": group.corpus,
                "select": group.select,
                "documents": len(group.gold),
                "gold_spans": group.gold_spans,
                "notes": list(group.notes),
                "models": models,
                "pairwise": [t.to_dict() for t in group.tests],
            }
        )
    return {
        "format": REPORT_FORMAT,
        "p": [format_p(p) for p in report.p_values],
        "tokenizer": report.tokenizer,
        "typed": report.typed,
        "test": {
            "measure": report.test_measure,
            "p": None if report.test_p is None else format_p(report.test_p),
        },
        "n_resamples": report.n_resamples,
        "n_permutations": report.n_permutations,
        "seed": report.seed,
        "warnings": list(report.warnings),
        "groups": groups,
    }


def write_report(
    report: Report, out: str | Path, *, formats: Sequence[str] = ("md",), plots: bool = True
) -> list[Path]:
    """Write ``report`` into ``out`` (see the module docstring); return the files written, under ``out``.

    Raises:
        ConfigError: ``E146`` for an ``out`` that cannot be replaced, ``E147`` for an unknown format,
            ``E145`` when plots are wanted and matplotlib is missing.
    """
    check_formats(formats)
    target = Path(out)
    check_out_dir(target, [m.run.path for g in report.groups for m in g.models])
    if plots:
        from eccr.reports.plots import require_matplotlib

        require_matplotlib()  # fail before anything is drawn
    written: list[str] = []
    with atomic_directory(target) as tmp:
        figures: dict[str, list[tuple[str, str]]] = {}
        svgs: dict[str, list[tuple[str, str]]] = {}
        if plots:
            from eccr.reports.plots import draw_plots

            for group in report.groups:
                folder = Path("plots") / group.slug
                for plot in draw_plots(group, report, tmp / folder):
                    png, svg = folder / f"{plot.stem}.png", folder / f"{plot.stem}.svg"
                    written += [str(png), str(svg)]
                    figures.setdefault(group.slug, []).append((plot.title, png.as_posix()))
                    svgs.setdefault(group.slug, []).append(
                        (plot.title, _inline_svg((tmp / svg).read_text(encoding="utf-8")))
                    )
        files = _csv_files(report) if "csv" in formats else {}
        from eccr.reports import render

        documents = {  # Markdown and LaTeX link the PNG files; the HTML page inlines the SVGs
            "md": lambda: render.markdown_document(report, figures),
            "latex": lambda: render.latex_document(report, figures),
            "html": lambda: render.html_document(report, svgs),
        }
        for fmt in formats:
            if fmt in documents:
                files[DOCUMENTS[fmt]] = documents[fmt]()
        files[REPORT_JSON] = json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(tmp / name, text)
            written.append(name)
    return [target / name for name in sorted(written)]


def _inline_svg(text: str) -> str:
    """An SVG file's ``<svg>`` element, ready to inline in HTML (no XML declaration or DOCTYPE)."""
    start = text.find("<svg")
    return text[start:] if start >= 0 else text
