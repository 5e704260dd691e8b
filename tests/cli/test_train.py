"""``eccr train``: a model directory that ``eccr predict`` and ``load_model`` accept."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.data import SAMPLE_PATH
from eccr.models.base import load_model

runner = CliRunner()


def test_train_writes_a_loadable_model_directory(tmp_path) -> None:
    out = tmp_path / "crf"
    result = runner.invoke(
        app,
        [
            "train",
            str(SAMPLE_PATH),
            "--model",
            "crf",
            "--out",
            str(out),
            "--set",
            "model.options.max_iterations=15",
            "--set",
            "model.options.window=2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "trained crf on 40 documents" in result.output
    for name in ("eccr-model.json", "crf.crfsuite", "resolved.yaml", "training.json"):
        assert (out / name).is_file(), name
    model = load_model(out)
    assert model.options["window"] == 2 and model.options["max_iterations"] == 15
    assert json.loads((out / "training.json").read_text(encoding="utf-8"))["n_train"] == 40


def test_train_with_selector_and_unknown_model(tmp_path) -> None:
    ok = runner.invoke(
        app,
        ["train", str(SAMPLE_PATH), "--model", "dict", "--select", "concept", "--out", str(tmp_path / "d")],
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["train", str(SAMPLE_PATH), "--model", "svm", "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "unknown model kind 'svm'" in str(bad.exception)
