"""Renderers of :class:`~eccr.reports.paper.Table` values and of whole report documents: Markdown, LaTeX
(booktabs + longtable) and one self-contained HTML page (inline CSS, plots inlined as SVG, no network).

Best values are **bold** in Markdown, ``\\textbf`` in LaTeX and ``<strong>`` in HTML. Family headings are rows
of their own. A Markdown table cannot span columns, so a spanning header (``p = 1``) is written before each
of its columns' names (``p = 1 F1``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

from eccr.metrics import format_p
from eccr.reports.build import GroupReport, Report
from eccr.reports.paper import DOCUMENT_TABLE, Table, group_tables

#: ``(title, path or inline content)`` of each plot of a group, by group slug.
Plots = Mapping[str, Sequence[tuple[str, str]]]


def _headers(table: Table) -> list[str]:
    if not table.groups:
        return list(table.columns)
    names, start = [], 0
    for header, span in table.groups:
        names += [f"{header} {column}" for column in table.columns[start : start + span]]
        start += span
    return names


_NUMBER = re.compile(r"^[-+−–\[]?\d|^–$")


def _numeric_columns(table: Table) -> list[bool]:
    """Whether each value column holds numbers (right-aligned) rather than text."""
    rows = [cells for section in table.sections for _label, cells in section.rows]
    return [all(_NUMBER.match(cells[c].text) for cells in rows) for c in range(len(table.columns))]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table with a title line and the caption below."""
    headers = [table.stub, *_headers(table)]
    lines = [
        f"**{_md_cell(table.title)}**",
        "",
        "| " + " | ".join(map(_md_cell, headers)) + " |",
        "| --- | " + " | ".join("---:" for _ in table.columns) + " |",
    ]
    for section in table.sections:
        if section.title:
            lines.append(f"| **{_md_cell(section.title)}** |" + " |" * len(table.columns))
        for label, cells in section.rows:
            texts = [f"**{_md_cell(c.text)}**" if c.best else _md_cell(c.text) for c in cells]
            lines.append(f"| {_md_cell(label)} | " + " | ".join(texts) + " |")
    if table.caption:
        lines += ["", table.caption]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "−": "$-$",
    "–": "--",
    "—": "---",
    "∞": r"$\infty$",
    "≥": r"$\geq$",
    "Δ": r"$\Delta$",
}


def latex_escape(text: str) -> str:
    r"""``text`` with LaTeX's special characters escaped.

    >>> latex_escape("d[certainty=positive] 50% a_b ≥21")
    'd[certainty=positive] 50\\% a\\_b $\\geq$21'
    """
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def table_latex(table: Table) -> str:
    """A ``longtable`` with booktabs rules (needs ``\\usepackage{booktabs,longtable}``)."""
    n = len(table.columns)
    lines = [
        r"\begin{longtable}{l" + "r" * n + "}",
        rf"\caption{{{latex_escape(table.title)}}}\label{{tab:{table.key}}}\\",
        r"\toprule",
    ]
    if table.groups:
        spans, rules, start = [], [], 2
        for header, span in table.groups:
            spans.append(rf"\multicolumn{{{span}}}{{c}}{{{latex_escape(header)}}}")
            rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
            start += span
        lines += [" & " + " & ".join(spans) + r" \\", " ".join(rules)]
    lines += [
        " & ".join(latex_escape(h) for h in (table.stub, *table.columns)) + r" \\",
        r"\midrule",
        r"\endhead",
        r"\bottomrule",
        r"\endfoot",
    ]
    for section in table.sections:
        if section.title:
            lines.append(rf"\multicolumn{{{n + 1}}}{{l}}{{\textit{{{latex_escape(section.title)}}}}} \\")
        for label, cells in section.rows:
            texts = [rf"\textbf{{{latex_escape(c.text)}}}" if c.best else latex_escape(c.text) for c in cells]
            lines.append(" & ".join([latex_escape(label), *texts]) + r" \\")
    lines.append(r"\end{longtable}")
    if table.caption:
        lines.append(r"{\footnotesize " + latex_escape(table.caption) + r"\par}")
    return "\n".join(lines) + "\n"


def table_html(table: Table) -> str:
    """An HTML ``<table>`` (spanning headers as ``colspan``; best cells in ``<strong>``)."""
    e = html.escape
    head = []
    if table.groups:
        head.append(
            "<tr><th></th>"
            + "".join(f'<th colspan="{span}">{e(h)}</th>' for h, span in table.groups)
            + "</tr>"
        )
    head.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in (table.stub, *table.columns)) + "</tr>")
    body = []
    classes = ["" if numeric else ' class="text"' for numeric in _numeric_columns(table)]
    for section in table.sections:
        if section.title:
            body.append(
                f'<tr class="family"><th colspan="{len(table.columns) + 1}">{e(section.title)}</th></tr>'
            )
        for label, cells in section.rows:
            tds = "".join(
                f'<td class="best"><strong>{e(c.text)}</strong></td>'
                if c.best
                else f"<td{k}>{e(c.text)}</td>"
                for c, k in zip(cells, classes, strict=True)
            )
            body.append(f'<tr><th scope="row">{e(label)}</th>{tds}</tr>')
    caption = f'<p class="caption">{e(table.caption)}</p>' if table.caption else ""
    return (
        f'<section class="table" id="{e(table.key)}"><h3>{e(table.title)}</h3><div class="scroll"><table>'
        f"<thead>{''.join(head)}</thead><tbody>{''.join(body)}</tbody></table></div>{caption}</section>\n"
    )


