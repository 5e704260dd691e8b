"""The report's figures, drawn with matplotlib (Agg, no pyplot state) and saved as PNG and SVG.

Per group of runs on the same gold:

* ``f1-vs-p``: weighted soft matching F1 against the fragmentation penalty p, mean ± SD over folds, one line
  per model (the paper's drop from p = 1 to p = 100);
* ``f1-by-length``: F1 per gold-span-length bin at the primary p, mean ± SD over folds, one line per model;
* ``fold-spread``: each fold's F1 at the primary p per model (dots) and their mean (bar);
* ``gold-span-lengths``: histogram of the gold span lengths, with the bin boundaries of the length strata.

matplotlib is the ``report`` extra (``pip install 'eccr[report]'``; ``make`` installs it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eccr.corpus.mask import merge_spans
from eccr.corpus.types import LENGTH_BINS
from eccr.errors import ConfigError
from eccr.metrics import format_p, get_measure
from eccr.reports.build import GroupReport, Report, describe_p

FORMATS = ("png", "svg")
#: No creation date (reproducible files) and no RDF block in the SVG (it is inlined into report.html).
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": "eccr"},
    "svg": {"Date": None, "Creator": None, "Format": None, "Type": None},
}
_CJK_FONTS = ("IPAGothic", "IPAPGothic", "Noto Sans CJK JP", "TakaoPGothic")


@dataclass(frozen=True)
class Plot:
    """One figure, written as ``<stem>.png`` and ``<stem>.svg``."""

    title: str
    stem: str


def require_matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            "E145", "plots need matplotlib: pip install 'eccr[report]' (make installs it), or pass --no-plots"
        ) from None
    return matplotlib, Figure


def _rc(matplotlib: Any) -> dict[str, Any]:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return {
        "font.family": ["DejaVu Sans", *(f for f in _CJK_FONTS if f in names)],
        "svg.hashsalt": "eccr",
        "svg.fonttype": "path",
        "axes.grid": True,
        "grid.alpha": 0.3,
        # ten colours, then the same ten dashed: lines stay distinguishable for up to 20 models
        "axes.prop_cycle": matplotlib.cycler(linestyle=["-", "--"])
        * matplotlib.cycler(color=matplotlib.colormaps["tab10"].colors),
    }


def _legend(ax: Any, n: int) -> None:
    if n > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def _mean_sd(model: Any, path: tuple[str, ...]) -> tuple[float, float]:
    entry = model.summary.entry(*path)
    if entry is None:
        return float("nan"), 0.0
    return entry.f1.mean, entry.f1.sd or 0.0


def _f1_vs_p(fig: Any, group: GroupReport, report: Report) -> None:
    ax = fig.add_subplot()
    x = range(len(report.p_values))
    for model in group.models:
        stats = [_mean_sd(model, ("wsm", format_p(p))) for p in report.p_values]
        ax.errorbar(
            x, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", capsize=3, label=model.label
        )
    ax.set_xticks(list(x), [format_p(p).replace("inf", "∞") for p in report.p_values])
    ax.set(
        xlabel="fragmentation penalty p",
        ylabel="F1 (mean ± SD over folds)",
        title=f"Weighted soft matching F1 vs p — {group.name}",
    )
    _legend(ax, len(group.models))


def _f1_by_length(fig: Any, group: GroupReport, report: Report) -> None:
    ax = fig.add_subplot()
    p = format_p(report.p_values[0])
    x = range(len(LENGTH_BINS))
    for model in group.models:
        stats = [_mean_sd(model, (get_measure("wsm").strata_key, name, p)) for name, _, _ in LENGTH_BINS]
        ax.errorbar(
            x, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", capsize=3, label=model.label
        )
    ax.set_xticks(list(x), [name for name, _, _ in LENGTH_BINS])
    ax.set(
        xlabel="gold span length (characters)",
        ylabel="F1 (mean ± SD over folds)",
        title=f"F1 by span length, {describe_p(report.p_values[0])} — {group.name}",
    )
    _legend(ax, len(group.models))


def _fold_spread(fig: Any, group: GroupReport, report: Report) -> None:
    ax = fig.add_subplot()
    p = report.p_values[0]
    colours = fig_colours(len(group.models))
    rows = len(group.models)
    for index, model in enumerate(group.models):
        row = rows - 1 - index  # first model on top
        values = [f.wsm[p].f1 for f in model.folds]
        ax.scatter(values, [row] * len(values), s=28, alpha=0.8, zorder=3, color=colours[index])
        ax.plot([sum(values) / len(values)] * 2, [row - 0.3, row + 0.3], color="black", linewidth=2)
    ax.set_yticks(range(rows), [m.label for m in reversed(group.models)])
    ax.set(
        xlabel=f"weighted soft matching F1 per fold ({describe_p(p)}); bar = mean",
        title=f"Fold spread — {group.name}",
    )


def gold_run_lengths(group: GroupReport, typed: bool) -> list[int]:
    """Lengths of the gold spans as scored: maximal runs (per label when typed)."""
    lengths = []
    for doc in group.gold:
        labels = sorted({s.label for s in doc.spans}) if typed else [None]
        for label in labels:
            spans = [s for s in doc.spans if label is None or s.label == label]
            lengths += [run.length for run in merge_spans(spans)]
    return lengths


def _gold_lengths(fig: Any, group: GroupReport, report: Report) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot()
    lengths = gold_run_lengths(group, report.typed)
    top = max(lengths, default=1)
    ax.hist(lengths, bins=range(1, top + 2), color="#4c72b0", align="left")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for _name, low, _high in LENGTH_BINS[1:]:
        ax.axvline(low - 0.5, color="#c44e52", linestyle="--", linewidth=1)
    counts = {
        name: sum(1 for n in lengths if low <= n and (high is None or n <= high))
        for name, low, high in LENGTH_BINS
    }
    ax.set(
        xlabel="gold span length (characters; maximal runs, as scored)",
        ylabel="spans",
        title=f"Gold span lengths ({len(lengths)} spans) — {group.name}",
    )
    ax.text(
        0.99,
        0.97,
        "\n".join(f"{name}: {n}" for name, n in counts.items()),
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize="small",
        family="monospace",
    )


def fig_colours(n: int) -> list[Any]:
    """The colour of each of ``n`` models, in the order the line plots give them."""
    import matplotlib

    palette = matplotlib.colormaps["tab10"].colors
    return [palette[i % len(palette)] for i in range(n)]


_PLOTS: tuple[tuple[str, str, Callable[[Any, GroupReport, Report], None], bool], ...] = (
    ("f1-vs-p", "Weighted soft matching F1 vs p", _f1_vs_p, True),
    ("f1-by-length", "F1 by gold span length", _f1_by_length, True),
    ("fold-spread", "F1 per fold", _fold_spread, False),
    ("gold-span-lengths", "Gold span length histogram", _gold_lengths, False),
)


def draw_plots(group: GroupReport, report: Report, directory: Path) -> list[Plot]:
    """Draw every figure of ``group`` into ``directory`` (PNG and SVG); return them in order."""
    matplotlib, figure_class = require_matplotlib()
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    with matplotlib.rc_context(_rc(matplotlib)):
        for stem, title, draw, wide_legend in _PLOTS:
            height = max(3.6, 0.35 * len(group.models) + 1.2) if stem == "fold-spread" else 4.2
            fig = figure_class(figsize=(9.5 if wide_legend else 7.5, height), layout="constrained")
            draw(fig, group, report)
            for fmt in FORMATS:
                fig.savefig(directory / f"{stem}.{fmt}", format=fmt, dpi=130, metadata=_METADATA[fmt])
                fig.set_layout_engine("none")  # keep the layout the first save computed (it is slow)
            out.append(Plot(title, stem))
    return out
