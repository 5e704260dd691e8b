"""``eccr agreement``: exact reproduction and mismatch measures per fold, mean (SD) across folds."""

from __future__ import annotations

import json
import statistics
from difflib import SequenceMatcher

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.errors import ConfigError, InputError
from eccr.models.instruction.agreement import agreement


def write_run(root, folds: dict[str, list[tuple[str, str]]]) -> None:
    for name, pairs in folds.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        plain = {b: b.replace("@@", "").replace("##", "") for _, b in pairs}
        lines = [json.dumps({"id": "d", "input": a, "output": b, "plain": plain[b],
                             "problems": {"stray_close": 1} if b.endswith("##x") else {}, "outcomes": {}},
                            ensure_ascii=False) for a, b in pairs]
        (root / name / "generations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_agreement_per_fold_and_across_folds(tmp_path):
    write_run(tmp_path, {
        "fold-1": [("発熱と咳嗽", "@@発熱##と咳嗽"), ("頭痛あり", "頭痛なし"), ("腹痛", "腹痛")],
        "fold-2": [("発熱", "@@発熱##"), ("咳嗽を認めた", "咳嗽")],
        "fold-10": [("a", "a")],  # sorted numerically, and without mismatches
    })
    report = agreement(tmp_path)
    assert [f.fold for f in report.folds] == ["fold-1", "fold-2", "fold-10"]
    one, two, ten = report.folds
    assert (one.sentences, one.exact, one.mismatches) == (3, 2, 1)
    assert one.exact_match_rate == pytest.approx(200 / 3)
    assert one.sequence_matcher == pytest.approx(SequenceMatcher(None, "頭痛あり", "頭痛なし").ratio())
    assert (one.levenshtein, one.length_difference) == (2, 0)
    assert (two.levenshtein, two.length_difference) == (4, -4)
    assert ten.sequence_matcher is None and ten.exact_match_rate == 100.0
    summary = report.summary()
    rates = [200 / 3, 50.0, 100.0]
    assert summary["exact_match_rate"]["mean"] == pytest.approx(statistics.fmean(rates))
    assert summary["exact_match_rate"]["sd"] == pytest.approx(statistics.stdev(rates))
    assert summary["levenshtein"] == {"mean": 3, "sd": pytest.approx(statistics.stdev([2, 4])), "folds": 2}
    markdown = report.to_markdown()
    row = "| exact match % (@@/## removed) | 66.67 | 50.00 | 100.00 | 72.22 (25.46) |"
    assert row in markdown


def test_cli_prints_writes_and_emits_json(tmp_path):
    write_run(tmp_path, {"fold-1": [("発熱", "@@発熱##"), ("咳", "咳嗽")]})
    result = CliRunner().invoke(app, ["agreement", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "exact match %" in result.stdout and (tmp_path / "agreement.md").is_file()
    data = json.loads((tmp_path / "agreement.json").read_text(encoding="utf-8"))
    assert data["folds"][0]["mismatches"] == 1 and data["summary"]["length_difference"]["mean"] == 1
    result = CliRunner().invoke(app, ["agreement", str(tmp_path), "--format", "csv", "--no-write"])
    assert result.exit_code == 0 and result.stdout.startswith("measure,fold-1,mean (SD)")


def test_a_single_generations_file_is_one_fold(tmp_path):
    write_run(tmp_path, {".": [("発熱", "発熱")]})
    assert [f.fold for f in agreement(tmp_path).folds] == ["all"]


def test_runs_without_rewritten_sentences_are_coded_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"E105.*no generations\.jsonl"):
        agreement(tmp_path)
    fold = tmp_path / "fold-1"
    fold.mkdir()
    (fold / "generations.jsonl").write_text(json.dumps({"input": "発熱", "output": '["発熱"]'}) + "\n",
                                            encoding="utf-8")
    with pytest.raises(ConfigError, match=r"E105.*representation 'json'"):
        agreement(tmp_path)
    (fold / "generations.jsonl").write_text('{"input": "x", "output": "x", "plain": "x"}\n{oops\n',
                                            encoding="utf-8")
    with pytest.raises(InputError, match="E106") as err:
        agreement(tmp_path)
    assert err.value.location.line == 2 and err.value.location.file.endswith("generations.jsonl")
