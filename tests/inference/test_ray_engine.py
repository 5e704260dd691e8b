"""``eccr predict --engine ray`` on a local Ray instance, 2 CPU workers: exactly the local engine's output."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import read_corpus, write_corpus

runner = CliRunner()


@pytest.fixture
def local_ray():
    """A local Ray instance for two model actors (plus a CPU for reading), shared by the runs of a test."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (eccr[scale]; make test-slow installs it)")
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_ray_engine_output_is_identical_to_the_local_engine(
    local_ray, sample_hf_model, sample_gold, tmp_path
):
    shards = tmp_path / "in"
    shards.mkdir()
    write_corpus(sample_gold[:25], shards / "a.jsonl")
    write_corpus(sample_gold[25:], shards / "b.jsonl")
    (shards / "note.txt").write_text(
        "胸部Ｘ線写真で右胸水貯留を指摘された。\r\n", encoding="utf-8", newline=""
    )
    (shards / "broken.txt").write_bytes(b"\xff")
    inputs = [str(shards / "a.jsonl"), str(shards / "b.jsonl"), str(shards / "note.txt")]
    local = tmp_path / "local.jsonl"
    result = runner.invoke(
        app, ["predict", "--model", str(sample_hf_model), *inputs, "--out", str(local), "-q"]
    )
    assert result.exit_code == 0, result.output

    single = tmp_path / "ray.jsonl"
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(sample_hf_model),
            *inputs,
            str(shards / "broken.txt"),
            "--engine",
            "ray",
            "--workers",
            "2",
            "--batch-size",
            "4",
            "--out",
            str(single),
            "-q",
        ],
    )
    assert result.exit_code == 1, result.output  # the broken file is reported, everything else predicted
    assert "E001" in result.output and "broken.txt" in result.output
    assert single.read_bytes() == local.read_bytes()
    assert sum(len(d.spans) for d in read_corpus(local)) > 0

    sharded = tmp_path / "ray-shards"
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(sample_hf_model),
            *inputs,
            "--engine",
            "ray",
            "--workers",
            "2",
            "--out",
            str(sharded),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    parts = sorted(sharded.glob("part-*.jsonl"))
    assert [p.name for p in parts] == ["part-00000-a.jsonl", "part-00001-b.jsonl", "part-00002-note.jsonl"]
    joined = [d for p in parts for d in read_corpus(p)]
    assert joined == list(read_corpus(local))


def test_ray_engine_refusals(sample_crf, tmp_path):
    note = tmp_path / "n.txt"
    note.write_text("発熱", encoding="utf-8")
    for args in (["--to", "inline", "--out", str(tmp_path / "o.txt")], []):
        result = runner.invoke(
            app, ["predict", "--model", str(sample_crf[1]), str(note), "--engine", "ray", *args]
        )
        assert result.exit_code != 0 and "E170" in str(result.exception)
