"""No training or prediction on a tokenizer that fails the aligner's invariants without the explicit flag.

The gate lives in the model (``fit`` and ``predict_documents``), so ``eccr train``, ``eccr cv``,
``eccr predict`` and the Python API all stop with ``E079`` and the report ``eccr diagnose-tokenizer``
prints; ``--allow-misaligned-tokenizer`` / ``allow_misaligned_tokenizer: true`` is the only way past, and
it is recorded.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.types import Document
from eccr.data import SAMPLE_PATH, sample_corpus
from eccr.errors import ModelError
from eccr.models.base import create_model, load_model
from eccr.models.hf_tokenizer import TOKENIZER_RECORD

from ..conftest import RARE_KANJI
from .hf_options import FAST

runner = CliRunner()


def test_fit_refuses_a_misaligned_tokenizer_with_the_diagnosis(misaligned_model_dir, tmp_path):
    model = create_model(f"hf:{misaligned_model_dir}", FAST)
    with pytest.raises(ModelError) as err:
        model.fit(sample_corpus()[:6], run_dir=tmp_path / "run")
    message = str(err.value)
    assert err.value.code == "E079" and "invariants: VIOLATED" in message and "unknown-share" in message
    assert "--allow-misaligned-tokenizer" in message
    record = json.loads((tmp_path / "run" / TOKENIZER_RECORD).read_text(encoding="utf-8"))
    assert record["invariants"]["training"]["ok"] is False
    assert record["invariants"]["training"]["allowed_by_flag"] is False
    assert not (tmp_path / "run" / "checkpoints").exists()  # stopped before the first step


def test_the_option_lets_it_train_records_it_and_a_loaded_model_needs_it_again(
    misaligned_model_dir, tmp_path
):
    model = create_model(f"hf:{misaligned_model_dir}", {**FAST, "allow_misaligned_tokenizer": True})
    with pytest.warns(UserWarning, match="allow-misaligned-tokenizer"):
        model.fit(sample_corpus()[:6], run_dir=tmp_path / "run")
    model.save(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "eccr-model.json").read_text(encoding="utf-8"))
    assert saved["options"]["allow_misaligned_tokenizer"] is True
    record = json.loads((tmp_path / "model" / TOKENIZER_RECORD).read_text(encoding="utf-8"))
    assert record["invariants"]["training"]["allowed_by_flag"] is True
    loaded = load_model(tmp_path / "model")
    with pytest.raises(ModelError, match="E079"):
        loaded.predict(sample_corpus()[:2])
    loaded.allow_misaligned_tokenizer = True
    with pytest.warns(UserWarning):
        assert len(loaded.predict(sample_corpus()[:2])) == 2


def test_prediction_is_refused_on_texts_the_tokenizer_cannot_handle(
    tiny_model_dir, unigram_tokenizer_dir, tmp_path
):
    """A sound tokenizer without byte fallback on text of unknown characters only: refused, unless allowed."""
    from ..conftest import build_tiny_model_dir

    directory = build_tiny_model_dir("deberta-v2", unigram_tokenizer_dir, tmp_path / "tiny")
    model = create_model(f"hf:{directory}", FAST)
    model.fit(sample_corpus()[:6], run_dir=tmp_path / "run")
    assert model.predict(sample_corpus()[6:8])  # ordinary text passes the gate
    strange = [Document("rare", RARE_KANJI * 3)]
    with pytest.raises(ModelError, match="E079") as err:
        model.predict_documents(strange)
    assert "document 'rare'" in str(err.value)
    model.allow_misaligned_tokenizer = True
    with pytest.warns(UserWarning):
        model.predict_documents(strange)
    assert model.tokenizer_record["invariants"]["prediction"]["allowed_by_flag"] is True


# --- the command line ----------------------------------------------------------------------------------
def _invoke(*args: str):
    return runner.invoke(app, list(args))


def test_train_and_cv_refuse_then_train_allows_with_the_flag(misaligned_model_dir, tmp_path):
    model = f"hf:{misaligned_model_dir}"
    common = [
        "--from",
        "inline",
        "--model",
        model,
        "--set",
        "model.options.init=from_config",
        "--set",
        "model.options.epochs=1",
        "--set",
        "model.options.progress=false",
        "--set",
        "model.options.max_train_docs=6",
    ]
    result = _invoke("train", str(SAMPLE_PATH), *common, "--out", str(tmp_path / "m"))
    assert result.exit_code != 0 and isinstance(result.exception, ModelError)
    assert result.exception.code == "E079"
    result = _invoke(
        "cv", str(SAMPLE_PATH), *common, "--folds", "2", "--out", str(tmp_path / "cv"), "--quiet"
    )
    assert isinstance(result.exception, ModelError) and result.exception.code == "E079"
    result = _invoke(
        "train", str(SAMPLE_PATH), *common, "--out", str(tmp_path / "m"), "--allow-misaligned-tokenizer"
    )
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load((tmp_path / "m" / "resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["model"]["options"]["allow_misaligned_tokenizer"] is True
    note = tmp_path / "note.txt"
    note.write_text("発熱と咳嗽を認めた。", encoding="utf-8")
    result = _invoke("predict", str(tmp_path / "m"), str(note), "--out", str(tmp_path / "p.jsonl"))
    assert isinstance(result.exception, ModelError) and result.exception.code == "E079"
    assert not (tmp_path / "p.jsonl").exists()
    result = _invoke(
        "predict",
        str(tmp_path / "m"),
        str(note),
        "--out",
        str(tmp_path / "p.jsonl"),
        "--allow-misaligned-tokenizer",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.jsonl").exists()


def test_the_flag_is_for_models_with_a_tokenizer(tmp_path, sample_crf):
    _, directory = sample_crf
    note = tmp_path / "note.txt"
    note.write_text("発熱", encoding="utf-8")
    result = _invoke(
        "predict",
        str(directory),
        str(note),
        "--out",
        str(tmp_path / "p.jsonl"),
        "--allow-misaligned-tokenizer",
    )
    assert result.exception is not None and "E045" in str(result.exception)
    result = _invoke(
        "train",
        str(SAMPLE_PATH),
        "--from",
        "inline",
        "--model",
        "crf",
        "--out",
        str(tmp_path / "c"),
        "--allow-misaligned-tokenizer",
    )
    assert result.exception is not None and "allow_misaligned_tokenizer" in str(result.exception)


@pytest.mark.slow
def test_the_real_command_prints_the_coded_diagnosis(misaligned_model_dir, tmp_path):
    import subprocess
    import sys

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "eccr",
            "train",
            str(SAMPLE_PATH),
            "--from",
            "inline",
            "--model",
            f"hf:{misaligned_model_dir}",
            "--set",
            "model.options.init=from_config",
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 2
    assert "[E079]" in completed.stderr and "invariants: VIOLATED" in completed.stderr
    assert "Traceback" not in completed.stderr
