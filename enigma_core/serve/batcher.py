"""Classification off the event loop at HTTP speed: one thread takes every waiting request at once.

Each wake-up of the worker thread costs two thread hand-offs; under load, requests that arrive
while a batch runs form the next batch, so that cost is shared instead of paid per request, and
the batch goes to one call (``fn``, e.g. one :meth:`EnigmaEngine.classify_many` per option set).
Bounded like a lane: past ``capacity`` waiting requests, a 429 at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

from enigma_core.serve.errors import ApiError
from enigma_core.serve.lanes import LaneTimeout, contained

Job = tuple[tuple[Any, ...], asyncio.Future]


BatchFn = Callable[[list[tuple[Any, ...]]], list[tuple[bool, Any]]]
"""Takes the ``args`` of every waiting request; returns ``(ok, value or exception)`` for each,
in order (one request's failure must not fail the others)."""


class Batcher:
    """Runs the waiting requests in one worker thread, all of them in one ``fn`` call."""

    def __init__(
        self, name: str, fn: BatchFn, capacity: int, on_reject: Callable[[str], None]
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
        """This request's answer from ``fn`` in the worker thread; its exception re-raised;
        LaneTimeout at the deadline."""
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
        results: list[Any] = [None] * len(batch)
        try:
            live = [i for i, (_args, future) in enumerate(batch) if not future.done()]
            if live:  # requests that already timed out are skipped
                ok, answers = contained(self._fn, ([batch[i][0] for i in live],))
                if not ok or len(answers) != len(live):
                    failure = answers if not ok else RuntimeError(f"{self.name}: lost answers")
                    answers = [(False, failure)] * len(live)
                for i, answer in zip(live, answers, strict=True):
                    results[i] = answer
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
