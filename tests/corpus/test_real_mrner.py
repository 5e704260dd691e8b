"""MRNER-disease (JMED-LLM) real data: 100 documents, 810 listed strings, all found, exact round trip."""

from __future__ import annotations

from pathlib import Path

from eccr.corpus import read_corpus, write_corpus
from eccr.corpus.jmedllm import answer_strings


def test_mrner_loads_100_documents_and_810_strings_all_found(mrner_path: Path) -> None:
    corpus = read_corpus(mrner_path)  # strict: a string not found would raise E017
    assert len(corpus) == 100
    assert corpus[0].id == "mrner_disease-0001" and corpus[-1].id == "mrner_disease-0100"
    assert sum(len(answer_strings(doc)) for doc in corpus) == 810
    for doc in corpus:
        marked = {doc.span_text(s) for s in doc.spans}
        for string in answer_strings(doc):
            assert string in doc.text
            assert any(string in surface for surface in marked)
        assert all(doc.text[s.start : s.end] for s in doc.spans)
        assert not doc.text.startswith("「") and "以下の" not in doc.text[:5]


def test_mrner_file_round_trip_is_byte_exact(mrner_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "mrner.csv"
    write_corpus(read_corpus(mrner_path), out)
    assert out.read_bytes() == mrner_path.read_bytes()


def test_mrner_survives_jsonl(mrner_path: Path, tmp_path: Path) -> None:
    corpus = read_corpus(mrner_path)
    write_corpus(corpus, tmp_path / "m.jsonl")
    back = read_corpus(tmp_path / "m.jsonl")
    assert [(d.id, d.text, d.spans) for d in back] == [(d.id, d.text, d.spans) for d in corpus]
    write_corpus(back, tmp_path / "m.csv")
    assert (tmp_path / "m.csv").read_bytes() == mrner_path.read_bytes()
