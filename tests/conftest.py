"""Shared fixtures. One conftest for the whole suite; sections are owned by the areas named in them.

Real corpora are read from ``../shared/data`` (next to the checkout) or ``$ECCR_SHARED_DATA``; tests that need
them skip with a reason when they are absent. Tiny models and tokenizers are built once per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ECCR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
MEDTXT_CR = SHARED_DATA / "medtxt-cr" / "MedTxt-CR-JA-training.xml"
MRNER_DISEASE = SHARED_DATA / "jmed-llm" / "mrner_disease.csv"
UNLABELED = SHARED_DATA / "unlabeled" / "ja-clinical-unlabeled.jsonl"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real corpus not available: {path} is absent (a fresh clone has no ../shared/data)")
    return path


@pytest.fixture(scope="session")
def medtxt_path() -> Path:
    return _require(MEDTXT_CR)


@pytest.fixture(scope="session")
def mrner_path() -> Path:
    return _require(MRNER_DISEASE)


@pytest.fixture(scope="session")
def unlabeled_path() -> Path:
    return _require(UNLABELED)


# --- corpus fixtures (owned by corpus/) -------------------------------------------------------------------


# --- metrics fixtures (owned by metrics/) -----------------------------------------------------------------


# --- experiment / classical model fixtures (owned by experiments/, models/crf, models/dictionary) ---------


# --- tokenizer and tiny-model fixtures (owned by align/, models/token_classification, training/) ----------
