"""Span selectors: which annotated spans become concepts.

Grammar (whitespace around commas is ignored)::

    selector   := alternative ("," alternative)*
    alternative:= label condition*
    label      := a tag name (``d``, ``t-test``…) or ``*`` for any label
    condition  := "[" attr ("=" | "!=") value ("|" value)* "]"

A span is selected when any alternative accepts it; an alternative accepts a span when its label matches
and every condition holds. ``attr=v1|v2`` holds when the attribute equals one of the values; ``attr!=v``
holds when the attribute is absent or differs. The span keeps its own label.

>>> from eccr.corpus.types import Span
>>> sel = Selector.parse("d[certainty=positive|suspicious], a")
>>> [sel(s) for s in (Span(0, 1, "d", {"certainty": "positive"}), Span(0, 1, "d", {"certainty": "negative"}),
...                   Span(0, 1, "a"), Span(0, 1, "f"))]
[True, False, True, False]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eccr.corpus.types import Span
from eccr.errors import ConfigError

_ALTERNATIVE = re.compile(r"^(?P<label>\*|[A-Za-z_][\w\-]*)(?P<conds>(\[[^\[\]]*\])*)$")
_CONDITION = re.compile(r"\[\s*(?P<attr>[A-Za-z_][\w\-]*)\s*(?P<op>!=|=)\s*(?P<values>[^\[\]]*?)\s*\]")


@dataclass(frozen=True)
class Condition:
    attr: str
    values: frozenset[str]
    negate: bool

    def holds(self, span: Span) -> bool:
        value = span.attrs.get(self.attr)
        hit = value is not None and str(value) in self.values
        return not hit if self.negate else hit


@dataclass(frozen=True)
class Alternative:
    label: str
    conditions: tuple[Condition, ...]

    def accepts(self, span: Span) -> bool:
        if self.label != "*" and span.label != self.label:
            return False
        return all(c.holds(span) for c in self.conditions)


@dataclass(frozen=True)
class Selector:
    """A parsed selector; call it on a :class:`Span` to test it."""

    alternatives: tuple[Alternative, ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> Selector:
        alternatives = []
        for raw in text.split(","):
            part = raw.strip()
            match = _ALTERNATIVE.match(part)
            if not part or match is None:
                raise ConfigError(
                    "E040",
                    f"cannot parse selector {text!r} at {part!r}; expected e.g. 'd', 'd,a,f' or "
                    "'d[certainty=positive]'",
                )
            conditions = []
            raw_conds = match.group("conds")
            parsed = _CONDITION.findall(raw_conds)
            if len(parsed) != raw_conds.count("["):
                raise ConfigError(
                    "E040",
                    f"cannot parse a condition in {part!r}; expected [attr=value], [attr=a|b], [attr!=value]",
                )
            for cond in _CONDITION.finditer(raw_conds):
                values = frozenset(v.strip() for v in cond.group("values").split("|"))
                if "" in values:
                    raise ConfigError("E040", f"empty value in selector condition {cond.group(0)!r}")
                conditions.append(Condition(cond.group("attr"), values, cond.group("op") == "!="))
            alternatives.append(Alternative(match.group("label"), tuple(conditions)))
        return cls(tuple(alternatives), text)

    @property
    def labels(self) -> frozenset[str]:
        """The labels this selector can produce (``*`` when any)."""
        return frozenset(a.label for a in self.alternatives)

    def __call__(self, span: Span) -> bool:
        return any(a.accepts(span) for a in self.alternatives)
