"""``examples/*.yaml``: every model entry validates (``--dry-run`` if the corpora exist); none runs in CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.experiments.matrix import load_experiment, plan_experiment
from eccr.models.base import ModelSpec, model_class

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def registered(kind: str) -> bool:
    try:
        model_class(kind)
    except Exception:
        return False
    return True


def test_paper_models_lists_the_17_configurations(tmp_path) -> None:
    experiment = load_experiment(EXAMPLES / "paper_models.yaml")
    specs = [m.spec for m in experiment.models.values()]
    assert len(specs) == 17
    kinds = [ModelSpec.parse(s).kind for s in specs]
    assert (kinds.count("it"), kinds.count("hf")) == (6, 11)
    assert sum(m.options.get("lora") is True for m in experiment.models.values()) == 6
    decoders = {ModelSpec.parse(s).name_or_path for s in specs if s.startswith("hf:") and "Swallow" in s}
    assert len(decoders) == 4
    # the token-classification entries validate against their model class (no hub access: nothing loads)
    token_classification = {name: m for name, m in experiment.models.items() if m.spec.startswith("hf:")}
    plan = plan_experiment(experiment.model_copy(update={"models": token_classification}), tmp_path / "out")
    assert len(plan.runs) == 22


def test_paper_models_instruction_tuning_entries_validate(tmp_path) -> None:
    if not registered("it"):
        pytest.skip("the it: model kind (instruction tuning) is not installed in this checkout")
    plan = plan_experiment(load_experiment(EXAMPLES / "paper_models.yaml"), tmp_path / "out")
    assert len(plan.runs) == 34


def test_paper_models_dry_run(medtxt_path, mrner_path, tmp_path) -> None:
    if not registered("it"):
        pytest.skip("the it: model kind (instruction tuning) is not installed in this checkout")
    result = CliRunner().invoke(app, ["experiment", "run", str(EXAMPLES / "paper_models.yaml"), "--dry-run",
                                      "--format", "json", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["documents"] == {"medtxt-d-positive": 148, "mrner-disease": 100}
    assert len(data["runs"]) == 34 and not (tmp_path / "out").exists()


def test_offline_dry_run(medtxt_path, mrner_path, tmp_path) -> None:
    result = CliRunner().invoke(app, ["experiment", "run", str(EXAMPLES / "offline.yaml"), "--dry-run",
                                      "--format", "json", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(r["corpus"], r["model"], r["cells"]) for r in data["runs"]] == [
        (c, m, 5) for c in ("medtxt-d-positive", "mrner-disease")
        for m in ("crf", "gazetteer", "deberta-scratch")]
