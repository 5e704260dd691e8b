"""The shared CLI shell: several ``--p`` values as the issue writes them, coded errors."""

import json
import subprocess
import sys

from eccr.cli.common import join_p_values


def test_p_values_after_one_flag_are_joined_until_a_non_number():
    assert join_p_values(["score", "--p", "1", "1.5", "2", "100", "inf", "g", "p"]) == [
        "score", "--p", "1,1.5,2,100,inf", "g", "p"]
    assert join_p_values(["score", "--p", "1,2", "--by-length"]) == ["score", "--p", "1,2", "--by-length"]
    assert join_p_values(["score", "--p"]) == ["score", "--p"]


def test_score_accepts_space_separated_p_values(tmp_path):
    gold, pred = tmp_path / "g.jsonl", tmp_path / "p.jsonl"
    text = "左下肢の浮腫と疼痛"
    gold.write_text(json.dumps({"id": "a", "text": text, "spans": [{"start": 0, "end": 6}]}) + "\n",
                    encoding="utf-8")
    pred.write_text(json.dumps({"id": "a", "text": text, "spans": [{"start": 0, "end": 3},
                                                                   {"start": 4, "end": 6}]}) + "\n",
                    encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "eccr", "score", str(gold), str(pred), "--p", "1", "2", "inf",
                          "--format", "json"], capture_output=True, text=True, check=True)
    wsm = json.loads(out.stdout)["wsm"]
    assert list(wsm) == ["1", "2", "inf"]
    assert wsm["1"]["recall"] == 5 / 6  # markers 3 and 2 in a 6-character gold span
    assert wsm["inf"]["recall"] == 3 / 6


def test_run_app_never_prints_a_traceback(eccr_cli, tmp_path, monkeypatch) -> None:
    """Coded errors and warnings are one line each; an OSError or a bug is one line too (exit 2 / 70)."""
    import eccr.cli.stats as stats

    source = tmp_path / "c.txt"
    source.write_text("@@発熱##\n", encoding="utf-8")
    warned = eccr_cli("stats", source, "--select", "D", "--format", "json")
    assert warned.code == 0 and warned.stderr.startswith("warning [E027] 'D' matches no span")
    assert len(warned.stderr.strip().splitlines()) == 1

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(stats, "render_stats", broken)
    bug = eccr_cli("stats", source)
    assert bug.code == 70 and "Traceback" not in bug.stderr
    assert bug.stderr.startswith("internal error: RuntimeError: boom — this is a bug in eccr")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(stats, "render_stats", disk_full)
    full = eccr_cli("stats", source)
    assert full.code == 2
    expected = f"error [E002] cannot read or write {tmp_path / 'x'}: No space left on device"
    assert full.stderr.strip() == expected
