"""Longest-match gazetteer built from the training concept strings, matched NFKC-insensitively.

Training collects the surface of every training span, normalised with NFKC (and optionally case-folded),
counts how often each occurs, and keeps the strings seen at least ``min_frequency`` times and at least
``min_length`` characters long; each entry carries the label it was most often annotated with. The kept
entries are then matched against the training texts: an entry's *precision* is the number of times it was
annotated divided by the number of times it is matched (capped at 1); entries below ``min_precision`` are
dropped (a string like ``熱`` that is usually not a concept on its own).

Prediction scans the text left to right: at each position it takes the longest entry that matches there
(a trie lookup) and continues after it; where none matches it moves one character on. Matching happens on
a normalised copy of the text, but every reported span is in **original** offsets: the text is cut into
clusters (a character plus any following characters that NFKC folds into it, e.g. a half-width katakana
and its voicing mark), each cluster is normalised on its own, and an index map sends every normalised
character back to its cluster. A match must start and end on cluster boundaries, so ``㎎`` (NFKC ``mg``)
is matched by the entry ``mg`` as a whole but never half by an entry ``m``.

>>> index = NormalizedText.of("１５㎎")
>>> index.text, index.to_original(0, 4)
('15mg', (0, 3))

The saved model is ``dictionary.json`` (entries, counts, labels) plus ``eccr-model.json``.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import Location, ModelError
from eccr.models.base import ConceptModel, ModelSpec, parse_options

WEIGHTS_FILE = "dictionary.json"
_END = ""  # never a character: trie keys are single characters


class DictionaryOptions(BaseModel):
    """Options of :class:`DictionaryModel`."""

    model_config = ConfigDict(extra="forbid")

    min_frequency: int = Field(1, ge=1, description="keep strings annotated at least this often")
    min_length: int = Field(1, ge=1, description="keep strings of at least this many normalised characters")
    casefold: bool = Field(False, description="also ignore letter case (after NFKC)")
    min_precision: float = Field(
        0.0, ge=0.0, le=1.0, description="keep strings annotated at least this share of the times they occur"
    )


def normalize(text: str, casefold: bool = False) -> str:
    """NFKC (then case folding when asked) — the key under which a string is looked up."""
    out = unicodedata.normalize("NFKC", text)
    return out.casefold() if casefold else out


def _attaches(ch: str) -> bool:
    """True when NFKC folds ``ch`` into the preceding character (combining marks, half-width voicing)."""
    folded = unicodedata.normalize("NFKC", ch)
    return bool(folded) and unicodedata.combining(folded[0]) > 0


@dataclass(frozen=True)
class NormalizedText:
    """A normalised copy of a text with, per normalised character, the original cluster it came from.

    ``starts[j]``/``ends[j]`` are the original offsets of the cluster that produced normalised character
    ``j``; ``boundary[j]`` is True when ``j`` is the first character of its cluster's output (position
    ``len(text)`` is always a boundary).
    """

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    boundary: tuple[bool, ...]

    @classmethod
    def of(cls, original: str, casefold: bool = False) -> NormalizedText:
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        boundary: list[bool] = []
        i, n = 0, len(original)
        while i < n:
            j = i + 1
            while j < n and _attaches(original[j]):
                j += 1
            piece = normalize(original[i:j], casefold)
            for k in range(len(piece)):
                starts.append(i)
                ends.append(j)
                boundary.append(k == 0)
            parts.append(piece)
            i = j
        boundary.append(True)
        return cls("".join(parts), tuple(starts), tuple(ends), tuple(boundary))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` of the normalised slice ``[start, end)`` (which must be non-empty)."""
        return self.starts[start], self.ends[end - 1]


