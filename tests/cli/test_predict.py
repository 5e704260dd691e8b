"""``eccr predict``: raw text or corpora in, predictions out in any format."""

from __future__ import annotations

from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import read_corpus
from eccr.data import SAMPLE_PATH

runner = CliRunner()


def test_predict_round_trip_from_text_and_from_a_corpus(tmp_path, sample_crf, sample_gold) -> None:
    model, directory = sample_crf
    note = tmp_path / "note.txt"
    note.write_text(sample_gold[31].text + "\n", encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(app, ["predict", str(directory), str(note), "--from", "text", "--out", str(out)])
    assert result.exit_code == 0, result.output
    predicted = read_corpus(out)
    assert predicted.ids == ["note"]
    assert list(predicted[0].spans) == model.predict_text(sample_gold[31].text + "\n")
    # a whole corpus in the inline format, written back as inline text
    inline_out = tmp_path / "pred.txt"
    result = runner.invoke(
        app,
        [
            "predict",
            str(directory),
            str(SAMPLE_PATH),
            "--from",
            "inline",
            "--out",
            str(inline_out),
            "--to",
            "inline",
        ],
    )
    assert result.exit_code == 0, result.output
    back = read_corpus(inline_out, "inline")
    assert len(back) == 40 and [d.text for d in back] == [d.text for d in sample_gold]
    assert [list(d.spans) for d in back] == [list(d.spans) for d in model.predict(sample_gold)]


def test_predict_errors_are_coded(tmp_path) -> None:
    result = runner.invoke(
        app, ["predict", str(tmp_path), str(SAMPLE_PATH), "--out", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code != 0 and "E060" in str(result.exception)
