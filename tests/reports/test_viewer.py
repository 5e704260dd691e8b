"""The span highlighter and ``eccr view``: each span's characters in its markup; the page in a browser."""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from eccr.cli.main import app
from eccr.corpus.io import read_corpus
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError
from eccr.reports.viewer import (
    ConceptStatus,
    concept_statuses,
    highlight_html,
    render_viewer,
    write_viewer,
)


class Segments(HTMLParser):
    """Collects the text of the document and, per gold/predicted span index, the text of its segments."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.by_index: dict[tuple[str, int], str] = {}
        self.stack: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(dict(attrs))

    def handle_endtag(self, tag):
        self.stack.pop()

    def handle_data(self, data):
        self.text += data
        for attrs in self.stack:
            for side in ("g", "p"):
                for index in (attrs.get(f"data-{side}") or "").split():
                    key = (side, int(index))
                    self.by_index[key] = self.by_index.get(key, "") + data


def parse(markup: str) -> Segments:
    parser = Segments()
    parser.feed(markup)
    parser.close()
    return parser


@st.composite
def text_and_spans(draw):
    text = draw(st.text(alphabet="発熱咳嗽<>&\"' \n。ＣＴ", min_size=1, max_size=30))
    n = len(text)

    def spans():
        pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, n)), max_size=5))
        return [Span(min(a, b - 1) if a >= b else a, b if b > a else a + 1) for a, b in pairs]

    return text, spans(), spans()


@settings(max_examples=150, deadline=None)
@given(text_and_spans())
def test_segments_hold_exactly_each_span_and_the_whole_text(case) -> None:
    text, gold, pred = case
    parsed = parse(highlight_html(text, pred, gold))
    assert parsed.text == text
    for side, spans in (("g", gold), ("p", pred)):
        for i, span in enumerate(spans):
            assert parsed.by_index[(side, i)] == text[span.start : span.end]


def test_classes_mark_sides_edges_and_statuses() -> None:
    text = "左下肢の浮腫と疼痛を認めた"
    markup = highlight_html(text, pred=[Span(0, 3), Span(4, 6), Span(7, 9)], gold=[Span(0, 6), Span(10, 12)])
    assert 'class="seg g p gs ps pe fragmented" data-g="0" data-p="0"' in markup
    assert 'class="seg g fragmented" data-g="0"' in markup  # の: gold only, between the two pieces
    assert 'class="seg p ps pe" data-p="2"' in markup  # 疼痛: spurious, no gold
    assert 'class="seg g gs ge missed" data-g="1"' in markup
    assert highlight_html("a<b>&", pred=[Span(1, 4)]).startswith('a<span class="seg p ps pe" data-p="0"')
    assert highlight_html("a<b>&", pred=[Span(1, 4)]).endswith(">&lt;b&gt;</span>&amp;")


def test_concept_statuses() -> None:
    gold = [Span(0, 4), Span(5, 9), Span(10, 14), Span(15, 19)]
    pred = [Span(0, 4), Span(5, 7), Span(10, 11), Span(12, 13)]
    assert concept_statuses(gold, pred, 20) == [ConceptStatus.exact, ConceptStatus.partial,
                                                ConceptStatus.fragmented, ConceptStatus.missed]
    # touching predicted pieces are one run of predicted characters, not a fragmentation
    assert concept_statuses([Span(0, 4)], [Span(0, 2), Span(2, 4)], 4) == [ConceptStatus.partial]


def test_the_page_is_self_contained_and_lists_every_document(sample_cv_runs, tmp_path) -> None:
    path = write_viewer(sample_cv_runs["crf"], tmp_path / "v.html")
    page = path.read_text(encoding="utf-8")
    gold = read_corpus(sample_cv_runs["crf"] / "gold.jsonl")
    assert page.count('<section class="doc"') == len(gold)
    assert all(f'data-id="{doc_id}"' in page for doc_id in gold.ids)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing to fetch
    assert "@import" not in page and "<link" not in page
    assert "<script>" in page and "CSS.highlights" in page
    default = write_viewer(sample_cv_runs["crf"])
    assert default == sample_cv_runs["crf"] / "view.html" and default.is_file()


def test_predictions_file_needs_gold(sample_cv_runs, tmp_path) -> None:
    predictions = sample_cv_runs["dict"] / "predictions.jsonl"
    with pytest.raises(ConfigError) as info:
        write_viewer(predictions)
    assert info.value.code == "E155"
    path = write_viewer(predictions, tmp_path / "p.html", gold=sample_cv_runs["dict"] / "gold.jsonl")
    assert path.is_file()


def test_view_command(sample_cv_runs, tmp_path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["view", str(sample_cv_runs["dict"]), "--out", str(out), "--p", "2"])
    assert result.exit_code == 0, result.output
    assert "wsm at p = 2" in out.read_text(encoding="utf-8")


def test_render_viewer_orders_documents_as_gold_and_escapes_ids() -> None:
    gold = Corpus([Document("<b>", "発熱あり", [Span(0, 2)]), Document("d2", "咳嗽なし", [Span(0, 2)])])
    pred = Corpus([Document("<b>", "発熱あり", [Span(0, 2)]), Document("d2", "咳嗽なし", [])])
    page = render_viewer(gold, pred, title="t & u")
    assert "<title>t &amp; u</title>" in page and 'data-id="&lt;b&gt;"' in page
    assert page.index('data-id="&lt;b&gt;"') < page.index('data-id="d2"')
    assert "1 exact, 0 partial, 0 fragmented, 1 missed" in html.unescape(page)


# --- in a real browser --------------------------------------------------------------------------------------


def segment_texts(page, doc_id: str, side: str, row: str = ".both") -> dict[int, str]:
    """Index -> concatenated text of the segments holding it, read from the live DOM."""
    return page.evaluate(
        """([docId, side, row]) => {
            const doc = [...document.querySelectorAll('section.doc')].find(d => d.dataset.id === docId);
            const out = {};
            for (const seg of doc.querySelectorAll(row + ' [data-' + side + ']')) {
                for (const i of seg.dataset[side].split(' ')) out[i] = (out[i] || '') + seg.textContent;
            }
            return out;
        }""",
        [doc_id, side, row],
    )


def test_viewer_in_chromium(sample_cv_runs, tmp_path, chromium_page) -> None:
    from PIL import Image, ImageStat

    run = sample_cv_runs["crf"]
    path = write_viewer(run, tmp_path / "view.html")
    gold = read_corpus(run / "gold.jsonl")
    pred = read_corpus(run / "predictions.jsonl")
    page = chromium_page
    page.goto(path.as_uri())

    known = gold.get("sample-0003")  # ＨｂＡ１ｃが９．２％と高値, 網膜症
    assert segment_texts(page, known.id, "g") == {
        str(i): known.text[s.start : s.end] for i, s in enumerate(known.spans)}
    predicted = pred.get(known.id)
    assert segment_texts(page, known.id, "p") == {
        str(i): predicted.text[s.start : s.end] for i, s in enumerate(predicted.spans)}
    assert segment_texts(page, known.id, "g", ".gold-row") == segment_texts(page, known.id, "g")

    # worst F1 first; every document listed
    assert page.locator("#shown").text_content() == f"{len(gold)} of {len(gold)} documents"
    f1s = page.eval_on_selector_all("section.doc", "ds => ds.map(d => parseFloat(d.dataset.f1))")
    assert f1s == sorted(f1s)

    # keyboard: j moves to the first document, j again to the second
    page.keyboard.press("j")
    page.keyboard.press("j")
    current = page.locator("section.doc.current")
    assert current.count() == 1 and current.get_attribute("data-id") == page.eval_on_selector_all(
        "section.doc", "ds => ds[1].dataset.id")

    # search box: '/' focuses it; typing filters to the documents containing the text
    page.keyboard.press("/")
    page.keyboard.type("網膜症")
    expected = sum("網膜症" in d.text for d in gold)
    assert page.locator("section.doc:not(.hidden)").count() == expected >= 1
    assert page.locator("#shown").text_content() == f"{expected} of {len(gold)} documents"
    page.keyboard.press("Escape")
    assert page.locator("section.doc:not(.hidden)").count() == len(gold)

    # m: only documents with a missed concept
    page.keyboard.press("m")
    with_missed = page.eval_on_selector_all("section.doc:not(.hidden)",
                                            "ds => ds.map(d => +d.dataset.missed)")
    assert with_missed and all(n > 0 for n in with_missed)
    page.keyboard.press("m")

    # t: the two-row layout of the paper's Figure 6
    page.keyboard.press("t")
    assert page.locator("section.doc").first.locator(".gold-row").is_visible()

    image = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    stat = ImageStat.Stat(image)
    assert image.size == (1280, 900)
    assert max(stat.stddev) > 20  # not a blank page
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50
    highlight_blue = sum(n for n, (r, g, b) in colours if b > 200 and r < 200 and g > 180)
    assert highlight_blue > 100  # gold highlights were painted
    (Path(tmp_path) / "viewer.png").write_bytes(page.screenshot())
