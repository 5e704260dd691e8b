"""``eccr serve --model DIR``: the REST service and its web page (FastAPI + uvicorn; ``eccr[serve]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def command(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model directory to serve.")],
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (loopback unless told).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes, each with its own model.")] = 1,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="Environment variable holding the API key clients must send."),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", min=1)] = 1_000_000,
    max_texts: Annotated[int, typer.Option("--max-texts", min=1, help="Texts per request.")] = 64,
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, help="Characters per text.")] = 100_000,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, help="Seconds per request.")] = 60.0,
    max_batch: Annotated[
        int, typer.Option("--max-batch", min=1, help="Texts per shared forward pass (1: no micro-batching).")
    ] = 32,
    max_wait_ms: Annotated[float, typer.Option("--max-wait-ms", min=0, help="Batch gathering window.")] = 5.0,
    queue_size: Annotated[
        int, typer.Option("--queue-size", min=1, help="Requests waiting (503 above).")
    ] = 256,
) -> None:
    """Serve the model over HTTP: POST /extract, GET /health, GET /model, a web page at /, docs at /docs."""
    import json
    import os

    from eccr.cli.common import err_console
    from eccr.errors import ConfigError

    try:
        import uvicorn

        from eccr.serve.app import CONFIG_ENV, ServeSettings
    except ModuleNotFoundError as err:
        raise ConfigError(
            "E169", f"eccr serve needs the serve extra ({err.name} is missing): pip install 'eccr[serve]'"
        ) from None
    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise ConfigError(
                "E169", f"--api-key-env {api_key_env}: that environment variable is not set or empty"
            )
    settings = ServeSettings(
        max_body_bytes=max_body_bytes,
        max_texts=max_texts,
        max_chars=max_chars,
        timeout_s=timeout,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        queue_size=queue_size,
        api_key=api_key,
    )
    if host not in LOOPBACK and api_key is None:
        err_console.print(
            f"warning: serving on {host} without an API key: anyone who can reach this "
            "machine can use the model (--api-key-env VAR)",
            highlight=False,
        )
    if workers == 1:
        from eccr.inference import Extractor
        from eccr.serve.app import create_app

        app = create_app(Extractor.load(model, device=device), settings)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    _check_model(model)
    os.environ[CONFIG_ENV] = json.dumps(
        {"model": str(model), "device": device, "settings": {**settings.__dict__}}
    )
    uvicorn.run(
        "eccr.serve.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def _check_model(model: Path) -> None:
    """Fail before starting workers when the directory is not a loadable model (one clear error, not N)."""
    from eccr.models.base import load_model

    load_model(model)
