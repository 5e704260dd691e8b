"""The REST service (``eccr serve``): FastAPI over an :class:`~eccr.inference.Extractor`.

Endpoints:

* ``POST /extract`` — ``{"text": "…"}`` → ``{"model": id, "spans": [...]}``, or ``{"texts": ["…", …]}`` →
  ``{"model": id, "results": [{"spans": [...]}, …]}``. A span is ``{"start", "end", "label", "text"}``:
  half-open character (code point) offsets into the text as sent.
* ``GET /health`` — liveness, the model id, queue depth and batching counts (no key needed).
* ``GET /model`` — kind, labels, scheme, options, versions, runtime, device, limits.
* ``GET /`` — a page to paste a text into and see its concepts highlighted (no external assets).
* ``GET /docs``, ``GET /redoc``, ``GET /openapi.json`` — the OpenAPI description (the documentation pages'
  scripts are served by the service itself: nothing is fetched from the internet).

Limits (:class:`ServeSettings`): request body size (413), texts per request and characters per text (422
naming the limit), a bounded queue (503 when full) and a per-request timeout (504). Invalid JSON or a body
of the wrong shape is a 422 whose ``error`` says what is wrong in one sentence. With an API key every
endpoint except ``/health`` and the page itself needs ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``
(401 otherwise; compared in constant time).
"""

import asyncio
import hmac
import json
import os
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline

from eccr.inference.extractor import Extractor
from eccr.serve.batching import MicroBatcher, QueueFull
from eccr.serve.page import PAGE
from eccr.serve.schemas import ExtractRequest, ExtractResponse, ModelResponse, span_json

#: Environment variable through which ``eccr serve --workers N`` hands its configuration to each worker.
CONFIG_ENV = "ECCR_SERVE_CONFIG"


@dataclass(frozen=True)
class ServeSettings:
    """Limits and batching of the service.

    Attributes:
        max_body_bytes: largest request body (413 above it).
        max_texts: most texts in one request.
        max_chars: most characters in one text.
        timeout_s: longest a request waits for its spans (504 after it).
        max_batch: most texts predicted in one shared call (1: micro-batching off).
        max_wait_ms: how long a request waits for others to share its batch.
        queue_size: most requests waiting (503 above it).
        api_key: required key, or ``None`` for an open service.
    """

    max_body_bytes: int = 1_000_000
    max_texts: int = 64
    max_chars: int = 100_000
    timeout_s: float = 60.0
    max_batch: int = 32
    max_wait_ms: float = 5.0
    queue_size: int = 256
    api_key: str | None = None

    def public(self) -> dict[str, Any]:
        """The limits as ``GET /model`` shows them (never the key)."""
        out = asdict(self)
        out["api_key"] = self.api_key is not None
        return out


