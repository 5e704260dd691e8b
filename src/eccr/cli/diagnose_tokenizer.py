"""``eccr diagnose-tokenizer``: can a tokenizer be trusted on a corpus, and what is its ceiling?

Two parts, both over the (selected) gold corpus:

1. the invariant check of :mod:`eccr.align.invariants` (offsets in bounds, monotonic, non-overlapping,
   every non-space character covered, no oversized unit, no sentence-sized ``[UNK]``) — a broken tokenizer
   (e.g. one that turns Japanese into ``[UNK]``) fails here, with the first violations listed;
2. the **tokenizer ceiling** (:func:`eccr.align.tokenizer_ceiling`): gold spans → token labels →
   characters, scored against the gold with :func:`eccr.metrics.score` (weighted soft matching F1 at
   p = 1, 2, 100 by default, character and exact-match F1) — the best any model on this tokenizer can
   reach — plus the number of tokens that cross concept boundaries.

The default scheme is the paper's: binary IO over the selected spans. ``--byte-fallback off`` rebuilds the
tokenizer without byte fallback (the paper's setting) when its model allows it.

Example::

    eccr diagnose-tokenizer ../shared/data/medtxt-cr/MedTxt-CR-JA-training.xml \\
        --tokenizer tokenizers/unigram-8k --select 'd[certainty=positive]' --byte-fallback off
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from eccr.cli.common import OutputFormat

DEFAULT_CEILING_P: tuple[float, ...] = (1.0, 2.0, 100.0)


class Toggle(StrEnum):
    on = "on"
    off = "off"


class Scheme(StrEnum):
    io = "io"
    bio = "bio"


class Rule(StrEnum):
    majority = "majority"
    any = "any"


@dataclass(frozen=True)
class TokenizerDiagnosis:
    """Invariant report, ceiling counts and ceiling scores of one tokenizer on one corpus.

    ``wsm`` maps p to the ceiling's weighted soft matching P/R/F1; ``char`` and ``exact`` are the character
    and exact span match scores of the round trip (:class:`eccr.metrics.ScoreReport` pieces).
    """

    tokenizer: str
    byte_fallback: bool | None
    corpus: str
    select: str | None
    invariants: Any  # eccr.align.InvariantReport
    ceiling: Any  # eccr.align.CeilingResult
    report: Any  # eccr.metrics.ScoreReport
    loading: Any = None  # eccr.models.hf_tokenizer.ModelTokenizer: recipe, fidelity, choice

    def to_dict(self) -> dict[str, Any]:
        from eccr.metrics import format_p

        return {
            "tokenizer": self.tokenizer,
            "byte_fallback": self.byte_fallback,
            "corpus": self.corpus,
            "select": self.select,
            "tokenizer_record": self.loading.record() if self.loading is not None else None,
            "invariants": self.invariants.to_dict(),
            "ceiling": {
                **self.ceiling.counts(),
                "wsm": {format_p(p): self.report.wsm[p].to_dict() for p in self.report.p_values},
                "char": self.report.char.to_dict(),
                "exact": self.report.exact.to_dict(),
            },
        }


def diagnose(
    corpus: Any,
    tokenizer: Any,
    *,
    tokenizer_name: str = "tokenizer",
    select: str | None = None,
    scheme: str = "io",
    typed: bool = False,
    rule: str = "majority",
    p: tuple[float, ...] = DEFAULT_CEILING_P,
    alignments: dict[str, Any] | None = None,
    loading: Any = None,
) -> TokenizerDiagnosis:
    """Check and round-trip an already loaded (and selected) corpus with a loaded tokenizer.

    ``alignments`` (document id → :class:`~eccr.align.TokenAlignment`) saves tokenizing again when the
    caller has them; ``loading`` is how the tokenizer was loaded (shown with the report).
    """
    from eccr.align import LabelScheme, align_text, check_alignments, tokenizer_ceiling
    from eccr.metrics import score
    from eccr.pretrain.tokenizer import byte_fallback_of

    if alignments is None:  # tokenized once for the check and the ceiling
        alignments = {doc.id: align_text(tokenizer, doc.text, doc_id=doc.id) for doc in corpus}
    invariants = check_alignments(alignments.values())
    label_scheme = LabelScheme.from_corpus(corpus, scheme, typed=typed)  # type: ignore[arg-type]
    ceiling = tokenizer_ceiling(corpus, tokenizer, label_scheme, rule=rule,  # type: ignore[arg-type]
                                aligner=lambda _tokenizer, _text, doc_id: alignments[doc_id])
    report = score(corpus, ceiling.round_trip, p=p, typed=typed)
    return TokenizerDiagnosis(tokenizer_name, byte_fallback_of(tokenizer), str(getattr(corpus, "source", "")),
                              select, invariants, ceiling, report, loading)


def diagnose_tokenizer(
    corpus_path: str | Path,
    tokenizer: str | Path,
    *,
    select: str | None = None,
    corpus_format: str | None = None,
    byte_fallback: bool | None = None,
    scheme: str = "io",
    typed: bool = False,
    rule: str = "majority",
    p: tuple[float, ...] = DEFAULT_CEILING_P,
) -> TokenizerDiagnosis:
    """Read the corpus, load the tokenizer as a model would (its family recipe, checked against its
    SentencePiece model: :func:`eccr.models.hf_tokenizer.load_model_tokenizer`; optionally switching byte
    fallback) and :func:`diagnose`."""
    from eccr.corpus.io import read_corpus
    from eccr.models.hf_tokenizer import load_model_tokenizer

    corpus = read_corpus(corpus_path, corpus_format, select=select)
    loaded = load_model_tokenizer(tokenizer, byte_fallback=byte_fallback, texts=list(corpus))
    return diagnose(corpus, loaded.tokenizer, tokenizer_name=str(tokenizer), select=select, scheme=scheme,
                    typed=typed, rule=rule, p=p, loading=loaded)


def render_table(diagnosis: TokenizerDiagnosis) -> str:
    """A plain-text summary: invariants, crossings and the ceiling scores."""
    from rich.console import Console
    from rich.table import Table

    from eccr.metrics import format_p

    inv = diagnosis.invariants
    counts = diagnosis.ceiling.counts()
    console = Console(file=io.StringIO(), width=120, color_system=None)
    fallback = {None: "n/a", True: "on", False: "off"}[diagnosis.byte_fallback]
    console.print(f"tokenizer {diagnosis.tokenizer} (byte fallback {fallback}) on {diagnosis.corpus}"
                  + (f" [{diagnosis.select}]" if diagnosis.select else ""), highlight=False, markup=False)
    for line in diagnosis.loading.describe() if diagnosis.loading is not None else ():
        console.print(line, highlight=False, markup=False)
    for line in inv.describe():
        console.print(line, highlight=False, markup=False)
    console.print(
        f"crossings ({counts['rule']} rule, {counts['scheme']['kind']}): {counts['crossing_units']} of "
        f"{counts['units']} units ({counts['crossing_tokens']} tokens) cross a concept boundary; "
        f"{counts['crossed_spans']} of {counts['spans']} spans affected; "
        f"{counts['exact_documents']} of {counts['documents']} documents round-trip exactly",
        highlight=False, markup=False,
    )
    table = Table(title="tokenizer ceiling", show_edge=False)
    for name in ("measure", "p", "precision", "recall", "f1"):
        table.add_column(name, justify="left" if name in ("measure", "p") else "right")
    report = diagnosis.report
    for p in report.p_values:
        prf = report.wsm[p]
        table.add_row("wsm", format_p(p), f"{prf.precision:.4f}", f"{prf.recall:.4f}", f"{prf.f1:.4f}")
    for name, prf in (("char", report.char), ("exact", report.exact)):
        table.add_row(name, "", f"{prf.precision:.4f}", f"{prf.recall:.4f}", f"{prf.f1:.4f}")
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def command(
    corpus: Annotated[Path, typer.Argument(help="Gold corpus (any format eccr reads).")],
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="Tokenizer directory or Hugging Face id.")],
    select: Annotated[str | None, typer.Option(
        "--select", help="Span selector, e.g. 'd[certainty=positive]'.")] = None,
    corpus_format: Annotated[str | None, typer.Option("--from", help="Corpus format (default: extension).")
                             ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format (table or json).")
                   ] = OutputFormat.table,
    byte_fallback: Annotated[Toggle | None, typer.Option(
        "--byte-fallback", help="Switch the tokenizer's byte fallback on/off (default: as saved).")] = None,
    scheme: Annotated[Scheme, typer.Option("--scheme", help="Token label scheme.")] = Scheme.io,
    typed: Annotated[bool, typer.Option("--typed", help="Keep span labels apart (typed labels).")] = False,
    rule: Annotated[Rule, typer.Option(
        "--rule", help="Label of a token crossing a concept boundary: majority of its characters, or any.")
                    ] = Rule.majority,
    p: Annotated[list[str] | None, typer.Option("--p", help="Hölder p values (default 1,2,100).")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict/--no-strict", help="Exit with an error (E079) when the tokenizer violates an invariant.")
                      ] = True,
) -> None:
    """Check a tokenizer's alignment on CORPUS and report its ceiling (gold → tokens → characters)."""
    from eccr.cli.score import parse_p_values
    from eccr.errors import ConfigError

    if fmt is OutputFormat.csv:
        raise ConfigError("E085", "diagnose-tokenizer writes table or json, not csv")
    diagnosis = diagnose_tokenizer(
        corpus, tokenizer, select=select, corpus_format=corpus_format,
        byte_fallback=None if byte_fallback is None else byte_fallback is Toggle.on,
        scheme=scheme.value, typed=typed, rule=rule.value, p=parse_p_values(p) or DEFAULT_CEILING_P,
    )
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(diagnosis.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_table(diagnosis), nl=False)
    if strict:
        diagnosis.invariants.raise_if_violated(f"tokenizer {tokenizer}")