class DictionaryModel(ConceptModel):
    """Longest-match gazetteer; options are :class:`DictionaryOptions`."""

    kind: ClassVar[str] = "dict"
    Options: ClassVar[type[BaseModel]] = DictionaryOptions
    uses_validation: ClassVar[bool] = False

    def __init__(self, spec: ModelSpec, options: dict[str, Any] | None = None) -> None:
        parsed = parse_options(DictionaryOptions, options)
        super().__init__(spec, parsed.model_dump(mode="json"))
        self.config = parsed
        self.entries: dict[str, tuple[str, int]] = {}
        self.matched: dict[str, int] = {}
        self._trie: dict[str, Any] | None = None

    def fit(self, train: Corpus, validation: Corpus | None = None, *, run_dir: Path | None = None) -> None:
        """Collect the training spans' normalised strings (``validation`` is not used)."""
        counts: Counter[str] = Counter()
        label_counts: dict[str, Counter[str]] = defaultdict(Counter)
        for doc in train:
            for span in doc.spans:
                key = normalize(doc.span_text(span), self.config.casefold)
                if not key.strip():
                    continue
                counts[key] += 1
                label_counts[key][span.label] += 1
        self.entries = {
            key: (label_counts[key].most_common(1)[0][0], count)
            for key, count in sorted(counts.items())
            if count >= self.config.min_frequency and len(key) >= self.config.min_length
        }
        self._trie = None
        self.matched = dict(Counter(key for doc in train for _, key in self.match_entries(doc.text)))
        if self.config.min_precision > 0:
            self.entries = {
                k: v for k, v in self.entries.items() if self.precision(k) >= self.config.min_precision
            }
            self._trie = None
        self.labels = sorted({label for label, _ in self.entries.values()})

    def precision(self, key: str) -> float:
        """Share of the training matches of entry ``key`` that were annotated (1.0 when never matched)."""
        annotated = self.entries[key][1]
        return min(1.0, annotated / max(self.matched.get(key, 0), 1))

    def _get_trie(self) -> dict[str, Any]:
        if self._trie is None:
            trie: dict[str, Any] = {}
            for key, (label, _) in self.entries.items():
                node = trie
                for ch in key:
                    node = node.setdefault(ch, {})
                node[_END] = label
            self._trie = trie
        return self._trie

    def match(self, text: str) -> list[Span]:
        """Longest, leftmost, non-overlapping dictionary matches in ``text`` (original offsets)."""
        return [span for span, _ in self.match_entries(text)]

    def match_entries(self, text: str) -> list[tuple[Span, str]]:
        """:meth:`match` with the (normalised) entry each span matched."""
        trie = self._get_trie()
        index = NormalizedText.of(text, self.config.casefold)
        norm, n = index.text, len(index.text)
        spans: list[tuple[Span, str]] = []
        j = 0
        while j < n:
            if not index.boundary[j]:
                j += 1
                continue
            node = trie
            best: tuple[int, str] | None = None
            k = j
            while k < n and norm[k] in node:
                node = node[norm[k]]
                k += 1
                if _END in node and index.boundary[k]:
                    best = (k, node[_END])
            if best is None:
                j += 1
                continue
            end, label = best
            start, stop = index.to_original(j, end)
            spans.append((Span(start, stop, label), norm[j:end]))
            j = end
        return spans

    def predict_documents(self, documents: list[Document]) -> list[list[Span]]:
        return [self.match(doc.text) for doc in documents]

    def save_weights(self, directory: Path) -> None:
        data = {
            "format": "eccr-dictionary/1",
            "entries": [
                {"text": k, "label": lab, "count": c, "matched": self.matched.get(k, 0)}
                for k, (lab, c) in self.entries.items()
            ],
        }
        (directory / WEIGHTS_FILE).write_text(
            json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )

    def load_weights(self, directory: Path) -> None:
        path = directory / WEIGHTS_FILE
        if not path.is_file():
            raise ModelError(
                "E060", f"dictionary model directory lacks {WEIGHTS_FILE}", Location(file=str(directory))
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.entries = {e["text"]: (e["label"], int(e["count"])) for e in data["entries"]}
            self.matched = {e["text"]: int(e.get("matched", 0)) for e in data["entries"]}
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ModelError("E062", f"cannot read the dictionary: {err}", Location(file=str(path))) from None
        self._trie = None
