r"""Reading what a decoder generated: the ``@@…##`` rewrite, or a JSON list of concept strings.

Model output is not user-written data: it may be malformed in every way, and nothing may be dropped silently.
Both readers return what they could read **and a count of every problem**, which the model accumulates per
run (``generation-summary.json``).

Marker output — :func:`parse_markers`
-------------------------------------
Read character by character with the rules of the inline format (:mod:`eccr.corpus.inline`: ``@@`` opens,
``##`` closes, the input is read left to right, ``\\`` ``\@`` ``\#`` ``\n`` ``\r`` are escapes). A
well-formed output gives exactly what :func:`eccr.corpus.inline.parse_marked` gives. Problems are handled
so that the text without markers stays as close to the sentence as possible — a marker is never turned
into text:

* ``nested_open`` — ``@@`` inside an open concept: ignored (the concept continues);
* ``stray_close`` — ``##`` with no open concept: ignored;
* ``empty_concept`` — ``@@##``: no span;
* ``unclosed_open`` — a concept still open at the end: no span (its text is kept);
* ``bad_escape`` — a backslash before anything but ``\\ @ # n r``: the backslash is kept as text.

>>> parse_markers("@@発熱##と@@咳嗽##").spans, parse_markers("@@発熱##と@@咳嗽##").plain
(((0, 2), (3, 5)), '発熱と咳嗽')
>>> out = parse_markers("@@a@@b##c##@@")
>>> out.plain, out.spans, dict(out.problems)
('abc', ((0, 2),), {'nested_open': 1, 'stray_close': 1, 'unclosed_open': 1})

JSON output — :func:`parse_json_list`
-------------------------------------
The output must be a JSON array of strings (``json.loads``, never ``eval``). Problems: ``invalid_json``
(not JSON, or truncated), ``not_a_list`` (valid JSON of another type), ``non_string_item`` (an element
that is not a string; skipped), ``empty_string`` (skipped).

>>> parse_json_list('["発熱", 3, "咳嗽"]')
JsonOutput(items=('発熱', '咳嗽'), problems={'non_string_item': 1})
>>> parse_json_list('["発熱", "咳')
JsonOutput(items=(), problems={'invalid_json': 1})
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from eccr.corpus.inline import CLOSE, ESCAPES, OPEN

#: Problems the marker parser counts.
MARKER_PROBLEMS = ("nested_open", "stray_close", "empty_concept", "unclosed_open", "bad_escape")
#: Problems the JSON parser counts.
JSON_PROBLEMS = ("invalid_json", "not_a_list", "non_string_item", "empty_string")


@dataclass(frozen=True)
class MarkedOutput:
    """A marker output read: the text without markers, concept ranges in it, problems counted."""

    plain: str
    spans: tuple[tuple[int, int], ...]
    problems: Counter[str] = field(default_factory=Counter)


def parse_markers(output: str) -> MarkedOutput:
    """Read an ``@@…##`` rewrite character by character (rules and problem handling: module docstring)."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    problems: Counter[str] = Counter()
    open_at: int | None = None
    i, n = 0, len(output)
    while i < n:
        ch = output[i]
        if ch == "\\":
            escaped = output[i + 1] if i + 1 < n else ""
            if escaped in ESCAPES:
                plain.append(ESCAPES[escaped])
                i += 2
            else:
                problems["bad_escape"] += 1
                plain.append(ch)
                i += 1
            continue
        if output.startswith(OPEN, i):
            if open_at is None:
                open_at = len(plain)
            else:
                problems["nested_open"] += 1
            i += 2
        elif output.startswith(CLOSE, i):
            if open_at is None:
                problems["stray_close"] += 1
            elif open_at == len(plain):
                problems["empty_concept"] += 1
                open_at = None
            else:
                spans.append((open_at, len(plain)))
                open_at = None
            i += 2
        else:
            plain.append(ch)
            i += 1
    if open_at is not None:
        problems["unclosed_open"] += 1
    return MarkedOutput("".join(plain), tuple(spans), problems)


@dataclass(frozen=True)
class JsonOutput:
    """A JSON output read: the concept strings in order, problems counted."""

    items: tuple[str, ...]
    problems: dict[str, int]


def parse_json_list(output: str) -> JsonOutput:
    """Read a JSON array of concept strings (rules and problem handling: module docstring)."""
    try:
        value = json.loads(output)
    except (json.JSONDecodeError, RecursionError):
        return JsonOutput((), {"invalid_json": 1})
    if not isinstance(value, list):
        return JsonOutput((), {"not_a_list": 1})
    problems: Counter[str] = Counter()
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            problems["non_string_item"] += 1
        elif not item:
            problems["empty_string"] += 1
        else:
            items.append(item)
    return JsonOutput(tuple(items), dict(problems))