def create_app(extractor: Extractor, settings: "ServeSettings | None" = None) -> FastAPI:
    """The FastAPI application serving ``extractor`` under ``settings``."""
    settings = settings or ServeSettings()
    info = extractor.info

    def predict(texts: list[str]) -> list[Any]:
        return extractor.extract_many(texts, batch_size=max(1, settings.max_batch))

    batcher = MicroBatcher(
        predict,
        max_batch=settings.max_batch,
        max_wait_ms=settings.max_wait_ms,
        queue_size=settings.queue_size,
    )

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        batcher.start()
        yield
        await batcher.stop()

    # FastAPIOffline: /docs and /redoc from bundled assets, not a CDN — the service runs on closed networks
    app = FastAPIOffline(
        title="eccr",
        version=info.versions.get("eccr", ""),
        lifespan=lifespan,
        description="Extended Clinical Concept Recognition: concept spans in Japanese clinical text.",
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    def require_key(request: Request) -> None:
        if settings.api_key is None:
            return
        given = request.headers.get("x-api-key") or _bearer(request.headers.get("authorization", ""))
        if not given or not hmac.compare_digest(given.encode(), settings.api_key.encode()):
            raise _HTTPError(
                401,
                "missing or wrong API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                {"WWW-Authenticate": "Bearer"},
            )

    @app.exception_handler(_HTTPError)
    async def http_error(request: Request, exc: _HTTPError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"error": _describe_validation(exc.errors()), "detail": _jsonable(exc.errors())}, status_code=422
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(
            PAGE.replace("__AUTH__", "true" if settings.api_key else "false"),
            headers={
                "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                "script-src 'unsafe-inline'; connect-src 'self'"
            },
        )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and load: the model id, requests waiting, and forward calls/texts so far."""
        return {
            "status": "ok",
            "model": info.model_id,
            "waiting": batcher.waiting,
            "batching": asdict(batcher.stats),
        }

    @app.get("/model", response_model=ModelResponse, dependencies=[Depends(require_key)])
    async def model() -> dict[str, Any]:
        """What the service runs: kind, labels, scheme, options, versions, runtime and its limits."""
        return {**info.to_dict(), "limits": settings.public()}

    @app.post(
        "/extract",
        response_model=ExtractResponse,
        response_model_exclude_none=True,
        dependencies=[Depends(require_key)],
    )
    async def extract(body: ExtractRequest) -> dict[str, Any]:
        """Concept spans of one text (``text``) or of each of several (``texts``)."""
        texts = [body.text] if body.text is not None else list(body.texts or [])
        if len(texts) > settings.max_texts:
            raise _HTTPError(422, f"{len(texts)} texts in one request; the limit is {settings.max_texts}")
        for i, text in enumerate(texts):
            if len(text) > settings.max_chars:
                raise _HTTPError(
                    422,
                    f"text #{i + 1} has {len(text)} characters; the limit is "
                    f"{settings.max_chars} (split long notes, or raise --max-chars)",
                )
        try:
            spans = await asyncio.wait_for(batcher.submit(texts), settings.timeout_s)
        except QueueFull:
            raise _HTTPError(
                503, "the service is busy (request queue full); retry shortly", {"Retry-After": "1"}
            ) from None
        except TimeoutError:
            raise _HTTPError(504, f"no answer within {settings.timeout_s} s") from None
        except Exception as err:
            raise _HTTPError(422, f"the model could not process this request: {err}") from None
        results = [
            [span_json(s, text) for s in doc_spans] for text, doc_spans in zip(texts, spans, strict=True)
        ]
        if body.text is not None:
            return {"model": info.model_id, "spans": results[0]}
        return {"model": info.model_id, "results": [{"spans": r} for r in results]}

    return app


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class BodyLimit:
    """ASGI middleware: a body larger than ``max_bytes`` is answered 413 before the app parses it.

    A declared ``Content-Length`` is checked first; a chunked body is counted as it arrives.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Any) -> None:
        body = json.dumps({"error": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


def _bearer(value: str) -> str | None:
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _describe_validation(errors: Any) -> str:
    """One sentence for the first problem: invalid JSON (with its position) or a field of the wrong shape."""
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        reason = first.get("ctx", {}).get("error", "")
        position = first.get("loc", ("body", None))[-1]
        where = f" at character {position}" if isinstance(position, int) else ""
        return (
            f'the request body is not valid JSON ({reason}{where}); send {{"text": "…"}} or '
            f'{{"texts": ["…"]}}'
        )
    if first.get("type") == "model_attributes_type" and isinstance(first.get("input"), bytes | str):
        return "the request body is not a JSON object; send JSON with 'Content-Type: application/json'"
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"invalid request{f' at {loc}' if loc else ''}: {first.get('msg', 'malformed body')}"


def _jsonable(errors: Any) -> Any:
    """The validation errors without the ``input`` they echo (a large body must not come back)."""
    return json.loads(json.dumps([{k: v for k, v in e.items() if k != "input"} for e in errors], default=str))


def app_from_environment() -> Any:
    """The app of one worker of ``eccr serve --workers N`` configured by :data:`CONFIG_ENV`."""
    config = json.loads(os.environ[CONFIG_ENV])
    extractor = Extractor.load(config["model"], device=config.get("device", "auto"))
    return create_app(extractor, ServeSettings(**config["settings"]))
