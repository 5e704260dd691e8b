"""``eccr.Extractor``: every model kind through one API, windows, thread safety, failures isolated."""

from __future__ import annotations

import threading

import pytest

import eccr
from eccr.corpus.types import Corpus, Document, Span
from eccr.errors import ConfigError, EccrError, ModelError
from eccr.inference import Extractor
from eccr.models.base import create_model, load_model


@pytest.fixture(scope="module")
def dict_dir(sample_gold, tmp_path_factory):
    model = create_model("dict")
    model.fit(sample_gold[:30])
    return model.save(tmp_path_factory.mktemp("dict") / "model")


def test_top_level_name_is_the_extractor():
    assert eccr.Extractor is Extractor


@pytest.mark.parametrize("kind", ["crf", "dict", "hf"])
def test_every_kind_extracts_what_predict_documents_gives(
    kind, sample_crf, dict_dir, sample_hf_model, sample_gold
):
    directory = {"crf": sample_crf[1], "dict": dict_dir, "hf": sample_hf_model}[kind]
    extractor = Extractor.load(directory, device="cpu")
    reference = load_model(directory)
    docs = list(sample_gold[30:])
    expected = reference.predict_documents([d.with_spans(()) for d in docs])
    assert extractor.extract_many([d.text for d in docs], batch_size=3) == expected
    assert extractor.extract(docs[0].text) == expected[0]
    corpus = extractor.extract_corpus(Corpus(docs, source="x"))
    assert corpus.ids == [d.id for d in docs] and [list(d.spans) for d in corpus] == expected
    assert sum(map(len, expected)) > 0  # the models found something: the comparison is not vacuous
    info = extractor.info
    assert info.kind == kind and info.model_id.startswith(directory.name + "@") and len(info.model_id) > 12
    assert info.to_dict()["span_labels"] == ["concept"]


def test_hf_long_text_goes_through_windows_and_offsets_index_the_text(sample_hf_model, sample_gold):
    extractor = Extractor.load(sample_hf_model)
    text = "\r\n".join(d.text for d in sample_gold[30:36])  # far longer than the 32-token window
    spans = extractor.extract(text)
    assert spans == load_model(sample_hf_model).predict_text(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert extractor.info.runtime == "torch" and extractor.info.device == "cpu"


def test_forward_batch_size_changes_the_batches_not_the_spans(sample_hf_model, sample_gold):
    texts = [d.text for d in sample_gold[30:]]
    default = Extractor.load(sample_hf_model)
    expected = default.extract_many(texts)
    for size in (1, 64):
        extractor = Extractor.load(sample_hf_model, forward_batch_size=size)
        calls: list[int] = []
        forward = extractor.model.batch_logits

        def counted(inputs, forward=forward, calls=calls):
            calls.append(len(inputs["input_ids"]))
            return forward(inputs)

        extractor.model.batch_logits = counted
        spans = extractor.extract_many(texts)
        assert max(calls) <= size and (size == 1 or max(calls) > 2 * default.model.opts.batch_size)
        assert [[(s.start, s.end, s.label) for s in row] for row in spans] == [
            [(s.start, s.end, s.label) for s in row] for row in expected]
    with pytest.raises(ConfigError, match="E161"):
        Extractor.load(sample_hf_model, forward_batch_size=0)


def test_empty_text_and_spans_on_input_documents(sample_crf):
    extractor = Extractor.load(sample_crf[1])
    assert extractor.extract("") == []
    doc = Document("a", "胸部Ｘ線写真で右胸水貯留を指摘された。", [Span(0, 2, "gold")])
    assert extractor.extract_documents([doc]) == [extractor.extract(doc.text)]  # gold spans ignored


def test_bad_arguments_are_coded_errors(sample_crf, tmp_path):
    with pytest.raises(ConfigError, match="E160"):
        Extractor.load(sample_crf[1], device="tpu")
    with pytest.raises(ConfigError, match=r"E160.*CPU only"):
        Extractor.load(sample_crf[1], device="cuda")
    with pytest.raises(ModelError, match="E060"):
        Extractor.load(tmp_path)
    extractor = Extractor.load(sample_crf[1])
    with pytest.raises(ConfigError, match="E161"):
        extractor.extract_many(["a", 3])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="E161"):
        extractor.extract_many(["a"], batch_size=0)


def test_concurrent_callers_get_their_own_answers(sample_hf_model, sample_gold):
    extractor = Extractor.load(sample_hf_model)
    texts = [d.text for d in sample_gold]
    expected = extractor.extract_many(texts)
    results: dict[int, list[list[Span]]] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            order = texts[k:] + texts[:k]
            results[k] = extractor.extract_many(order, batch_size=1 + k % 4)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k, got in results.items():
        assert got == expected[k:] + expected[:k]


class _Fussy:
    """A model that refuses documents containing '✗' (as a tokenizer-fidelity gate would)."""

    kind = "fussy"
    spec = "fussy"
    labels: tuple[str, ...] = ()
    options: tuple = ()

    def __init__(self) -> None:
        self.calls = 0

    def predict_documents(self, documents):
        self.calls += 1
        for doc in documents:
            if "✗" in doc.text:
                raise ModelError("E079", "cannot tokenise faithfully")
            if "!" in doc.text:
                raise RuntimeError("boom")
        return [[Span(0, 1)] for _ in documents]


def test_iter_results_reports_bad_documents_and_predicts_the_rest():
    extractor = Extractor(_Fussy())  # type: ignore[arg-type]
    docs = [Document(f"d{i}", t) for i, t in enumerate(["ok", "✗ bad", "fine", "also!", "good"])]
    results = list(extractor.iter_results(docs, batch_size=4))
    assert [r.document.id for r in results] == ["d0", "d1", "d2", "d3", "d4"]
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert results[0].spans == [Span(0, 1)]
    bad, crashed = results[1].error, results[3].error
    assert isinstance(bad, EccrError) and bad.code == "E079" and bad.location.doc_id == "d1"
    assert isinstance(crashed, EccrError) and crashed.code == "E162" and "RuntimeError: boom" in str(crashed)
    assert crashed.location.doc_id == "d3"
