"""The bundled synthetic sample corpus: shape, required phenomena, packaging, and that it copies no corpus."""

from __future__ import annotations

import itertools
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from eccr.corpus import Corpus
from eccr.corpus.mask import mask_to_spans, spans_to_bio, spans_to_mask
from eccr.data import SAMPLE_PATH, sample_corpus

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return sample_corpus()


def test_forty_one_line_documents_with_stable_ids(corpus: Corpus) -> None:
    lines = SAMPLE_PATH.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(corpus) == 40
    assert corpus.ids == [f"sample-{n:04d}" for n in range(1, 41)]
    assert all("\t" not in line and line for line in lines)
    for doc in corpus:
        assert 55 <= len(doc.text) <= 200, doc.id
        assert doc.spans, doc.id
        assert "@@" not in doc.text and "##" not in doc.text


def test_contains_the_phenomena_the_paper_cares_about(corpus: Corpus) -> None:
    stats = corpus.stats()
    assert stats.spans >= 100
    assert stats.length_bins[">=21"] >= 2 and stats.length_bins["11-20"] >= 10
    touching = [(d.id, a, b) for d in corpus for a, b in itertools.pairwise(d.spans) if a.end == b.start]
    assert len(touching) >= 5
    # touching concepts merge in the binary mask and stay apart in BIO tags
    doc = next(d for d in corpus if d.id == touching[0][0])
    assert len(mask_to_spans(spans_to_mask(doc.spans, len(doc.text)))) < len(doc.spans)
    assert sum(t.startswith("B") for t in spans_to_bio(doc.spans, len(doc.text))) == len(doc.spans)
    text = "".join(d.text for d in corpus)
    assert any("\uff10" <= ch <= "\uff19" for ch in text)  # full-width digits
    assert any("\uff21" <= ch <= "\uff3a" for ch in text)  # full-width Latin capitals
    surfaces = [d.span_text(s) for d in corpus for s in d.spans]
    assert any("，" in s or "、" in s for s in surfaces)  # a multi-clause concept


def test_is_labelled_synthetic_and_packaged() -> None:
    readme = (SAMPLE_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "not copied" in readme
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/sample/*" in pyproject["tool"]["setuptools"]["package-data"]["eccr"]


def _shingles(text: str, size: int = 12) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def test_shares_no_passage_with_the_real_corpora(corpus: Corpus, medtxt_path: Path, mrner_path: Path) -> None:
    """No 12-character passage of the sample occurs in MedTxt-CR or MRNER (it was written fresh)."""
    real = "".join(ET.parse(medtxt_path).getroot().itertext()) + mrner_path.read_text(encoding="utf-8")
    shared = sorted(s for d in corpus for s in _shingles(d.text) if s in real)
    assert shared == []
