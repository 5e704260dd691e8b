"""PRF arithmetic, p formatting and report rows."""

import math

import pytest

from eccr.corpus.types import Corpus, Document, Span
from eccr.metrics import PRF, format_p, parse_p, score


def test_prf_is_derived_from_sums_and_pools_by_addition():
    a, b = PRF(1, 2, 1, 4), PRF(3, 4, 3, 4)
    total = a + b
    assert (total.precision, total.recall) == (4 / 6, 4 / 8)
    assert total.f1 == pytest.approx(2 * (4 / 6) * 0.5 / (4 / 6 + 0.5))
    assert PRF(0, 0, 0, 0).f1 == 0.0 and PRF(0, 0, 0, 0, zero_division=1.0).f1 == 1.0
    with pytest.raises(AttributeError):
        a.precision_num = 3  # frozen


@pytest.mark.parametrize(("p", "key"), [(1, "1"), (1.5, "1.5"), (2.0, "2"), (100, "100"), (math.inf, "inf")])
def test_format_and_parse_p_round_trip(p, key):
    assert format_p(p) == key
    assert parse_p(key) == p


def test_rows_cover_every_score():
    text = "発熱と咳嗽"
    gold = Corpus([Document("a", text, [Span(0, 2)])])
    report = score(gold, gold, p=(1, 2), tokenizer="char", by_length=True)
    rows = report.rows()
    measures = {r["measure"] for r in rows}
    assert measures == {"wsm", "marker", "char", "token", "exact", "jmedllm-exact", "jmedllm-partial"}
    assert {r["bin"] for r in rows} == {"all", "1-2", "3-6", "7-10", "11-20", ">=21"}
    # gold scored against itself: every pooled score is perfect; only the 1-2 bin holds a span
    assert all((r["precision"], r["recall"], r["f1"]) == (1.0, 1.0, 1.0) for r in rows
               if r["bin"] in ("all", "1-2"))
    assert all(r["f1"] == 0.0 for r in rows if r["bin"] not in ("all", "1-2"))  # empty bins: zero_division
    assert len([r for r in rows if r["measure"] == "wsm" and r["bin"] == "all"]) == 2  # one row per p
