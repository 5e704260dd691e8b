"""What the decoder is asked to write: a prompt, and the answer's representation (a strategy object).

* :class:`InlineMarkers` (``representation: inline``, the paper) — the sentence rewritten with ``@@…##``
  around each concept, escaped by the inline format's rule (:func:`eccr.corpus.inline.mark_document`), so a
  literal ``@@``/``##`` in the sentence round-trips;
* :class:`JsonList` (``representation: json``, the paper's future work) — a JSON array of the concept
  strings in order of appearance, ``["…", "…"]``; the strings are placed in the sentence left to right
  without overlap.

Each representation states how it writes the training target and how it reads an output back into spans
(:class:`Reading`), counting every problem.

Prompt templates contain ``{input}`` exactly once; it is replaced by the sentence (plain substitution: braces
elsewhere in the template or the sentence are text). The default for ``inline`` is the paper's template
verbatim ("Training Settings"); the answer follows ``### 応答:`` directly.

>>> markers = InlineMarkers()
>>> from eccr.corpus.types import Span
>>> markers.target("発熱と咳嗽を認めた。", [Span(0, 2), Span(3, 5)])
'@@発熱##と@@咳嗽##を認めた。'
>>> markers.read("@@発熱##と咳嗽を認めた。", "発熱と咳嗽を認めた。").spans
((0, 2),)
>>> JsonList().target("発熱と咳嗽を認めた。", [Span(0, 2), Span(3, 5)])
'["発熱", "咳嗽"]'
>>> reading = JsonList().read('["咳嗽", "発熱", "なし"]', "発熱と咳嗽を認めた。")
>>> reading.spans, reading.outcomes
(((3, 5),), {'resolved': 1, 'out_of_order': 1, 'not_in_source': 1})
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from eccr.corpus.inline import mark_document
from eccr.corpus.types import Document, Span
from eccr.models.instruction.parse import parse_json_list, parse_markers
from eccr.models.instruction.projection import project_spans

#: The placeholder a prompt template must contain exactly once.
INPUT_FIELD = "{input}"

#: The paper's instruction-tuning prompt, verbatim (the quoted pieces of "Training Settings", joined).
PAPER_PROMPT = (
    "以下は, タスクを説明する指示と, 文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n"
    "### 指示:\n与えられた文に対して重要臨床概念を@@と##で強調表示し, 抽出してください。"
    "重要臨床概念が存在しない場合は同じ文を出力してください。\n\n"
    "### 入力:{input}\n\n### 応答:"
)

#: The same prompt asking for a JSON list instead of markers (eccr's wording; the paper has none).
JSON_PROMPT = (
    "以下は, タスクを説明する指示と, 文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n"
    "### 指示:\n与えられた文から重要臨床概念を出現順に抽出し, 文字列の JSON 配列で出力してください。"
    "重要臨床概念が存在しない場合は [] を出力してください。\n\n"
    "### 入力:{input}\n\n### 応答:"
)


def check_template(template: str) -> str:
    """``template`` if it contains ``{input}`` exactly once, else ``ValueError`` saying what is wrong."""
    count = template.count(INPUT_FIELD)
    if count != 1:
        raise ValueError(f"a prompt template must contain {INPUT_FIELD} exactly once (found {count})")
    return template


def render_prompt(template: str, sentence: str) -> str:
    """The prompt for ``sentence``: ``{input}`` replaced by it.

    >>> render_prompt("入力:{input}\\n応答:", "{x} 発熱")
    '入力:{x} 発熱\\n応答:'
    """
    return template.replace(INPUT_FIELD, sentence, 1)


@dataclass(frozen=True)
class Reading:
    """An output read back: spans in sentence offsets, the text without markers, what went wrong.

    Attributes:
        spans: concept ranges ``(start, end)`` in the sentence.
        plain: the output without markers (``None`` when the representation does not rewrite the sentence).
        problems: parse problems by name (see :mod:`eccr.models.instruction.parse`).
        outcomes: what happened to each concept found in the output, by name.
    """

    spans: tuple[tuple[int, int], ...]
    plain: str | None
    problems: dict[str, int]
    outcomes: dict[str, int]


class Representation(ABC):
    """How answers are written for training and read back after generation."""

    name: ClassVar[str]
    default_prompt: ClassVar[str]
    #: Whether the answer rewrites the sentence (then the agreement analysis applies).
    rewrites_sentence: ClassVar[bool]

    @abstractmethod
    def target(self, sentence: str, spans: Sequence[Span]) -> str:
        """The answer the model is trained to write for ``sentence`` with gold ``spans`` (no overlap)."""

    @abstractmethod
    def read(self, output: str, sentence: str) -> Reading:
        """Spans in ``sentence`` from a generated ``output``."""


class InlineMarkers(Representation):
    """The sentence rewritten with ``@@…##`` around concepts (escaped by the inline format's rule).

    Reading: :func:`~eccr.models.instruction.parse.parse_markers`; when the text without markers is the
    sentence the spans map directly, otherwise they are projected by alignment
    (:func:`~eccr.models.instruction.projection.project_spans`).
    """

    name = "inline"
    default_prompt = PAPER_PROMPT
    rewrites_sentence = True

    def target(self, sentence: str, spans: Sequence[Span]) -> str:
        return mark_document(Document("sentence", sentence, spans), line_layout=False)

    def read(self, output: str, sentence: str) -> Reading:
        parsed = parse_markers(output)
        projection = project_spans(parsed.spans, parsed.plain, sentence)
        return Reading(projection.spans, parsed.plain, dict(parsed.problems), projection.counts)


class JsonList(Representation):
    """A JSON array of the concept strings in order of appearance (``json.dumps``, non-ASCII kept).

    Reading: :func:`~eccr.models.instruction.parse.parse_json_list`, then each string is searched in the
    sentence from the end of the previous one (left to right, no overlap; a repeated string takes the next
    occurrence). Outcomes: ``resolved``; ``out_of_order`` (the string occurs only before the previous one's
    end); ``not_in_source`` (nowhere in the sentence). Unresolved strings are dropped and counted.
    """

    name = "json"
    default_prompt = JSON_PROMPT
    rewrites_sentence = False

    def target(self, sentence: str, spans: Sequence[Span]) -> str:
        return json.dumps([sentence[s.start : s.end] for s in spans], ensure_ascii=False)

    def read(self, output: str, sentence: str) -> Reading:
        parsed = parse_json_list(output.strip())
        spans: list[tuple[int, int]] = []
        outcomes: dict[str, int] = {}
        cursor = 0
        for item in parsed.items:
            found = sentence.find(item, cursor)
            if found >= 0:
                spans.append((found, found + len(item)))
                cursor = found + len(item)
                outcome = "resolved"
            else:
                outcome = "out_of_order" if item in sentence else "not_in_source"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return Reading(tuple(spans), None, parsed.problems, outcomes)


REPRESENTATIONS: dict[str, Representation] = {r.name: r for r in (InlineMarkers(), JsonList())}
