"""Span selectors: labels, attribute conditions, alternatives, errors."""

from __future__ import annotations

import pytest

from eccr.corpus.selector import Selector
from eccr.corpus.types import Span
from eccr.errors import ConfigError

POS = Span(0, 1, "d", {"certainty": "positive"})
NEG = Span(0, 1, "d", {"certainty": "negative"})
BARE_D = Span(0, 1, "d")
TEST = Span(0, 1, "t-test", {"state": "executed"})


@pytest.mark.parametrize(("text", "accepted"), [
    ("d", [POS, NEG, BARE_D]),
    ("d[certainty=positive]", [POS]),
    ("d[certainty=positive|negative]", [POS, NEG]),
    ("d[certainty!=positive]", [NEG, BARE_D]),
    ("d[certainty=positive], t-test", [POS, TEST]),
    ("*[state=executed]", [TEST]),
    ("  d [ certainty = positive ] ", []),  # space between label and condition is not allowed -> parse error
])
def test_selection(text, accepted):
    if text.strip().startswith("d ["):
        with pytest.raises(ConfigError):
            Selector.parse(text)
        return
    sel = Selector.parse(text)
    assert [s for s in (POS, NEG, BARE_D, TEST) if sel(s)] == accepted


@pytest.mark.parametrize("bad", ["", "d,", "d[certainty]", "d[certainty=]", "1d", "d[a=b|]"])
def test_bad_selectors(bad):
    with pytest.raises(ConfigError) as info:
        Selector.parse(bad)
    assert info.value.code == "E040"


def test_labels():
    assert Selector.parse("d, a[x=y]").labels == frozenset({"d", "a"})
