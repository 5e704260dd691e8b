"""Input–output agreement of an instruction-tuned run (the paper's Table S18): does the model write the
sentence back?

Over every generated sentence of each fold (``fold-<k>/generations.jsonl``), with the markers removed from
the output (and escapes undone, :func:`~eccr.models.instruction.parse.parse_markers`):

* the **exact-match rate** — the output equals the input sentence;
* over the mismatches only: the mean **SequenceMatcher ratio** (:class:`difflib.SequenceMatcher`, default
  arguments, input first), the mean **Levenshtein distance** (:mod:`rapidfuzz`) and the mean **length
  difference** (output − input, in characters).

Each is reported per fold and as mean (SD) across folds (sample SD, as for every fold summary in eccr; a
fold without mismatches has no mismatch means and is left out of their mean). The paper reports 98.40%
(0.42%), 0.993 (0.002), 7.54 (1.99) and −2.30 (1.82) for its instruction-tuned decoder. A run directory
without folds but with a ``generations.jsonl`` is read as a single fold.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from eccr.errors import ConfigError, InputError, Location

GENERATIONS_FILE = "generations.jsonl"
#: Fields every generation record has.
REQUIRED = ("input", "output")
AGREEMENT_JSON = "agreement.json"
AGREEMENT_MD = "agreement.md"

#: (key, label, digits) of the measures, in table order.
MEASURES = (
    ("exact_match_rate", "exact match % (@@/## removed)", 2),
    ("sequence_matcher", "SequenceMatcher ratio (mismatches)", 3),
    ("levenshtein", "Levenshtein distance (mismatches)", 2),
    ("length_difference", "length output − input (mismatches)", 2),
)


@dataclass(frozen=True)
class FoldAgreement:
    """Agreement over one fold's generated sentences (mismatch means are ``None`` without mismatches)."""

    fold: str
    sentences: int
    exact: int
    sequence_matcher: float | None
    levenshtein: float | None
    length_difference: float | None
    diagnostics: dict[str, int] = field(default_factory=dict)

    @property
    def mismatches(self) -> int:
        return self.sentences - self.exact

    @property
    def exact_match_rate(self) -> float | None:
        return 100.0 * self.exact / self.sentences if self.sentences else None

    def value(self, key: str) -> float | None:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return {"fold": self.fold, "sentences": self.sentences, "exact": self.exact,
                "mismatches": self.mismatches, **{key: self.value(key) for key, _, _ in MEASURES},
                "diagnostics": self.diagnostics}


def fold_agreement(fold: str, records: Sequence[dict[str, Any]]) -> FoldAgreement:
    """:class:`FoldAgreement` of one fold's ``generations.jsonl`` records (``input`` and ``plain`` used)."""
    from rapidfuzz.distance import Levenshtein

    ratios: list[float] = []
    distances: list[int] = []
    differences: list[int] = []
    diagnostics: Counter[str] = Counter()
    for record in records:
        source, plain = record["input"], record["plain"]
        diagnostics.update(record.get("problems", {}))
        diagnostics.update(record.get("outcomes", {}))
        diagnostics["completed"] += bool(record.get("completed"))
        if plain != source:
            ratios.append(SequenceMatcher(None, source, plain).ratio())
            distances.append(Levenshtein.distance(source, plain))
            differences.append(len(plain) - len(source))

    def mean(values: Sequence[float]) -> float | None:
        return statistics.fmean(values) if values else None

    return FoldAgreement(fold, len(records), len(records) - len(ratios), mean(ratios), mean(distances),
                         mean(differences), dict(sorted(diagnostics.items())))


