"""The model-directory manifest: damaged files, pickles, code and ``auto_map`` are refused before loading.

Must-fix cases 1 (a truncated or garbage ``crf.crfsuite`` crashed ``eccr predict`` with a segmentation fault)
and 2 (``trust_remote_code`` in ``eccr-model.json`` plus an ``auto_map`` ran the directory's code).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eccr.errors import ModelError
from eccr.models.base import MODEL_FILE, create_model, load_model
from eccr.models.manifest import build_manifest, verify_model_directory

NOTE = "発熱と咳嗽を認めた。"


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def run_predict(model_dir: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``eccr predict`` in a subprocess: a crash in native code must show as a signal, not kill the tests."""
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    command = ["predict", str(model_dir), str(note), "--from", "text", "--out", str(out)]
    return subprocess.run([sys.executable, "-m", "eccr", *command], capture_output=True, text=True,
                          timeout=120), out


def rewrite_manifest(directory: Path, **record_changes) -> None:
    """What an attacker can do: change files, then write a manifest that matches them."""
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    record.update(record_changes)
    record["manifest"] = build_manifest(directory, record["kind"])
    (directory / MODEL_FILE).write_text(json.dumps(record), encoding="utf-8")


def test_save_records_every_file_with_size_and_hash(sample_crf) -> None:
    _, directory = sample_crf
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    manifest = record["manifest"]
    assert manifest["kind"] == "crf" and manifest["eccr_version"] == record["eccr_version"]
    files = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()} - {MODEL_FILE}
    assert set(manifest["files"]) == files and "crf.crfsuite" in files
    entry = manifest["files"]["crf.crfsuite"]
    assert entry["size"] == (directory / "crf.crfsuite").stat().st_size and len(entry["sha256"]) == 64


def damage(weights: Path, how: str) -> None:
    data = weights.read_bytes()
    if how == "random":
        damaged = os.urandom(len(data))
    elif how == "flip":
        damaged = data[:500] + bytes([data[500] ^ 1]) + data[501:]
    else:
        damaged = data[: int(how)]
    weights.write_bytes(damaged)


def test_damaged_crf_weights_end_predict_with_a_coded_error(sample_crf, tmp_path) -> None:
    """Must-fix 1 through the command line (a subprocess: a crash in crfsuite would show as a signal)."""
    _, source = sample_crf
    directory = copy_model(source, tmp_path / "m")
    damage(directory / "crf.crfsuite", "3000")
    proc, out = run_predict(directory, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error [E068] crf.crfsuite is truncated: 3000 bytes"), proc.stderr
    assert f"file {directory / 'crf.crfsuite'}" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("how", ["0", "100", "1000", "3000", "10000", "random", "flip"])
def test_damaged_crf_weights_are_a_coded_error_naming_the_file(sample_crf, tmp_path, how) -> None:
    """Must-fix 1: truncated (0…10,000 bytes), random or one-byte-changed crf.crfsuite: E068."""
    _, source = sample_crf
    directory = copy_model(source, tmp_path / "m")
    damage(directory / "crf.crfsuite", how)
    with pytest.raises(ModelError, match=r"^\[E068\] crf\.crfsuite (is truncated|has changed)") as err:
        load_model(directory)
    assert err.value.location.file == str(directory / "crf.crfsuite")


@pytest.mark.parametrize("size", [0, 100, 3000, -1])
def test_damaged_crf_weights_with_a_forged_manifest_never_reach_crfsuite(sample_crf, tmp_path, size) -> None:
    _, source = sample_crf
    directory = copy_model(source, tmp_path / "m")
    weights = directory / "crf.crfsuite"
    weights.write_bytes(weights.read_bytes()[:size])
    rewrite_manifest(directory)
    with pytest.raises(ModelError, match=r"E062\] crf\.crfsuite is not a valid crfsuite model file"):
        load_model(directory)


def test_missing_added_and_linked_files_are_refused(sample_crf, tmp_path) -> None:
    _, source = sample_crf
    missing = copy_model(source, tmp_path / "missing")
    (missing / "dictionary.json").unlink()
    with pytest.raises(ModelError, match=r"E068\] dictionary\.json is missing") as err:
        load_model(missing)
    assert err.value.location.file == str(missing / "dictionary.json")

    added = copy_model(source, tmp_path / "added")
    (added / "extra" / "notes.json").parent.mkdir()
    (added / "extra" / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match=r"E068\] extra/notes\.json was not part of the model"):
        load_model(added)

    linked = copy_model(source, tmp_path / "linked")
    (linked / "dictionary.json").unlink()
    (linked / "dictionary.json").symlink_to(source / "dictionary.json")
    with pytest.raises(ModelError, match=r"E068\] dictionary\.json is a link"):
        load_model(linked)


def test_a_directory_without_manifest_is_refused(sample_crf, tmp_path) -> None:
    _, source = sample_crf
    directory = copy_model(source, tmp_path / "old")
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    del record["manifest"]
    (directory / MODEL_FILE).write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ModelError, match=r"E068.*no file manifest"):
        load_model(directory)


