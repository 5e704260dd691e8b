"""MedTxt-CR (real data): counts, offsets checked against an independent regex pass, stats, convert chain.

Skips with a reason when ``../shared/data`` is absent (a fresh clone).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus import read_corpus
from eccr.corpus.io import convert_corpus

POSITIVE = "d[certainty=positive]"
_ARTICLE = re.compile(r'<article id="([^"]+)"[^>]*>(.*?)</article>', re.S)
_TAG = re.compile(r'<([a-z0-9-]+)((?: [a-z]+="[^"]*")*)>(.*?)</\1>|<[^>]+>', re.S)
_ATTR = re.compile(r' ([a-z]+)="([^"]*)"')


def regex_pass(xml: str) -> dict[str, tuple[str, list[tuple[int, int, str, dict[str, str], str]]]]:
    """Independent reading of MedTxt XML: per article, (text, [(start, end, tag, attrs, tagged text)])."""
    out = {}
    for doc_id, body in _ARTICLE.findall(xml):
        assert body.startswith("\n") and body.endswith("\n")
        body = body[1:-1]
        pieces: list[str] = []
        spans = []
        cursor = 0
        length = 0
        for match in _TAG.finditer(body):
            before = html.unescape(body[cursor : match.start()])
            pieces.append(before)
            length += len(before)
            cursor = match.end()
            if match.group(1) is None:
                pytest.fail(f"unexpected unmatched tag {match.group()!r} in {doc_id}")
            inner = html.unescape(match.group(3))
            assert "<" not in match.group(3), "MedTxt-CR tags are not nested"
            attrs = dict(_ATTR.findall(match.group(2)))
            spans.append((length, length + len(inner), match.group(1), attrs, inner))
            pieces.append(inner)
            length += len(inner)
        pieces.append(html.unescape(body[cursor:]))
        out[doc_id] = ("".join(pieces), spans)
    return out


@pytest.fixture
def medtxt(medtxt_corpus):
    return medtxt_corpus


def test_counts(medtxt):
    assert len(medtxt) == 148
    stats = medtxt.stats()
    assert stats.labels["d"] == 2_348
    assert stats.labels == {"a": 823, "c": 569, "cc": 266, "d": 2348, "f": 638, "m-key": 344, "m-val": 64,
                            "p": 55, "r": 678, "t-key": 524, "t-test": 387, "t-val": 427, "timex3": 1353}
    positive = [s for d in medtxt for s in d.spans
                if s.label == "d" and s.attrs.get("certainty") == "positive"]
    assert len(positive) == 1_695
    assert medtxt.select(POSITIVE).stats().spans == 1_695


def test_text_and_spans_match_an_independent_regex_pass(medtxt, medtxt_path):
    expected = regex_pass(Path(medtxt_path).read_text(encoding="utf-8"))
    assert list(expected) == medtxt.ids
    for doc in medtxt:
        text, spans = expected[doc.id]
        assert doc.text == text
        ordered = sorted(spans, key=lambda s: (s[0], s[1], s[2]))
        assert [(s.start, s.end, s.label, dict(s.attrs)) for s in doc.spans] == [t[:4] for t in ordered]
        for span, (_, _, _, _, tagged) in zip(doc.spans, ordered, strict=True):
            assert doc.text[span.start : span.end] == tagged


def test_titles_and_corrections_kept(medtxt):
    assert medtxt[0].meta["title"].startswith("非小細胞肺癌")
    corrected = [s for d in medtxt for s in d.spans if "correction" in s.attrs]
    assert len(corrected) == 24 and corrected[0].attrs["correction"] == "血痰"


def test_stats_cli_json(medtxt_path):
    result = CliRunner().invoke(app, ["stats", str(medtxt_path), "--select", POSITIVE, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["documents"] == 148 and data["spans"] == 1_695 and data["labels"] == {"d": 1_695}
    assert data["length_bins"] == {"1-2": 352, "3-6": 817, "7-10": 323, "11-20": 169, ">=21": 34}


def test_full_corpus_round_trips_through_jsonl_and_medtxt(medtxt, tmp_path):
    convert_corpus(medtxt.source, tmp_path / "all.jsonl")
    assert read_corpus(tmp_path / "all.jsonl") == medtxt
    convert_corpus(tmp_path / "all.jsonl", tmp_path / "all.xml")
    assert read_corpus(tmp_path / "all.xml") == medtxt


def test_convert_chain_reproduces_text_and_spans(medtxt, tmp_path):
    """medtxt -> jsonl -> inline -> jsonl -> brat -> jsonl keeps every text and span offset exactly."""
    start = medtxt.select(POSITIVE)
    steps = [
        (medtxt.source, tmp_path / "1.jsonl", {"select": POSITIVE}),
        (tmp_path / "1.jsonl", tmp_path / "2.txt", {"write_options": {"with_ids": True}}),
        (tmp_path / "2.txt", tmp_path / "3.jsonl", {"read_options": {"with_ids": True, "label": "d"}}),
        (tmp_path / "3.jsonl", tmp_path / "4-brat", {"target_format": "brat"}),
        (tmp_path / "4-brat", tmp_path / "5.jsonl", {}),
    ]
    for source, target, options in steps:
        result = convert_corpus(source, target, **options)
        assert result.documents == 148 and result.spans == 1_695
    end = read_corpus(tmp_path / "5.jsonl")
    assert end.ids == start.ids
    for before, after in zip(start, end, strict=True):
        assert after.text == before.text
        assert [(s.start, s.end, s.label) for s in after.spans] == [
            (s.start, s.end, s.label) for s in before.spans]
