"""``eccr report``: numbers equal the evaluation module's on the stored predictions; grouping, p sets,
families, output directory rules, formats and the command line."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import read_corpus
from eccr.errors import ConfigError
from eccr.metrics import bootstrap_interval, compare_systems, document_totals, holm_adjust, score
from eccr.reports import build_report, compute_report
from eccr.reports.families import (
    CLASSICAL_FAMILY,
    DECODER_IT,
    DECODER_TC,
    ENCODER_TC,
    OTHER_FAMILY,
    model_family,
)

FAST = {"n_resamples": 200, "n_permutations": 200}


def _fold_files(run: Path) -> list[tuple[Path, Path]]:
    folds = json.loads((run / "folds.json").read_text(encoding="utf-8"))["folds"]
    return [
        (run / f"fold-{i}" / "gold.jsonl", run / f"fold-{i}" / "predictions.jsonl") for i in range(len(folds))
    ]


@pytest.fixture(scope="module")
def two_runs(sample_cv_runs):
    return [sample_cv_runs["crf"], sample_cv_runs["dict"]]


@pytest.fixture(scope="module")
def report(two_runs):
    return compute_report(two_runs, **FAST)


def test_numbers_equal_the_evaluation_module_on_the_stored_predictions(two_runs, report):
    (group,) = report.groups
    assert [m.label for m in group.models] == ["crf", "dict"]
    for model, run in zip(group.models, two_runs, strict=True):
        folds = [score(read_corpus(g), read_corpus(q), by_length=True) for g, q in _fold_files(run)]
        stored = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        for p in ("1", "1.5", "2", "100"):
            values = [f.wsm[float(p)].f1 for f in folds]
            entry = model.summary.entry("wsm", p)
            assert entry.f1.values == tuple(values)
            assert entry.f1.mean == np.mean(values) == stored["wsm"][p]["f1"]["mean"]
            assert entry.f1.sd == stored["wsm"][p]["f1"]["sd"]
            assert entry.recall.pooled == stored["wsm"][p]["recall"]["pooled"]
        assert (
            model.summary.entry("by_length", "3-6", "1").f1.mean
            == stored["by_length"]["3-6"]["1"]["f1"]["mean"]
        )
        gold, pred = read_corpus(run / "gold.jsonl"), read_corpus(run / "predictions.jsonl")
        pooled = score(gold, pred, tokenizer="simple", per_document=True)
        assert (
            model.pooled.token.f1 == pooled.token.f1
            and model.pooled.jmedllm_partial == pooled.jmedllm_partial
        )
        assert [d.to_dict() for d in model.pooled.per_document] == [d.to_dict() for d in pooled.per_document]
        rows = document_totals(gold, pred).measure("marker", 2)
        assert model.intervals[("marker", "2")]["recall"] == bootstrap_interval(
            rows, metric="recall", n_resamples=200
        )
    (test,) = group.tests
    gold = read_corpus(two_runs[0] / "gold.jsonl")
    expected = compare_systems(
        gold,
        read_corpus(two_runs[0] / "predictions.jsonl"),
        read_corpus(two_runs[1] / "predictions.jsonl"),
        p=1.0,
        **FAST,
    )
    assert test.comparison == expected and test.p_holm == holm_adjust([expected.p_value])[0]


def test_written_files_hold_the_same_numbers(two_runs, report, tmp_path):
    built = build_report(two_runs, tmp_path / "out", formats=("md", "csv", "latex", "html"), **FAST)
    out = tmp_path / "out"
    crf = built.groups[0].models[0]
    rows = list(csv.DictReader(io.StringIO((out / "csv" / "scores.csv").read_text(encoding="utf-8"))))
    row = next(
        r for r in rows if (r["model"], r["measure"], r["p"], r["metric"]) == ("crf", "wsm", "1", "f1")
    )
    entry = crf.summary.entry("wsm", "1").f1
    assert float(row["mean"]) == entry.mean and float(row["sd"]) == entry.sd and row["best"] == "True"
    assert [float(row[f"fold_{i}"]) for i in range(1, 6)] == list(entry.values)
    assert float(row["ci_low"]) == crf.intervals[("wsm", "1")]["f1"].low
    assert row["family"] == "classical"
    assert {r["measure"] for r in rows} >= {"wsm", "marker", "char", "token", "exact", "jmedllm-exact"}
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["groups"][0]["models"][0]["summary"]["wsm"]["1"]["f1"]["mean"] == entry.mean
    markdown = (out / "report.md").read_text(encoding="utf-8")
    cell = f"**{entry.mean:.3f} ({entry.sd:.3f})**"
    assert "Table 2: weighted soft matching" in markdown and f"| crf | {cell} |" in markdown
    assert "Table S3: token segment" in markdown and "Pairwise paired tests" in markdown
    strata = list(
        csv.DictReader(io.StringIO((out / "csv" / "length_strata.csv").read_text(encoding="utf-8")))
    )
    assert {r["bin"] for r in strata} == {"1-2", "3-6", "7-10", "11-20", ">=21"}
    per_doc = (out / "csv" / "per_document.csv").read_text(encoding="utf-8")
    assert per_doc.count("\n") - 1 == 2 * 40 * (4 + 4 + 5)  # models × documents × (wsm, marker by p + 5)
    latex = (out / "report.tex").read_text(encoding="utf-8")
    assert r"\begin{longtable}" in latex and rf"\textbf{{{entry.mean:.3f} ({entry.sd:.3f})}}" in latex
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 4 and "<?xml" not in page
    assert not any(fetch in page for fetch in ("<script", "<link", "<img", "src=", "url(http", "@import"))
    for stem in ("f1-vs-p", "f1-by-length", "fold-spread", "gold-span-lengths"):
        for suffix in ("png", "svg"):
            assert (out / "plots" / "sample-txt" / f"{stem}.{suffix}").stat().st_size > 1000
    assert set(built.files) == {p for p in out.rglob("*") if p.is_file()}


def test_runs_on_other_gold_get_their_own_group_and_p_sets_are_recomputed(sample_cv_runs, tmp_path):
    from eccr.data import sample_corpus
    from eccr.experiments.config import resolve_config
    from eccr.experiments.runner import cross_validate

    half = sample_corpus()[:30]
    cross_validate(
        half, resolve_config({"model": {"spec": "dict"}, "p": [1, 2]}), tmp_path / "half", progress=False
    )
    report = compute_report([sample_cv_runs["dict"], tmp_path / "half"], **FAST)
    assert len(report.groups) == 2 and all(len(g.tests) == 0 for g in report.groups)
    assert [g.models[0].label for g in report.groups] == ["dict", "dict"]  # labels are unique per corpus
    assert report.p_values == (1.0, 1.5, 2.0, 100.0)
    assert any("different p sets" in w for w in report.warnings)
    assert any("2 different gold sets" in w for w in report.warnings)
    assert report.groups[1].models[0].summary.entry("wsm", "1.5") is not None  # recomputed at every p
    only = compute_report([tmp_path / "half"], p=[1, 100], **FAST)
    assert only.p_values == (1.0, 100.0) and not only.warnings


def test_different_folds_are_noted_and_edited_scores_warned(sample_cv_runs, tmp_path):
    report = compute_report([sample_cv_runs["dict"], sample_cv_runs["dict-seed1"]], **FAST)
    assert "2 different fold assignments" in report.groups[0].notes[0]
    assert report.groups[0].models[1].label == "dict [dict-seed1]"
    edited = tmp_path / "edited"
    shutil.copytree(sample_cv_runs["crf"], edited)
    scores = edited / "fold-0" / "scores.json"
    data = json.loads(scores.read_text(encoding="utf-8"))
    data["wsm"]["1"]["f1"] = 0.123
    scores.write_text(json.dumps(data), encoding="utf-8")
    warned = compute_report([edited], **FAST)
    assert any("0.123" in w and "recomputed" in w for w in warned.warnings)


def test_a_folder_of_runs_is_searched_and_unfinished_runs_are_skipped(sample_cv_runs, tmp_path):
    root = tmp_path / "experiment"
    shutil.copytree(sample_cv_runs["crf"], root / "sample" / "crf")
    shutil.copytree(sample_cv_runs["dict"], root / "sample" / "dict")
    (root / "sample" / "dict" / "summary.json").rename(root / "unused.json")
    report = compute_report([root], **FAST)
    assert [m.label for m in report.groups[0].models] == ["crf"]
    assert any("unfinished" in w for w in report.warnings)
    with pytest.raises(ConfigError) as unfinished:
        compute_report([root / "sample" / "dict"])
    with pytest.raises(ConfigError) as empty:
        compute_report([tmp_path / "nothing-here"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as no_runs:
        compute_report([tmp_path / "empty"])
    assert (unfinished.value.code, empty.value.code, no_runs.value.code) == ("E144", "E143", "E143")


def test_output_directory_rules(two_runs, tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me", encoding="utf-8")
    for out in (other, two_runs[0], two_runs[0].parent):
        with pytest.raises(ConfigError) as err:
            build_report(two_runs, out, plots=False, **FAST)
        assert err.value.code == "E146"
    assert (other / "mine.txt").read_text(encoding="utf-8") == "keep me"
    out = tmp_path / "report"
    build_report(two_runs, out, plots=False, **FAST)
    (out / "stale.txt").write_text("old", encoding="utf-8")
    build_report(two_runs, out, formats=("html",), plots=False, **FAST)  # an earlier report is replaced
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    with pytest.raises(ConfigError) as bad_format:
        build_report(two_runs, tmp_path / "x", formats=("pdf",))
    assert bad_format.value.code == "E147" and not (tmp_path / "x").exists()


def test_a_failing_write_leaves_the_earlier_report(two_runs, tmp_path, monkeypatch):
    out = tmp_path / "report"
    build_report(two_runs, out, plots=False, **FAST)
    before = (out / "report.md").read_text(encoding="utf-8")
    import eccr.reports.render as render

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(render, "html_document", broken)
    with pytest.raises(RuntimeError):
        build_report(two_runs, out, formats=("md", "html"), plots=False, **FAST)
    assert (out / "report.md").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_options_are_checked(two_runs):
    with pytest.raises(ConfigError) as labels:
        compute_report(two_runs, labels=["only one"])
    with pytest.raises(ConfigError) as test_p:
        compute_report(two_runs, test_p=3.0)
    with pytest.raises(ConfigError) as token:
        compute_report(two_runs, test_measure="token", tokenizer=None)
    assert labels.value.code == test_p.value.code == token.value.code == "E147"
    chosen = compute_report(two_runs, labels=["A", "B"], test_measure="char", tokenizer=None, **FAST)
    assert [m.label for m in chosen.groups[0].models] == ["A", "B"]
    assert chosen.groups[0].tests[0].comparison.measure == "char" and chosen.test_p is None
    assert "token" not in chosen.measures


def test_model_families(tmp_path):
    pytest.importorskip("transformers")
    encoder, decoder = tmp_path / "encoder", tmp_path / "decoder"
    for directory, model_type in ((encoder, "deberta-v2"), (decoder, "llama")):
        directory.mkdir()
        (directory / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    assert model_family(f"hf:{encoder}") == ENCODER_TC
    assert model_family(f"hf:{decoder}") == DECODER_TC
    assert model_family(f"it:{decoder}") == DECODER_IT
    assert model_family("hf:org/not-on-this-machine") == OTHER_FAMILY
    assert model_family("dict") == model_family("spacy:ja_core_news_sm") == CLASSICAL_FAMILY
    run = tmp_path / "run"
    (run / "fold-0" / "model").mkdir(parents=True)
    shutil.copy(decoder / "config.json", run / "fold-0" / "model" / "config.json")
    assert model_family("hf:org/gone", run) == DECODER_TC  # the saved fold model tells


def test_cli_prints_table_2_and_writes_the_report(two_runs, tmp_path):
    out = tmp_path / "rep"
    result = CliRunner().invoke(
        app,
        [
            "report",
            *map(str, two_runs),
            "--out",
            str(out),
            "--format",
            "md",
            "--format",
            "csv",
            "--p",
            "1,2",
            "--resamples",
            "100",
            "--permutations",
            "100",
            "--no-plots",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "**Table 2: weighted soft matching" in result.output and "| crf |" in result.output
    assert "p = 2 F1" in result.output and "p = 1.5" not in result.output
    assert (out / "csv" / "pairwise.csv").is_file() and not (out / "plots").exists()
    bad = CliRunner().invoke(
        app, ["report", str(two_runs[0]), "--out", str(tmp_path / "r2"), "--test-p", "x"]
    )
    assert isinstance(bad.exception, ConfigError) and bad.exception.code == "E147"


def test_html_report_in_chromium(two_runs, tmp_path, chromium_page):
    from PIL import Image

    built = build_report(two_runs, tmp_path / "rep", formats=("html",), **FAST)
    entry = built.groups[0].models[0].summary.entry("wsm", "1").f1
    chromium_page.goto((tmp_path / "rep" / "report.html").as_uri())
    best = chromium_page.locator("#scores-wsm td.best").first.inner_text()
    assert best == f"{entry.mean:.3f} ({entry.sd:.3f})"
    assert chromium_page.locator("figure svg").count() == 4
    shot = tmp_path / "page.png"
    chromium_page.screenshot(path=str(shot))
    assert len(Image.open(shot).convert("L").getcolors(maxcolors=1 << 16)) > 10  # not blank


def test_a_registered_measure_gets_its_table_and_csv_rows(two_runs, tmp_path):
    from eccr.metrics import Measure, register_measure, unregister_measure

    def starts(inp):
        rows = [
            [
                len({s.start for s in p.gold.spans} & {s.start for s in p.pred_spans}),
                len({s.start for s in p.pred_spans}),
                len({s.start for s in p.gold.spans} & {s.start for s in p.pred_spans}),
                len({s.start for s in p.gold.spans}),
            ]
            for p in inp.pairs
        ]
        return np.asarray(rows, dtype=float).reshape(inp.documents, 4)

    register_measure(Measure("start", "span start match", False, starts))
    try:
        built = build_report(two_runs, tmp_path / "rep", formats=("md", "csv"), plots=False, **FAST)
    finally:
        unregister_measure("start")
    assert "start" in built.measures
    assert "**Span start match on" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert ",start," in (tmp_path / "rep" / "csv" / "scores.csv").read_text(encoding="utf-8")


def test_the_report_never_writes_into_runs(two_runs, tmp_path):
    before = {p: p.stat().st_mtime_ns for run in two_runs for p in run.rglob("*")}
    build_report(two_runs, tmp_path / "report", formats=("md", "csv"), plots=False, **FAST)
    assert {p: p.stat().st_mtime_ns for run in two_runs for p in run.rglob("*")} == before
