"""Classification off the event loop at HTTP speed: one thread takes every waiting request at once.

Each wake-up of the worker thread costs two thread hand-offs; under load, requests that arrive
while a batch runs form the next batch, so that cost is shared instead of paid per request.
Bounded like a lane: past ``capacity`` waiting texts, a 429 at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

from enigma_core.serve.errors import ApiError
from enigma_core.serve.lanes import LaneTimeout, contained

Job = tuple[tuple[Any, ...], asyncio.Future]


class Batcher:
    """Runs ``fn(*args)`` calls in one worker thread, as many per wake-up as are waiting."""

    def __init__(
        self, name: str, fn: Callable[..., Any], capacity: int, on_reject: Callable[[str], None]
    ) -> None:
        self.name = name
        self.capacity = capacity
        self._fn = fn
        self._on_reject = on_reject
        self._pending: list[Job] = []
        self._running = 0
        self._busy = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"enigma-{name}"
        )

    async def run(self, *args: Any, timeout: float) -> Any:
        """``fn(*args)`` in the worker thread; its exception re-raised; LaneTimeout at deadline."""
        if len(self._pending) + self._running >= self.capacity:
            self._on_reject(self.name)
            raise ApiError(
                429,
                f"server busy: {self.capacity} {self.name} requests already waiting; retry shortly",
                "server_busy",
                headers={"Retry-After": "1"},
            )
        loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._pending.append((args, future))
        if not self._busy:
            self._start()
        timer = loop.call_later(timeout, _expire, future)
        try:
            ok, value = await future
        finally:
            timer.cancel()
        if not ok:
            raise value
        return value

    def _start(self) -> None:
        batch, self._pending = self._pending, []
        self._busy = True
        self._running = len(batch)
        self._executor.submit(self._work, batch)

    def _work(self, batch: list[Job]) -> None:
        results: list[Any] = []
        try:
            for args, future in batch:  # a request that already timed out is skipped
                results.append(None if future.done() else contained(self._fn, args))
        finally:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._finish, batch, results)

    def _finish(self, batch: list[Job], results: list[Any]) -> None:
        for i, (_args, future) in enumerate(batch):
            if future.done():
                continue
            if i < len(results) and results[i] is not None:
                future.set_result(results[i])
            else:
                future.set_result((False, RuntimeError(f"{self.name} worker stopped")))
        self._busy = False
        self._running = 0
        if self._pending:
            self._start()

    def shutdown(self) -> None:
        """Stop the worker thread once its batch is done."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(LaneTimeout())
