"""``eccr cv`` end to end on the bundled sample corpus."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.data import SAMPLE_PATH

runner = CliRunner()


def test_cv_runs_on_the_sample_and_prints_a_table(tmp_path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "cv",
            str(SAMPLE_PATH),
            "--model",
            "crf",
            "--set",
            "model.options.max_iterations=20",
            "--folds",
            "4",
            "--seed",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4-fold wsm" in result.output and "100" in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["folds"] == 4 and summary["run"]["seed"] == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "fold-0",
        "fold-1",
        "fold-2",
        "fold-3",
        "folds.json",
        "gold.jsonl",
        "predictions.jsonl",
        "resolved.yaml",
        "summary.csv",
        "summary.json",
        "summary.md",
    ]


def test_cv_json_output_and_folds_file_reuse(tmp_path) -> None:
    first = runner.invoke(
        app,
        ["cv", str(SAMPLE_PATH), "--model", "dict", "--out", str(tmp_path / "a"), "-q", "--format", "json"],
    )
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert set(data["wsm"]) == {"1", "1.5", "2", "100"}
    second = runner.invoke(
        app,
        [
            "cv",
            str(SAMPLE_PATH),
            "--model",
            "dict",
            "--out",
            str(tmp_path / "b"),
            "-q",
            "--format",
            "json",
            "--folds-file",
            str(tmp_path / "a" / "folds.json"),
            "--seed",
            "5",
        ],
    )
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["wsm"] == data["wsm"]


def test_cv_with_config_file_and_bad_key(tmp_path) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text("model:\n  spec: dict\n  options:\n    min_frequency: 2\nfolds: 3\n", encoding="utf-8")
    ok = runner.invoke(
        app, ["cv", str(SAMPLE_PATH), "--config", str(config), "--out", str(tmp_path / "r"), "-q"]
    )
    assert ok.exit_code == 0, ok.output
    resolved = (tmp_path / "r" / "resolved.yaml").read_text(encoding="utf-8")
    assert "min_frequency: 2" in resolved and "folds: 3" in resolved
    bad = runner.invoke(
        app, ["cv", str(SAMPLE_PATH), "--config", str(config), "--set", "model.options.minfreq=2"]
    )
    assert bad.exit_code != 0
    assert "model.options.minfreq" in str(bad.exception)


def test_cv_csv_output_is_one_row_per_score(tmp_path) -> None:
    result = runner.invoke(
        app,
        [
            "cv",
            str(SAMPLE_PATH),
            "--model",
            "dict",
            "--folds",
            "3",
            "-q",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "score,metric,mean,sd,pooled,fold_1,fold_2,fold_3"
    assert all(len(line.split(",")) == 8 for line in lines)
    assert (tmp_path / "r" / "summary.csv").read_text(encoding="utf-8").splitlines() == lines
