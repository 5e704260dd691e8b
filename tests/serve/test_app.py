"""The REST service in process (FastAPI TestClient): endpoints, limits, errors, API key, micro-batching."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from fastapi.testclient import TestClient

from eccr.corpus.types import Span
from eccr.inference import Extractor
from eccr.serve import ServeSettings, create_app
from eccr.serve.batching import MicroBatcher, QueueFull

TEXT = "胸部Ｘ線写真で右胸水貯留を指摘された。"


def run_async(scenario):
    """``asyncio.run(scenario())`` in a thread of its own: the test process may already run an event loop
    (Playwright's sync API keeps one in the main thread)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()


@pytest.fixture(scope="module")
def extractor(sample_crf):
    return Extractor.load(sample_crf[1])


@pytest.fixture
def client(extractor):
    with TestClient(
        create_app(extractor, ServeSettings(max_body_bytes=5000, max_texts=4, max_chars=300))
    ) as c:
        yield c


def test_extract_one_text_and_a_batch(client, extractor, sample_gold):
    r = client.post("/extract", json={"text": TEXT})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == extractor.info.model_id
    assert (
        body["spans"]
        == [
            {"start": s.start, "end": s.end, "label": s.label, "text": TEXT[s.start : s.end]}
            for s in extractor.extract(TEXT)
        ]
        != []
    )
    texts = [d.text for d in sample_gold[:4]]
    r = client.post("/extract", json={"texts": texts})
    assert r.status_code == 200
    got = [[(s["start"], s["end"]) for s in res["spans"]] for res in r.json()["results"]]
    assert got == [[(s.start, s.end) for s in spans] for spans in extractor.extract_many(texts)]


def test_health_model_and_openapi(client, extractor):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model"] == extractor.info.model_id
    model = client.get("/model").json()
    assert model["kind"] == "crf" and model["labels"] == ["concept"] and model["scheme"] == "bio"
    assert model["limits"]["max_texts"] == 4 and model["limits"]["api_key"] is False
    assert "eccr" in model["versions"]
    spec = client.get("/openapi.json").json()
    assert "/extract" in spec["paths"] and "ExtractRequest" in json.dumps(spec)
    page = client.get("/")
    assert page.status_code == 200 and "<textarea" in page.text and "src=" not in page.text


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b'{"text": ', {"content-type": "application/json"}, 422, "not valid JSON"),
        (b'{"text": 3}', {"content-type": "application/json"}, 422, "text"),
        (b'{"text": "a", "texts": ["b"]}', {"content-type": "application/json"}, 422, "exactly one of"),
        (b"{}", {"content-type": "application/json"}, 422, "exactly one of"),
        (b'{"txt": "a"}', {"content-type": "application/json"}, 422, "txt"),
        (b'{"text": "a"}', {"content-type": "text/plain"}, 422, "Content-Type: application/json"),
        (json.dumps({"texts": ["a"] * 5}).encode(), {"content-type": "application/json"}, 422, "limit is 4"),
        (
            json.dumps({"text": "発" * 301}).encode(),
            {"content-type": "application/json"},
            422,
            "limit is 300",
        ),
        (
            json.dumps({"text": "a" * 6000}).encode(),
            {"content-type": "application/json"},
            413,
            "larger than 5000",
        ),
    ],
)
def test_bad_requests_get_clear_errors(client, body, headers, status, message):
    r = client.post("/extract", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    assert "a" * 100 not in r.text  # the body is never echoed back


def test_api_key(extractor):
    app = create_app(extractor, ServeSettings(api_key="s3cret"))
    with TestClient(app) as client:
        assert client.post("/extract", json={"text": TEXT}).status_code == 401
        assert client.post("/extract", json={"text": TEXT}, headers={"X-API-Key": "wrong"}).status_code == 401
        r = client.get("/model", headers={"Authorization": "Bearer nope"})
        assert (
            r.status_code == 401
            and r.headers["www-authenticate"] == "Bearer"
            and "API key" in r.json()["error"]
        )
        assert (
            client.post("/extract", json={"text": TEXT}, headers={"X-API-Key": "s3cret"}).status_code == 200
        )
        assert (
            client.get("/model", headers={"Authorization": "Bearer s3cret"}).json()["limits"]["api_key"]
            is True
        )
        assert client.get("/health").status_code == 200 and client.get("/").status_code == 200
        assert "s3cret" not in client.get("/model", headers={"X-API-Key": "s3cret"}).text


def test_model_errors_are_422_not_500(extractor, monkeypatch):
    from eccr.errors import ModelError

    def refuse(texts, batch_size=32):
        raise ModelError("E079", "cannot tokenise faithfully")

    monkeypatch.setattr(extractor, "extract_many", refuse)
    with TestClient(create_app(extractor)) as client:
        r = client.post("/extract", json={"text": "x"})
    assert r.status_code == 422 and "E079" in r.json()["error"]


# --- micro-batching ------------------------------------------------------------------------------------
def _recording_predict(calls):
    def predict(texts):
        calls.append(list(texts))
        return [[Span(0, len(t))] if t else [] for t in texts]

    return predict


def test_concurrent_requests_share_forward_passes_and_get_their_own_spans():
    calls: list[list[str]] = []

    async def scenario():
        batcher = MicroBatcher(_recording_predict(calls), max_batch=8, max_wait_ms=50)
        batcher.start()
        try:
            requests = [["a" * (i + 1)] if i % 3 else ["b" * (i + 1), "c"] for i in range(10)]
            answers = await asyncio.gather(*(batcher.submit(r) for r in requests))
        finally:
            await batcher.stop()
        return requests, answers

    requests, answers = run_async(scenario)
    for texts, spans in zip(requests, answers, strict=True):
        assert spans == [[Span(0, len(t))] for t in texts]
    assert len(calls) < len(requests)  # shared
    assert all(len(c) <= 8 + 1 for c in calls)  # a batch closes once it holds max_batch texts


def test_batching_off_is_one_call_per_request_and_a_full_queue_refuses():
    import threading

    calls: list[list[str]] = []
    release = threading.Event()
    record = _recording_predict(calls)

    def slow(texts):
        release.wait(10)
        return record(texts)

    async def scenario():
        batcher = MicroBatcher(slow, max_batch=1, max_wait_ms=50, queue_size=2)
        batcher.start()
        try:
            busy = asyncio.ensure_future(batcher.submit(["a"]))
            await asyncio.sleep(0.1)  # the worker holds "a" and waits in predict
            queued = [asyncio.ensure_future(batcher.submit([t])) for t in ("bb", "ccc")]
            await asyncio.sleep(0)
            assert batcher.waiting == 2
            with pytest.raises(QueueFull):
                await batcher.submit(["d"])
            release.set()
            return await asyncio.gather(busy, *queued)
        finally:
            release.set()
            await batcher.stop()

    answers = run_async(scenario)
    assert answers == [[[Span(0, 1)]], [[Span(0, 2)]], [[Span(0, 3)]]]
    assert calls == [["a"], ["bb"], ["ccc"]]  # max_batch=1: one request per call


def test_a_failing_request_does_not_fail_the_others_in_its_batch():
    async def scenario():
        def predict(texts):
            if "bad" in texts:
                raise ValueError("bad text")
            return [[] for _ in texts]

        batcher = MicroBatcher(predict, max_batch=16, max_wait_ms=50)
        batcher.start()
        try:
            return await asyncio.gather(
                batcher.submit(["ok"]),
                batcher.submit(["bad"]),
                batcher.submit(["ok2"]),
                return_exceptions=True,
            )
        finally:
            await batcher.stop()

    good, bad, good2 = run_async(scenario)
    assert good == [[]] and good2 == [[]] and isinstance(bad, ValueError)


def test_a_slow_answer_is_a_504_and_a_full_queue_a_503(extractor, monkeypatch):
    import threading
    import time

    release = threading.Event()

    def slow(texts, batch_size=32):
        release.wait(5)
        return [[] for _ in texts]

    monkeypatch.setattr(extractor, "extract_many", slow)
    settings = ServeSettings(timeout_s=0.2, queue_size=1, max_batch=1)
    with TestClient(create_app(extractor, settings)) as client:
        started = time.perf_counter()
        r = client.post("/extract", json={"text": "a"})
        assert r.status_code == 504 and "0.2 s" in r.json()["error"] and time.perf_counter() - started < 3
        # the worker still holds "a"; one request may wait, the next is refused
        results: list[int] = []
        waiting = threading.Thread(target=lambda: results.append(client.post("/extract", json={"text": "b"})
                                                                 .status_code))
        waiting.start()
        time.sleep(0.05)
        r = client.post("/extract", json={"text": "c"})
        release.set()
        waiting.join()
    assert r.status_code == 503 and r.headers["retry-after"] == "1" and "busy" in r.json()["error"]
    assert results == [200]  # the waiting request was answered once the worker was free
