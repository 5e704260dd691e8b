"""Predictions as one self-contained HTML page (``eccr predict --to html``): texts with concepts highlighted.

No external assets, scripts or fonts: the page opens from disk on a machine without a network. Text is
escaped; each highlighted piece carries its label in ``data-label`` and ``title``, and its character offsets
in ``data-start``/``data-end`` (offsets into the original text, as everywhere in eccr).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from itertools import pairwise

from eccr.corpus.types import Document, Span

#: Background colours of the labels, in order of first appearance.
PALETTE = ("#ffe08a", "#a8e6cf", "#ffb3ba", "#bae1ff", "#e0c3fc", "#ffd6a5", "#caffbf", "#fdffb6")

_STYLE = """
body { font-family: "Noto Sans CJK JP", "IPAGothic", sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #222; }
h1 { font-size: 1.3rem; } h2 { font-size: 1rem; margin-top: 2rem; color: #555; }
.text { white-space: pre-wrap; line-height: 1.9; border-left: 3px solid #ddd; padding-left: 1rem; }
mark { border-radius: 3px; padding: 0 1px; margin: 0 1px; box-shadow: inset 0 -2px 0 rgba(0,0,0,.25); }
.legend span { display: inline-block; padding: 0 .5rem; margin-right: .5rem; border-radius: 3px; }
.meta { color: #777; font-size: .85rem; }
"""


def render_html(documents: Sequence[Document], *, title: str = "eccr predictions", note: str = "") -> str:
    """The page for ``documents`` (their spans highlighted)."""
    labels: list[str] = []
    for doc in documents:
        for span in doc.spans:
            if span.label not in labels:
                labels.append(span.label)
    colours = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}
    legend = "".join(
        f'<span style="background:{colours[label]}">{html.escape(label)}</span>' for label in labels
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="ja"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(note)}</p>' if note else "",
        f'<p class="legend">{legend}</p>' if legend else "",
    ]
    for doc in documents:
        parts.append(
            f'<section data-doc-id="{html.escape(doc.id)}"><h2>{html.escape(doc.id)} '
            f'<span class="meta">({len(doc.spans)} concepts)</span></h2>'
        )
        parts.append(f'<div class="text">{highlight(doc.text, doc.spans, colours)}</div></section>')
    parts.append("</body></html>\n")
    return "\n".join(p for p in parts if p)


def highlight(text: str, spans: Sequence[Span], colours: dict[str, str] | None = None) -> str:
    """``text`` as escaped HTML with a ``<mark>`` per span; overlapping spans are split at their boundaries.

    >>> highlight("発熱と<咳>", [Span(0, 2, "d"), Span(3, 6, "d")], {"d": "#ff0"})
    ... # doctest: +NORMALIZE_WHITESPACE
    '<mark data-label="d" data-start="0" data-end="2" title="d" style="background:#ff0">発熱</mark>と<mark
    data-label="d" data-start="3" data-end="6" title="d" style="background:#ff0">&lt;咳&gt;</mark>'
    """
    colours = colours or {}
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    out = []
    for start, end in pairwise(cuts):
        piece = html.escape(text[start:end])
        covering = [s for s in spans if s.start <= start and end <= s.end]
        if not covering:
            out.append(piece)
            continue
        first = covering[0]
        label = " ".join(dict.fromkeys(s.label for s in covering))
        out.append(
            f'<mark data-label="{html.escape(label)}" data-start="{first.start}" '
            f'data-end="{first.end}" title="{html.escape(label)}" '
            f'style="background:{colours.get(first.label, PALETTE[0])}">{piece}</mark>'
        )
    return "".join(out)
