"""``eccr convert IN OUT``: convert a corpus between formats.

A shell over :func:`eccr.corpus.io.convert_corpus`. Formats come from ``--from``/``--to`` or from unambiguous
extensions (``.xml`` medtxt, ``.jsonl`` jsonl, ``.txt`` inline, ``.csv`` jmedllm, ``.ann``/directory brat,
``.conll`` conll). ``--select`` keeps only the chosen spans. ``--lenient`` turns recoverable problems into a
JSON warning report (``--report PATH``, else printed to stderr) and keeps all the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import err_console

FromOpt = Annotated[str | None, typer.Option("--from", help="Input format (default: from the extension).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Output format (default: from the extension).")]
SelectOpt = Annotated[str | None, typer.Option(help=r"Span selector, e.g. 'd\[certainty=positive]', 'd,a'.")]
LenientOpt = Annotated[bool, typer.Option(help="Report recoverable problems, keep all data.")]
ReportOpt = Annotated[Path | None, typer.Option(help="Write the warning report (JSON) to this file.")]
InlineIdsOpt = Annotated[bool, typer.Option(help="inline: lines are ID<TAB>TEXT (reading and writing).")]
LabelOpt = Annotated[str | None, typer.Option(help="inline: label of the spans read (default: concept).")]
DropLabelsOpt = Annotated[bool, typer.Option(help="inline: write spans of several labels as concepts.")]


def inline_options(inline_ids: bool, label: str | None, drop_labels: bool
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reader and writer options of the inline format from the CLI flags."""
    read: dict[str, Any] = {"with_ids": inline_ids}
    if label is not None:
        read["label"] = label
    return read, {"with_ids": inline_ids, "drop_labels": drop_labels}


def command(
    source: Annotated[Path, typer.Argument(help="Input corpus (file or directory).")],
    target: Annotated[Path, typer.Argument(help="Output corpus (file or directory).")],
    from_format: FromOpt = None,
    to_format: ToOpt = None,
    select: SelectOpt = None,
    lenient: LenientOpt = False,
    report: ReportOpt = None,
    inline_ids: InlineIdsOpt = False,
    label: LabelOpt = None,
    drop_labels: DropLabelsOpt = False,
) -> None:
    """Convert a corpus between formats (jsonl, inline, medtxt, jmedllm, brat, conll)."""
    from eccr.corpus.io import convert_corpus, detect_format

    source_format = from_format or detect_format(source)
    inline_read, inline_write = inline_options(inline_ids, label, drop_labels)
    read_options = inline_read if source_format == "inline" else {}
    writes_inline = to_format == "inline" or (to_format is None and target.suffix.lower() == ".txt")
    write_options = inline_write if writes_inline else {}
    result = convert_corpus(
        source, target, source_format=source_format, target_format=to_format, select=select,
        lenient=lenient, read_options=read_options, write_options=write_options,
    )
    problems = result.report
    if report is not None:
        problems.write(report)
    elif len(problems):
        err_console.print(problems.to_json(), highlight=False, markup=False, soft_wrap=True)
    note = f"; {len(problems)} problem(s) reported" if len(problems) else ""
    err_console.print(
        f"wrote {result.documents} documents, {result.spans} spans: {source} ({result.source_format}) -> "
        f"{target} ({result.target_format}){note}",
        highlight=False, markup=False, soft_wrap=True,
    )
