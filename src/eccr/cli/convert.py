"""``eccr convert IN OUT``: convert a corpus between formats.

A shell over :func:`eccr.corpus.io.convert_corpus`. Formats come from ``--from``/``--to`` or from unambiguous
extensions (``.xml`` medtxt, ``.jsonl`` jsonl, ``.txt`` inline, ``.csv`` jmedllm, ``.ann``/directory brat,
``.conll`` conll). ``--select`` keeps only the chosen spans. ``--lenient`` turns recoverable problems into a
JSON warning report (``--report PATH``, else printed to stderr) and keeps all the data.

Format-specific options go through ``--read-option KEY=VALUE`` / ``--write-option KEY=VALUE`` (repeatable;
a value is read as JSON when it is valid JSON, else as the string written), e.g. ``--write-option mode=token
--write-option 'separator=" "'`` for conll or ``--write-option with_ids=true`` for jmedllm. An option the
format does not accept, or a value of the wrong type, is ``E048`` listing the accepted options. They are
applied after the inline flags, so ``--read-option with_ids=false`` overrides ``--inline-ids``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import emit_problems, err_console

FromOpt = Annotated[str | None, typer.Option("--from", help="Input format (default: from the extension).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Output format (default: from the extension).")]
SelectOpt = Annotated[str | None, typer.Option(help=r"Span selector, e.g. 'd\[certainty=positive]', 'd,a'.")]
LenientOpt = Annotated[bool, typer.Option(help="Report recoverable problems, keep all data.")]
ReportOpt = Annotated[Path | None, typer.Option(help="Write the warning report (JSON) to this file.")]
InlineIdsOpt = Annotated[bool, typer.Option(help="inline: lines are ID<TAB>TEXT (reading and writing).")]
LabelOpt = Annotated[str | None, typer.Option(help="inline: label of the spans read (default: concept).")]
DropLabelsOpt = Annotated[bool, typer.Option(help="inline: write spans of several labels as concepts.")]
ReadOptionOpt = Annotated[list[str] | None, typer.Option(
    "--read-option", metavar="KEY=VALUE",
    help="Reader option of the input format (repeatable; VALUE is JSON or a string), e.g. mode=token.")]
WriteOptionOpt = Annotated[list[str] | None, typer.Option(
    "--write-option", metavar="KEY=VALUE",
    help="Writer option of the output format (repeatable; VALUE is JSON or a string), e.g. with_ids=true.")]


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
    read_option: ReadOptionOpt = None,
    write_option: WriteOptionOpt = None,
) -> None:
    """Convert a corpus between formats (jsonl, inline, medtxt, jmedllm, brat, conll)."""
    from eccr.corpus.io import convert_corpus, detect_format, detect_target_format, parse_format_options
    from eccr.corpus.output import check_output_file

    if report is not None:  # before anything is written: a report that cannot be written fails first
        check_output_file(report, create_folders=False)
    source_format = from_format or detect_format(source)
    target_format = to_format or detect_target_format(target)
    inline_read, inline_write = inline_options(inline_ids, label, drop_labels)
    read_options = {
        **(inline_read if source_format == "inline" else {}),
        **parse_format_options(source_format, "read", read_option or []),
    }
    write_options = {
        **(inline_write if target_format == "inline" else {}),
        **parse_format_options(target_format, "write", write_option or []),
    }
    result = convert_corpus(
        source, target, source_format=source_format, target_format=target_format, select=select,
        lenient=lenient, read_options=read_options, write_options=write_options,
    )
    problems = result.report
    emit_problems(problems, report)
    note = f"; {len(problems)} problem(s) reported" if len(problems) else ""
    err_console.print(
        f"wrote {result.documents} documents, {result.spans} spans: {source} ({result.source_format}) -> "
        f"{target} ({result.target_format}){note}",
        highlight=False, markup=False, soft_wrap=True,
    )
