"""Micro-batching: concurrent requests share forward passes.

Requests put their texts on a bounded queue; one worker takes the first waiting request, then keeps taking
requests until it holds ``max_batch`` texts or ``max_wait_ms`` have passed since it took the first, and
predicts them in one call in a worker thread (the event loop keeps accepting requests meanwhile). Each
request then gets exactly its own spans back. ``max_batch=1`` switches batching off (each request alone).

A full queue refuses new work at once (:class:`QueueFull`, a 503) instead of letting latency grow without
bound; a request whose caller stopped waiting (timeout) is skipped if it has not started. When a shared
batch fails, its requests are predicted one by one, so one bad request cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eccr.corpus.types import Span

Predict = Callable[[list[str]], list[list[Span]]]


class QueueFull(Exception):
    """The request queue is full; the caller should retry later."""


@dataclass
class _Item:
    texts: list[str]
    future: asyncio.Future[list[list[Span]]]


@dataclass
class BatchStats:
    """Counts for ``/health``: forward calls made and texts predicted (their ratio is the mean batch)."""

    calls: int = 0
    texts: int = 0
    requests: int = 0
    busy_s: float = field(default=0.0)


class MicroBatcher:
    """Gathers concurrent requests into shared ``predict`` calls (see the module).

    Args:
        predict: texts → spans per text (blocking; run in a worker thread).
        max_batch: most texts per call (1: no batching).
        max_wait_ms: how long the first request of a batch waits for company.
        queue_size: most requests waiting; more are refused with :class:`QueueFull`.
    """

    def __init__(
        self, predict: Predict, *, max_batch: int = 32, max_wait_ms: float = 5.0, queue_size: int = 256
    ) -> None:
        self.predict = predict
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait_ms) / 1000
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_size)
        self._worker: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def submit(self, texts: list[str]) -> list[list[Span]]:
        """The spans of ``texts``; raises :class:`QueueFull` when the queue is full."""
        future: asyncio.Future[list[list[Span]]] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Item(texts, future))
        except asyncio.QueueFull:
            raise QueueFull from None
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                timeout = deadline - loop.time()
                try:
                    item = (
                        self._queue.get_nowait()
                        if timeout <= 0
                        else await asyncio.wait_for(self._queue.get(), timeout)
                    )
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                batch.append(item)
                size += len(item.texts)
            live = [item for item in batch if not item.future.done()]  # callers that timed out are gone
            if live:
                await self._predict(loop, live)

    async def _predict(self, loop: asyncio.AbstractEventLoop, items: list[_Item]) -> None:
        texts = [t for item in items for t in item.texts]
        started = time.perf_counter()
        try:
            spans = await loop.run_in_executor(None, self.predict, texts)
        except Exception as err:
            if len(items) > 1:  # isolate the failing request(s)
                for item in items:
                    await self._predict(loop, [item])
                return
            _settle(items[0].future, error=err)
            return
        self.stats.calls += 1
        self.stats.texts += len(texts)
        self.stats.requests += len(items)
        self.stats.busy_s += time.perf_counter() - started
        offset = 0
        for item in items:
            _settle(item.future, result=spans[offset : offset + len(item.texts)])
            offset += len(item.texts)


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the caller timed out meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
