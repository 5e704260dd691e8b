"""``eccr serve`` as a real uvicorn process on 127.0.0.1: endpoints, limits, key, bounded load test, page.

Servers bind 127.0.0.1 on a free port and are always stopped (fixtures in ``tests/conftest.py``). The load
test sends a fixed number of requests with timeouts, so it ends by itself.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import LiveServer

httpx = pytest.importorskip("httpx", reason="the serve extra is not installed")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from eccr.inference import Extractor  # noqa: E402

#: A character outside the BMP before the concept: JavaScript's UTF-16 indexing would shift the highlight.
PAGE_TEXT = "𠮷田さん。胸部Ｘ線写真で右胸水貯留を指摘された。"


@pytest.fixture(scope="module")
def extractor(sample_crf):
    return Extractor.load(sample_crf[1])


def test_health_extract_batch_and_limits(live_crf_server, extractor, sample_gold):
    url = live_crf_server.url
    assert httpx.get(url + "/health").json()["model"] == extractor.info.model_id
    text = sample_gold[0].text
    r = httpx.post(url + "/extract", json={"text": text})
    assert r.status_code == 200
    assert [(s["start"], s["end"], s["text"]) for s in r.json()["spans"]] == [
        (s.start, s.end, text[s.start : s.end]) for s in extractor.extract(text)
    ]
    texts = [d.text for d in sample_gold[:8]]
    r = httpx.post(url + "/extract", json={"texts": texts})
    assert [[s["start"] for s in res["spans"]] for res in r.json()["results"]] == [
        [s.start for s in spans] for spans in extractor.extract_many(texts)
    ]
    r = httpx.post(url + "/extract", json={"text": "発" * 30000})  # about 90 kB of UTF-8
    assert r.status_code == 413 and "larger than 20000 bytes" in r.json()["error"]
    r = httpx.post(
        url + "/extract", content=b'{"texts": ["a", ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]
    r = httpx.post(url + "/extract", json={"texts": ["a"] * 9})
    assert r.status_code == 422 and "limit is 8" in r.json()["error"]
    assert httpx.get(url + "/model").json()["kind"] == "crf"
    docs = httpx.get(url + "/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()  # works on a closed network
    script = [part.split('"')[0] for part in docs.text.split('src="')[1:]]
    assert script and all(httpx.get(url + s if s.startswith("/") else s).status_code == 200 for s in script)


def test_api_key_from_the_environment(sample_crf):
    server = LiveServer(
        ["--model", str(sample_crf[1]), "--api-key-env", "ECCR_TEST_KEY"], env={"ECCR_TEST_KEY": "k-123"}
    )
    try:
        url = server.wait_ready().url
        assert httpx.post(url + "/extract", json={"text": "発熱"}).status_code == 401
        assert (
            httpx.post(url + "/extract", json={"text": "発熱"}, headers={"X-API-Key": "k-12"}).status_code
            == 401
        )
        ok = httpx.post(url + "/extract", json={"text": "発熱"}, headers={"Authorization": "Bearer k-123"})
        assert ok.status_code == 200 and "spans" in ok.json()
    finally:
        server.stop()


def test_load_20_clients_1000_requests_no_errors_and_exact_answers(live_crf_server, extractor, sample_gold):
    """20 concurrent clients, 1,000 requests: no error, each answer equal to a direct extraction."""
    texts = [d.text for d in sample_gold]
    expected = {
        t: [[s.start, s.end, s.label] for s in spans]
        for t, spans in zip(texts, extractor.extract_many(texts), strict=True)
    }
    url = live_crf_server.url + "/extract"

    def client(k: int) -> list[str]:
        problems = []
        with httpx.Client(timeout=30.0) as session:
            for i in range(50):
                text = texts[(k * 50 + i) % len(texts)]
                r = session.post(url, json={"text": text})
                if r.status_code != 200:
                    problems.append(f"{r.status_code}: {r.text[:200]}")
                elif [[s["start"], s["end"], s["label"]] for s in r.json()["spans"]] != expected[text]:
                    problems.append(f"wrong spans for {text[:20]}")
        return problems

    with ThreadPoolExecutor(max_workers=20) as pool:
        problems = [p for batch in pool.map(client, range(20)) for p in batch]
    assert problems == []
    batching = httpx.get(live_crf_server.url + "/health").json()["batching"]
    assert batching["requests"] >= 1000  # every request went through the micro-batcher


def test_the_page_highlights_the_concepts_over_the_right_characters(
    live_crf_server, extractor, chromium_page, tmp_path
):
    page = chromium_page
    page.goto(live_crf_server.url + "/")
    page.fill("#text", PAGE_TEXT)
    page.click("#submit")
    page.wait_for_selector("#status:has-text('concepts')", timeout=15000)
    expected = extractor.extract(PAGE_TEXT)
    assert expected, "the model finds a concept in the page text"
    marks = page.eval_on_selector_all("#result mark", "ms => ms.map(m => [m.textContent, +m.dataset.start])")
    assert marks == [[PAGE_TEXT[s.start : s.end], s.start] for s in expected]
    # the whole text is shown, in order, highlights included
    assert page.inner_text("#result") == PAGE_TEXT
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000


def test_the_page_shows_markup_as_text(live_crf_server, chromium_page):
    page = chromium_page
    page.goto(live_crf_server.url + "/")
    page.fill("#text", "<img src=x onerror=alert(1)>右胸水貯留")
    page.click("#submit")
    page.wait_for_selector("#status:has-text('concepts')", timeout=15000)
    assert page.query_selector("#result img") is None
    assert "<img src=x" in page.inner_text("#result")
    assert json.loads(page.evaluate("JSON.stringify(document.querySelectorAll('img').length)")) == 0