def _intro(report: Report) -> list[str]:
    p = ", ".join(format_p(v) for v in report.p_values)
    models = sum(len(g.models) for g in report.groups)
    lines = [
        f"{models} runs on {len(report.groups)} gold set(s); every score recomputed by eccr's evaluation "
        f"module from the runs' stored predictions at p = {p}"
        + (f", token score with the {report.tokenizer!r} tokenizer" if report.tokenizer else "")
        + ("; labels compared (typed)" if report.typed else "")
        + "."
    ]
    lines += [f"Warning: {w}" for w in report.warnings]
    return lines


def _group_notes(group: GroupReport) -> list[str]:
    return [f"Note: {note}" for note in group.notes]


def _layout(group: GroupReport, report: Report, plots: Plots) -> Iterator[Table | tuple[str, str]]:
    """A group's tables, then its plots, then the long per-document table."""
    tables = group_tables(group, report)
    yield from (t for t in tables if t.key != DOCUMENT_TABLE)
    yield from plots.get(group.slug, ())
    yield from (t for t in tables if t.key == DOCUMENT_TABLE)


def markdown_document(report: Report, plots: Plots) -> str:
    """``report.md``: every group's tables and plots (as images next to the file)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"# eccr report ({stamp})", "", *(f"- {line}" for line in _intro(report)), ""]
    for group in report.groups:
        parts += [f"## {group.name}", "", *(f"- {n}" for n in _group_notes(group)), ""]
        for item in _layout(group, report, plots):
            parts += [table_markdown(item)] if isinstance(item, Table) else [f"![{item[0]}]({item[1]})", ""]
    return "\n".join(parts)


def latex_document(report: Report, plots: Plots) -> str:
    """``report.tex``: a standalone article (pdflatex) with every table and plot."""
    body = [
        r"\documentclass[a4paper,10pt]{article}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[utf8]{inputenc}",
        r"\usepackage[margin=2cm,landscape]{geometry}",
        r"\usepackage{booktabs,longtable,graphicx}",
        r"\begin{document}",
        r"\section*{eccr report}",
    ]
    body += [latex_escape(line) + r"\par" for line in _intro(report)]
    for group in report.groups:
        body.append(rf"\section{{{latex_escape(group.name)}}}")
        body += [latex_escape(line) + r"\par" for line in _group_notes(group)]
        for item in _layout(group, report, plots):
            if isinstance(item, Table):
                body.append(table_latex(item))
            else:
                body += [
                    r"\begin{figure}[htbp]\centering",
                    rf"\includegraphics[width=0.8\linewidth]{{{item[1]}}}",
                    rf"\caption{{{latex_escape(item[0])}}}\end{{figure}}",
                ]
    body.append(r"\end{document}")
    return "\n".join(body) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP",sans-serif;margin:2em;
color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{padding:.25em .6em;border-bottom:1px solid #e2e2e2;text-align:right;white-space:nowrap}
th[scope=row],thead th:first-child{text-align:left}thead th{border-bottom:2px solid #888;text-align:center}
tr.family th{text-align:left;font-style:italic;background:#f4f4f4}td.best{background:#fff6d6}
td.text{text-align:left}
.caption{font-size:.85em;color:#555;max-width:60em}.note{color:#8a4b00}figure{margin:1em 0}
figure svg{max-width:100%;height:auto}figcaption{font-size:.9em;color:#444}
"""


def html_document(report: Report, plots: Plots) -> str:
    """``report.html``: one self-contained page (inline CSS and SVG plots; opens without any network)."""
    e = html.escape
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>eccr report</title><style>{_CSS}</style></head><body>",
        f"<h1>eccr report ({stamp})</h1>",
    ]
    parts += [
        f'<p class="{"note" if line.startswith("Warning") else "intro"}">{e(line)}</p>'
        for line in _intro(report)
    ]
    if len(report.groups) > 1:
        parts.append(
            "<nav><ul>"
            + "".join(f'<li><a href="#{e(g.slug)}">{e(g.name)}</a></li>' for g in report.groups)
            + "</ul></nav>"
        )
    for group in report.groups:
        parts.append(f'<h2 id="{e(group.slug)}">{e(group.name)}</h2>')
        parts += [f'<p class="note">{e(n)}</p>' for n in _group_notes(group)]
        for item in _layout(group, report, plots):
            if isinstance(item, Table):
                parts.append(table_html(item))
            else:
                parts.append(f"<figure>{item[1]}<figcaption>{e(item[0])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main_table_markdown(report: Report) -> str:
    """The Table-2 style table (weighted soft matching) of each group, in Markdown, for a terminal."""
    from eccr.metrics import get_measure
    from eccr.reports.paper import score_table

    return "\n".join(
        table_markdown(score_table(group, get_measure("wsm"), report)) for group in report.groups
    )
