"""Gold and predicted spans in HTML: the span highlighter, and the self-contained error viewer of a run.

The highlighter
---------------
:func:`highlight_html` renders one text with gold and/or predicted spans as a run of ``<span>`` segments,
escaped, with no script and no style of its own (:data:`HIGHLIGHT_CSS` styles it). It is the one place that
turns spans into markup: ``eccr view`` uses it for every document, and any page that shows extracted
concepts (``eccr predict --to html``) can use it with predictions alone::

    from eccr.reports.viewer import HIGHLIGHT_CSS, highlight_html
    body = highlight_html(doc.text, pred=doc.spans)          # predicted concepts only
    page = f"<style>{HIGHLIGHT_CSS}</style><div class='hl-text'>{body}</div>"

The rule: the text is cut at every start and end of every span; each piece is one ``<span class="seg">``
whose classes say what covers it — ``g`` (a gold span), ``p`` (a predicted span), both (the overlap) — and
whose ``data-g``/``data-p`` list the indices of those spans (in the order given), so the characters of gold
span *i* are exactly the text of the segments whose ``data-g`` holds *i*. Classes ``gs``/``ge`` and
``ps``/``pe`` mark where a span starts and ends (so touching concepts and a prediction cut in two stay
visible), and a gold span's :class:`ConceptStatus` (``missed``, ``fragmented`` …) is a class of its segments.
Text outside every span is plain escaped text. Colours follow the paper's Figure 6: gold blue, predicted red;
the overlap is purple.

>>> from eccr.corpus.types import Span
>>> print(highlight_html("発熱と咳嗽", gold=[Span(0, 2)], pred=[Span(0, 2)]).replace(" title", "\\n title"))
<span class="seg g p gs ge ps pe exact" data-g="0" data-p="0"
 title="gold [0, 2) exact · predicted [0, 2)">発熱</span>と咳嗽

The viewer
----------
:func:`render_viewer` builds one HTML page (inline CSS and JavaScript, no network needed to open it) for a
run: every document with gold, predicted and overlapping spans, its weighted soft matching P/R/F1, and the
concepts the model missed or fragmented; sorting (worst F1 first by default), filters (missed, fragmented,
F1 below a threshold), a search box, and keyboard navigation (``j``/``k`` next/previous, ``/`` search,
``m``/``f`` filters, ``s`` sort, ``t`` two-row layout, ``?`` help).
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from eccr.corpus.mask import mask_to_spans, spans_to_mask
from eccr.corpus.types import Corpus, Span


class ConceptStatus(StrEnum):
    """How the predictions treat one gold concept.

    ``exact``: a predicted span has exactly its offsets; ``missed``: no predicted character inside it;
    ``fragmented``: two or more separate predicted pieces (maximal runs of the predicted characters) cover
    parts of it — the case the weighted soft matching score penalises as p grows; ``partial``: one piece
    covers it only in part or overruns it.
    """

    exact = "exact"
    partial = "partial"
    fragmented = "fragmented"
    missed = "missed"


def concept_statuses(gold: Sequence[Span], pred: Sequence[Span], length: int) -> list[ConceptStatus]:
    """The :class:`ConceptStatus` of each gold span against the predictions (labels ignored).

    >>> concept_statuses([Span(0, 6), Span(7, 9)], [Span(0, 3), Span(4, 6)], 10)
    [<ConceptStatus.fragmented: 'fragmented'>, <ConceptStatus.missed: 'missed'>]
    """
    exact = {(s.start, s.end) for s in pred}
    runs = mask_to_spans(spans_to_mask(list(pred), length), "p") if pred else []
    statuses = []
    for span in gold:
        pieces = sum(1 for r in runs if r.start < span.end and span.start < r.end)
        if (span.start, span.end) in exact:
            statuses.append(ConceptStatus.exact)
        elif pieces == 0:
            statuses.append(ConceptStatus.missed)
        elif pieces > 1:
            statuses.append(ConceptStatus.fragmented)
        else:
            statuses.append(ConceptStatus.partial)
    return statuses


def _covering(spans: Sequence[Span], start: int, end: int) -> list[int]:
    return [i for i, s in enumerate(spans) if s.start <= start and end <= s.end]


def _describe(kind: str, span: Span, status: str | None) -> str:
    label = "" if span.label in ("concept", "") else f" {span.label}"
    return f"{kind}{label} [{span.start}, {span.end})" + (f" {status}" if status else "")


def highlight_html(
    text: str,
    pred: Sequence[Span] = (),
    gold: Sequence[Span] | None = None,
    *,
    statuses: Sequence[ConceptStatus] | None = None,
) -> str:
    """``text`` as escaped HTML with its gold and predicted spans as segments (rule in the module docstring).

    Args:
        text: the document text (offsets index it).
        pred: predicted spans (any order; indices in ``data-p`` follow this order).
        gold: gold spans, or ``None`` for predictions only.
        statuses: each gold span's status; computed by :func:`concept_statuses` when omitted.
    """
    gold = list(gold or ())
    pred = list(pred)
    if gold and statuses is None:
        statuses = concept_statuses(gold, pred, len(text))
    cuts = sorted({0, len(text), *(x for s in (*gold, *pred) for x in (s.start, s.end))})
    parts = []
    for start, end in itertools.pairwise(cuts):
        piece = html.escape(text[start:end], quote=False)
        in_gold, in_pred = _covering(gold, start, end), _covering(pred, start, end)
        if not in_gold and not in_pred:
            parts.append(piece)
            continue
        classes = ["seg"]
        classes += ["g"] if in_gold else []
        classes += ["p"] if in_pred else []
        classes += ["gs"] if any(gold[i].start == start for i in in_gold) else []
        classes += ["ge"] if any(gold[i].end == end for i in in_gold) else []
        classes += ["ps"] if any(pred[i].start == start for i in in_pred) else []
        classes += ["pe"] if any(pred[i].end == end for i in in_pred) else []
        status_names = sorted({str(statuses[i]) for i in in_gold}) if statuses else []
        classes += status_names
        data = "".join(f' data-{side}="{" ".join(map(str, ids))}"'
                       for side, ids in (("g", in_gold), ("p", in_pred)) if ids)
        title = " · ".join([_describe("gold", gold[i], str(statuses[i]) if statuses else None)
                            for i in in_gold] + [_describe("predicted", pred[i], None) for i in in_pred])
        parts.append(f'<span class="{" ".join(classes)}"{data} title="{html.escape(title)}">{piece}</span>')
    return "".join(parts)


#: Styles of :func:`highlight_html` markup (put the text in an element of class ``hl-text``).
HIGHLIGHT_CSS = """
.hl-text{white-space:pre-wrap;line-height:2.1;font-size:17px;word-break:break-all}
.seg.g{background:#bcd5ff}
.seg.p{background:#ffbcbc}
.seg.g.p{background:#d0a6ff}
.seg.g{border-bottom:3px solid #1f5fcf}
.seg.gs{border-top-left-radius:4px;border-bottom-left-radius:4px;margin-left:1px}
.seg.ge{border-top-right-radius:4px;border-bottom-right-radius:4px;margin-right:1px}
.seg.ps{box-shadow:inset 2px 0 0 #d11}
.seg.pe{box-shadow:inset -2px 0 0 #d11}
.seg.ps.pe{box-shadow:inset 2px 0 0 #d11,inset -2px 0 0 #d11}
.seg.missed{border-bottom:3px dashed #1f5fcf;font-weight:600}
.seg.fragmented{text-decoration:underline wavy #e07800;text-underline-offset:6px}
"""


# --- the viewer --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentView:
    """One document of the viewer: its text, spans, statuses and scores."""

    doc_id: str
    text: str
    gold: tuple[Span, ...]
    pred: tuple[Span, ...]
    statuses: tuple[ConceptStatus, ...]
    precision: float
    recall: float
    f1: float
    fold: int | None

    def count(self, status: ConceptStatus) -> int:
        return sum(s is status for s in self.statuses)

    @property
    def spurious(self) -> int:
        """Predicted spans that touch no gold span."""
        return sum(not any(g.start < p.end and p.start < g.end for g in self.gold) for p in self.pred)


def document_views(gold: Corpus, pred: Corpus, *, p: float = 1.0,
                   folds: Mapping[str, int] | None = None) -> tuple[list[DocumentView], Any]:
    """Per-document views (in gold order) and the pooled report, scored with :func:`eccr.metrics.score`."""
    from eccr.metrics import score

    report = score(gold, pred, p=(p,), per_document=True, allow_missing=True)
    assert report.per_document is not None
    by_id = {d.doc_id: d for d in report.per_document}
    views = []
    for doc in gold:
        predicted = pred.get(doc.id).spans if doc.id in pred else ()
        wsm = by_id[doc.id].wsm[report.p_values[0]]
        views.append(DocumentView(
            doc.id, doc.text, doc.spans, tuple(predicted),
            tuple(concept_statuses(doc.spans, predicted, len(doc.text))),
            wsm.precision, wsm.recall, wsm.f1, (folds or {}).get(doc.id),
        ))
    return views, report


def _badges(view: DocumentView) -> str:
    items = [(view.count(ConceptStatus.missed), "missed", "missed"),
             (view.count(ConceptStatus.fragmented), "fragmented", "fragmented"),
             (view.count(ConceptStatus.partial), "partial", "partial"),
             (view.spurious, "spurious", "spurious")]
    return "".join(f'<span class="badge {cls}">{n} {name}</span>' for n, name, cls in items if n)


def _concept_rows(view: DocumentView) -> str:
    rows = []
    for span, status in zip(view.gold, view.statuses, strict=True):
        rows.append(f'<tr class="{status}"><td>{span.start}–{span.end}</td><td>{html.escape(span.label)}</td>'
                    f"<td>{status}</td><td>{html.escape(view.text[span.start:span.end])}</td></tr>")
    return "".join(rows)


def _document_html(view: DocumentView, number: int) -> str:
    both = highlight_html(view.text, view.pred, view.gold, statuses=view.statuses)
    gold_only = highlight_html(view.text, (), view.gold, statuses=view.statuses)
    pred_only = highlight_html(view.text, view.pred)
    fold = "" if view.fold is None else f'<span class="fold">fold {view.fold}</span>'
    attrs = {
        "data-id": view.doc_id, "data-order": number, "data-f1": f"{view.f1:.6f}",
        "data-missed": view.count(ConceptStatus.missed),
        "data-fragmented": view.count(ConceptStatus.fragmented),
        "data-gold": len(view.gold), "data-pred": len(view.pred),
    }
    attr_text = " ".join(f'{k}="{html.escape(str(v))}"' for k, v in attrs.items())
    return (
        f'<section class="doc" tabindex="-1" {attr_text}>'
        f'<header><h2>{html.escape(view.doc_id)}</h2>'
        f'<span class="score">wsm F1 <b>{view.f1:.3f}</b> · P {view.precision:.3f} · '
        f"R {view.recall:.3f}</span>"
        f'<span class="counts">{len(view.gold)} gold · {len(view.pred)} predicted</span>{fold}'
        f"{_badges(view)}</header>"
        f'<div class="hl-text both">{both}</div>'
        f'<div class="rows"><div class="row-label">gold</div><div class="hl-text gold-row">{gold_only}</div>'
        f'<div class="row-label">predicted</div><div class="hl-text pred-row">{pred_only}</div></div>'
        f"<details><summary>gold concepts</summary><table><tr><th>offsets</th><th>label</th><th>status</th>"
        f"<th>text</th></tr>{_concept_rows(view)}</table></details></section>"
    )


def _asset(name: str) -> str:
    """A file of ``eccr/reports/assets`` (the page's stylesheet and script), inlined into every page."""
    from importlib import resources

    return resources.files("eccr.reports").joinpath("assets", name).read_text(encoding="utf-8")


def _controls() -> str:
    return (
        '<div id="controls"><input id="search" type="search" placeholder="search text or id  ( / )">'
        '<label>sort <select id="sort"><option value="worst">worst F1 first</option>'
        '<option value="best">best F1 first</option><option value="missed">most missed</option>'
        '<option value="fragmented">most fragmented</option><option value="id">corpus order</option>'
        '</select></label><label><input id="only-missed" type="checkbox"> with missed (m)</label>'
        '<label><input id="only-fragmented" type="checkbox"> with fragmented (f)</label>'
        '<label>F1 ≤ <input id="max-f1" type="range" min="0" max="1" step="0.05" value="1"> '
        '<span id="max-f1-value">1.00</span></label><span id="shown"></span>'
        '<span class="legend"><span class="seg g gs ge">gold</span><span class="seg p ps pe">predicted</span>'
        '<span class="seg g p gs ge ps pe">both</span><span class="seg g gs ge missed">missed</span>'
        '<span class="seg g p gs ge fragmented">fragmented</span></span></div>'
        '<div id="help">keys: j / k (↓ / ↑) next / previous document · / search · Esc clear · m missed · '
        "f fragmented · s sort · t gold and predicted as two rows (the paper's Figure 6) · ? help</div>"
    )


def render_viewer(gold: Corpus, pred: Corpus, *, title: str, meta: Iterable[str] = (), p: float = 1.0,
                  folds: Mapping[str, int] | None = None) -> str:
    """The viewer page for predictions ``pred`` against ``gold`` (documents in gold order).

    Args:
        title: the page heading (the model and corpus, say).
        meta: short lines shown under it (escaped).
        p: the Hölder p of the per-document and pooled weighted soft matching scores shown.
        folds: document id → fold, shown on each document when given.
    """
    from eccr.metrics import format_p

    views, report = document_views(gold, pred, p=p, folds=folds)
    pooled = report.wsm[report.p_values[0]]
    statuses = [s for v in views for s in v.statuses]
    summary = (f"wsm at p = {format_p(report.p_values[0])}: F1 {pooled.f1:.3f} · P {pooled.precision:.3f} · "
               f"R {pooled.recall:.3f} (pooled over {len(views)} documents) · {len(statuses)} gold concepts: "
               + ", ".join(f"{sum(s is k for s in statuses)} {k}" for k in ConceptStatus))
    meta_html = "".join(f"<div class='meta'>{html.escape(line)}</div>" for line in [*meta, summary])
    body = "".join(_document_html(view, number) for number, view in enumerate(views))
    return (
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{HIGHLIGHT_CSS}{_asset('viewer.css')}</style></head><body>"
        f"<div id='top'><h1>{html.escape(title)}</h1>{meta_html}{_controls()}</div>"
        f"<main>{body}</main><script>{_asset('viewer.js')}</script></body></html>\n"
    )


def run_title(run_dir: Path) -> tuple[str, list[str]]:
    """A heading and meta lines for a cv run directory, from its ``summary.json`` (when present)."""
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        return str(run_dir), []
    info = json.loads(summary_path.read_text(encoding="utf-8")).get("run", {})
    corpus = info.get("corpus") or ""
    select = f", selection {info['select']}" if info.get("select") else ""
    lines = [f"corpus {corpus}{select}; {info.get('documents', '?')} documents, "
             f"{info.get('folds', '?')} folds, seed {info.get('seed')}; run {run_dir}"]
    return f"{info.get('model', run_dir.name)} — {Path(corpus).name}", lines


def write_viewer(run: str | Path, out: str | Path | None = None, *, gold: str | Path | None = None,
                 p: float = 1.0) -> Path:
    """Write the viewer page of a cv run directory (or a predictions file with ``gold``); return its path.

    The default output is ``RUN_DIR/view.html`` (``<predictions stem>.view.html`` beside a file).

    Raises:
        ConfigError: ``E043`` for a missing run, ``E155`` when there is no gold to compare with.
    """
    from eccr.atomic import atomic_write_text
    from eccr.corpus.io import read_corpus
    from eccr.errors import ConfigError, Location
    from eccr.experiments.runs import read_run

    run_input = read_run(run)
    gold_corpus = read_corpus(gold) if gold is not None else run_input.gold
    if gold_corpus is None:
        raise ConfigError("E155", f"{run_input.path} brings no gold spans to compare with: pass --gold GOLD",
                          Location(file=str(run_input.path)))
    folds = None
    if run_input.folds is not None:
        folds = {doc_id: fold.index for fold in run_input.folds.folds for doc_id in fold.test}
    if run_input.is_directory:
        title, meta = run_title(run_input.path)
        target = Path(out) if out is not None else run_input.path / "view.html"
    else:
        title, meta = str(run_input.path), [f"gold {gold}"]
        target = Path(out) if out is not None else run_input.path.with_suffix(".view.html")
    page = render_viewer(gold_corpus, run_input.predictions, title=title, meta=meta, p=p, folds=folds)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, page)
    return target


__all__ = ["HIGHLIGHT_CSS", "ConceptStatus", "DocumentView", "concept_statuses", "document_views",
           "highlight_html", "render_viewer", "write_viewer"]
