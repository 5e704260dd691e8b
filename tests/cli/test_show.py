"""``eccr show``: highlighted document with labels, span table, unknown id."""

from __future__ import annotations

import io

from rich.console import Console
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.cli.show import render_document
from eccr.corpus import write_corpus
from eccr.corpus.types import Document, Span
from eccr.data import SAMPLE_PATH
from eccr.errors import EccrError

runner = CliRunner()


def render(doc: Document, **kwargs) -> tuple[str, Console]:
    console = Console(file=io.StringIO(), width=120, record=True, color_system="truecolor")
    for item in render_document(doc, **kwargs):
        console.print(item)
    return console.export_text(), console


def test_labels_follow_spans_and_styles_cover_exact_characters():
    doc = Document("x", "発熱と乾性咳嗽を認めた", [Span(0, 2, "d"), Span(3, 7, "d"), Span(3, 5, "f")])
    text, _ = render(doc)
    first_line = text.splitlines()[1]
    assert first_line == "発熱[d]と乾性[f]咳嗽[d]を認めた"
    assert "乾性咳嗽" in text and "f" in text  # the span table lists every span
    rendered = render_document(doc)[1]
    styled = {(s.start, s.end, str(s.style)) for s in rendered.spans if "underline" in str(s.style)}
    plain = rendered.plain
    assert {plain[a:b] for a, b, _ in styled} == {"発熱", "乾性[f]咳嗽", "乾性"}


def test_a_label_that_looks_like_two_tags_is_rendered_whole():
    doc = Document("x", "発熱と咳嗽", [Span(0, 2, "a][b"), Span(3, 5, "a")])
    text, _ = render(doc)
    assert text.splitlines()[1] == "発熱[a][b]と咳嗽[a]"
    rendered = render_document(doc)[1]
    underlined = {rendered.plain[s.start : s.end] for s in rendered.spans if "underline" in str(s.style)}
    assert underlined == {"発熱", "咳嗽"}


def test_no_labels_option():
    doc = Document("x", "発熱と咳嗽", [Span(0, 2, "d")])
    text, _ = render(doc, labels_inline=False)
    assert text.splitlines()[1] == "発熱と咳嗽"


def test_cli_show_sample_document(tmp_path):
    result = runner.invoke(app, ["show", str(SAMPLE_PATH), "--id", "sample-0002"])
    assert result.exit_code == 0, result.output
    assert "sample-0002" in result.output and "[concept]" in result.output


def test_cli_show_unknown_id(tmp_path):
    path = tmp_path / "c.jsonl"
    write_corpus([Document("a", "x")], path)
    result = runner.invoke(app, ["show", str(path), "--id", "zz"])
    assert isinstance(result.exception, EccrError) and result.exception.code == "E024"
