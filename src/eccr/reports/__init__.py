"""Reports: the paper's tables and figures over finished ``eccr cv`` runs (``eccr report``), and generic
table writers (:mod:`eccr.reports.tables`).

Example::

    from eccr.reports import build_report, main_table_markdown
    report = build_report(["runs/cv-crf", "runs/cv-dict"], "report", formats=("md", "html"))
    print(main_table_markdown(report))      # the Table-2 style table; report.files lists what was written

The parts: :mod:`~eccr.reports.collect` finds and reads run directories and groups them by gold;
:mod:`~eccr.reports.build` scores every run again and compares the models; :mod:`~eccr.reports.paper` lays
the results out as the paper's tables; :mod:`~eccr.reports.render` writes Markdown, LaTeX and HTML;
:mod:`~eccr.reports.plots` draws the figures; :mod:`~eccr.reports.write` writes the output directory.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Report", "build_report", "compute_report", "main_table_markdown", "write_report"]

_EXPORTS = {
    "Report": "eccr.reports.build",
    "build_report": "eccr.reports.build",
    "compute_report": "eccr.reports.build",
    "main_table_markdown": "eccr.reports.render",
    "write_report": "eccr.reports.write",
}


def __getattr__(name: str) -> Any:
    # lazy, so that `eccr.reports.tables` (used by the cv runner) does not import the report machinery
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'eccr.reports' has no attribute {name!r}")