@dataclass(frozen=True)
class AgreementReport:
    """Agreement per fold and mean (SD) across folds."""

    run_dir: str
    folds: tuple[FoldAgreement, ...]

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        out: dict[str, dict[str, float | int | None]] = {}
        for key, _, _ in MEASURES:
            values = [v for f in self.folds if (v := f.value(key)) is not None]
            out[key] = {
                "mean": statistics.fmean(values) if values else None,
                "sd": statistics.stdev(values) if len(values) > 1 else None,
                "folds": len(values),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "sentences": sum(f.sentences for f in self.folds),
                "summary": self.summary(), "folds": [f.to_dict() for f in self.folds]}

    def rows(self) -> list[dict[str, Any]]:
        """One row per measure: each fold's value, then mean (SD)."""
        summary = self.summary()
        rows = []
        for key, label, digits in MEASURES:
            row: dict[str, Any] = {"measure": label}
            for fold in self.folds:
                row[fold.fold] = _fmt(fold.value(key), digits)
            entry = summary[key]
            mean = _fmt(entry["mean"], digits)
            row["mean (SD)"] = mean if entry["sd"] is None else f"{mean} ({_fmt(entry['sd'], digits)})"
            rows.append(row)
        rows.append({"measure": "sentences (mismatches)",
                     **{f.fold: f"{f.sentences} ({f.mismatches})" for f in self.folds},
                     "mean (SD)": str(sum(f.sentences for f in self.folds))})
        return rows

    def to_markdown(self) -> str:
        from eccr.reports.tables import markdown_table

        lines = [f"# Input–output agreement: {self.run_dir}", "",
                 "Generated sentences with `@@`/`##` removed, compared with the input sentence "
                 "(mismatch means over mismatched sentences only).", "", markdown_table(self.rows())]
        diagnostics: Counter[str] = Counter()
        for fold in self.folds:
            diagnostics.update(fold.diagnostics)
        if diagnostics:
            lines += ["", "Output diagnostics (all folds): "
                      + ", ".join(f"{k} {v}" for k, v in sorted(diagnostics.items()))]
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> None:
        from eccr.atomic import atomic_write_text

        atomic_write_text(directory / AGREEMENT_JSON, json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
                          + "\n")
        atomic_write_text(directory / AGREEMENT_MD, self.to_markdown())


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _fold_files(run_dir: Path) -> list[tuple[str, Path]]:
    folds = sorted(
        (int(m.group(1)), p)
        for p in run_dir.glob(f"fold-*/{GENERATIONS_FILE}")
        if (m := re.fullmatch(r"fold-(\d+)", p.parent.name))
    )
    if folds:
        return [(f"fold-{k}", p) for k, p in folds]
    single = run_dir / GENERATIONS_FILE
    return [("all", single)] if single.is_file() else []


def read_generations(path: Path) -> list[dict[str, Any]]:
    """The records of a ``generations.jsonl`` that rewrote sentences.

    Raises:
        InputError: ``E106`` naming the file and line of a line that is not a record with ``input`` and
            ``output`` strings.
        ConfigError: ``E105`` when the records carry no marker-free text (a ``json`` representation run).
    """
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError("E106", f"not a JSON line: {err.msg}", Location(file=str(path), line=number)
                             ) from None
        if not (isinstance(record, dict) and all(isinstance(record.get(k), str) for k in REQUIRED)):
            raise InputError("E106", "a generation record needs 'input' and 'output' strings",
                             Location(file=str(path), line=number))
        if not isinstance(record.get("plain"), str):
            raise ConfigError(
                "E105", "these generations do not rewrite the sentence (representation 'json'?): the "
                "agreement analysis compares rewritten sentences with their input; the JSON parse counts are "
                "in generation-summary.json", Location(file=str(path)))
        records.append(record)
    return records


def agreement(run_dir: str | Path) -> AgreementReport:
    """The agreement analysis of an ``it:`` cross-validation run directory (see the module docstring).

    Raises:
        ConfigError: ``E105`` when the directory holds no ``generations.jsonl`` (not an ``it:`` run, or it
            predates eccr writing them) or the run used the JSON representation.
    """
    directory = Path(run_dir)
    files = _fold_files(directory)
    if not files:
        raise ConfigError("E105", f"no {GENERATIONS_FILE} in {directory} or its fold-<k> folders: "
                          "agreement needs an `eccr cv --model it:…` run", Location(file=str(directory)))
    folds = tuple(fold_agreement(name, read_generations(path)) for name, path in files)
    return AgreementReport(str(directory), folds)
