"""The text side of instruction tuning: sentences, prompts, answers, the marker/JSON readers, projection."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eccr.corpus.inline import mark_document, parse_marked
from eccr.corpus.types import Document, Span
from eccr.models.instruction.parse import parse_json_list, parse_markers
from eccr.models.instruction.projection import project_spans
from eccr.models.instruction.representations import (
    PAPER_PROMPT,
    InlineMarkers,
    JsonList,
    check_template,
    render_prompt,
)
from eccr.models.instruction.sentences import join_sentence_spans, split_sentences

PAPER = Path(__file__).resolve().parents[3].parent / "shared" / "seed" / "e-ccr-paper-jmir-2026.txt"

#: Sentence characters, markers and escapes included.
ALPHABET = "発熱咳嗽頭痛あいう。．、 \n@#\\Ｘ"


@st.composite
def documents(draw, alphabet: str = ALPHABET, max_size: int = 30) -> Document:
    text = draw(st.text(alphabet=alphabet, min_size=1, max_size=max_size))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8, unique=True)))
    spans = [Span(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
    return Document("d", text, spans)


# --- sentences ------------------------------------------------------------------------------------------
def test_a_concept_crossing_a_sentence_boundary_keeps_the_sentences_together():
    doc = Document("d", "発熱あり。咳嗽と\n頭痛あり。なし。", [Span(5, 12)])
    sentences, stats = split_sentences([doc])
    assert [s.text for s in sentences] == ["発熱あり。", "咳嗽と\n頭痛あり。", "なし。"]
    assert stats.crossing_spans == 1 and stats.merged_boundaries == 1 and stats.segments == 4
    assert sentences[1].spans == (Span(0, 7),)
    unmerged, _ = split_sentences([doc], with_spans=False)  # predicting: no gold, no merging
    assert [s.text for s in unmerged] == ["発熱あり。", "咳嗽と", "頭痛あり。", "なし。"]


def test_blank_segments_are_skipped_and_counted_and_whitespace_is_trimmed():
    doc = Document("d", "　発熱。\n\n \n咳嗽。 ", [])
    sentences, stats = split_sentences([doc])
    assert [(s.start, s.text) for s in sentences] == [(1, "発熱。"), (8, "咳嗽。")]
    assert stats.blank_segments == 2 and [s.index for s in sentences] == [1, 2]


def test_whitespace_inside_a_concept_is_kept():
    doc = Document("d", "発熱 \n", [Span(0, 4)])
    sentences, _ = split_sentences([doc])
    assert sentences[0].text == "発熱 \n" and sentences[0].spans == (Span(0, 4),)


@settings(max_examples=80, deadline=None)
@given(docs=st.lists(documents(), min_size=1, max_size=3))
def test_sentences_keep_offsets_and_every_gold_character(docs):
    sentences, _ = split_sentences(docs)
    for s in sentences:
        assert docs[s.doc_index].text[s.start : s.end] == s.text
    joined = join_sentence_spans(sentences, [s.spans for s in sentences], len(docs))
    for doc, spans in zip(docs, joined, strict=True):
        assert spans == list(doc.spans)  # the drawn spans never overlap, so nothing is joined


# --- prompts and answers --------------------------------------------------------------------------------
def test_default_prompt_is_the_papers_template_verbatim():
    if not PAPER.is_file():
        pytest.skip(f"the paper's text is not available at {PAPER}")
    line = next(line for line in PAPER.read_text(encoding="utf-8").splitlines() if "### 応答:" in line)
    quoted = line[line.index("“以下は") : line.index("### 応答:”") + len("### 応答:”")]
    pieces = re.findall(r"“(.*?)”", quoted)
    assert "".join(pieces).replace("\\n", "\n") == PAPER_PROMPT


def test_prompt_rendering_is_plain_substitution_and_templates_are_checked():
    assert render_prompt(PAPER_PROMPT, "発熱{x}").endswith("### 入力:発熱{x}\n\n### 応答:")
    with pytest.raises(ValueError, match="exactly once"):
        check_template("no placeholder")
    with pytest.raises(ValueError, match="found 2"):
        check_template("{input} {input}")


@settings(max_examples=150, deadline=None)
@given(doc=documents())
def test_inline_answers_round_trip_through_the_inline_reader_and_the_generation_parser(doc):
    answer = InlineMarkers().target(doc.text, doc.spans)
    assert answer == mark_document(doc, line_layout=False)  # the one escape rule of eccr.corpus.inline
    text, spans = parse_marked(answer)
    parsed = parse_markers(answer)
    assert (text, [(s.start, s.end) for s in spans]) == (parsed.plain, list(parsed.spans))
    assert parsed.plain == doc.text and not parsed.problems
    assert InlineMarkers().read(answer, doc.text).spans == tuple((s.start, s.end) for s in doc.spans)


def test_json_answers_are_json_lists_of_the_concept_strings():
    answer = JsonList().target('「発熱」と"咳嗽"', [Span(1, 3), Span(6, 8)])
    assert json.loads(answer) == ["発熱", "咳嗽"]
    assert JsonList().read(answer, '「発熱」と"咳嗽"').spans == ((1, 3), (6, 8))


# --- reading answers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("output", "plain", "spans", "problems"),
    [
        ("@@発熱##と@@咳嗽##", "発熱と咳嗽", ((0, 2), (3, 5)), {}),
        ("@@発@@熱##と", "発熱と", ((0, 2),), {"nested_open": 1}),
        ("発熱##と", "発熱と", (), {"stray_close": 1}),
        ("@@発熱と", "発熱と", (), {"unclosed_open": 1}),
        ("発@@##熱", "発熱", (), {"empty_concept": 1}),
        ("\\@@発熱##", "@@発熱", (), {"stray_close": 1}),  # \@ and a single @ are text; ## is stray
        ("@@a\\###b", "a#b", ((0, 2),), {}),  # \# is a literal #, then ## closes
        ("a\\x", "a\\x", (), {"bad_escape": 1}),
        ("末尾\\", "末尾\\", (), {"bad_escape": 1}),
    ],
)
def test_marker_parser_handles_and_counts_every_problem(output, plain, spans, problems):
    parsed = parse_markers(output)
    assert (parsed.plain, parsed.spans, dict(parsed.problems)) == (plain, spans, problems)


@pytest.mark.parametrize(
    ("output", "spans", "problems", "outcomes"),
    [
        ('["発熱", "咳嗽"]', ((0, 2), (3, 5)), {}, {"resolved": 2}),
        ('["発熱", "咳', (), {"invalid_json": 1}, {}),
        ("発熱と咳嗽", (), {"invalid_json": 1}, {}),
        ('{"a": 1}', (), {"not_a_list": 1}, {}),
        ('["発熱", 1, "", "咳嗽"]', ((0, 2), (3, 5)), {"non_string_item": 1, "empty_string": 1},
         {"resolved": 2}),
        ('["頭痛"]', (), {}, {"not_in_source": 1}),
        ('["咳嗽", "発熱"]', ((3, 5), (6, 8)), {}, {"resolved": 2}),  # the later 発熱
        ('["咳嗽", "と"]', ((3, 5),), {}, {"resolved": 1, "out_of_order": 1}),
        ('["発熱", "発熱"]', ((0, 2), (6, 8)), {}, {"resolved": 2}),  # a repeat takes the next occurrence
        ('["発熱", "発熱", "発熱"]', ((0, 2), (6, 8)), {}, {"resolved": 2, "out_of_order": 1}),
        ("  []\n", (), {}, {}),
    ],
)
def test_json_reader_counts_invalid_json_unknown_and_repeated_strings(output, spans, problems, outcomes):
    reading = JsonList().read(output, "発熱と咳嗽。発熱")
    assert (reading.spans, reading.problems, reading.outcomes) == (spans, problems, outcomes)


def test_json_is_parsed_with_json_never_evaluated():
    assert parse_json_list("['発熱']").problems == {"invalid_json": 1}  # a Python literal is not JSON
    assert parse_json_list("__import__('os')").problems == {"invalid_json": 1}


# --- projection -----------------------------------------------------------------------------------------
#: Each concept is drawn from its own three characters, gaps from GAP_CHARS, edits insert EDIT_CHARS (which
#: never occur in a sentence): so every surviving character has only its own concept to go back to.
CONCEPT_CHARS = "発熱咳嗽頭痛腹部腫瘤貧血"
GAP_CHARS = "あいうえお。"
EDIT_CHARS = "XYZ"


@st.composite
def edited(draw):
    """A sentence with concepts, the output (random insertions, deletions, substitutions anywhere, concepts
    included), and for each concept with a surviving character: its range, its survivors' output positions."""
    n = draw(st.integers(1, 4))
    sentence, spans = "", []
    for k in range(n):
        sentence += draw(st.text(GAP_CHARS, max_size=3))
        start = len(sentence)
        sentence += draw(st.text(CONCEPT_CHARS[3 * k : 3 * k + 3], min_size=1, max_size=5))
        spans.append((start, len(sentence)))
    sentence += draw(st.text(GAP_CHARS, max_size=3))
    out: list[str] = []
    origin: list[int | None] = []  # for each output character, the sentence position it survived from
    for i, ch in enumerate(sentence):
        inserted = draw(st.text(EDIT_CHARS, max_size=2))
        out.append(inserted)
        origin.extend([None] * len(inserted))
        action = draw(st.sampled_from(["keep", "keep", "keep", "delete", "substitute"]))
        if action == "keep":
            out.append(ch)
            origin.append(i)
        elif action == "substitute":
            out.append(draw(st.sampled_from(EDIT_CHARS)))
            origin.append(None)
    survivors = []
    for start, end in spans:
        positions = [k for k, src in enumerate(origin) if src is not None and start <= src < end]
        if positions:
            survivors.append(((start, end), positions))
    return sentence, "".join(out), survivors


