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
from collections.abc import Iterable
from dataclasses import dataclass

from eccr.corpus.types import Span
from eccr.errors import ConfigError

#: How many attribute values a "matches nothing" warning lists.
_SHOWN_VALUES = 8

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

    def unmatched(self, spans: Iterable[Span]) -> list[str]:
        """For each alternative that accepts none of ``spans``, a sentence saying why.

        Names the labels, attributes and values the spans do have, so that a typo (``D``, ``Certainty``,
        quotes around a value) shows what was meant. Empty when every alternative matched a span.

        >>> spans = [Span(0, 1, "d", {"certainty": "positive"}), Span(1, 2, "a")]
        >>> selector = Selector.parse("D, d[Certainty=positive], d[certainty='positive'], a")
        >>> for line in selector.unmatched(spans):  # doctest: +ELLIPSIS
        ...     print(line)
        'D' matches no span: no span is labelled 'D' (labels: a, d; labels are case-sensitive)
        'd[Certainty=positive]' matches no span: no 'd' span has the attribute 'Certainty' (attributes: ...)
        "d[certainty='positive']" matches no span: no 'd' span has certainty="'positive'" (values: ...
        """
        spans = list(spans)
        missing = [alt for alt in self.alternatives if not any(alt.accepts(s) for s in spans)]
        if not missing:
            return []
        labels = sorted({s.label for s in spans})
        parts = [p.strip() for p in self.text.split(",")]
        return [f"{part!r} matches no span: {_why(alt, spans, labels)}"
                for part, alt in zip(parts, self.alternatives, strict=True) if alt in missing]


def _why(alternative: Alternative, spans: list[Span], labels: list[str]) -> str:
    if not spans:
        return "the corpus has no spans at all"
    if alternative.label != "*" and alternative.label not in labels:
        return (f"no span is labelled {alternative.label!r} (labels: {', '.join(labels)}; labels are "
                "case-sensitive)")
    candidates = [s for s in spans if alternative.label in ("*", s.label)]
    what = "span" if alternative.label == "*" else f"{alternative.label!r} span"
    for condition in alternative.conditions:
        if condition.negate:
            continue
        values = {str(s.attrs[condition.attr]) for s in candidates if condition.attr in s.attrs}
        if not values:
            attrs = sorted({a for s in candidates for a in s.attrs})
            return (f"no {what} has the attribute {condition.attr!r} "
                    f"(attributes: {', '.join(attrs) if attrs else 'none'})")
        if not values & condition.values:
            shown = sorted(values)[:_SHOWN_VALUES]
            more = ", …" if len(values) > _SHOWN_VALUES else ""
            quoted = any(v[:1] in "'\"" and v[-1:] == v[:1] and len(v) > 1 for v in condition.values)
            wanted = "|".join(sorted(condition.values))
            return (f"no {what} has {condition.attr}={wanted!r} (values: {', '.join(shown)}{more}"
                    + ("; write values without quotes)" if quoted else ")"))
    return f"no {what} satisfies all of its conditions together"
