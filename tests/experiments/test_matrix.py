"""``eccr experiment run``: the file, the plan, resuming, failed cells, --only, --dry-run, --extra-train."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
import yaml
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import read_corpus, write_corpus
from eccr.corpus.types import Corpus, Document
from eccr.data import SAMPLE_PATH
from eccr.errors import ConfigError, EccrError
from eccr.experiments.folds import read_folds
from eccr.experiments.matrix import load_experiment, match_only, parse_experiment, plan_experiment
from eccr.experiments.matrix_run import run_plan, status
from eccr.models.base import ConceptModel, register

runner = CliRunner()


class FlakyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fail_file: str = ""
    fail_doc: str = ""


class FlakyModel(ConceptModel):
    """Predicts nothing; ``fit`` fails while ``fail_file`` exists and ``fail_doc`` is a training document."""

    kind: ClassVar[str] = "flaky"
    Options: ClassVar[type[BaseModel]] = FlakyOptions
    uses_validation: ClassVar[bool] = False

    def fit(self, train, validation=None, *, run_dir=None):
        if Path(self.options["fail_file"]).exists() and self.options["fail_doc"] in train.ids:
            raise RuntimeError("flaky model failed on purpose")

    def predict_documents(self, documents):
        return [[] for _ in documents]

    def save_weights(self, directory: Path) -> None:
        (directory / "flaky.txt").write_text("flaky", encoding="utf-8")

    def load_weights(self, directory: Path) -> None:
        assert (directory / "flaky.txt").is_file()


register("flaky", lambda: FlakyModel)

CRF_FAST = {"spec": "crf", "options": {"max_iterations": 10}}


def write_experiment(directory: Path, models: dict, **top) -> Path:
    data = {"name": "t", "folds": 3, "corpora": {"sample": {"path": str(SAMPLE_PATH), "format": "inline"}},
            "models": models, **top}
    path = directory / "exp.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def run_cli(*args: str) -> SimpleNamespace:
    """``eccr experiment run ARGS`` in process; a coded error exits 2 with its message, as on the console."""
    result = runner.invoke(app, ["experiment", "run", *args])
    error = result.exception if isinstance(result.exception, EccrError) else None
    if result.exception is not None and error is None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return SimpleNamespace(exit_code=2 if error else result.exit_code, stdout=result.stdout,
                           output=result.output + (str(error) if error else ""))


# --- the file and the plan ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"modles": {}}, "modles"),
        ({"models": {"bad name": {"spec": "crf"}}}, "folder name"),
        ({"models": {"crf": {"spec": "crf", "options": {"c2": "lots"}}}}, "models.crf"),
        ({"models": {"x": {"spec": "nosuchkind"}}}, "unknown model kind"),
        ({"models": {"crf": {"spek": "crf"}}}, "models.crf.spek"),
        ({"corpora": {}}, "corpora"),
        ({"models": {"a+b": {"spec": "crf"}}}, "'a+b' must be letters"),
    ],
)
def test_an_invalid_experiment_is_e150_naming_the_key(tmp_path, change, fragment) -> None:
    data = {"corpora": {"sample": {"path": str(SAMPLE_PATH)}}, "models": {"crf": {"spec": "crf"}}, **change}
    with pytest.raises(ConfigError) as info:
        plan_experiment(parse_experiment(data, base=tmp_path, source="exp.yaml"), tmp_path / "out",
                        source="exp.yaml")
    assert info.value.code == "E150" and fragment in info.value.message
    assert info.value.location.file == "exp.yaml"


def test_paths_are_relative_to_the_experiment_file(tmp_path) -> None:
    (tmp_path / "data").mkdir()
    write_corpus(read_corpus(SAMPLE_PATH, "inline"), tmp_path / "data" / "s.jsonl")
    path = tmp_path / "exp.yaml"
    path.write_text("corpora: {s: {path: data/s.jsonl}}\nmodels: {m: {spec: 'hf:./model', options: "
                    "{tokenizer_texts: ../x.txt}}, c: {spec: crf}}\n", encoding="utf-8")
    experiment = load_experiment(path)
    assert experiment.corpora["s"].path == str(tmp_path / "data" / "s.jsonl")
    assert experiment.models["m"].spec == f"hf:{tmp_path / 'model'}"
    assert experiment.models["m"].options["tokenizer_texts"] == str(tmp_path.parent / "x.txt")


def test_plan_shares_one_folds_file_per_corpus_and_progress_is_off_for_models(tmp_path) -> None:
    data = {"corpora": {"a": {"path": "a.jsonl"}, "b": {"path": "b.jsonl"}},
            "models": {"crf": {"spec": "crf"}, "tiny": {"spec": "scratch:deberta-v2"}}}
    experiment = parse_experiment(data, base=tmp_path)
    plan = plan_experiment(experiment, tmp_path / "out", only=["b/*"])
    assert [run.key for run in plan.runs] == ["a/crf", "a/tiny", "b/crf", "b/tiny"]
    assert {cell.key for cell in plan.cells} == {f"b/{m}/{k}" for m in ("crf", "tiny") for k in range(5)}
    assert {run.config.folds_file for run in plan.runs if run.corpus == "b"} == {
        str((tmp_path / "out" / "b" / "folds.json").resolve())}
    assert plan.runs[1].config.model.options["progress"] is False
    assert not (tmp_path / "out").exists()  # planning writes nothing


def test_only_patterns() -> None:
    assert match_only([], "c", "m", 0)
    assert match_only(["c/m/1", "x"], "c", "m", 1) and not match_only(["c/m/1"], "c", "m", 2)
    assert match_only(["c*"], "corpus", "crf", 0) and match_only(["*/cr?"], "a", "crf", 4)
    assert not match_only(["a/crf"], "b", "crf", 0)


def test_only_selecting_nothing_is_e151(tmp_path) -> None:
    result = run_cli(str(write_experiment(tmp_path, {"crf": CRF_FAST})), "--only", "nope/*",
                     "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "E151" in result.output


# --- running, resuming, failing ----------------------------------------------------------------------------


def test_run_writes_cv_run_directories_on_shared_folds_and_resumes(tmp_path) -> None:
    exp = write_experiment(tmp_path, {"crf": CRF_FAST, "dict": {"spec": "dict"}})
    out = tmp_path / "out"
    result = run_cli(str(exp), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    shared = read_folds(out / "sample" / "folds.json")
    for model in ("crf", "dict"):
        run = out / "sample" / model
        assert read_folds(run / "folds.json") == shared
        assert {p.name for p in run.iterdir()} >= {"resolved.yaml", "summary.json", "summary.md",
                                                    "summary.csv", "predictions.jsonl", "fold-2"}
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        assert summary["run"]["folds"] == 3 and summary["run"]["documents"] == 40
    state = json.loads((out / "status.json").read_text(encoding="utf-8"))
    assert state["cells"] == {"done": 6, "failed": 0, "pending": 0}
    assert (out / "experiment.yaml").is_file()

    # an ordinary cv run directory: compare reads it and sees identical folds (no warning)
    compared = runner.invoke(app, ["compare", str(out / "sample" / "crf"), str(out / "sample" / "dict")])
    assert compared.exit_code == 0, compared.output
    assert "warning" not in compared.output

    # resuming: nothing reruns; a removed fold.json makes exactly that cell run again
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("sample/*/fold-*/fold.json")}
    (out / "sample" / "crf" / "fold-1" / "fold.json").unlink()
    plan = plan_experiment(load_experiment(exp), out)
    outcome = run_plan(plan, progress=False)
    assert (outcome.ran, outcome.skipped, outcome.failures) == (1, 5, ())
    changed = {p for p, stamp in stamps.items() if p.exists() and p.stat().st_mtime_ns != stamp}
    assert changed == {out / "sample" / "crf" / "fold-1" / "fold.json"}
    assert list(outcome.results) == ["sample/crf"]  # only the run with new folds is summarised again


def test_a_failed_cell_is_recorded_the_others_go_on_and_a_rerun_retries_it(tmp_path) -> None:
    fail_file = tmp_path / "fail-now"
    fail_file.touch()
    flaky = {"spec": "flaky", "options": {"fail_file": str(fail_file), "fail_doc": "sample-0001"}}
    exp = write_experiment(tmp_path, {"flaky": flaky, "crf": CRF_FAST})
    out = tmp_path / "out"
    result = run_cli(str(exp), "--out", str(out), "--quiet")
    assert result.exit_code == 2
    assert "E154" in result.output and "flaky model failed on purpose" in result.output

    folds = read_folds(out / "sample" / "folds.json")
    failing = {f.index for f in folds.folds if "sample-0001" in f.train}
    assert 0 < len(failing) < 3  # sample-0001 trains some folds, not the one that tests it
    for fold in range(3):
        fold_dir = out / "sample" / "flaky" / f"fold-{fold}"
        if fold in failing:
            error = json.loads((fold_dir / "error.json").read_text(encoding="utf-8"))
            assert error["type"] == "RuntimeError" and "on purpose" in error["message"]
            assert "Traceback" in error["traceback"] and not (fold_dir / "fold.json").exists()
        else:
            assert (fold_dir / "fold.json").is_file()
    assert all((out / "sample" / "crf" / f"fold-{k}" / "fold.json").is_file() for k in range(3))
    assert not (out / "sample" / "flaky" / "summary.json").exists()  # incomplete runs have no summary
    state = status(plan_experiment(load_experiment(exp), out))
    assert state["cells"] == {"done": 6 - len(failing), "failed": len(failing), "pending": 0}

    fail_file.unlink()
    plan = plan_experiment(load_experiment(exp), out)
    outcome = run_plan(plan, progress=False)
    assert outcome.ran == len(failing) and outcome.skipped == 6 - len(failing) and not outcome.failures
    assert not list((out / "sample" / "flaky").glob("fold-*/error.json"))
    assert (out / "sample" / "flaky" / "summary.json").is_file()


def test_resuming_with_another_configuration_is_refused(tmp_path) -> None:
    out = tmp_path / "out"
    assert run_cli(str(write_experiment(tmp_path, {"crf": CRF_FAST})), "--out", str(out), "-q").exit_code == 0
    changed = write_experiment(tmp_path, {"crf": {"spec": "crf", "options": {"max_iterations": 11}}})
    result = run_cli(str(changed), "--out", str(out), "-q")
    assert result.exit_code == 2
    assert "E152" in result.output and "model.options.max_iterations: 10 -> 11" in result.output
    other_seed = write_experiment(tmp_path, {"crf": CRF_FAST}, seed=3)
    result = run_cli(str(other_seed), "--out", str(out), "-q")
    assert result.exit_code == 2 and "E152" in result.output


def test_dry_run_lists_cells_and_writes_nothing(tmp_path) -> None:
    exp = write_experiment(tmp_path, {"crf": CRF_FAST, "tiny": {"spec": "scratch:deberta-v2"}})
    out = tmp_path / "out"
    result = run_cli(str(exp), "--out", str(out), "--dry-run", "--format", "json", "--only", "*/tiny/1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["documents"] == {"sample": 40}
    assert [(r["model"], r["cells"], r["pending"]) for r in data["runs"]] == [("tiny", 1, 1)]
    assert not out.exists()


# --- extra training documents ------------------------------------------------------------------------------


def test_extra_train_adds_documents_minus_those_overlapping_held_out_ones(tmp_path) -> None:
    sample = read_corpus(SAMPLE_PATH, "inline")
    copies = [Document(f"copy-{d.id}", d.text, d.spans) for d in sample[:6]]
    fresh = [Document(f"new-{i}", f"{70 + i}歳男性．突然の激しい胸痛を自覚して救急要請した症例{i}．",
                      ()) for i in range(4)]
    extra_path = tmp_path / "extra.jsonl"
    write_corpus(Corpus([*copies, *fresh]), extra_path)
    exp = write_experiment(tmp_path, {"crf": CRF_FAST})
    out = tmp_path / "out"
    result = run_cli(str(exp), "--out", str(out), "--extra-train", str(extra_path), "-q")
    assert result.exit_code == 0, result.output
    run = out / "sample" / "crf+extra"
    folds = read_folds(run / "folds.json")
    copied_ids = {d.id.removeprefix("copy-") for d in copies}
    total_test_removed = 0
    for fold in folds.folds:
        info = json.loads((run / f"fold-{fold.index}" / "fold.json").read_text(encoding="utf-8"))
        extra = info["extra_train"]
        in_test = copied_ids & set(fold.test)
        in_validation = copied_ids & set(fold.validation)
        assert extra["offered"] == 10
        assert extra["removed_by_split"]["test"]["duplicate"] == len(in_test)
        assert extra["removed_by_split"]["validation"]["duplicate"] == len(in_validation)
        assert extra["used"] == 10 - len(in_test) - len(in_validation)
        assert info["n_train"] == len(fold.train) + extra["used"]
        removed = {o["id"] for split in extra["removed_documents"].values() for o in split}
        assert removed == {f"copy-{i}" for i in in_test | in_validation}
        total_test_removed += len(in_test)
    assert total_test_removed == 6  # every copy was held out as a test document exactly once
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert all("extra_train" in fold for fold in summary["fold_results"])
    assert "extra training documents" in (run / "summary.md").read_text(encoding="utf-8")


def test_extra_train_by_corpus_name_and_unknown_extra(tmp_path) -> None:
    exp = write_experiment(tmp_path, {"crf": CRF_FAST})
    data = yaml.safe_load(exp.read_text(encoding="utf-8"))
    data["corpora"]["again"] = dict(data["corpora"]["sample"])
    exp.write_text(yaml.safe_dump(data), encoding="utf-8")
    plan = plan_experiment(load_experiment(exp), tmp_path / "out", only=["again"])
    assert [run.name for run in plan.runs if plan.cells_of(run)] == ["crf"]
    result = run_cli(str(exp), "--out", str(tmp_path / "out"), "--extra-train", "nope", "--dry-run")
    assert result.exit_code == 2 and "E153" in result.output
    result = run_cli(str(exp), "--out", str(tmp_path / "out"), "--extra-train", "again", "--dry-run",
                     "--format", "json")
    names = {(r["corpus"], r["model"]) for r in json.loads(result.stdout)["runs"]}
    assert names == {("sample", "crf+again"), ("again", "crf")}


def test_time_left_is_estimated_from_finished_cells(tmp_path) -> None:
    from eccr.experiments.matrix_run import TimeEstimate

    data = {"corpora": {"a": {"path": "a.jsonl"}, "b": {"path": "b.jsonl"}},
            "models": {"crf": {"spec": "crf"}, "dict": {"spec": "dict"}}}
    plan = plan_experiment(parse_experiment(data, base=tmp_path), tmp_path / "out")
    cell = {c.key: c for c in plan.cells}
    estimate = TimeEstimate()
    assert estimate.left([cell["a/crf/1"]], None, 0.0) is None  # nothing finished yet: no estimate
    estimate.add(cell["a/crf/0"], 10.0)
    estimate.add(cell["a/crf/1"], 20.0)
    estimate.add(cell["a/dict/0"], 2.0)
    # the same run: its mean; the same model on another corpus: that model's mean
    assert estimate.cell(cell["a/crf/4"]) == 15.0 and estimate.cell(cell["b/crf/0"]) == 15.0
    assert estimate.cell(cell["b/dict/3"]) == 2.0
    assert estimate.left([cell["a/crf/3"], cell["b/dict/1"]], cell["a/crf/2"], 12.0) == 15.0 + 2.0 + 3.0


@pytest.mark.parametrize("command", [["experiment", "run"], ["view"], ["demo"], ["experiment"]])
def test_help_renders(command) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_a_matrix_run_equals_eccr_cv_with_its_resolved_config(tmp_path) -> None:
    out = tmp_path / "out"
    assert run_cli(str(write_experiment(tmp_path, {"crf": CRF_FAST})), "--out", str(out), "-q").exit_code == 0
    run = out / "sample" / "crf"
    result = runner.invoke(app, ["cv", str(SAMPLE_PATH), "--config", str(run / "resolved.yaml"),
                                 "--out", str(tmp_path / "cv"), "--quiet"])
    assert result.exit_code == 0, result.output
    for name in ("predictions.jsonl", "gold.jsonl", "folds.json"):
        assert (run / name).read_bytes() == (tmp_path / "cv" / name).read_bytes()
    matrix, cv = (json.loads((d / "summary.json").read_text(encoding="utf-8"))
                  for d in (run, tmp_path / "cv"))
    assert matrix["wsm"] == cv["wsm"] and matrix["marker"] == cv["marker"]
