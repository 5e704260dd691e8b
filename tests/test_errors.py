"""The error-code catalogue ``docs/errors.md`` matches the codes eccr raises, and the CLI prints them.

Every ``"E0xx"`` literal in ``src/eccr`` must have a row in the catalogue, every row must be used somewhere,
and codes mentioned in docs and docstrings must exist, so the catalogue cannot drift from the code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from eccr.errors import EccrError, Location, ProblemReport, RecoverableSpanError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "eccr"
CATALOGUE = ROOT / "docs" / "errors.md"

CODE_LITERAL = re.compile(r"""["'](E\d{3})["']""")
ROW = re.compile(r"^\| (E\d{3}) \|", re.MULTILINE)
MENTION = re.compile(r"`(E\d{3})`")


def catalogue_rows() -> list[str]:
    return ROW.findall(CATALOGUE.read_text(encoding="utf-8"))


def used_codes() -> dict[str, list[str]]:
    """Code -> the modules whose source holds it as a string literal."""
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for code in set(CODE_LITERAL.findall(path.read_text(encoding="utf-8"))):
            found.setdefault(code, []).append(str(path.relative_to(SRC)))
    return found


def test_the_scan_finds_codes_and_rows() -> None:
    # guards the two regexes: if either stopped matching, the drift tests below would pass vacuously
    assert len(used_codes()) > 50 and len(catalogue_rows()) > 50
    assert CODE_LITERAL.findall('raise InputError("E037", "x")') == ["E037"]
    assert ROW.findall("| E025 | InputError | ... |\n| code | x |") == ["E025"]


def test_every_raised_code_is_catalogued() -> None:
    missing = {code: where for code, where in used_codes().items() if code not in set(catalogue_rows())}
    assert not missing, f"codes used in src/eccr but absent from docs/errors.md: {missing}"


def test_every_catalogued_code_is_used() -> None:
    unused = sorted(set(catalogue_rows()) - set(used_codes()))
    assert not unused, f"docs/errors.md lists codes nothing raises: {unused}"


def test_catalogue_has_one_row_per_code_in_order() -> None:
    rows = catalogue_rows()
    assert [code for code, n in Counter(rows).items() if n > 1] == []
    assert rows == sorted(rows)


def test_codes_mentioned_in_docs_and_docstrings_exist() -> None:
    known = set(catalogue_rows())
    stale = []
    for path in [*sorted((ROOT / "docs").glob("*.md")), *sorted(SRC.rglob("*.py"))]:
        for code in set(MENTION.findall(path.read_text(encoding="utf-8"))):
            if code not in known:
                stale.append((str(path.relative_to(ROOT)), code))
    assert stale == []


def test_lenient_report_keeps_the_code() -> None:
    report = ProblemReport(lenient=True)
    report.report(RecoverableSpanError("E039", "unknown field 'x'", Location(file="a.jsonl", line=2)))
    assert [p.code for p in report.problems] == ["E039"]
    with pytest.raises(EccrError, match=r"^\[E010\]"):
        report.report(EccrError("E010", "span outside the text"))  # not recoverable: raised even when lenient


def run_eccr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eccr", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def test_cli_prints_one_coded_line_and_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "bad.txt"
    source.write_text("ok\n咳##嗽\n", encoding="utf-8")
    proc = run_eccr("convert", str(source), str(tmp_path / "out.jsonl"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error [E030] '##' closes no concept")
    assert f"file {source}" in lines[0] and "line 2" in lines[0] and "document 'bad-0002'" in lines[0]
    assert "Traceback" not in proc.stderr and not (tmp_path / "out.jsonl").exists()


def test_cli_error_message_is_not_read_as_markup(tmp_path: Path) -> None:
    source = tmp_path / "c.txt"
    source.write_text("@@発熱##\n", encoding="utf-8")
    proc = run_eccr("stats", str(source), "--select", "d[x=]")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error [E040] empty value in selector condition '[x=]'"
