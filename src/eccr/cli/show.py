"""``eccr show CORPUS --id ID``: render one document with its concepts highlighted in the terminal.

Each label gets its own colour; a span's label is printed right after it as ``[label]`` so labels stay
visible without colour (``NO_COLOR``, pipes). A table below lists every span with offsets, label, attrs and
surface; overlapping spans are all listed (the text shows the later one's colour where they overlap).
"""

from __future__ import annotations

import bisect
import itertools
from pathlib import Path
from typing import Annotated

import typer

from eccr.cli.common import console
from eccr.cli.convert import FromOpt, SelectOpt

PALETTE = ("bold red", "bold blue", "bold green", "bold magenta", "bold cyan", "bold yellow",
           "red", "blue", "green", "magenta", "cyan", "yellow", "bright_black")


def render_document(doc: object, *, labels_inline: bool = True) -> list[object]:
    """Rich renderables for ``doc``: a title, the highlighted text and a span table."""
    from rich.table import Table
    from rich.text import Text

    from eccr.corpus.types import Document

    assert isinstance(doc, Document)
    labels = sorted({s.label for s in doc.spans})
    styles = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}
    tags: dict[int, list[str]] = {}  # text offset -> labels of the spans ending there, printed "[label]"
    if labels_inline:
        for span in doc.spans:
            tags.setdefault(span.end, []).append(span.label)
    cuts = sorted(tags)
    # characters inserted up to each cut
    shift = list(itertools.accumulate(sum(len(label) + 2 for label in tags[c]) for c in cuts))

    def rendered(offset: int) -> int:
        """Offset in the rendered text of the character at ``offset`` (tags at ``offset`` come before it)."""
        index = bisect.bisect_right(cuts, offset)
        return offset + (shift[index - 1] if index else 0)

    text = Text()
    previous = 0
    for cut in cuts:
        text.append(doc.text[previous:cut])
        for label in tags[cut]:
            text.append(f"[{label}]", style=f"dim {styles[label]}")
        previous = cut
    text.append(doc.text[previous:])
    for span in doc.spans:
        last = rendered(span.end - 1)
        text.stylize(f"{styles[span.label]} underline", rendered(span.start), last + 1)
    title = Text(f"{doc.id}  ({len(doc.text)} characters, {len(doc.spans)} spans)", style="bold")
    table = Table(show_header=True, header_style="bold")
    for column in ("start", "end", "label", "attrs", "text"):
        table.add_column(column, justify="right" if column in ("start", "end") else "left")
    for span in doc.spans:
        attrs = ", ".join(f"{k}={v}" for k, v in span.attrs.items())
        # every cell from the document is a Text, never a str: rich would read "[bold]" in it as markup
        table.add_row(str(span.start), str(span.end), Text(span.label, style=styles[span.label]), Text(attrs),
                      Text(doc.text[span.start : span.end]))
    return [title, text, table]


def command(
    corpus: Annotated[Path, typer.Argument(help="Corpus file or directory.")],
    doc_id: Annotated[str, typer.Option("--id", help="Id of the document to show.")],
    from_format: FromOpt = None,
    select: SelectOpt = None,
    no_labels: Annotated[bool, typer.Option(help="Do not print [label] after each span.")] = False,
) -> None:
    """Show one document with its concepts highlighted and labelled."""
    from eccr.corpus.io import read_corpus

    doc = read_corpus(corpus, from_format, select=select).get(doc_id)
    for renderable in render_document(doc, labels_inline=not no_labels):
        console.print(renderable, highlight=False)
