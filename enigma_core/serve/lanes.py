"""Bounded thread lanes: engine work runs off the event loop, with admission control.

A lane has ``threads`` workers and room for ``queue`` waiting calls; one more is refused at
once (429 + Retry-After), never queued without bound. A slot is freed when its thread really
finishes, so a call that timed out still counts until it stops. Whatever a call raises,
``SystemExit`` and ``KeyboardInterrupt`` from a plugin included, comes back as a value.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

from enigma_core.serve.errors import ApiError

T = TypeVar("T")


class Contained(Exception):
    """A BaseException (other than Exception) raised by engine code in a worker thread."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


def _contained(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except Exception as exc:
        return False, exc
    except BaseException as exc:  # SystemExit, KeyboardInterrupt, GeneratorExit from a plugin
        return False, Contained(exc)


class LaneTimeout(Exception):
    """The call did not finish within the lane's deadline (its thread may still be running)."""


class Lane:
    """``threads`` workers plus ``queue`` waiting places; see the module docstring."""

    def __init__(self, name: str, threads: int, queue: int, on_reject: Callable[[str], None]):
        self.name = name
        self.capacity = threads + queue
        self.admitted = 0
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=f"enigma-{name}"
        )
        self._on_reject = on_reject
        self._loop: asyncio.AbstractEventLoop | None = None

    def _release(self, _future: concurrent.futures.Future[Any]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._decrement)

    def _decrement(self) -> None:
        self.admitted -= 1

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[Any]:
        """Admit one call or raise the 429; must be called on the event loop."""
        if self.admitted >= self.capacity:
            self._on_reject(self.name)
            raise ApiError(
                429,
                f"server busy: {self.capacity} {self.name} requests already running or queued; "
                "retry shortly",
                "server_busy",
                headers={"Retry-After": "1"},
            )
        self._loop = asyncio.get_running_loop()
        self.admitted += 1
        future = self._executor.submit(_contained, fn, args)
        future.add_done_callback(self._release)
        return future

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        """Run ``fn(*args)`` in the lane; its exception re-raised here, LaneTimeout on deadline."""
        future = self.submit(fn, *args)
        return await self.wait(future, timeout)

    async def wait(self, future: concurrent.futures.Future[Any], timeout: float) -> Any:
        """Await a submitted call; a call still waiting for a thread at the deadline never runs."""
        try:
            ok, value = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)
        except asyncio.TimeoutError:
            future.cancel()
            raise LaneTimeout from None
        if not ok:
            raise value
        return value

    def shutdown(self) -> None:
        """Stop accepting work; running calls finish in their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