@pytest.mark.parametrize("name", ["w.pkl", "pytorch_model.bin", "sub/optimizer.pt", "x.ckpt", "m.joblib"])
def test_pickles_are_refused_even_when_the_user_trusts_remote_code(sample_crf, tmp_path, name) -> None:
    _, source = sample_crf
    directory = copy_model(source, tmp_path / "m")
    (directory / name).parent.mkdir(exist_ok=True)
    (directory / name).write_bytes(b"\x80\x04K\x01.")  # pickle of 1
    rewrite_manifest_allowing = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    rewrite_manifest_allowing["manifest"]["files"][name] = {"size": 5, "sha256": "0" * 64}
    (directory / MODEL_FILE).write_text(json.dumps(rewrite_manifest_allowing), encoding="utf-8")
    for trust in (False, True):
        with pytest.raises(ModelError, match=f"E069\\] {name} is a pickle"):
            load_model(directory, trust_remote_code=trust)


def test_save_refuses_to_write_a_pickle(sample_crf, tmp_path) -> None:
    model, _ = sample_crf
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "leftover.pt").write_bytes(b"x")
    with pytest.raises(ModelError, match=r"E069\] cannot save the model: leftover\.pt is a pickle"):
        model.save(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["leftover.pt"]  # nothing half-written


def test_training_state_folder_is_neither_recorded_nor_read(sample_crf, tmp_path) -> None:
    model, _ = sample_crf
    directory = tmp_path / "m"
    (directory / "checkpoints" / "checkpoint-1").mkdir(parents=True)
    (directory / "checkpoints" / "checkpoint-1" / "optimizer.pt").write_bytes(b"x")
    model.save(directory)
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    assert not [name for name in record["manifest"]["files"] if name.startswith("checkpoints")]
    assert load_model(directory).predict_text(NOTE) == model.predict_text(NOTE)


def test_save_keeps_other_files_and_replaces_the_directory_atomically(sample_crf, tmp_path) -> None:
    model, _ = sample_crf
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "resolved.yaml").write_text("model: crf\n", encoding="utf-8")
    model.save(directory)
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    assert "resolved.yaml" in record["manifest"]["files"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".eccr-tmp-")]
    before = (directory / MODEL_FILE).read_bytes()

    class Failing(type(model)):  # type: ignore[misc]
        def save_weights(self, target: Path) -> None:
            super().save_weights(target)
            raise OSError("disk full")

    failing = Failing(model.spec, model.options)
    failing._model_bytes, failing._gazetteer = model._model_bytes, model._gazetteer
    with pytest.raises(OSError, match="disk full"):
        failing.save(directory)
    assert (directory / MODEL_FILE).read_bytes() == before  # the previous model is untouched
    assert load_model(directory).predict_text(NOTE) == model.predict_text(NOTE)


def code_directory(tmp_path: Path, *, with_code_file: bool) -> Path:
    """A directory shaped like the issue's case 2, with a manifest that matches its files."""
    directory = tmp_path / "evil"
    directory.mkdir()
    marker = tmp_path / "marker"
    (directory / "config.json").write_text(json.dumps(
        {"model_type": "evil", "auto_map": {"AutoConfig": "modeling_evil.EvilConfig",
                                            "AutoModelForTokenClassification": "modeling_evil.Evil"}}),
        encoding="utf-8")
    if with_code_file:
        (directory / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n",
                                                    encoding="utf-8")
    (directory / MODEL_FILE).write_text(json.dumps(
        {"kind": "hf", "spec": f"hf:{directory}", "options": {"trust_remote_code": True}, "labels": ["O"]}),
        encoding="utf-8")
    rewrite_manifest(directory)
    return directory


@pytest.mark.parametrize("with_code_file", [True, False])
def test_code_in_a_model_directory_never_runs_unless_asked(tmp_path, eccr_cli, with_code_file) -> None:
    """Must-fix 2: trust_remote_code in eccr-model.json is ignored; auto_map and .py files are refused."""
    directory = code_directory(tmp_path, with_code_file=with_code_file)
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    result = eccr_cli("predict", directory, note, "--from", "text", "--out", tmp_path / "pred.jsonl")
    assert result.code == 2
    expected = "modeling_evil.py is code" if with_code_file else "config.json has an auto_map"
    assert result.stderr.startswith(f"error [E069] {expected}"), result.stderr
    assert "--trust-remote-code" in result.stderr
    assert not (tmp_path / "marker").exists() and not (tmp_path / "pred.jsonl").exists()


def test_the_user_flag_lets_the_directory_pass_the_code_checks(tmp_path) -> None:
    directory = code_directory(tmp_path, with_code_file=True)
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    verify_model_directory(directory, record, trust_remote_code=True)  # the user's decision: no refusal


def test_trust_remote_code_in_the_record_is_overridden_by_the_caller(tiny_model_dir, tmp_path) -> None:
    from eccr.corpus.types import Corpus, Document, Span

    from .hf_options import FAST

    corpus = Corpus([Document(f"d{i}", NOTE, [Span(0, 2, "d")]) for i in range(2)])
    model = create_model(f"hf:{tiny_model_dir('deberta-v2')}", FAST)
    model.fit(corpus, run_dir=tmp_path / "run")
    directory = model.save(tmp_path / "model")
    record = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
    record["options"]["trust_remote_code"] = True
    (directory / MODEL_FILE).write_text(json.dumps(record), encoding="utf-8")
    assert load_model(directory).opts.trust_remote_code is False
    assert load_model(directory, trust_remote_code=True).opts.trust_remote_code is True
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModelForTokenClassification": "modeling_x.X"}
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    rewrite_manifest(directory)
    with pytest.raises(ModelError, match=r"E069\] config\.json has an auto_map"):
        load_model(directory)
