"""``eccr pretrain`` end to end: a model directory ``eccr cv`` uses unchanged; coded errors for bad input."""

from __future__ import annotations

import json

import pytest

TINY = {"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64, "max_length": 128}
QUICK = ["--batch-size", "8", "--block-size", "64", "--no-progress"]


@pytest.fixture(scope="module")
def bf_tokenizer(unigram_bytefallback_tokenizer_dir):
    return unigram_bytefallback_tokenizer_dir


@pytest.fixture(scope="module")
def workspace(tokenizer_training_texts, tmp_path_factory):
    """Text file, tiny size file, and saved tiny checkpoints: masked-LM and token-classification."""
    from transformers import AutoModelForMaskedLM, AutoModelForTokenClassification

    from eccr.data import sample_corpus
    from eccr.models.scratch import model_config
    from eccr.pretrain.tokenizer import train_unigram_tokenizer

    root = tmp_path_factory.mktemp("pretrain-cli")
    (root / "notes.txt").write_text("\n".join(tokenizer_training_texts) + "\n", encoding="utf-8")
    (root / "tiny.json").write_text(json.dumps({k: v for k, v in TINY.items() if k != "max_length"}),
                                    encoding="utf-8")
    tok = train_unigram_tokenizer(tokenizer_training_texts, vocab_size=1000, byte_fallback=False)
    config = model_config("deberta-v2", tok, **TINY)
    for name, auto in (("mlm", AutoModelForMaskedLM), ("tagger", AutoModelForTokenClassification)):
        auto.from_config(config).save_pretrained(root / name)
        tok.save_pretrained(root / name)
    (root / "empty.txt").write_text("\n\n", encoding="utf-8")
    from eccr.corpus.io import write_corpus

    write_corpus(list(sample_corpus())[:12], root / "gold.jsonl")
    return root


def test_pretrain_then_cv_uses_the_directory_unchanged(workspace, bf_tokenizer, eccr_cli, tmp_path) -> None:
    out = tmp_path / "model"
    result = eccr_cli("pretrain", "--texts", workspace / "notes.txt", "--tokenizer", bf_tokenizer,
                      "--from-scratch", f"deberta-v2:{workspace / 'tiny.json'}", "--out", out, "--steps", "4",
                      "--eval-steps", "2", "--whole-word-mask", "--exclude", workspace / "gold.jsonl", *QUICK)
    assert result.code == 0, result.stderr
    assert "read 340 documents" in result.stdout and "--exclude" in result.stdout
    assert "removed 12 of 340 documents (12 duplicates, 0 sharing a sentence)" in result.stdout
    assert "validation loss" in result.stdout and f"wrote {out}" in result.stdout
    summary = json.loads((out / "pretraining-summary.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 4 and summary["options"]["whole_word_mask"] is True
    cv = eccr_cli("cv", workspace / "gold.jsonl", "--model", f"hf:{out}", "--folds", "2",
                  "--out", tmp_path / "run", "--set", "model.options.epochs=1",
                  "--set", "model.options.progress=false", "--quiet")
    assert cv.code == 0, cv.stderr
    run = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert run["pretraining"]["test_documents_found"] == 0  # excluded, so no fold's test text was seen


def test_config_file_and_command_line(workspace, bf_tokenizer, eccr_cli, tmp_path) -> None:
    config = tmp_path / "pretrain.yaml"
    config.write_text(f"from_scratch: deberta-v2:{workspace / 'tiny.json'}\nsteps: 2\neval_steps: 1\n"
                      "block_size: 32\nbatch_size: 4\n", encoding="utf-8")
    out = tmp_path / "m"
    result = eccr_cli("pretrain", workspace / "notes.txt", "--tokenizer", bf_tokenizer,
                      "--config", config, "--out", out, "--steps", "1", "--no-progress")
    assert result.code == 0, result.stderr
    summary = json.loads((out / "pretraining-summary.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 1 and summary["blocks"]["block_size"] == 32  # the command line wins


@pytest.mark.parametrize(("args", "code"), [
    (["--texts", "{root}/empty.txt", "--from-scratch", "deberta-v2"], "E120"),
    (["--texts", "{root}/notes.txt"], "E131"),
    (["--texts", "{root}/notes.txt", "--from-scratch", "deberta-v2", "--steps", "2", "--epochs", "1"],
     "E131"),
    (["--texts", "{root}/notes.txt", "--from-scratch", "llama:tiny", "--objective", "mlm"], "E133"),
    (["--texts", "{root}/notes.txt", "--continue-from", "{root}/tagger"], "E136"),
    (["--texts", "{root}/notes.txt", "--continue-from", "{root}/mlm", "--tokenizer", "{bf}"], "E137"),
    (["--texts", "{root}/notes.txt", "--continue-from", "{root}/mlm", "--block-size", "256"], "E132"),
    (["--texts", "{root}/notes.txt", "--continue-from", "{root}/no-such-model"], "E086"),
    (["--texts", "{root}/notes.txt", "--continue-from", "{root}/mlm", "--extend-vocab", "{root}/mlm"],
     "E138"),
    (["--texts", "{root}/notes.txt", "--from-scratch", "deberta-v2", "--config", "{root}/notes.txt"], "E131"),
])
def test_bad_input_is_one_coded_line_and_no_out_dir(args, code, workspace, unigram_bytefallback_tokenizer_dir,
                                                    eccr_cli, tmp_path) -> None:
    filled = [a.format(root=workspace, bf=unigram_bytefallback_tokenizer_dir) for a in args]
    if "--tokenizer" not in filled and "--continue-from" not in filled:
        filled += ["--tokenizer", str(unigram_bytefallback_tokenizer_dir)]
    result = eccr_cli("pretrain", *filled, "--out", tmp_path / "out", "--steps", "1", "--no-progress")
    assert result.code == 2, result.stdout + result.stderr
    assert f"error [{code}]" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


def test_a_finished_out_dir_is_never_overwritten(workspace, eccr_cli, tmp_path) -> None:
    out = tmp_path / "done"
    out.mkdir()
    (out / "config.json").write_text("{}", encoding="utf-8")
    result = eccr_cli("pretrain", "--texts", workspace / "notes.txt", "--continue-from", workspace / "mlm",
                      "--out", out, "--no-progress")
    assert result.code == 2 and "error [E134]" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