@settings(max_examples=300, deadline=None)
@given(case=edited())
def test_projection_keeps_every_span_whose_characters_survive(case):
    sentence, output, survivors = case
    out_spans = [(positions[0], positions[-1] + 1) for _, positions in survivors]
    projection = project_spans(out_spans, output, sentence)
    assert "lost" not in projection.counts and len(projection.spans) == len(survivors)
    for (lo, hi), ((start, end), positions) in zip(projection.spans, survivors, strict=True):
        assert start <= lo < hi <= end  # inside its own concept
        # from its first surviving character to its last, all survivors in order
        assert (sentence[lo], sentence[hi - 1]) == (output[positions[0]], output[positions[-1]])
        rest = iter(sentence[lo:hi])
        assert all(output[k] in rest for k in positions)
        intact = len(positions) == end - start and positions == list(range(positions[0], positions[-1] + 1))
        if intact:  # every character survived, none inserted inside: placed exactly
            assert (lo, hi) == (start, end)


def test_projection_counts_direct_projected_shifted_and_lost():
    assert project_spans([(0, 2)], "発熱", "発熱").counts == {"direct": 1}
    moved = project_spans([(2, 4)], "XY発熱", "発熱")
    assert moved.spans == ((0, 2),) and moved.counts == {"projected": 1}
    shifted = project_spans([(0, 3)], "発熱X。", "発熱。")
    assert shifted.spans == ((0, 2),) and shifted.counts == {"shifted": 1}
    substituted = project_spans([(0, 2)], "発熟と", "発熱と")  # a substituted character stays in place
    assert substituted.spans == ((0, 2),) and substituted.counts == {"shifted": 1}
    lost = project_spans([(1, 3)], "あXYい", "あい")
    assert lost.spans == () and lost.counts == {"lost": 1}
